"""Delivering outbox rows (notifications.delivery): one send per row, the outcome recorded,
temporary failures retried later, permanent ones and obsolete messages not retried. The email and
SMS providers' HTTP APIs lie outside the machine: they are mocked at their HTTP client."""

import datetime as dt
import json
import threading
import uuid
from unittest import mock

import pytest
import requests
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from twilio.http.response import Response as TwilioResponse

from notifications.claim import claim
from notifications.delivery import _record_sent, deliver_one
from notifications.models import CLAIM_TIMEOUT, Notification
from notifications.services import notify
from notifications.tasks import deliver_due
from rdv import sms
from rendezvous.models import Rdv
from rendezvous.services import change_status
from tests.notifications.helpers import brevo_answer
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status


def claim_one(pk, now):
    """One row claimed as a worker claims its batch (notifications.claim)."""
    (row,) = claim([pk], now)
    return row


@pytest.fixture
def rdv(organisation):
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    return RdvFactory(organisation=organisation, usagers=[usager])


@pytest.fixture
def email(rdv):
    return next(row for row in notify(rdv, Notification.Event.CREATED) if row.channel == "email")


@pytest.fixture
def text(rdv):
    return next(row for row in Notification.objects.filter(rdv=rdv, channel="sms"))


def test_an_email_is_sent_with_its_html_and_receipted(email):
    deliver_one(email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts, email.provider_id) == (Status.SENT, 1, "email")
    assert email.sent_at is not None
    (message,) = mail.outbox
    assert (message.to, message.subject, message.body) == ([email.to], email.subject, email.body)
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and '<html lang="fr">' in html


def test_an_sms_is_sent_and_receipted(email, text):
    deliver_one(text.pk)
    text.refresh_from_db()
    assert text.status == Status.SENT
    assert sms.LocmemSmsBackend.outbox == [sms.Sms(to=text.to, body=text.body)]


def test_a_row_is_sent_once_however_often_it_is_asked(email):
    assert deliver_one(email.pk) is not None
    assert deliver_one(email.pk) is None
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_row_another_worker_is_sending_is_skipped(email):
    """The second worker neither waits for nor sends the row the first one holds."""
    Notification.objects.filter(pk=email.pk).update(status=Status.PENDING)  # sent at commit (eager tasks)
    mail.outbox.clear()
    locked, release = threading.Event(), threading.Event()

    def first_worker():
        with transaction.atomic():
            Notification.objects.select_for_update().get(pk=email.pk)
            locked.set()
            release.wait(5)
        connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    locked.wait(5)
    try:
        assert deliver_one(email.pk) is None
    finally:
        release.set()
        thread.join()
    assert mail.outbox == []
    assert Notification.objects.get(pk=email.pk).status == Status.PENDING


def twilio_answer(status: int, payload: dict):
    return mock.patch(
        "twilio.http.http_client.TwilioHttpClient.request",
        return_value=TwilioResponse(status, json.dumps(payload)),
    )


@pytest.fixture
def twilio(settings):
    settings.SMS_BACKEND = "rdv.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"


def test_a_provider_outage_is_retried_later_then_sent(email, text, twilio):
    now = timezone.now()
    with twilio_answer(503, {"code": 20503, "message": "Service Unavailable", "status": 503}):
        deliver_one(text.pk, now)
    text.refresh_from_db()
    assert (text.status, text.attempts) == (Status.PENDING, 1)
    assert text.next_attempt_at == now + dt.timedelta(minutes=1)
    assert text.last_error.startswith("Prestataire indisponible, nouvel essai prévu : ")
    assert "Service Unavailable" in text.last_error
    assert deliver_one(text.pk, now + dt.timedelta(seconds=30)) is None  # not due yet
    sid = "SM" + "1" * 32
    with twilio_answer(201, {"sid": sid, "status": "queued"}) as request:
        deliver_one(text.pk, now + dt.timedelta(minutes=2))
    text.refresh_from_db()
    assert (text.status, text.attempts, text.provider_id, text.last_error) == (Status.SENT, 2, sid, "")
    assert request.call_args.kwargs["data"]["To"] == text.to


def test_a_refused_number_is_not_retried(email, text, twilio):
    with twilio_answer(400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}):
        deliver_one(text.pk)
    text.refresh_from_db()
    assert (text.status, text.attempts) == (Status.FAILED, 1)


