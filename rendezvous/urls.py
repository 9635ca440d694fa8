from django.urls import path

from rendezvous import agenda, booking, views

app_name = "rendezvous"

urlpatterns = [
    path("organisations/<int:organisation_id>/agendas/", agenda.agenda, name="agenda"),
    path("organisations/<int:organisation_id>/agendas/journee/", agenda.agenda_secretariat, name="agenda_secretariat"),
    path("organisations/<int:organisation_id>/agendas/<int:agent_id>/", agenda.agenda_agent, name="agenda_agent"),
    path("organisations/<int:organisation_id>/rdvs/", views.rdv_list, name="list"),
    path("organisations/<int:organisation_id>/rdvs/nouveau/", booking.rdv_create, name="create"),
    path("organisations/<int:organisation_id>/creneaux/", booking.creneaux, name="creneaux"),
    path("organisations/<int:organisation_id>/rdvs/nouveau/usagers/", booking.usager_picker, name="usager_picker"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/", views.rdv_detail, name="detail"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/modifier/", views.rdv_update, name="update"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/statut/", views.rdv_status, name="status"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/supprimer/", views.rdv_delete, name="delete"),
]
