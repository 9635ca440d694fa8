"""The background export of a period's RDVs: an agent's request must not wait for 100 000 rows.
Beat runs the retention of the exports (stats.retention) hourly."""

import logging
import tempfile

from celery import shared_task
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from stats.exports import write_rdvs
from stats.figures import Filters
from stats.models import RdvExport
from stats.periods import Period
from stats.retention import purge_exports

logger = logging.getLogger(__name__)

EXPORT = "stats.export_rdvs"


def start_export(export_id: int) -> None:
    """Asks a worker for the export (after the commit that wrote its row). A broker that cannot
    be reached fails the export at once, with a message, rather than leaving it waiting."""
    try:
        export_rdvs.delay(export_id)
    except (OperationalError, OSError):
        logger.warning("Broker unreachable: export %s not started.", export_id, exc_info=True)
        RdvExport.objects.filter(pk=export_id).update(
            state=RdvExport.State.FAILED,
            error=_("Le service d'export est indisponible : réessayez dans quelques minutes."),
            finished_at=timezone.now(),
        )


@shared_task(name=EXPORT, ignore_result=True)
def export_rdvs(export_id: int) -> None:
    """Writes the file, recording progress as it goes. Run again (a worker lost mid-way) it starts
    over; a finished export is left as it is. A failure is recorded on the export, shown on its
    page, and not retried: the agent asks again."""
    claimed = RdvExport.objects.filter(
        pk=export_id, state__in=[RdvExport.State.PENDING, RdvExport.State.RUNNING]
    ).update(state=RdvExport.State.RUNNING, rows_done=0)
    if not claimed:
        return
    export = RdvExport.objects.select_related("organisation__territory").get(pk=export_id)

    def progress(done: int, total: int) -> None:
        RdvExport.objects.filter(pk=export_id).update(rows_done=done, rows_total=total)

    try:
        with tempfile.TemporaryFile() as out:
            write_rdvs(
                out,
                organisation=export.organisation,
                period=Period(export.first_month, export.last_month),
                filters=Filters(**{f"{name}_id": value for name, value in export.filters.items()}),
                with_usagers=export.with_usagers,
                format=export.format,
                progress=progress,
            )
            out.seek(0)
            name = f"rdv-{export.first_month:%Y-%m}-{export.last_month:%Y-%m}-{export.pk}.{export.format}"
            export.file.save(name, File(out), save=False)
        RdvExport.objects.filter(pk=export_id).update(
            file=export.file.name, state=RdvExport.State.DONE, finished_at=timezone.now()
        )
    except Exception:
        logger.exception("RDV export %s failed", export_id)
        RdvExport.objects.filter(pk=export_id).update(
            state=RdvExport.State.FAILED,
            error=_("L'export n'a pas pu être écrit. Réessayez ; si l'échec se répète, signalez-le."),
            finished_at=timezone.now(),
        )


@shared_task(name="stats.purge_exports", ignore_result=True)
def purge_expired_exports() -> None:
    """Retention (stats.retention), hourly."""
    deleted = purge_exports()
    if deleted:
        logger.info("Retention: %s RDV export(s) deleted.", deleted)
