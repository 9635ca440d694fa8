"""Demo agents: in each MDS an admin, a PMI and a social worker (basic), a secrétariat agent;
one puéricultrice works in both MDS, to show the organisation switcher; one pending invitation
per MDS, whose link the command prints (a new one each run)."""

from django.conf import settings
from django.urls import reverse

from agents.models import Agent, AgentInvitation, AgentRole
from organisations.models import Service

DEMO_PASSWORD = "rdv-solidarites-demo"

ADMIN, BASIC = AgentRole.Level.ADMIN, AgentRole.Level.BASIC

# email, first name, last name, services (short names), {organisation key: level}
AGENTS = [
    ("admin.noisiel@demo.rdv-solidarites.fr", "Claire", "Dubois", ["PMI"], {"noisiel": ADMIN}),
    ("pmi.noisiel@demo.rdv-solidarites.fr", "Hélène", "Martin", ["PMI"], {"noisiel": BASIC}),
    ("social.noisiel@demo.rdv-solidarites.fr", "Karim", "Benali", ["Social"], {"noisiel": BASIC}),
    ("secretariat.noisiel@demo.rdv-solidarites.fr", "Sophie", "Lefèvre", ["Secrétariat"], {"noisiel": BASIC}),
    ("admin.chelles@demo.rdv-solidarites.fr", "Nathalie", "Moreau", ["Social"], {"chelles": ADMIN}),
    ("pmi.chelles@demo.rdv-solidarites.fr", "Émilie", "Girard", ["PMI"], {"chelles": BASIC, "noisiel": BASIC}),
    ("social.chelles@demo.rdv-solidarites.fr", "Julien", "Roux", ["Social"], {"chelles": BASIC}),
    ("secretariat.chelles@demo.rdv-solidarites.fr", "Amélie", "Fontaine", ["Secrétariat"], {"chelles": BASIC}),
]

SUPERADMIN = ("superadmin@demo.rdv-solidarites.fr", "Sam", "Technique")

# organisation key: (email, service short name, level, invited by)
INVITATIONS = {
    "noisiel": ("lucie.garnier@demo.rdv-solidarites.fr", "Social", BASIC, "admin.noisiel@demo.rdv-solidarites.fr"),
    "chelles": ("marc.petit@demo.rdv-solidarites.fr", "PMI", ADMIN, "admin.chelles@demo.rdv-solidarites.fr"),
}


def build(ctx: dict) -> None:
    services = {service.short_name: service for service in Service.objects.all()}
    logins = []
    for email, first_name, last_name, service_names, roles in AGENTS:
        agent = Agent.objects.filter(email__iexact=email).first() or Agent(email=email)
        agent.first_name, agent.last_name, agent.is_active = first_name, last_name, True
        agent.set_password(DEMO_PASSWORD)
        agent.save()
        agent.services.set([services[name] for name in service_names])
        for key, level in roles.items():
            AgentRole.objects.update_or_create(
                agent=agent, organisation=ctx["organisations"][key], defaults={"level": level}
            )
        description = ", ".join(
            f"{ctx['organisations'][key].name} ({'admin' if level == ADMIN else 'utilisateur'})"
            for key, level in roles.items()
        )
        logins.append((email, f"{first_name} {last_name}, {'/'.join(service_names)} — {description}"))

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
    ctx["logins"] = logins
    ctx["password"] = DEMO_PASSWORD