def test_an_outage_is_retried_until_the_rdv_starts(email, text, twilio):
    """Never « Échec » for an outage, however long: retried every 3 hours at last, and dropped
    once the RDV has started."""
    with twilio_answer(503, {"message": "Service Unavailable", "status": 503}):
        while True:
            text.refresh_from_db()
            if text.is_final:
                break
            deliver_one(text.pk, text.next_attempt_at)
    assert (text.status, text.last_error) == (Status.DROPPED, "Le RDV a commencé avant l'envoi.")
    assert text.attempts > 5


@pytest.mark.parametrize(
    "answer",
    [
        {"side_effect": requests.ConnectionError("Connection refused")},
        {"side_effect": requests.Timeout("Read timed out")},
        {"return_value": TwilioResponse(401, json.dumps({"code": 20003, "message": "Authenticate", "status": 401}))},
    ],
    ids=["network", "timeout", "credentials"],
)
def test_network_and_credentials_errors_are_retried(email, text, twilio, answer):
    with mock.patch("twilio.http.http_client.TwilioHttpClient.request", **answer):
        deliver_one(text.pk)
    text.refresh_from_db()
    assert (text.status, text.attempts) == (Status.PENDING, 1)
    assert text.last_error.startswith("Prestataire indisponible, nouvel essai prévu : ")


def test_an_unexpected_error_does_not_stop_the_other_rows(email, text, monkeypatch):
    monkeypatch.setattr(sms.LocmemSmsBackend, "send", mock.Mock(side_effect=KeyError("bug")))
    assert deliver_due() == 2
    text.refresh_from_db()
    assert (text.status, text.last_error) == (Status.PENDING, "Erreur inattendue (KeyError).")
    assert len(mail.outbox) == 1


def test_a_row_whose_worker_died_while_sending_is_sent_again(email):
    now = timezone.now()
    Notification.objects.filter(pk=email.pk).update(
        status=Status.SENDING, attempts=1, next_attempt_at=now + CLAIM_TIMEOUT
    )
    assert deliver_one(email.pk, now) is None  # another worker may still be sending it
    deliver_one(email.pk, now + CLAIM_TIMEOUT)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 2)


@pytest.fixture
def brevo(settings):
    settings.EMAIL_BACKEND = "anymail.backends.brevo.EmailBackend"
    settings.ANYMAIL = {"BREVO_API_KEY": "key"}


def test_an_email_provider_outage_is_retried_then_receipted(email, brevo):
    now = timezone.now()
    with brevo_answer(502, {"message": "Bad gateway"}):
        deliver_one(email.pk, now)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.PENDING, 1)
    with brevo_answer(201, {"messageId": "<202611241200.1@smtp-relay.mailin.fr>"}):
        deliver_one(email.pk, now + dt.timedelta(minutes=1))
    email.refresh_from_db()
    assert (email.status, email.provider_id) == (Status.SENT, "<202611241200.1@smtp-relay.mailin.fr>")


def test_every_attempt_of_a_row_carries_the_same_idempotency_key_to_brevo(email, brevo):
    """A message sent again after a worker died between Brevo's acceptance and our record is
    dropped by Brevo: the key is the row's, whatever the attempt."""
    now = timezone.now()
    keys = []
    for attempt_at in (now, now + CLAIM_TIMEOUT):  # the second: as the sweep after a worker died
        Notification.objects.filter(pk=email.pk).update(status=Status.PENDING, next_attempt_at=attempt_at)
        with brevo_answer(201, {"messageId": "<1@smtp-relay.mailin.fr>"}) as request:
            deliver_one(email.pk, attempt_at)
        keys.append(json.loads(request.call_args.kwargs["data"])["headers"]["idempotencyKey"])
    assert keys[0] == keys[1] == str(uuid.UUID(keys[0]))


