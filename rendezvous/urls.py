from django.urls import path

from rendezvous.views import agenda, booking, bulk, creneaux, rdv, usagers_step

app_name = "rendezvous"

urlpatterns = [
    path("organisations/<int:organisation_id>/agendas/", agenda.agenda, name="agenda"),
    path("organisations/<int:organisation_id>/agendas/journee/", agenda.agenda_secretariat, name="agenda_secretariat"),
    path("organisations/<int:organisation_id>/agendas/<int:agent_id>/", agenda.agenda_agent, name="agenda_agent"),
    path("organisations/<int:organisation_id>/rdvs/", rdv.rdv_list, name="list"),
    path("organisations/<int:organisation_id>/rdvs/nouveau/", booking.rdv_create, name="create"),
    path("organisations/<int:organisation_id>/rdvs/statuts/", bulk.rdv_bulk_status, name="bulk_status"),
    path("organisations/<int:organisation_id>/creneaux/", creneaux.creneaux, name="creneaux"),
    path("organisations/<int:organisation_id>/rdvs/nouveau/usagers/", usagers_step.usager_picker, name="usager_picker"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/", rdv.rdv_detail, name="detail"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/modifier/", rdv.rdv_update, name="update"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/statut/", rdv.rdv_status, name="status"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/supprimer/", rdv.rdv_delete, name="delete"),
]
