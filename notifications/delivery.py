"""Delivering outbox rows in three steps, none of which holds a lock while a provider answers:

1. claim (notifications.claim, a short transaction for a whole batch): the rows due and held by
   no one else are locked, dropped if they have become pointless, held back while an earlier
   message to the same address is on its way, else worded from the RDV as it is and what the
   recipient heard, and marked « sending » with a deadline (CLAIM_TIMEOUT);
2. send each, outside any transaction, with the providers' timeouts; a row whose claim would
   expire before its provider could answer is given back, not sent late;
3. record the outcomes, those sent in one statement per few dozen, each only if its row is still
   held by this claim.

Workers and the periodic sweep may thus run side by side, and an agent changing the RDV meanwhile
never waits for a provider. A worker that dies between 2 and 3 leaves the row « sending » past
its deadline: the sweep sends it again (at least once, never lost). The claim and the record of
a sent message commit without waiting for the disk (rdv.db): lost in a crash of the database
server, they leave the row to be sent again, as when a worker dies."""

import datetime as dt
import logging
import smtplib
import time
import uuid

from anymail.backends.brevo import EmailBackend as BrevoBackend
from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused, AnymailUnsupportedFeature
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import claim_reads, ics
from notifications.claim import claim, without_secrets
from notifications.messages import html_body
from notifications.models import CLAIM_TIMEOUT, Notification, retry_delay
from notifications.queue import dispatch
from rdv.db import commit_without_waiting_for_the_disk
from rdv.sms import Sms, SmsError, get_sms_backend, is_permanent_http_error

logger = logging.getLogger(__name__)

Status = Notification.Status

# How long a provider may take at most (rdv/settings.py: 10 s to connect, 10 s to read), and a
# margin: a row is sent only while its claim still has that long to run.
LONGEST_SEND = dt.timedelta(seconds=25)
# The rows sent are recorded by this many, or after this many seconds.
RECORD_EVERY = 50
RECORD_AFTER_S = 5.0


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def deliver_one(pk: int, now: dt.datetime | None = None) -> Notification | None:
    """Sends the row `pk` if it is due (at `now`, by default the time of the call) and no one
    else holds it; returns it with its new state, or None when there was nothing to do (not due,
    held by another worker, or held back behind an earlier message)."""
    handled = deliver([pk], now)
    return handled[0] if handled else None


def deliver(pks: list[int], now: dt.datetime | None = None) -> list[Notification]:
    """Sends the rows `pks` that are due (at `now`, by default the time of the call) and held by
    no one else; returns those handled (sent, failed, dropped or given back), with their state."""
    now = now or timezone.now()
    claimed_at = time.monotonic()
    rows = claim(sorted(pks), now)
    handled = [row for row in rows if row.status != Status.PENDING]
    sending = [row for row in handled if row.status == Status.SENDING]
    sent: list[tuple[Notification, str]] = []
    last_record = time.monotonic()
    emails = _EmailConnection()
    for position, row in enumerate(sending):
        if time.monotonic() - claimed_at > (CLAIM_TIMEOUT - LONGEST_SEND).total_seconds():
            _give_back(sending[position:])
            break
        try:
            sent.append((row, _send(row, emails)))
        except DeliveryError as error:
            logger.warning("Notification %s not delivered: %s", row.pk, error)
            _record_failure(row, str(error), permanent=error.permanent, now=now)
        except Exception as error:  # an unexpected failure must not stop the other rows
            logger.exception("Notification %s: unexpected error while sending", row.pk)
            reason = _("Erreur inattendue (%(e)s).") % {"e": error.__class__.__name__}
            _record_failure(row, reason, permanent=False, now=now)
        if len(sent) >= RECORD_EVERY or (sent and time.monotonic() - last_record > RECORD_AFTER_S):
            _record_sent(sent, now=now)
            sent, last_record = [], time.monotonic()
    emails.close()
    if sent:
        _record_sent(sent, now=now)
    return handled


class _EmailConnection:
    """One connection to the email provider for a batch (one SMTP session, one HTTP session, one
    file for the development's backend), opened at the first email, closed after the last."""

    def __init__(self):
        self.connection = None

    def get(self):
        if self.connection is None:
            self.connection = get_connection()
            try:
                self.connection.open()
            except Exception:  # each email then tries on its own, and says why it could not leave
                logger.warning("The email provider could not be reached for a batch.", exc_info=True)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:
                logger.warning("The connection to the email provider did not close cleanly.", exc_info=True)


def _give_back(rows: list[Notification]) -> None:
    """Rows claimed but not sent in time (a slow provider): pending again, their attempt not
    counted, queued anew, rather than sent after their claim expired (a sweep would send them
    too)."""
    for row in rows:
        Notification.objects.filter(pk=row.pk, attempts=row.attempts, status=Status.SENDING).update(
            status=Status.PENDING, attempts=F("attempts") - 1, next_attempt_at=timezone.now()
        )
        row.status, row.attempts = Status.PENDING, row.attempts - 1
    dispatch([row.pk for row in rows])


