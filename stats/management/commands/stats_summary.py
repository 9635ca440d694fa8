"""`python manage.py stats_summary --check` compares the statistics' summary with direct counts
of the RDVs and usagers (exit status 1 when they differ); `--rebuild` recomputes it. Both take
`--organisation ID` (repeatable) to work on some organisations only. Safe on a live database and
safe to run twice: see stats/summary.py."""

import time

from django.core.management.base import BaseCommand, CommandError

from stats import summary


class Command(BaseCommand):
    help = "Vérifie (--check) ou reconstruit (--rebuild) le résumé des statistiques à partir des RDV."

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="Compare le résumé avec un décompte direct.")
        action.add_argument("--rebuild", action="store_true", help="Recalcule le résumé à partir des RDV.")
        parser.add_argument(
            "--organisation",
            type=int,
            action="append",
            dest="organisations",
            metavar="ID",
            help="Seulement cette organisation (peut être répété).",
        )

    def handle(self, *args, check: bool, rebuild: bool, organisations: list[int] | None, **options):
        started = time.perf_counter()
        if rebuild:
            count = summary.rebuild(organisation_ids=organisations)
            self.stdout.write(
                f"Résumé reconstruit pour {count} organisation(s) en {time.perf_counter() - started:.1f} s."
            )
            return
        differences = summary.check(organisation_ids=organisations)
        for difference in differences:
            self.stdout.write(
                f"{difference.table}, organisation {difference.organisation_id} : "
                f"{difference.missing} ligne(s) manquante(s) ou fausse(s), "
                f"{difference.unexpected} ligne(s) en trop ou fausse(s)."
            )
        if differences:
            raise CommandError(
                "Le résumé des statistiques diffère du décompte direct : "
                "« python manage.py stats_summary --rebuild » le recalcule."
            )
        self.stdout.write(f"Résumé des statistiques exact ({time.perf_counter() - started:.1f} s).")