def test_an_address_the_email_provider_refuses_is_not_retried(email, brevo):
    with brevo_answer(400, {"code": "invalid_parameter", "message": "email is not valid in to"}):
        deliver_one(email.pk)
    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert email.last_error.startswith("Refusé par le prestataire : ")
    assert "email is not valid" in email.last_error


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda rdv: rdv.delete(), "Le RDV a été supprimé avant l'envoi."),
        (
            lambda rdv: Rdv.objects.filter(pk=rdv.pk).update(status=Rdv.Status.REVOKED),
            "Le RDV a été annulé avant l'envoi.",
        ),
        (
            lambda rdv: Rdv.objects.filter(pk=rdv.pk).update(starts_at=timezone.now() - dt.timedelta(minutes=5)),
            "Le RDV a commencé avant l'envoi.",
        ),
    ],
)
def test_an_obsolete_message_is_not_sent(email, rdv, change, reason):
    change(rdv)
    deliver_one(email.pk)
    email.refresh_from_db()
    assert (email.status, email.last_error) == (Status.DROPPED, reason)
    assert mail.outbox == []


def test_the_sweep_sends_what_is_due(email, text):
    later = Notification.objects.filter(pk=text.pk)
    later.update(next_attempt_at=timezone.now() + dt.timedelta(hours=1))
    assert deliver_due() == 1
    assert len(mail.outbox) == 1
    assert later.get().status == Status.PENDING


def test_a_super_admin_sends_failed_messages_again(admin_client, email, text):
    Notification.objects.filter(pk=text.pk).update(status=Status.FAILED, attempts=6, last_error="HTTP 503")
    response = admin_client.post(
        "/admin/notifications/notification/",
        {"action": "retry", "_selected_action": [email.pk, text.pk]},
        follow=True,
    )
    assert "1 notification(s) seront renvoyées dans la minute." in response.content.decode()
    text.refresh_from_db()
    assert (text.status, text.attempts, text.last_error) == (Status.PENDING, 0, "")
    assert deliver_due() == 2


def test_deleting_an_rdv_locks_it_before_its_notifications(client, organisation, admin_agent):
    """The order every writer takes (RDV row, then its notifications): a status change at the
    same moment waits instead of deadlocking."""
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[usager])
    notify(rdv, Notification.Event.CREATED)
    client.force_login(admin_agent)
    url = reverse("rendezvous:delete", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url).status_code == 302
    sql = [query["sql"] for query in queries]
    lock = next(i for i, q in enumerate(sql) if q.startswith('SELECT "rendezvous_rdv"') and "FOR UPDATE" in q)
    set_null = next(i for i, q in enumerate(sql) if q.startswith('UPDATE "notifications_notification"'))
    assert lock < set_null
    assert Notification.objects.get().rdv is None


def test_a_slow_workers_late_outcome_never_overwrites_a_later_claim(email):
    from notifications import delivery

    now = timezone.now()
    slow = claim_one(email.pk, now)  # a worker claims the row, then stalls
    assert slow.status == Status.SENDING
    deliver_one(email.pk, now + CLAIM_TIMEOUT)  # the sweep claims it again and sends it
    delivery._record_failure(slow, "timeout", permanent=False, now=now + CLAIM_TIMEOUT * 2)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 2)


def test_a_reminder_written_from_a_stale_rdv_takes_nothing_along(email, rdv):
    """The RDV moved after the reminder job read it: the modification goes, the stale reminder
    is dropped."""
    old_start = rdv.starts_at
    Notification.objects.filter(pk=email.pk).update(status=Status.SENT)
    rdv.starts_at += dt.timedelta(hours=2)
    rdv.save()
    (modification,) = [
        row for row in notify(rdv, Notification.Event.UPDATED) if row.channel == "email"
    ]  # what update_rdv writes
    stale = Notification.objects.create(
        organisation=rdv.organisation,
        rdv=rdv,
        rdv_starts_at=old_start,
        usager=email.usager,
        event=Notification.Event.REMINDER,
        channel="email",
        to=email.to,
        subject="Rappel",
        body="…",
    )
    deliver_one(modification.pk)
    deliver_one(stale.pk)
    modification.refresh_from_db()
    stale.refresh_from_db()
    assert modification.status == Status.SENT
    assert (stale.status, stale.last_error) == (Status.DROPPED, "Le RDV a changé d'heure avant l'envoi.")


