"""Demo agents: in each MDS an admin, a PMI and a social worker (basic), a secrétariat agent;
one puéricultrice works in both MDS, to show the organisation switcher."""

from agents.models import Agent, AgentRole
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
    ctx["logins"] = logins
    ctx["password"] = DEMO_PASSWORD
