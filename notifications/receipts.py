"""Delivery receipts: the providers tell, after accepting a message, whether it reached the phone
or the mailbox. Twilio posts a status callback (signed with the account's token) to
`SMS_STATUS_CALLBACK_URL`; email providers post to django-anymail's tracking webhooks
(`/anymail/<provider>/tracking/`, protected by ANYMAIL_WEBHOOK_SECRET), whose normalised events
reach `on_email_tracking`. Both land in `record_receipt`, which the RDV's summary shows."""

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.models import Notification

logger = logging.getLogger(__name__)

Delivery = Notification.Delivery

TWILIO_DELIVERED = {"delivered"}
TWILIO_UNDELIVERED = {"undelivered", "failed"}


def record_receipt(channel: str, provider_id: str, *, delivered: bool, at: dt.datetime, error: str = "") -> int:
    """Marks the message `provider_id` delivered or not. A « distribuée » is final: a late
    « non distribuée » about the same message (providers do not keep order) changes nothing.
    Returns how many rows changed."""
    if not provider_id:
        return 0
    rows = Notification.objects.filter(channel=channel, provider_id=provider_id).exclude(delivery=Delivery.DELIVERED)
    return rows.update(
        delivery=Delivery.DELIVERED if delivered else Delivery.UNDELIVERED,
        delivery_error="" if delivered else error[:1000],
        delivery_at=at,
    )


@csrf_exempt
@login_not_required
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's status callback for an SMS. Refused (403) unless signed with the account's
    token for the URL we gave Twilio."""
    from twilio.request_validator import RequestValidator

    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    if not settings.TWILIO_AUTH_TOKEN or not validator.validate(
        settings.SMS_STATUS_CALLBACK_URL, request.POST.dict(), signature
    ):
        return HttpResponseForbidden()
    status = request.POST.get("MessageStatus", "")
    if status in TWILIO_DELIVERED | TWILIO_UNDELIVERED:
        error = request.POST.get("ErrorCode", "")
        record_receipt(
            Notification.Channel.SMS,
            request.POST.get("MessageSid", ""),
            delivered=status in TWILIO_DELIVERED,
            at=timezone.now(),
            error=f"Non distribué par l'opérateur (code Twilio {error})" if error else "Non distribué par l'opérateur",
        )
    return HttpResponse(status=204)


def on_email_tracking(sender, event, esp_name, **kwargs) -> None:
    """django-anymail's normalised tracking events: delivered, or bounced / rejected / failed."""
    from anymail.signals import EventType

    if event.event_type == EventType.DELIVERED:
        delivered = True
    elif event.event_type in (EventType.BOUNCED, EventType.REJECTED, EventType.FAILED):
        delivered = False
    else:
        return
    reason = event.mta_response or event.description or event.reject_reason or ""
    record_receipt(
        Notification.Channel.EMAIL,
        event.message_id or "",
        delivered=delivered,
        at=event.timestamp or timezone.now(),
        error=f"Non distribué ({esp_name}) : {reason}" if reason else f"Non distribué ({esp_name})",
    )
