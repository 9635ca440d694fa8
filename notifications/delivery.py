"""Delivering one outbox row in three steps, none of which holds a lock while a provider answers:

1. claim (a short transaction): `SELECT … FOR UPDATE SKIP LOCKED` picks the row if it is due and
   no one else is claiming it, drops it if it has become pointless, holds it back while an
   earlier message to the same address is on its way, else fixes its text from the RDV as it is
   and what the recipient heard (services.final_wording), drops it if its address already had
   its NOTIFICATIONS_DAILY_LIMIT messages of the day, and marks it « sending » with a deadline
   (CLAIM_TIMEOUT), counting the attempt;
2. send, outside any transaction, with the providers' timeouts;
3. record the outcome on the row, if it is still « sending ».

Workers and the periodic sweep may thus run side by side, and an agent changing the RDV meanwhile
never waits for a provider. A worker that dies between 2 and 3 leaves the row « sending » past
its deadline: the sweep sends it again (at least once, never lost). The claim and the record of
a sent message commit without waiting for the disk (rdv.db): lost in a crash of the database
server, they leave the row to be sent again, as when a worker dies."""

import datetime as dt
import logging
import re
import smtplib

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused, AnymailUnsupportedFeature
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import Max, Prefetch, Q, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import ics
from notifications.messages import html_body
from notifications.models import CLAIM_TIMEOUT, Notification, retry_delay
from notifications.queue import dispatch
from notifications.services import final_wording
from rdv.db import commit_without_waiting_for_the_disk
from rdv.sms import Sms, SmsError, get_sms_backend, is_permanent_http_error
from rendezvous.models import Participation
from usagers.models import CODE_VALIDITY

logger = logging.getLogger(__name__)

Status = Notification.Status

# An RDV's participations, as _claim reads them once for the checks and the text.
PARTICIPANTS = Prefetch(
    "participations", queryset=Participation.objects.select_related("usager__responsible").order_by("pk")
)

# The daily limit per address counts over a sliding day, under an advisory lock of this class.
DAILY_LIMIT_WINDOW = dt.timedelta(hours=24)
DAILY_LIMIT_LOCK = 16_001

# The code an usager's email carries (usagers/templates/usagers/emails/code.txt).
CODE_IN_TEXT = re.compile(r"\b[0-9]{6}\b")
# The links of professionals' emails (invitation, new password): each carries a one-time token.
LINK_IN_TEXT = re.compile(r"https?://\S+")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def deliver_one(pk: int, now: dt.datetime | None = None) -> Notification | None:
    """Sends the row `pk` if it is due (at `now`, by default the time of the call) and no one
    else holds it; returns it with its new state, or None when there was nothing to do."""
    now = now or timezone.now()
    notification = _claim(pk, now)
    if notification is None or notification.status != Status.SENDING:
        return notification
    try:
        provider_id = _send(notification)
    except DeliveryError as error:
        logger.warning("Notification %s not delivered: %s", pk, error)
        _record_failure(notification, str(error), permanent=error.permanent, now=now)
    except Exception as error:  # an unexpected failure must not stop the other rows
        logger.exception("Notification %s: unexpected error while sending", pk)
        reason = _("Erreur inattendue (%(e)s).") % {"e": error.__class__.__name__}
        _record_failure(notification, reason, permanent=False, now=now)
    else:
        _record_sent(notification, provider_id, now=now)
    return notification


def _claim(pk: int, now: dt.datetime) -> Notification | None:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            # The recipient's own responsible is never read (it is one): 30 columns less to compile.
            .select_related("rdv__motif__service", "rdv__organisation__territory", "rdv__lieu", "usager")
            .filter(pk=pk)
            .due(now)
            .order_by("pk")  # one row: the model's ordering would only cost its compilation
            .first()
        )
        if notification is None:
            return None
        # Lost in a crash of the database server, the claim leaves the row due: sent again, at
        # least once, as when a worker dies (rdv.db).
        commit_without_waiting_for_the_disk()
        if not notification.is_about_an_rdv:
            if _is_expired_code(notification, now):
                notification.status, notification.last_error = Status.DROPPED, _("Le code a expiré avant l'envoi.")
                notification.body = _without_code(notification)
                notification.save(update_fields=["status", "last_error", "body"])
                return notification
            return _start_sending(notification, now)
        if notification.is_for_an_agent:
            return _claim_for_agent(notification, now)
        if notification.rdv is not None:  # read once: _obsolete, final_wording and the text's link
            prefetch_related_objects([notification.rdv], PARTICIPANTS)
        reason = _obsolete(notification, now)
        # What the recipient reads depends on whether an earlier message reaches it: wait for it.
        held_until = None if reason else _on_its_way(notification, now).aggregate(Max("next_attempt_at"))
        if held_until and held_until["next_attempt_at__max"]:
            notification.next_attempt_at = held_until["next_attempt_at__max"]  # or sooner: _release_followers
            notification.save(update_fields=["next_attempt_at"])
        else:
            reason = reason or final_wording(notification) or _over_daily_limit(notification, now)
            if reason:
                notification.status, notification.last_error = Status.DROPPED, reason
                notification.save(update_fields=["status", "last_error"])
                return notification
            return _start_sending(notification, now)
    # Held back. The earlier one may have finished while this row was locked here, its
    # _release_followers skipping it: then it is due now.
    if not _on_its_way(notification, now).exists():
        Notification.objects.filter(pk=pk, status=Status.PENDING).update(next_attempt_at=timezone.now())
        dispatch([pk])
    return None


