"""« Vos agents »: inviting professionals, changing their role, removing them from an organisation.

Each function is one transaction. Refusals are `ValidationError`s carrying a French message, keyed
by the form field at fault when there is one, so views show them where the admin looks. Emails
are written in the transaction and leave only once it has committed (EMAIL_OUTBOX).
"""

from collections.abc import Callable, Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from agents.models import Agent, AgentInvitation, AgentRole
from organisations.models import Organisation, Service

# What still points at an agent in an organisation and forbids removing it from there: each
# callable receives the agent and the organisation (keyword-only) and returns French sentences
# describing it, e.g. « 3 RDV à venir (le premier le 12/03/2026) ». Empty list: nothing blocks.
# The planning and rendezvous apps append theirs (future plages d'ouverture, future RDVs), from
# their AppConfig.ready(), so that no RDV is ever left pointing at nobody.
RemovalBlocker = Callable[..., list[str]]
REMOVAL_BLOCKERS: list[RemovalBlocker] = []


# How an email to a professional leaves. The notifications app, which sits above this one,
# registers its outbox here from its AppConfig.ready(): the email is then a row written in the
# caller's transaction, delivered after the commit, retried and recorded like every message.
# Without it, Django's send_mail after the commit.
EmailOutbox = Callable[..., object]
EMAIL_OUTBOX: list[EmailOutbox] = []


def _send_on_commit(*, template: str, context: dict, to: str, organisation: Organisation) -> None:
    """Render now (the context holds the one-time token), send after commit."""
    subject = render_to_string(f"agents/emails/{template}_subject.txt", context).strip()
    body = render_to_string(f"agents/emails/{template}.txt", context)
    if EMAIL_OUTBOX:
        EMAIL_OUTBOX[0](organisation_id=organisation.pk, to=to, subject=subject, body=body)
    else:
        transaction.on_commit(partial(send_mail, subject, body, None, [to]))


def send_password_reset(*, to: str, subject: str, body: str) -> None:
    """The « Mot de passe oublié » email (AgentPasswordResetForm): through the outbox like the
    invitations, recorded and retried, its one-time link taken out of the row once sent."""
    if EMAIL_OUTBOX:
        with transaction.atomic():
            EMAIL_OUTBOX[0](organisation_id=None, to=to, subject=subject, body=body, event="password")
    else:
        send_mail(subject, body, None, [to])


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def _send_invitation(invitation: AgentInvitation, token: str, *, existing: Agent | None) -> None:
    """The invitation email: to create an account, or, for an address that has one already, to
    accept or decline from it."""
    organisation = invitation.organisation
    _send_on_commit(
        template="invitation_existing" if existing is not None else "invitation",
        context={
            "invitation": invitation,
            "agent": existing,
            "organisation": organisation,
            "invited_by": invitation.invited_by.full_name if invitation.invited_by else "",
            "level": AgentRole.Level(invitation.level).label,
            "link": _absolute(reverse("agents:accept_invitation", kwargs={"token": token})),
            "expires_at": timezone.localtime(invitation.expires_at, organisation.tzinfo),
        },
        to=invitation.email,
        organisation=organisation,
    )


def _admin_role_ids(organisation: Organisation, *, lock: bool) -> list[int]:
    """The organisation's admin roles; locked, so that two admins demoting or removing each other
    at the same instant cannot leave the organisation without any."""
    roles = AgentRole.objects.for_organisation(organisation).admins().order_by("pk")
    if lock:
        roles = roles.select_for_update()
    return list(roles.values_list("pk", flat=True))


def _is_last_admin(role: AgentRole, *, lock: bool) -> bool:
    return role.is_admin and _admin_role_ids(role.organisation, lock=lock) == [role.pk]


