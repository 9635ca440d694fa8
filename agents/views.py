from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from agents import services
from agents.forms import (
    AcceptInvitationForm,
    AgentPasswordResetForm,
    AgentRoleForm,
    AgentSetPasswordForm,
    InvitationForm,
    LoginForm,
)
from agents.models import Agent, AgentInvitation, AgentRole, hash_token
from organisations.decorators import settings_access_required
from organisations.middleware import AgentRequest, OrganisationRequest
from organisations.models import Service


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """« Se déconnecter »: back on the login page, which says that it is done (as the usagers'
    « Se déconnecter » does)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.success(request, _("Vous êtes déconnecté(e)."))
        return response


def axes_username(request: HttpRequest, credentials=None) -> str:
    """The email django-axes counts failures for, lowercased: « Agent@… » and « agent@… » are one
    account, so changing the case does not get around the lockout.

    Cut to the length of an agent's email: no account has a longer one, and django-axes writes
    this value to a column of 255 characters. The Django admin's login form does not bound what
    is typed (our LoginForm does): a longer text there was a 500 (issue 18, point 5)."""
    username = (credentials or {}).get("username") or request.POST.get("username") or ""
    return username.strip().lower()[: Agent._meta.get_field("email").max_length]


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login: the login page itself, with the lockout
    message on the form (see LoginForm.get_invalid_login_error), as 429 Too Many Requests."""
    if original_response is None:
        form = LoginForm(request, data=request.POST or None)
        form.is_valid()
        original_response = render(request, "registration/login.html", {"form": form})
    original_response.status_code = 429
    return original_response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = AgentPasswordResetForm
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("agents:password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = AgentSetPasswordForm
    success_url = reverse_lazy("agents:password_reset_complete")


# « Vos agents »: the organisation's team, for its admins.


def _organisation_roles(organisation):
    return AgentRole.objects.for_organisation(organisation).select_related("agent", "organisation__territory")


@settings_access_required
def team(request: OrganisationRequest, organisation_id):
    organisation = request.organisation
    roles = (
        _organisation_roles(organisation)
        .prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
        .order_by("agent__last_name", "agent__first_name", "agent__email")
    )
    invitations = (
        AgentInvitation.objects.for_organisation(organisation).pending().select_related("service").order_by("email")
    )
    return render(
        request,
        "agents/team.html",
        {"organisation": organisation, "roles": roles, "invitations": invitations},
    )


@settings_access_required
def invite(request: OrganisationRequest, organisation_id):
    organisation = request.organisation
    form = InvitationForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.invite_agent(
                    organisation=organisation,
                    email=form.cleaned_data["email"],
                    service=form.cleaned_data["service"],
                    level=form.cleaned_data["level"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                # The same words whoever the address belongs to: no name, no existence of an account.
                messages.success(request, _("Invitation envoyée à %(email)s.") % {"email": result.email})
                return redirect("agents:team", organisation_id=organisation.pk)
        status = 422
    return render(request, "agents/invite.html", {"organisation": organisation, "form": form}, status=status)


def _invitation(request: OrganisationRequest, invitation_pk) -> AgentInvitation:
    return get_object_or_404(AgentInvitation.objects.for_organisation(request.organisation).pending(), pk=invitation_pk)


@settings_access_required
@require_POST
def resend_invitation(request: OrganisationRequest, organisation_id, invitation_pk):
    try:
        invitation = services.resend_invitation(invitation=_invitation(request, invitation_pk), by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("L'invitation a été renvoyée à %(email)s.") % {"email": invitation.email})
    return redirect("agents:team", organisation_id=request.organisation.pk)


@settings_access_required
@require_POST
def cancel_invitation(request: OrganisationRequest, organisation_id, invitation_pk):
    try:
        invitation = services.cancel_invitation(invitation=_invitation(request, invitation_pk), by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("L'invitation de %(email)s a été annulée : son lien ne fonctionne plus.") % {"email": invitation.email},
        )
    return redirect("agents:team", organisation_id=request.organisation.pk)


def _role(request: OrganisationRequest, agent_pk) -> AgentRole:
    """The agent's role in the current organisation: an agent of another organisation is a 404."""
    return get_object_or_404(_organisation_roles(request.organisation), agent_id=agent_pk)


@settings_access_required
def agent_detail(request: OrganisationRequest, organisation_id, agent_pk):
    role = _role(request, agent_pk)
    form = AgentRoleForm(request.POST or None, role=role)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.change_role(
                    role=role,
                    level=form.cleaned_data["level"],
                    services=form.cleaned_data["services"],
                    by=request.user,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, _("Le rôle et les services de %(agent)s ont été modifiés.") % {"agent": role.agent}
                )
                if role.agent_id == request.user.pk and form.cleaned_data["level"] != AgentRole.Level.ADMIN:
                    # No longer an admin: the settings pages are closed to it from now on.
                    return redirect("organisations:home", organisation_id=request.organisation.pk)
                return redirect("agents:team", organisation_id=request.organisation.pk)
        status = 422
    return render(
        request,
        "agents/agent_detail.html",
        {
            "organisation": request.organisation,
            "role": role,
            "agent": role.agent,
            "agent_services": role.services.order_by("name"),
            "form": form,
        },
        status=status,
    )


@settings_access_required
def remove_agent(request: OrganisationRequest, organisation_id, agent_pk):
    """« supprimer », after a confirmation page that already lists what would block it."""
    role = _role(request, agent_pk)
    status = 200
    if request.method == "POST":
        try:
            services.remove_agent_from_organisation(role=role, by=request.user)
        except ValidationError as error:
            obstacles = error.messages
            status = 422
        else:
            if role.agent_id == request.user.pk:
                messages.success(
                    request,
                    _("Vous ne faites plus partie de %(organisation)s.") % {"organisation": request.organisation},
                )
                return redirect("organisations:choose")
            messages.success(
                request,
                _("%(agent)s ne fait plus partie de %(organisation)s.")
                % {"agent": role.agent, "organisation": request.organisation},
            )
            return redirect("agents:team", organisation_id=request.organisation.pk)
    else:
        obstacles = services.removal_obstacles(role=role, by=request.user)
    return render(
        request,
        "agents/remove_agent.html",
        {"organisation": request.organisation, "role": role, "agent": role.agent, "obstacles": obstacles},
        status=status,
    )


# The invitation link, opened by someone who has no account yet.

INVITATION_UNUSABLE = {
    "unknown": (
        gettext_lazy("Lien d'invitation invalide"),
        gettext_lazy(
            "Ce lien d'invitation n'est pas valide : il a peut-être été remplacé par une invitation plus récente. "
            "Utilisez le lien du dernier e-mail d'invitation reçu, ou demandez à l'administrateur de votre "
            "organisation de vous inviter à nouveau."
        ),
    ),
    "expired": (
        gettext_lazy("Invitation expirée"),
        gettext_lazy(
            "Cette invitation a expiré : un lien d'invitation est valable 7 jours. Demandez à l'administrateur "
            "de votre organisation de vous la renvoyer."
        ),
    ),
    "cancelled": (
        gettext_lazy("Invitation annulée"),
        gettext_lazy(
            "Cette invitation a été annulée par l'administrateur de l'organisation. Adressez-vous à lui si "
            "vous pensez que c'est une erreur."
        ),
    ),
    "declined": (
        gettext_lazy("Invitation refusée"),
        gettext_lazy(
            "Vous avez refusé cette invitation. Si vous avez changé d'avis, demandez à l'administrateur de "
            "l'organisation de vous inviter à nouveau."
        ),
    ),
    "accepted": (
        gettext_lazy("Invitation déjà utilisée"),
        gettext_lazy(
            "Cette invitation a déjà été utilisée : le compte existe. Connectez-vous avec votre adresse e-mail "
            "et votre mot de passe."
        ),
    ),
}


# What the role means, told to the person invited.
INVITEE_LEVEL_HINTS: dict[str, Promise] = {
    AgentRole.Level.ADMIN: gettext_lazy("vous aurez accès aux paramètres et à tous les agendas de l'organisation"),
    AgentRole.Level.BASIC: gettext_lazy("vous aurez accès à votre agenda et à ceux des agents de votre service"),
}


def _unusable(request: HttpRequest, reason: str, invitation: AgentInvitation | None = None):
    title, text = INVITATION_UNUSABLE[reason]
    return render(
        request,
        "agents/invitation_unusable.html",
        {"title": title, "text": text, "invitation": invitation, "show_login": reason == "accepted"},
        status=404 if reason == "unknown" else 410,
    )


def _unusable_reason(invitation: AgentInvitation) -> str | None:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.cancelled_at is not None:
        return "cancelled"
    if invitation.declined_at is not None:
        return "declined"
    if invitation.is_expired:
        return "expired"
    return None


@login_not_required
def accept_invitation(request: HttpRequest, token):
    invitation = (
        AgentInvitation.objects.select_related("organisation__territory", "service")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if invitation is None:
        return _unusable(request, "unknown")
    reason = _unusable_reason(invitation)
    if reason:
        return _unusable(request, reason, invitation)

    if Agent.objects.filter(email__iexact=invitation.email).exists():
        return _join_with_existing_account(request, invitation, token)

    form = AcceptInvitationForm(request.POST or None, invitation=invitation)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                agent = services.accept_invitation(
                    invitation=invitation,
                    first_name=form.cleaned_data["first_name"],
                    last_name=form.cleaned_data["last_name"],
                    password=form.cleaned_data["password"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                login(request, agent, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request,
                    _("Bienvenue %(name)s : votre compte est créé, vous faites partie de %(organisation)s.")
                    % {"name": agent.first_name, "organisation": invitation.organisation},
                )
                return redirect("organisations:choose")
        status = 422
    return render(
        request,
        "agents/accept_invitation.html",
        {
            "invitation": invitation,
            "organisation": invitation.organisation,
            "level_hint": INVITEE_LEVEL_HINTS.get(invitation.level, ""),
            "form": form,
        },
        status=status,
    )


def _join_with_existing_account(request: HttpRequest, invitation: AgentInvitation, token: str) -> HttpResponse:
    """The address has an account (here or in another organisation): the person answers from that
    account, once signed in, so that nobody is added anywhere without its consent."""
    if not request.user.is_authenticated:
        return render(
            request,
            "agents/accept_invitation_existing.html",
            {
                "invitation": invitation,
                "organisation": invitation.organisation,
                "level_hint": INVITEE_LEVEL_HINTS.get(invitation.level, ""),
                "login_url": reverse("agents:login", query={"next": request.get_full_path()}),
            },
        )
    if request.user.email.lower() != invitation.email.lower():
        return render(request, "agents/invitation_other_account.html", {"invitation": invitation}, status=403)
    return redirect("agents:respond_to_invitation", invitation_pk=invitation.pk)


def _invitation_for(request: AgentRequest, invitation_pk: int) -> AgentInvitation:
    """A pending invitation sent to the signed-in agent's address; any other is a 404."""
    return get_object_or_404(
        AgentInvitation.objects.pending()
        .for_email(request.user.email)
        .select_related("organisation__territory", "service", "invited_by"),
        pk=invitation_pk,
    )


@require_http_methods(["GET", "POST"])
def respond_to_invitation(request: AgentRequest, invitation_pk: int) -> HttpResponse:
    """« Accepter l'invitation » or « Refuser l'invitation », from the account it was sent to."""
    invitation = _invitation_for(request, invitation_pk)
    reason = _unusable_reason(invitation)
    if reason:
        return _unusable(request, reason, invitation)
    error = None
    answer = request.POST.get("reponse") if request.method == "POST" else None
    if request.method == "POST" and answer not in ("accepter", "refuser"):
        error = _("Choisissez « Accepter l'invitation » ou « Refuser l'invitation ».")
    elif answer is not None:
        try:
            if answer == "accepter":
                role = services.accept_invitation_with_existing_account(invitation=invitation, agent=request.user)
            else:
                services.decline_invitation(invitation=invitation, agent=request.user)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
            return redirect("organisations:choose")
        if answer == "accepter":
            messages.success(
                request,
                _("Vous faites maintenant partie de %(organisation)s.") % {"organisation": invitation.organisation},
            )
            return redirect("organisations:home", organisation_id=role.organisation_id)
        messages.success(
            request,
            _("Vous avez refusé l'invitation de %(organisation)s.") % {"organisation": invitation.organisation},
        )
        return redirect("organisations:choose")
    return render(
        request,
        "agents/respond_to_invitation.html",
        {
            "invitation": invitation,
            "organisation": invitation.organisation,
            "level_hint": INVITEE_LEVEL_HINTS.get(invitation.level, ""),
            "error": error,
        },
        status=400 if error else 200,
    )