def _claim_for_agent(notification: Notification, now: dt.datetime) -> Notification:
    """An email to one of the RDV's agents (notifications.to_agents) is no part of an usager's
    thread: nothing to wait for, nothing to word again. It leaves as written, unless the RDV was
    deleted or has started (a change of it is told by its own email)."""
    rdv = notification.rdv
    reason = ""
    if rdv is None:
        reason = _("Le RDV a été supprimé avant l'envoi.")
    elif rdv.starts_at <= now:
        reason = _("Le RDV a commencé avant l'envoi.")
    if reason:
        notification.status, notification.last_error = Status.DROPPED, reason
        notification.save(update_fields=["status", "last_error"])
        return notification
    return _start_sending(notification, now)


def _over_daily_limit(notification: Notification, now: dt.datetime) -> str:
    """Why the message would be one too many for its address today (NOTIFICATIONS_DAILY_LIMIT
    messages about RDVs in the last 24 hours, those being sent included), or "". A family whose
    RDVs are moved all day long must not be flooded. Checked on the final address (final_wording
    may have changed it), under a lock on that address, so that two workers never both send the
    last one allowed. The usagers' codes and the professionals' emails are not counted, nor ever
    held back: an usager must be able to sign in, an agent chose what it receives."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [DAILY_LIMIT_LOCK, notification.to])
    recent = (
        Notification.objects.filter(to=notification.to, agent__isnull=True)
        .exclude(event__in=Notification.NOT_ABOUT_AN_RDV)
        .filter(Q(status=Status.SENDING) | Q(status=Status.SENT, sent_at__gt=now - DAILY_LIMIT_WINDOW))
    )
    if recent.count() >= settings.NOTIFICATIONS_DAILY_LIMIT:
        return _("Non envoyée : limite quotidienne")
    return ""


def _start_sending(notification: Notification, now: dt.datetime) -> Notification:
    """The claimed row is « sending » for CLAIM_TIMEOUT, its final wording saved."""
    notification.status = Status.SENDING
    notification.attempts += 1
    notification.next_attempt_at = now + CLAIM_TIMEOUT
    notification.save(
        update_fields=["status", "attempts", "next_attempt_at", "event", "to", "subject", "body", "rdv_starts_at"]
    )
    return notification


def _is_expired_code(notification: Notification, now: dt.datetime) -> bool:
    """An usager's code is useless once expired: dropped rather than sent late."""
    return notification.event == Notification.Event.LOGIN_CODE and notification.created_at + CODE_VALIDITY <= now


def _without_code(notification: Notification) -> str:
    """The text of the row once it has left (or expired, or failed for good): what would let
    whoever reads the outbox act as its recipient is taken out. An usager's code is blanked (the
    code itself is stored hashed); the one-time link of an invitation or of a new password
    (whose token grants the account until it is used or expires) is replaced by a mention."""
    if notification.event == Notification.Event.LOGIN_CODE:
        return CODE_IN_TEXT.sub("••••••", notification.body)
    if notification.event in (Notification.Event.INVITATION, Notification.Event.PASSWORD):
        return LINK_IN_TEXT.sub(_("[lien personnel retiré après l'envoi]"), notification.body)
    return notification.body


def _on_its_way(notification: Notification, now: dt.datetime):
    """The earlier messages of the same thread a worker is sending."""
    return Notification.objects.same_thread(notification).filter(
        pk__lt=notification.pk, status=Status.SENDING, next_attempt_at__gt=now
    )


