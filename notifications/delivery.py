"""Delivering one outbox row in three steps, none of which holds a lock while a provider answers:

1. claim (a short transaction): `SELECT … FOR UPDATE SKIP LOCKED` picks the row if it is due and
   no one else is claiming it, drops it if it has become pointless, holds it back while an
   earlier message to the same address is on its way, else fixes its text from the RDV as it is
   and what the recipient heard (services.final_wording) and marks it « sending » with a
   deadline (CLAIM_TIMEOUT), counting the attempt;
2. send, outside any transaction, with the providers' timeouts;
3. record the outcome on the row, if it is still « sending ».

Workers and the periodic sweep may thus run side by side, and an agent changing the RDV meanwhile
never waits for a provider. A worker that dies between 2 and 3 leaves the row « sending » past
its deadline: the sweep sends it again (at least once, never lost)."""

import datetime as dt
import logging
import re
import smtplib

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.messages import html_body
from notifications.models import CLAIM_TIMEOUT, Notification, retry_delay
from notifications.queue import dispatch
from notifications.services import final_wording
from rdv.sms import Sms, SmsError, get_sms_backend, is_permanent_http_error
from usagers.models import CODE_VALIDITY

logger = logging.getLogger(__name__)

Status = Notification.Status

# The code an usager's email carries (usagers/templates/usagers/emails/code.txt).
CODE_IN_TEXT = re.compile(r"\b[0-9]{6}\b")


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
            .select_related("rdv__motif__service", "rdv__organisation__territory", "rdv__lieu", "usager__responsible")
            .filter(pk=pk)
            .due(now)
            .first()
        )
        if notification is None:
            return None
        if not notification.is_about_an_rdv:
            if _is_expired_code(notification, now):
                notification.status, notification.last_error = Status.DROPPED, _("Le code a expiré avant l'envoi.")
                notification.body = _without_code(notification)
                notification.save(update_fields=["status", "last_error", "body"])
                return notification
            return _start_sending(notification, now)
        reason = _obsolete(notification, now)
        # What the recipient reads depends on whether an earlier message reaches it: wait for it.
        held_until = None if reason else _on_its_way(notification, now).aggregate(Max("next_attempt_at"))
        if held_until and held_until["next_attempt_at__max"]:
            notification.next_attempt_at = held_until["next_attempt_at__max"]  # or sooner: _release_followers
            notification.save(update_fields=["next_attempt_at"])
        else:
            reason = reason or final_wording(notification)
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
    """The text of the row once its code has left or expired: the code is blanked out, so that
    whoever reads the outbox cannot sign in as the usager (the code itself is stored hashed)."""
    if notification.event != Notification.Event.LOGIN_CODE:
        return notification.body
    return CODE_IN_TEXT.sub("••••••", notification.body)


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
        .exclude(status__in=[Status.DROPPED, Status.FAILED])
        .exclude(Q(event=Notification.Event.REMINDER) & ~Q(rdv_starts_at=rdv.starts_at))
    )
    if newer.exists():
        return _("Remplacée par un message plus récent.")
    concerned = rdv.participations.filter(
        Q(usager_id=notification.usager_id) | Q(usager__responsible_id=notification.usager_id)
    ).exists()
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
    recorded = Notification.objects.filter(
        pk=notification.pk, attempts=notification.attempts, status__in=[Status.SENDING, Status.DROPPED]
    ).update(
        status=Status.SENT, sent_at=now, provider_id=provider_id[:100], last_error="", body=_without_code(notification)
    )
    notification.status, notification.sent_at, notification.provider_id = Status.SENT, now, provider_id[:100]
    if recorded:
        _release_followers(notification)


def _release_followers(notification: Notification) -> None:
    """The messages held back while `notification` was on its way (_claim) are due now (those
    in a retry's delay excepted)."""
    if not notification.is_about_an_rdv:
        return
    followers = Notification.objects.same_thread(notification).filter(
        pk__gt=notification.pk, status=Status.PENDING, attempts=0
    )
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
    try:
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
