"""Asking a worker to deliver rows, after the commit that wrote them.

The deliver task is named, not imported: the code that writes messages (services) and the code
that sends them (delivery) sit below the Celery tasks that call them, and a producer needs only
the task's name. The app's registry runs it in place when `task_always_eager` (tests)."""

import logging

from kombu.exceptions import OperationalError

from rdv.celery import app

logger = logging.getLogger(__name__)

DELIVER = "notifications.deliver"
# The rows a task delivers at most: one claim, one record (notifications.claim, .delivery); each
# batch costs a dozen queries, which 50 rows paid for a fifth of the time (bench_notifications).
# A slow provider (250 ms a message) still sends a batch within its claim's deadline; slower, the
# rows it has no time for are given back and queued anew (delivery._give_back).
BATCH = 100


def dispatch(ids: list[int], *, countdown: int = 0) -> None:
    """Asks a worker to deliver the rows now, or in `countdown` seconds (their grace period), by
    tasks of BATCH rows. When the broker cannot be reached the rows stay pending and the periodic
    sweep (`deliver_due`) sends them: the booking never fails for it and no message is lost."""
    for start in range(0, len(ids), BATCH):
        try:
            app.signature(DELIVER, args=(ids[start : start + BATCH],)).apply_async(countdown=countdown or None)
        except (OperationalError, OSError):
            logger.warning(
                "Broker unreachable: notifications %s will be sent by the periodic sweep.", ids[start:], exc_info=True
            )
            return
