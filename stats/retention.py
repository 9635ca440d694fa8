"""How long the RDV exports are kept: STATS_EXPORT_RETENTION_DAYS (7) after each was ready, its
file (RDVs, and usagers' names when asked for) and its row are deleted; so are the exports that
failed, or never ended (a worker lost with them), as long after. The export's page says until
when its file is there (RdvExport.available_until); past that, the download answers 410 even
before this has run.

`purge_exports` is run hourly by beat (task stats.purge_exports). Idempotent, batch by batch:
each batch is one short transaction that skips the rows another run holds. A file that the
storage fails to delete keeps its row, for the next run to try again: no file is ever left
without a row that names it."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from stats.models import RdvExport

logger = logging.getLogger(__name__)

BATCH_SIZE = 100


def purge_exports(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Deletes the expired exports, files first; returns how many rows it deleted."""
    candidates = RdvExport.objects.expired(now or timezone.now()).order_by("pk")
    deleted = 0
    after = 0  # past the rows whose file could not be deleted, not to try them again in this run
    while True:
        with transaction.atomic():
            batch = list(candidates.filter(pk__gt=after).select_for_update(skip_locked=True)[:batch_size])
            if not batch:
                return deleted
            after = batch[-1].pk
            gone = []
            for export in batch:
                try:
                    if export.file.name:
                        export.file.delete(save=False)
                except Exception:
                    logger.exception(
                        "The file of RDV export %s could not be deleted; kept for the next run.", export.pk
                    )
                    continue
                gone.append(export.pk)
            deleted += RdvExport.objects.filter(pk__in=gone).delete()[0]
