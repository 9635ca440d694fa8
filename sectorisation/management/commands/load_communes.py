"""`python manage.py load_communes [--path communes.csv]`: loads (or updates) every commune of
France from the shipped CSV. Idempotent: safe to run twice, or after a newer CSV is committed."""

from pathlib import Path

from django.core.management.base import BaseCommand

from sectorisation.loading import COMMUNES_CSV, load_communes


class Command(BaseCommand):
    help = "Charge ou met à jour les communes de France depuis le fichier livré (sectorisation/data/communes.csv)."

    def add_arguments(self, parser):
        parser.add_argument("--path", type=Path, default=COMMUNES_CSV, help="Fichier CSV à charger.")

    def handle(self, *args, **options):
        counts = load_communes(path=options["path"])
        self.stdout.write(
            f"{counts.communes} communes et arrondissements, {counts.former_communes} anciennes communes ; "
            f"{counts.written} lignes ajoutées ou modifiées."
        )
