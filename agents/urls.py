from django.contrib.auth import views as auth_views
from django.urls import path

from agents import account_views, views

app_name = "agents"

urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/oubli/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/nouveau/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("compte/", account_views.account, name="account"),
    path("organisations/<int:organisation_id>/compte/", account_views.account, name="account_in_organisation"),
    path("invitation/<str:token>/", views.accept_invitation, name="accept_invitation"),
    path("invitations/<int:invitation_pk>/", views.respond_to_invitation, name="respond_to_invitation"),
    path("organisations/<int:organisation_id>/parametres/agents/", views.team, name="team"),
    path("organisations/<int:organisation_id>/parametres/agents/inviter/", views.invite, name="invite"),
    path(
        "organisations/<int:organisation_id>/parametres/agents/<int:agent_pk>/",
        views.agent_detail,
        name="detail",
    ),
    path(
        "organisations/<int:organisation_id>/parametres/agents/<int:agent_pk>/supprimer/",
        views.remove_agent,
        name="remove",
    ),
    path(
        "organisations/<int:organisation_id>/parametres/agents/invitations/<int:invitation_pk>/renvoyer/",
        views.resend_invitation,
        name="resend_invitation",
    ),
    path(
        "organisations/<int:organisation_id>/parametres/agents/invitations/<int:invitation_pk>/annuler/",
        views.cancel_invitation,
        name="cancel_invitation",
    ),
]