def _last_admin_message(role: AgentRole, by: Agent | None) -> str:
    if by is not None and role.agent_id == by.pk:
        return _(
            "Vous êtes le dernier administrateur de %(organisation)s : nommez d'abord un autre "
            "administrateur, l'organisation ne peut pas rester sans administrateur."
        ) % {"organisation": role.organisation.name}
    return _(
        "%(agent)s est le dernier administrateur de %(organisation)s : nommez d'abord un autre "
        "administrateur, l'organisation ne peut pas rester sans administrateur."
    ) % {"agent": role.agent.full_name, "organisation": role.organisation.name}


@transaction.atomic
def invite_agent(*, organisation: Organisation, email: str, service: Service, level: str, by: Agent) -> AgentInvitation:
    """« Invitez un professionnel »: an invitation email with a single-use link, valid 7 days.
    Someone who has no account yet creates it from the link; someone who already has one (in
    another organisation) accepts or declines from that account, once signed in. Nothing changes
    for the person invited until it accepts, and the inviting admin is told the same thing
    whoever the address belongs to: neither a name nor the existence of an account leaks."""
    email = Agent.objects.normalize_email(email.strip()).lower()
    existing = Agent.objects.filter(email__iexact=email).first()
    if existing is not None and AgentRole.objects.filter(agent=existing, organisation=organisation).exists():
        # Only a member of this organisation, whom the admin sees in « Vos agents » already.
        raise ValidationError(
            {"email": _("%(email)s fait déjà partie de votre organisation.") % {"email": email}},
            code="already_member",
        )

    pending = AgentInvitation.objects.for_organisation(organisation).pending().for_email(email).first()
    if pending is not None:
        if not pending.is_expired:
            raise ValidationError(
                {
                    "email": _(
                        "Une invitation est déjà en attente pour cette adresse : renvoyez-la depuis la liste "
                        "des invitations, ou annulez-la pour en envoyer une autre."
                    )
                },
                code="already_invited",
            )
        # An expired invitation is replaced by the new one.
        pending.cancelled_at = timezone.now()
        pending.save(update_fields=["cancelled_at"])

    invitation = AgentInvitation(organisation=organisation, email=email, service=service, level=level, invited_by=by)
    token = invitation.set_new_token()
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as error:
        # Another admin invited the same address at the same instant.
        raise ValidationError(
            {"email": _("Une invitation est déjà en attente pour cette adresse e-mail.")}, code="already_invited"
        ) from error
    _send_invitation(invitation, token, existing=existing)
    return invitation


def _lock_pending(invitation: AgentInvitation) -> AgentInvitation:
    locked = (
        AgentInvitation.objects.select_for_update(of=("self",))
        .select_related("organisation__territory", "service", "invited_by")
        .get(pk=invitation.pk)
    )
    if not locked.is_pending:
        raise ValidationError(_("Cette invitation a déjà été acceptée ou annulée."), code="not_pending")
    return locked


@transaction.atomic
def resend_invitation(*, invitation: AgentInvitation, by: Agent) -> AgentInvitation:
    """A new email with a new link, valid 7 days from now; the previous link stops working."""
    invitation = _lock_pending(invitation)
    token = invitation.set_new_token()
    invitation.save(update_fields=["token_hash", "sent_at", "expires_at"])
    _send_invitation(invitation, token, existing=Agent.objects.filter(email__iexact=invitation.email).first())
    return invitation


@transaction.atomic
def cancel_invitation(*, invitation: AgentInvitation, by: Agent) -> AgentInvitation:
    invitation = _lock_pending(invitation)
    invitation.cancelled_at = timezone.now()
    invitation.save(update_fields=["cancelled_at"])
    return invitation


def _lock_usable(invitation: AgentInvitation) -> AgentInvitation:
    invitation = _lock_pending(invitation)
    if invitation.is_expired:
        raise ValidationError(_("Cette invitation a expiré."), code="expired")
    return invitation


