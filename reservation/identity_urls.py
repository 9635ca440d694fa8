from django.urls import path

from reservation import identity_views

urlpatterns = [
    path("prendre-rdv/identite/", identity_views.identity, name="identity"),
    path("mes-rendez-vous/connexion/", identity_views.login, name="login"),
    path("identification/code/", identity_views.code, name="code"),
    path("mes-rendez-vous/deconnexion/", identity_views.logout, name="logout"),
]
