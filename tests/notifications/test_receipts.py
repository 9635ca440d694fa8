"""Delivery receipts from the providers (notifications.receipts): Twilio's signed status
callback and the email providers' tracking webhooks through django-anymail."""

import base64
import json
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator

from notifications.delivery import deliver_one
from notifications.models import Notification
from notifications.services import notify
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

CALLBACK = "https://rdv.example.fr/notifications/twilio/statut/"
TOKEN = "twilio-token"


@pytest.fixture
def rows(organisation):
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = RdvFactory(organisation=organisation, usagers=[usager])
    email, text = notify(rdv, Notification.Event.CREATED)
    Notification.objects.filter(pk=email.pk).update(status="sent", provider_id="<1@smtp-relay.mailin.fr>")
    Notification.objects.filter(pk=text.pk).update(status="sent", provider_id="SM" + "1" * 32)
    email.refresh_from_db()
    text.refresh_from_db()
    return email, text


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKEND = "rdv.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, TOKEN
    settings.SMS_STATUS_CALLBACK_URL = CALLBACK


def post_status(client, params, token=TOKEN):
    signature = RequestValidator(token).compute_signature(CALLBACK, params)
    return client.post(reverse("notifications:twilio_status"), params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_twilio_says_an_sms_was_delivered(client, rows, twilio):
    _email, text = rows
    response = post_status(client, {"MessageSid": text.provider_id, "MessageStatus": "delivered"})
    assert response.status_code == 204
    text.refresh_from_db()
    assert text.delivery == Notification.Delivery.DELIVERED and text.delivery_at is not None


def test_twilio_says_an_sms_was_not_delivered_and_a_late_receipt_changes_nothing(client, rows, twilio):
    _email, text = rows
    post_status(client, {"MessageSid": text.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30005"})
    text.refresh_from_db()
    assert (text.delivery, text.delivery_error) == ("undelivered", "Non distribué par l'opérateur (code Twilio 30005)")
    post_status(client, {"MessageSid": text.provider_id, "MessageStatus": "delivered"})
    post_status(client, {"MessageSid": text.provider_id, "MessageStatus": "failed"})
    text.refresh_from_db()
    assert text.delivery == "delivered"


def test_an_unsigned_or_forged_callback_is_refused(client, rows, twilio):
    _email, text = rows
    params = {"MessageSid": text.provider_id, "MessageStatus": "delivered"}
    assert client.post(reverse("notifications:twilio_status"), params).status_code == 403
    assert post_status(client, params, token="not-the-token").status_code == 403
    text.refresh_from_db()
    assert text.delivery == ""


def test_sms_ask_twilio_for_receipts_when_configured(rows, twilio):
    _email, text = rows
    Notification.objects.filter(pk=text.pk).update(status="pending", provider_id="")
    answer = TwilioResponse(201, json.dumps({"sid": "SM" + "2" * 32, "status": "queued"}))
    with mock.patch("twilio.http.http_client.TwilioHttpClient.request", return_value=answer) as request:
        deliver_one(text.pk)
    assert request.call_args.kwargs["data"]["StatusCallback"] == CALLBACK


def brevo_event(client, payload, secret="rdv:secret"):
    auth = base64.b64encode(secret.encode()).decode()
    return client.post(
        "/anymail/brevo/tracking/",
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


@pytest.fixture
def brevo(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "rdv:secret"}


def test_the_email_provider_says_an_email_bounced(client, rows, brevo):
    email, _text = rows
    now_ms = int(timezone.now().timestamp() * 1000)
    payload = {
        "event": "hard_bounce",
        "email": email.to,
        "message-id": email.provider_id,
        "reason": "550 5.1.1 user unknown",
        "ts_epoch": now_ms,
    }
    assert brevo_event(client, payload).status_code == 200
    email.refresh_from_db()
    assert email.delivery == "undelivered"
    assert email.delivery_error == "Non distribué (Brevo) : 550 5.1.1 user unknown"


def test_the_email_provider_says_an_email_was_delivered(client, rows, brevo):
    email, _text = rows
    payload = {"event": "delivered", "email": email.to, "message-id": email.provider_id, "ts_epoch": 1_790_000_000_000}
    assert brevo_event(client, payload).status_code == 200
    email.refresh_from_db()
    assert email.delivery == "delivered"


def test_the_tracking_webhook_needs_its_secret(client, rows, brevo):
    email, _text = rows
    payload = {"event": "delivered", "email": email.to, "message-id": email.provider_id}
    assert brevo_event(client, payload, secret="rdv:wrong").status_code == 400
    email.refresh_from_db()
    assert email.delivery == ""


def test_the_summary_shows_the_receipts(client, organisation, basic_agent, rows, twilio):
    email, text = rows
    Notification.objects.filter(pk=email.pk).update(delivery="delivered", delivery_at=timezone.now())
    Notification.objects.filter(pk=text.pk).update(
        delivery="undelivered", delivery_error="Non distribué par l'opérateur"
    )
    email.rdv.agents.add(basic_agent)
    client.force_login(basic_agent)
    page = client.get(
        reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": email.rdv_id})
    ).content.decode()
    assert "Distribuée le " in page
    assert "Non distribuée" in page and "Non distribué par l&#x27;opérateur" in page


def test_without_a_secret_the_tracking_webhooks_do_not_exist(client, rows, settings):
    settings.ANYMAIL = {}
    email, _text = rows
    payload = {"event": "delivered", "email": email.to, "message-id": email.provider_id}
    response = client.post("/anymail/brevo/tracking/", json.dumps(payload), content_type="application/json")
    assert response.status_code == 404
    email.refresh_from_db()
    assert email.delivery == ""
