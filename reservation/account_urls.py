from django.urls import path

from reservation import account_views

urlpatterns = [
    path("mes-rendez-vous/", account_views.my_rdvs, name="my_rdvs"),
    path("mes-rendez-vous/<int:pk>/annuler/", account_views.cancel_rdv, name="cancel"),
    path("mes-rendez-vous/<int:pk>/deplacer/", account_views.move_rdv, name="move"),
]
