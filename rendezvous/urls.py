from django.urls import path

from rendezvous import views

app_name = "rendezvous"

urlpatterns = [
    path("organisations/<int:organisation_id>/rdvs/", views.rdv_list, name="list"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/", views.rdv_detail, name="detail"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/modifier/", views.rdv_update, name="update"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/statut/", views.rdv_status, name="status"),
    path("organisations/<int:organisation_id>/rdvs/<int:pk>/supprimer/", views.rdv_delete, name="delete"),
]