def test_an_annulation_of_an_rdv_restored_meanwhile_is_not_sent(email, rdv):
    from notifications.services import notify_status_change

    Notification.objects.update(status=Status.SENT)
    Rdv.objects.filter(pk=rdv.pk).update(status=Rdv.Status.EXCUSED)
    rdv.refresh_from_db()
    (annulation,) = [row for row in notify_status_change(rdv, Rdv.Status.UNKNOWN) if row.channel == "email"]
    # The usager no longer wants emails, then the RDV is restored: no new email replaces it.
    type(email.usager).objects.filter(pk=email.usager_id).update(notify_by_email=False)
    Rdv.objects.filter(pk=rdv.pk).update(status=Rdv.Status.UNKNOWN)
    deliver_one(annulation.pk)
    annulation.refresh_from_db()
    assert (annulation.status, annulation.last_error) == (Status.DROPPED, "Le RDV n'est plus annulé.")


def test_a_message_to_an_usager_removed_from_the_rdv_is_not_sent(email, rdv):
    rdv.participations.all().delete()
    deliver_one(email.pk)
    email.refresh_from_db()
    assert (email.status, email.last_error) == (Status.DROPPED, "L'usager ne participe plus au RDV.")


# What a message says is decided when a worker claims it (services.final_wording).


def fail_while_the_agent_acts(monkeypatch, act, *, permanent: bool):
    """The first send fails (refused, or the provider is down) after the agent acted on the RDV
    meanwhile; the next ones go."""
    real_send = sms.LocmemSmsBackend.send
    calls = []

    def send(backend, message):
        calls.append(message)
        if len(calls) > 1:
            return real_send(backend, message)
        act()
        raise sms.SmsError("Invalid 'To' Phone Number" if permanent else "Service Unavailable", permanent=permanent)

    monkeypatch.setattr(sms.LocmemSmsBackend, "send", send)


def moved(rdv, hours: int, *, told: bool = True):
    def act():
        rdv.starts_at += dt.timedelta(hours=hours)
        rdv.save()
        if told:
            notify(rdv, Notification.Event.UPDATED)

    return act


def thread(rdv, channel="sms"):
    return list(Notification.objects.filter(rdv=rdv, channel=channel).order_by("pk"))


@pytest.mark.parametrize("permanent", [True, False], ids=["refused", "outage"])
def test_a_modification_written_while_the_confirmation_failed_becomes_the_confirmation(
    email, text, rdv, monkeypatch, permanent
):
    fail_while_the_agent_acts(monkeypatch, moved(rdv, 2), permanent=permanent)
    deliver_one(text.pk)  # the modification, written meanwhile, waited for it, then left
    first, second = thread(rdv)
    assert first.status == (Status.FAILED if permanent else Status.PENDING)
    assert (second.event, second.status, second.rdv_starts_at) == ("created", Status.SENT, rdv.starts_at)
    (received,) = sms.LocmemSmsBackend.outbox
    assert "confirmé" in received.body and "modifié" not in received.body
    if not permanent:  # its retry is now pointless
        deliver_one(first.pk, timezone.now() + dt.timedelta(minutes=2))
        first.refresh_from_db()
        assert (first.status, first.last_error) == (Status.DROPPED, "Remplacée par un message plus récent.")


def test_an_annulation_written_while_the_confirmation_failed_is_not_sent(email, text, rdv, monkeypatch):
    def cancelled():
        change_status(rdv=rdv, status=Rdv.Status.REVOKED, by=rdv.agents.first())

    fail_while_the_agent_acts(monkeypatch, cancelled, permanent=True)
    deliver_one(text.pk)
    annulation = Notification.objects.get(rdv=rdv, channel="sms", event="cancelled")
    assert (annulation.status, annulation.last_error) == (Status.DROPPED, "L'usager n'avait pas été prévenu de ce RDV.")
    assert sms.LocmemSmsBackend.outbox == []


def test_a_modification_stays_one_when_an_earlier_message_went(email, text, rdv, monkeypatch):
    Notification.objects.filter(pk=text.pk).update(status=Status.SENT)  # the confirmation went
    moved(rdv, 1)()
    first_change = thread(rdv)[-1]
    fail_while_the_agent_acts(monkeypatch, moved(rdv, 1), permanent=True)
    deliver_one(first_change.pk)
    latest = thread(rdv)[-1]
    assert (latest.event, latest.status) == ("updated", Status.SENT)


