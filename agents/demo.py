"""Demo agents: in each MDS an admin, a PMI and a social worker (basic), a secrétariat agent;
one puéricultrice works in both MDS, to show the organisation switcher; one pending invitation
per MDS, whose link the command prints (a new one each run)."""

from django.conf import settings
from django.urls import reverse

from agents.models import Agent, AgentInvitation, AgentRole
from organisations.models import Service

DEMO_PASSWORD = "rdv-solidarites-demo"

ADMIN, BASIC = AgentRole.Level.ADMIN, AgentRole.Level.BASIC

# email, first name, last name, {organisation key: (level, services there, by short name)}
AGENTS = [
    ("admin.noisiel@demo.rdv-solidarites.fr", "Claire", "Dubois", {"noisiel": (ADMIN, ["PMI"])}),
    ("pmi.noisiel@demo.rdv-solidarites.fr", "Hélène", "Martin", {"noisiel": (BASIC, ["PMI"])}),
    ("social.noisiel@demo.rdv-solidarites.fr", "Karim", "Benali", {"noisiel": (BASIC, ["Social"])}),
    ("secretariat.noisiel@demo.rdv-solidarites.fr", "Sophie", "Lefèvre", {"noisiel": (BASIC, ["Secrétariat"])}),
    ("admin.chelles@demo.rdv-solidarites.fr", "Nathalie", "Moreau", {"chelles": (ADMIN, ["Social"])}),
    (
        "pmi.chelles@demo.rdv-solidarites.fr",
        "Émilie",
        "Girard",
        {"chelles": (BASIC, ["PMI"]), "noisiel": (BASIC, ["PMI"])},
    ),
    ("social.chelles@demo.rdv-solidarites.fr", "Julien", "Roux", {"chelles": (BASIC, ["Social"])}),
    ("secretariat.chelles@demo.rdv-solidarites.fr", "Amélie", "Fontaine", {"chelles": (BASIC, ["Secrétariat"])}),
]

# Julien Roux, of Chelles, invited by Noisiel: he answers from his own account.
EXISTING_ACCOUNT_INVITATION = (
    "noisiel",
    "social.chelles@demo.rdv-solidarites.fr",
    "Social",
    BASIC,
    "admin.noisiel@demo.rdv-solidarites.fr",
)

SUPERADMIN = ("superadmin@demo.rdv-solidarites.fr", "Sam", "Technique")

# organisation key: (email, service short name, level, invited by)
INVITATIONS = {
    "noisiel": ("lucie.garnier@demo.rdv-solidarites.fr", "Social", BASIC, "admin.noisiel@demo.rdv-solidarites.fr"),
    "chelles": ("marc.petit@demo.rdv-solidarites.fr", "PMI", ADMIN, "admin.chelles@demo.rdv-solidarites.fr"),
}


def build(ctx: dict) -> None:
    services = {service.short_name: service for service in Service.objects.all()}
    logins = []
    for email, first_name, last_name, roles in AGENTS:
        agent = Agent.objects.filter(email__iexact=email).first() or Agent(email=email)
        agent.first_name, agent.last_name, agent.is_active = first_name, last_name, True
        agent.set_password(DEMO_PASSWORD)
        agent.save()
        for key, (level, service_names) in roles.items():
            role, _created = AgentRole.objects.update_or_create(
                agent=agent, organisation=ctx["organisations"][key], defaults={"level": level}
            )
            role.services.set([services[name] for name in service_names])
        description = ", ".join(
            f"{ctx['organisations'][key].name} ({'/'.join(names)}, {'admin' if level == ADMIN else 'utilisateur'})"
            for key, (level, names) in roles.items()
        )
        logins.append((email, f"{first_name} {last_name} — {description}"))

    email, first_name, last_name = SUPERADMIN
    superadmin = Agent.objects.filter(email__iexact=email).first() or Agent(email=email)
    superadmin.first_name, superadmin.last_name = first_name, last_name
    superadmin.is_staff = superadmin.is_superuser = superadmin.is_active = True
    superadmin.set_password(DEMO_PASSWORD)
    superadmin.save()
    logins.append((email, "super-administrateur technique, /admin/"))

    for key, (email, service_name, level, invited_by) in INVITATIONS.items():
        if Agent.objects.filter(email__iexact=email).exists():
            continue  # someone accepted it: the account is the demo now
        organisation = ctx["organisations"][key]
        invitation = AgentInvitation.objects.for_organisation(organisation).pending().for_email(email).first()
        invitation = invitation or AgentInvitation(organisation=organisation, email=email)
        invitation.service, invitation.level = services[service_name], level
        invitation.invited_by = Agent.objects.get(email__iexact=invited_by)
        token = invitation.set_new_token()
        invitation.save()
        link = settings.SITE_URL + reverse("agents:accept_invitation", kwargs={"token": token})
        logins.append((email, f"invitation en attente ({organisation.name}) : {link}"))
    _invite_existing_account(ctx, services, logins)
    ctx["logins"] = logins
    ctx["password"] = DEMO_PASSWORD


def _invite_existing_account(ctx: dict, services: dict, logins: list) -> None:
    """An invitation awaiting the answer of an agent who already has an account: it shows after
    its login, until accepted or declined (then the demo leaves it be)."""
    key, email, service_name, level, invited_by = EXISTING_ACCOUNT_INVITATION
    organisation = ctx["organisations"][key]
    agent = Agent.objects.get(email__iexact=email)
    answered = AgentInvitation.objects.for_organisation(organisation).for_email(email).exists()
    if answered or AgentRole.objects.filter(agent=agent, organisation=organisation).exists():
        return
    invitation = AgentInvitation(
        organisation=organisation,
        email=email,
        service=services[service_name],
        level=level,
        invited_by=Agent.objects.get(email__iexact=invited_by),
    )
    invitation.set_new_token()
    invitation.save()
    logins.append((email, f"invité(e) par {organisation.name} : l'invitation s'affiche après la connexion"))
