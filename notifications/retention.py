"""How long the outbox keeps what it sent (CNIL practice, as the original RDV-Solidarités applies
it): a message's text and recipient serve the agents who check what a family was told, and the
support who checks that it left; after that they are personal data kept for nothing.

- ANONYMISE_AFTER_MONTHS (6) after a message was sent, or finally failed or was dropped, its
  subject, text, address or number, the provider's identifier and errors are erased (the text
  reads ANONYMISED_BODY); what the RDV's page lists stays: which message, when, by which channel,
  to which usager, in which state. A row still waiting or being sent is never touched.
- DELETE_AFTER_MONTHS (24) after it was written, the row is deleted.
- The usagers' email codes (usagers.identity) are deleted CODES_KEPT (1 day) after they expired:
  until then, an usager typing an old code is told that it expired rather than that none was
  sent; after that, the row is only an address and an IP kept for nothing. They are purged here
  because the code is the secret of a message of the outbox.

`purge` is run daily by beat (task notifications.purge) and by hand (`manage.py
purge_notifications`). Idempotent, batch by batch: each batch is one short transaction that skips
the rows a worker holds, so that neither the workers nor the bookings ever wait for it."""

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Notification
from usagers.models import EmailCode

ANONYMISE_AFTER_MONTHS = 6
DELETE_AFTER_MONTHS = 24
CODES_KEPT = dt.timedelta(days=1)
BATCH_SIZE = 500


def anonymised_body() -> str:
    """The text of an anonymised row (the field requires one)."""
    return _("Message effacé : durée de conservation écoulée.")


@dataclass(frozen=True)
class Purged:
    anonymised: int
    deleted: int
    codes: int


def months_before(instant: dt.datetime, months: int) -> dt.datetime:
    """The same wall-clock time `months` calendar months earlier (in the site's time zone), on
    the month's last day when it is shorter: 31 August → 28 or 29 February."""
    local = timezone.localtime(instant)
    year, month = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def purge(*, now: dt.datetime | None = None, batch_size: int = BATCH_SIZE) -> Purged:
    now = now or timezone.now()
    # Deleted first: anonymising a row about to go would be work for nothing.
    deleted = delete_notifications(before=months_before(now, DELETE_AFTER_MONTHS), batch_size=batch_size)
    return Purged(
        anonymised=anonymise_notifications(before=months_before(now, ANONYMISE_AFTER_MONTHS), batch_size=batch_size),
        deleted=deleted,
        codes=delete_expired_codes(before=now - CODES_KEPT, batch_size=batch_size),
    )


def anonymise_notifications(*, before: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Erases the messages finished before `before`: sent then (`sent_at`), or failed or dropped
    when last handled (`next_attempt_at`: the time of the claim that dropped it, or the retry a
    permanent failure cancelled). Rows written before it only, through the partial index of the
    rows not anonymised yet (`notification_to_anonymise`: an anonymised row has no address)."""
    candidates = (
        Notification.objects.exclude(to="")
        .filter(created_at__lt=before)
        .exclude(status__in=Notification.IN_PROGRESS)
        .alias(finished_at=Coalesce("sent_at", "next_attempt_at"))
        .filter(finished_at__lt=before)
        .order_by("created_at", "pk")
    )
    anonymised = 0
    while True:
        with transaction.atomic():
            ids = list(candidates.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size])
            if not ids:
                return anonymised
            anonymised += Notification.objects.filter(pk__in=ids).update(
                to="", subject="", body=anonymised_body(), provider_id="", last_error="", delivery_error=""
            )


def delete_notifications(*, before: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Deletes the rows written before `before` (a row still in progress excepted)."""
    candidates = (
        Notification.objects.filter(created_at__lt=before)
        .exclude(status__in=Notification.IN_PROGRESS)
        .order_by()  # any order: through the BRIN index, without sorting what it finds
    )
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(candidates.select_for_update(skip_locked=True).values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            deleted += Notification.objects.filter(pk__in=ids).delete()[0]


def delete_expired_codes(*, before: dt.datetime, batch_size: int = BATCH_SIZE) -> int:
    """Deletes the usagers' email codes expired before `before`, used or not."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                EmailCode.objects.filter(expires_at__lt=before)
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            deleted += EmailCode.objects.filter(pk__in=ids).delete()[0]
