from django.core.management.base import BaseCommand
from django.db import transaction

from agents import demo as agents_demo
from motifs import demo as motifs_demo
from notifications import demo as notifications_demo
from organisations import demo as organisations_demo
from planning import demo as planning_demo
from rendezvous import demo as rendezvous_demo
from reservation import demo as reservation_demo
from sectorisation import demo as sectorisation_demo
from stats import demo as stats_demo
from usagers import demo as usagers_demo

# Each step builds on what the previous ones put in the shared context; each is idempotent.
STEPS = [
    organisations_demo.build,
    agents_demo.build,
    usagers_demo.build,
    motifs_demo.build,
    sectorisation_demo.build,
    planning_demo.build,
    rendezvous_demo.build,
    stats_demo.build,
    notifications_demo.build,
    reservation_demo.build,
]


class Command(BaseCommand):
    help = "Crée ou met à jour les données de démonstration (idempotent) et affiche les identifiants."

    def handle(self, *args, **options):
        ctx: dict = {}
        with transaction.atomic():
            for step in STEPS:
                step(ctx)
        self.stdout.write(self.style.SUCCESS("Données de démonstration prêtes."))
        self.stdout.write(f"Identifiants de démonstration (mot de passe commun : {ctx['password']}) :")
        for email, description in ctx["logins"]:
            self.stdout.write(f"  {email:<48} {description}")