def _obsolete(notification: Notification, now: dt.datetime) -> str:
    """Why the message should no longer be sent, or "". Messages are superseded when written
    (notifications.services); this catches what changed since, whatever the order of events."""
    rdv = notification.rdv
    if rdv is None:
        return _("Le RDV a été supprimé avant l'envoi.")
    if rdv.starts_at <= now:
        return _("Le RDV a commencé avant l'envoi.")
    if rdv.motif.notifications_disabled:
        return _("Les notifications ont été désactivées pour ce motif avant l'envoi.")
    # A newer message to the same address replaces this one, unless it is a reminder written
    # from a stale read of the RDV (it is itself dropped below, and must not take this one along).
    newer = (
        Notification.objects.filter(
            rdv=rdv, usager=notification.usager_id, channel=notification.channel, pk__gt=notification.pk
        )
        .filter(agent__isnull=True)  # the emails to the RDV's agents replace no usager's message
        .exclude(status__in=[Status.DROPPED, Status.FAILED])
        .exclude(Q(event=Notification.Event.REMINDER) & ~Q(rdv_starts_at=rdv.starts_at))
    )
    if newer.exists():
        return _("Remplacée par un message plus récent.")
    concerned = any(
        notification.usager_id in (participation.usager_id, participation.usager.responsible_id)
        for participation in rdv.participations.all()  # prefetched by _claim
    )
    if notification.event == Notification.Event.CANCELLED:
        if not rdv.is_cancelled and concerned:
            return _("Le RDV n'est plus annulé.")
        return ""
    if not concerned:
        return _("L'usager ne participe plus au RDV.")
    if rdv.is_cancelled:
        return _("Le RDV a été annulé avant l'envoi.")
    if notification.event == Notification.Event.REMINDER and rdv.starts_at != notification.rdv_starts_at:
        return _("Le RDV a changé d'heure avant l'envoi.")  # the next run reminds of the new time
    return ""


def _record_sent(notification: Notification, provider_id: str, *, now: dt.datetime) -> None:
    """The attempt number is the claim's token: a worker so slow that its claim expired and the
    row was claimed again records nothing over the later claim. A message that went is recorded
    as sent even if the later claim found it pointless meanwhile (the truth: it went)."""
    with transaction.atomic():
        # Lost in a crash of the database server, the row stays « sending » and leaves again once
        # its claim expires: at least once, as when a worker dies (rdv.db).
        commit_without_waiting_for_the_disk()
        recorded = Notification.objects.filter(
            pk=notification.pk, attempts=notification.attempts, status__in=[Status.SENDING, Status.DROPPED]
        ).update(
            status=Status.SENT,
            sent_at=now,
            provider_id=provider_id[:100],
            last_error="",
            body=_without_code(notification),
        )
    notification.status, notification.sent_at, notification.provider_id = Status.SENT, now, provider_id[:100]
    if recorded:
        _release_followers(notification)


def _release_followers(notification: Notification) -> None:
    """The messages held back while `notification` was on its way (_claim) are due now (those
    in a retry's delay excepted)."""
    if not notification.is_about_an_rdv or notification.is_for_an_agent:  # no thread: none held
        return
    followers = Notification.objects.same_thread(notification).filter(
        pk__gt=notification.pk, status=Status.PENDING, attempts=0
    )
    # Mostly none: one plain read. A follower held after it saw `notification` finished, and
    # releases itself (_claim).
    if not followers.exists():
        return
    with transaction.atomic():
        # Rows a writer holds are being replaced: its new row is queued when it commits.
        ids = list(followers.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True))
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=timezone.now())
    if ids:
        dispatch(ids)


def _record_failure(notification: Notification, error: str, *, permanent: bool, now: dt.datetime) -> None:
    """A refused message fails; any other failure is tried again later, until the RDV starts."""
    status = Status.FAILED if permanent else Status.PENDING
    next_attempt_at = now + retry_delay(notification.attempts)
    forget = {"body": _without_code(notification)} if permanent else {}
    recorded = Notification.objects.filter(
        pk=notification.pk, attempts=notification.attempts, status=Status.SENDING
    ).update(status=status, last_error=error[:1000], next_attempt_at=next_attempt_at, **forget)
    notification.status, notification.last_error = status, error[:1000]
    notification.next_attempt_at = next_attempt_at
    if recorded:
        _release_followers(notification)


def _send(notification: Notification) -> str:
    if notification.channel == Notification.Channel.SMS:
        return _send_sms(notification)
    return _send_email(notification)


def _send_sms(notification: Notification) -> str:
    try:
        result = get_sms_backend().send(Sms(to=notification.to, body=notification.body))
    except SmsError as error:
        raise DeliveryError(_provider_error(error, error.permanent), permanent=error.permanent) from error
    return result.provider_id


def _send_email(notification: Notification) -> str:
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.to],
    )
    message.attach_alternative(html_body(notification), "text/html")
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


def _provider_error(error: Exception, permanent: bool) -> str:
    """What agents read on the RDV's summary: the French gist, then the provider's own words."""
    gist = _("Refusé par le prestataire") if permanent else _("Prestataire indisponible, nouvel essai prévu")
    detail = str(error).strip() or error.__class__.__name__
    return f"{gist} : {detail}"
