"""Celery tasks: deliver rows now (queued after the commit that wrote them), sweep the due rows
(those whose queueing failed, retries, rows of a worker that died), write the reminders, apply
the retention rules. Beat runs the last three."""

import logging

from celery import shared_task
from django.utils import timezone

from notifications import retention
from notifications.delivery import deliver as deliver_rows
from notifications.delivery import deliver_one
from notifications.models import Notification
from notifications.queue import BATCH
from notifications.reminders import enqueue_reminders

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def _deliver_all(ids: list[int]) -> int:
    """The rows by batches of BATCH (notifications.claim reads and writes a batch at once). A
    batch that fails to be handled is tried row by row: the row at fault is logged and left to
    the next sweep, never stopping the others. Returns how many were handled."""
    handled = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        try:
            handled += len(deliver_rows(batch))
        except Exception:
            logger.exception("Notifications %s could not be handled together: one by one.", batch)
            for pk in batch:
                try:
                    handled += deliver_one(pk) is not None
                except Exception:
                    logger.exception("Notification %s could not be handled", pk)
    return handled


@shared_task(name="notifications.deliver", ignore_result=True)
def deliver(ids: list[int]) -> int:
    return _deliver_all(ids)


@shared_task(name="notifications.deliver_due", ignore_result=True)
def deliver_due() -> int:
    """The rows due now, oldest first."""
    due = Notification.objects.due(timezone.now()).order_by("next_attempt_at", "pk")
    return _deliver_all(list(due.values_list("pk", flat=True)[:SWEEP_BATCH]))


@shared_task(name="notifications.send_reminders", ignore_result=True)
def send_reminders() -> int:
    return enqueue_reminders()


@shared_task(name="notifications.purge", ignore_result=True)
def purge() -> None:
    """Retention (notifications.retention), daily."""
    purged = retention.purge()
    logger.info(
        "Retention: %s notification(s) anonymised, %s deleted, %s expired code(s) deleted.",
        purged.anonymised,
        purged.deleted,
        purged.codes,
    )