@transaction.atomic
def accept_invitation(*, invitation: AgentInvitation, first_name: str, last_name: str, password: str) -> Agent:
    """The person invited creates its account: it joins the organisation with the service and
    role of the invitation. The link works once."""
    invitation = _lock_usable(invitation)
    if Agent.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(_("Un compte existe déjà pour cette adresse e-mail."), code="account_exists")
    agent = Agent.objects.create_user(
        invitation.email, password, first_name=first_name.strip(), last_name=last_name.strip()
    )
    role = AgentRole(agent=agent, organisation=invitation.organisation, level=invitation.level)
    role._history_user = agent  # type: ignore[attr-defined]
    role.save()
    role.services.add(invitation.service)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return agent


def _lock_addressed_to(invitation: AgentInvitation, agent: Agent) -> AgentInvitation:
    invitation = _lock_usable(invitation)
    if invitation.email.lower() != agent.email.lower():
        raise ValidationError(_("Cette invitation a été envoyée à une autre adresse e-mail."), code="not_addressee")
    return invitation


@transaction.atomic
def accept_invitation_with_existing_account(*, invitation: AgentInvitation, agent: Agent) -> AgentRole:
    """The person invited, signed in to the account of the invitation's address, says yes: it joins
    the organisation with the invitation's service and role. Its name, password and its rights in
    its other organisations stay as they are."""
    invitation = _lock_addressed_to(invitation, agent)
    role, created = AgentRole.objects.get_or_create(
        agent=agent, organisation=invitation.organisation, defaults={"level": invitation.level}
    )
    if created:
        role.services.add(invitation.service)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return role


@transaction.atomic
def decline_invitation(*, invitation: AgentInvitation, agent: Agent) -> AgentInvitation:
    """The person invited says no: the invitation stops; the organisation may invite it again."""
    invitation = _lock_addressed_to(invitation, agent)
    invitation.declined_at = timezone.now()
    invitation.save(update_fields=["declined_at"])
    return invitation


@transaction.atomic
def change_role(*, role: AgentRole, level: str, services: Iterable[Service], by: Agent) -> AgentRole:
    """« modifier »: the agent's role and its services in this organisation only. The last admin
    stays admin."""
    role = AgentRole.objects.select_for_update(of=("self",)).select_related("agent", "organisation").get(pk=role.pk)
    if level != AgentRole.Level.ADMIN and _is_last_admin(role, lock=True):
        raise ValidationError({"level": _last_admin_message(role, by)}, code="last_admin")
    if role.level != level:
        role.level = level
        role._history_user = by  # type: ignore[attr-defined]
        role.save(update_fields=["level"])
    role.services.set(services)
    return role


def removal_obstacles(*, role: AgentRole, by: Agent | None = None) -> list[str]:
    """Why the agent cannot leave the organisation now (empty: it can), in French, for the
    confirmation page and for the refusal."""
    obstacles = []
    if _is_last_admin(role, lock=False):
        obstacles.append(_last_admin_message(role, by))
    for blocker in REMOVAL_BLOCKERS:
        obstacles.extend(blocker(agent=role.agent, organisation=role.organisation))
    return obstacles


@transaction.atomic
def remove_agent_from_organisation(*, role: AgentRole, by: Agent) -> None:
    """« supprimer »: the agent leaves the organisation. Its account, its roles elsewhere and its
    history stay. Refused, with every reason listed, while it is the last admin or while something
    of the organisation still points at it.

    The planning and rendezvous apps must register in `REMOVAL_BLOCKERS` a callable listing the
    agent's future plages d'ouverture and future RDVs in the organisation: an RDV never points at
    nobody.
    """
    role = AgentRole.objects.select_for_update(of=("self",)).select_related("agent", "organisation").get(pk=role.pk)
    _admin_role_ids(role.organisation, lock=True)
    obstacles = removal_obstacles(role=role, by=by)
    if obstacles:
        raise ValidationError(obstacles, code="blocked")
    role._history_user = by  # type: ignore[attr-defined]
    role.delete()
