"""`python manage.py purge_notifications [--batch-size 500]`

The retention rules of the outbox, run by hand (beat runs them every night, task
notifications.purge): messages anonymised 6 months after they were sent, rows deleted after 2
years, the usagers' email codes deleted a day after they expired (notifications.retention).
Idempotent: a second run finds nothing more to do."""

from django.core.management.base import BaseCommand, CommandError

from notifications import retention


class Command(BaseCommand):
    help = (
        "Anonymise les notifications envoyées il y a plus de 6 mois, supprime celles de plus de 2 ans "
        "et les codes de connexion des usagers expirés depuis plus d'un jour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=retention.BATCH_SIZE, help="Lignes par transaction.")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size : au moins 1.")
        purged = retention.purge(batch_size=batch_size)
        self.stdout.write(
            f"{purged.anonymised} notification(s) anonymisée(s), {purged.deleted} supprimée(s), "
            f"{purged.codes} code(s) de connexion expiré(s) supprimé(s)."
        )