def test_a_message_waits_while_an_earlier_one_is_on_its_way(email, text, rdv):
    now = timezone.now()
    claimed = claim_one(text.pk, now)  # a worker holds the confirmation
    moved(rdv, 1)()
    change = thread(rdv)[-1]
    assert deliver_one(change.pk) is None
    change.refresh_from_db()
    assert (change.status, change.next_attempt_at) == (Status.PENDING, claimed.next_attempt_at)
    _record_sent([(claimed, "SM1")], now=now)  # the confirmation went
    change.refresh_from_db()
    assert (change.event, change.status) == ("updated", Status.SENT)  # released at once


def test_a_confirmation_still_waiting_leaves_with_the_details_of_an_unannounced_change(email, rdv, organisation):
    """« modifier » left unticked tells nothing new, but what leaves is true."""
    from tests.organisations.factories import LieuFactory

    rdv.lieu = LieuFactory(organisation=organisation, name="Centre social des Aulnes")
    moved(rdv, 3, told=False)()
    deliver_one(email.pk)
    email.refresh_from_db()
    assert (email.event, email.status, email.rdv_starts_at) == ("created", Status.SENT, rdv.starts_at)
    (message,) = mail.outbox
    assert "Centre social des Aulnes" in message.body
    local = timezone.localtime(rdv.starts_at, organisation.tzinfo)
    assert f" {local.hour}h{local:%M}" in message.subject


def test_a_retry_leaves_with_the_details_of_a_change_made_during_the_failed_attempt(email, text, rdv, monkeypatch):
    fail_while_the_agent_acts(monkeypatch, moved(rdv, 2, told=False), permanent=False)
    deliver_one(text.pk)
    deliver_one(text.pk, timezone.now() + dt.timedelta(minutes=2))
    text.refresh_from_db()
    assert (text.status, text.rdv_starts_at) == (Status.SENT, rdv.starts_at)
    local = timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo)
    assert f" {local.hour}h{local:%M}" in sms.LocmemSmsBackend.outbox[-1].body


def test_a_waiting_reminder_leaves_with_the_new_lieu(rdv, organisation):
    from tests.organisations.factories import LieuFactory

    (reminder, _email) = sorted(notify(rdv, Notification.Event.REMINDER), key=lambda row: row.channel != "sms")
    rdv.lieu = LieuFactory(organisation=organisation, name="Centre social des Aulnes")
    rdv.save()
    deliver_one(reminder.pk)
    assert "Centre social des Aulnes" in sms.LocmemSmsBackend.outbox[-1].body


def test_a_channel_the_usager_gave_up_since_is_not_used(email, text, rdv):
    usager = rdv.usagers.get()
    usager.notify_by_sms = False
    usager.save()
    deliver_one(text.pk)
    text.refresh_from_db()
    assert (text.status, text.last_error) == (Status.DROPPED, "L'usager ne peut plus être prévenu par ce moyen.")


def test_an_annulation_goes_only_to_a_channel_the_usager_still_accepts(email, text, rdv):
    Notification.objects.filter(rdv=rdv).update(status=Status.SENT)
    change_status(rdv=rdv, status=Rdv.Status.REVOKED, by=rdv.agents.first())
    usager = rdv.usagers.get()
    usager.notify_by_sms = False
    usager.save()
    annulation = Notification.objects.get(rdv=rdv, channel="sms", event="cancelled")
    deliver_one(annulation.pk)
    annulation.refresh_from_db()
    assert annulation.status == Status.DROPPED
    assert sms.LocmemSmsBackend.outbox == []


def test_a_message_held_back_is_due_at_once_if_the_earlier_one_finished_meanwhile(email, text, rdv, monkeypatch):
    """The earlier message finished while this one was locked by its claim: its release skipped it."""
    from notifications import claim as claiming

    claimed = claim_one(text.pk, timezone.now())
    moved(rdv, 1)()
    change = thread(rdv)[-1]
    real = claiming._on_its_way
    calls = []

    def finishes_meanwhile(notification, now):
        calls.append(1)
        if len(calls) == 1:  # after the hold was written, before it is checked again
            Notification.objects.filter(pk=claimed.pk).update(status=Status.SENT)
        return real(notification, now)

    monkeypatch.setattr(claiming, "_on_its_way", finishes_meanwhile)
    assert deliver_one(change.pk) is None
    change.refresh_from_db()
    assert change.status == Status.SENT  # dispatched again at once, not at the earlier's deadline