def _record_sent(sent: list[tuple[Notification, str]], *, now: dt.datetime) -> None:
    """The attempt number is the claim's token: a worker so slow that its claim expired and the
    row was claimed again records nothing over the later claim. A message that went is recorded
    as sent even if the later claim found it pointless meanwhile (the truth: it went). One
    statement for all the rows."""
    table = Notification._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s)"] * len(sent))
    parameters: list = []
    for row, provider_id in sent:
        parameters += [row.pk, row.attempts, provider_id[:100], without_secrets(row)]
    with transaction.atomic():
        # Lost in a crash of the database server, the rows stay « sending » and leave again once
        # their claim expires: at least once, as when a worker dies (rdv.db).
        commit_without_waiting_for_the_disk()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS row SET status = %s, sent_at = %s, provider_id = sent.provider_id,"
                " last_error = '', body = sent.body"
                f" FROM (VALUES {values}) AS sent (id, attempts, provider_id, body)"
                " WHERE row.id = sent.id AND row.attempts = sent.attempts AND row.status IN (%s, %s)"
                " RETURNING row.id",
                [Status.SENT, now, *parameters, Status.SENDING, Status.DROPPED],
            )
            recorded = {pk for (pk,) in cursor.fetchall()}
    for row, provider_id in sent:
        row.status, row.sent_at, row.provider_id = Status.SENT, now, provider_id[:100]
    _release_followers([row for row, _provider_id in sent if row.pk in recorded])


def _release_followers(rows: list[Notification]) -> None:
    """The messages held back while `rows` were on their way (notifications.claim) are due now
    (those in a retry's delay excepted)."""
    # Only an usager's messages about an RDV form a thread: none is held behind the others.
    threads = [row for row in rows if row.is_about_an_rdv and not row.is_for_an_agent]
    if not threads:
        return
    # Mostly none: one plain read. A follower held after it saw its predecessor finished
    # releases itself (notifications.claim).
    candidates = claim_reads.pending_first_tries({row.rdv_id for row in threads})
    followers = [
        pk
        for pk, rdv_id, usager_id, channel in candidates
        if any(
            (row.rdv_id, row.usager_id, row.channel) == (rdv_id, usager_id, channel) and pk > row.pk for row in threads
        )
    ]
    if not followers:
        return
    with transaction.atomic():
        # Rows a writer holds are being replaced: its new row is queued when it commits.
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=followers)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    if ids:
        dispatch(ids)


def _record_failure(notification: Notification, error: str, *, permanent: bool, now: dt.datetime) -> None:
    """A refused message fails; any other failure is tried again later, until the RDV starts."""
    status = Status.FAILED if permanent else Status.PENDING
    next_attempt_at = now + retry_delay(notification.attempts)
    forget = {"body": without_secrets(notification)} if permanent else {}
    recorded = Notification.objects.filter(
        pk=notification.pk, attempts=notification.attempts, status=Status.SENDING
    ).update(status=status, last_error=error[:1000], next_attempt_at=next_attempt_at, **forget)
    notification.status, notification.last_error = status, error[:1000]
    notification.next_attempt_at = next_attempt_at
    if recorded:
        _release_followers([notification])


def _send(notification: Notification, emails: "_EmailConnection") -> str:
    if notification.channel == Notification.Channel.SMS:
        return _send_sms(notification)
    return _send_email(notification, emails.get())


def _send_sms(notification: Notification) -> str:
    try:
        result = get_sms_backend().send(Sms(to=notification.to, body=notification.body))
    except SmsError as error:
        raise DeliveryError(_provider_error(error, error.permanent), permanent=error.permanent) from error
    return result.provider_id


def _send_email(notification: Notification, connection=None) -> str:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to],
        connection=connection,
    )
    message.attach_alternative(html_body(notification), "text/html")
    if isinstance(connection, BrevoBackend):
        # The same key for every attempt of the row: a message sent again after a worker died
        # between the provider's acceptance and our record is dropped by Brevo (kept 15 min, more
        # than a claim's deadline and the sweep's minute). Other providers take no such key.
        message.extra_headers["idempotencyKey"] = idempotency_key(notification)
    invitation = ics.for_notification(notification)
    if invitation is not None:
        # Both forms: the text/calendar part makes Gmail and Outlook show the event with
        # « Ajouter à l'agenda », the attachment serves the other clients (and the providers
        # that take only a text and an HTML body).
        method, content = invitation
        calendar_type = f"text/calendar; method={method}"
        message.attach_alternative(content.decode(), calendar_type)
        message.attach("invite.ics", content.decode(), calendar_type)
    try:
        try:
            message.send()
        except AnymailUnsupportedFeature:
            # Raised while the provider's request is built, before anything leaves: Brevo's
            # API, like most, has no calendar part. The invitation then goes as the attachment.
            if invitation is None:
                raise
            message.alternatives = [part for part in message.alternatives if part[1] != calendar_type]
            message.send()
    except (AnymailRecipientsRefused, smtplib.SMTPRecipientsRefused) as error:
        raise DeliveryError(_provider_error(error, True), permanent=True) from error
    except AnymailAPIError as error:
        permanent = is_permanent_http_error(getattr(error, "status_code", None))
        raise DeliveryError(_provider_error(error, permanent), permanent=permanent) from error
    except (AnymailError, smtplib.SMTPException, OSError) as error:
        raise DeliveryError(_provider_error(error, False), permanent=False) from error
    status = getattr(message, "anymail_status", None)
    return (status.message_id if status is not None and status.message_id else "") or "email"


def idempotency_key(notification: Notification) -> str:
    """A UUID of its own per outbox row and site, the same at every attempt."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{settings.SITE_URL}/notifications/{notification.pk}"))


def _provider_error(error: Exception, permanent: bool) -> str:
    """What agents read on the RDV's summary: the French gist, then the provider's own words."""
    gist = _("Refusé par le prestataire") if permanent else _("Prestataire indisponible, nouvel essai prévu")
    detail = str(error).strip() or error.__class__.__name__
    return f"{gist} : {detail}"
