"""`python manage.py anonymise_usagers [--years 2] [--dry-run] [--batch-size 500]`

The retention rule for usagers' personal data: a family (an usager en charge and its proches) with
no change for `--years` years (default 2) is anonymised: names, contact details, case number and
notes are erased, with the history that repeats them; what statistics count stays (see
usagers.services.anonymise_families). Run it daily (cron or celery beat): it works batch by batch,
each batch in its own transaction, and is idempotent (anonymised usagers are never selected again).

« No RDV for 2 years » is part of the rule too. RDVs do not exist yet: the rendezvous app adds its
condition in UsagerQuerySet.inactive_since when it adds the Rdv model.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from usagers.models import Usager
from usagers.services import anonymise_families


class Command(BaseCommand):
    help = "Anonymise les usagers sans modification (ni rendez-vous) depuis N ans (2 par défaut)."

    def add_arguments(self, parser):
        parser.add_argument("--years", type=int, default=2, help="Durée de conservation, en années (2 par défaut).")
        parser.add_argument("--dry-run", action="store_true", help="Compter sans rien modifier.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, years: int, dry_run: bool, batch_size: int, **options):
        if years < 1:
            raise CommandError("La durée de conservation est d'au moins un an.")
        cutoff = timezone.now() - timedelta(days=365 * years)
        candidates = Usager.objects.not_anonymised().inactive_since(cutoff).order_by("pk")
        families = usagers = 0
        last_pk = 0
        while True:
            batch = list(candidates.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch_size])
            if not batch:
                break
            last_pk = batch[-1]
            families += len(batch)
            if dry_run:
                usagers += Usager.objects.filter(pk__in=batch).count()
                usagers += Usager.objects.filter(responsible_id__in=batch, anonymised_at__isnull=True).count()
            else:
                usagers += anonymise_families(responsible_ids=batch)
        verb = "seraient anonymisés" if dry_run else "anonymisés"
        self.stdout.write(
            f"{usagers} usager(s) {verb} ({families} famille(s) sans modification depuis le {cutoff:%d/%m/%Y})."
        )
