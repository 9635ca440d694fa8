"""At most NOTIFICATIONS_DAILY_LIMIT messages about RDVs per address in 24 hours
(notifications.claim.Batch.over_daily_limit): the next ones are not sent, and the RDV's page says
why. The usagers' codes and the professionals' emails are neither counted nor held back."""

import datetime as dt
import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from notifications.claim import claim
from notifications.delivery import deliver_one
from notifications.models import Notification
from notifications.services import notify, queue_code_email, queue_email
from tests.helpers import wait_for_a_blocked_transaction
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status
Event = Notification.Event
LIMIT_REACHED = "Non envoyée : limite quotidienne"


def claim_one(pk, now):
    """One row claimed as a worker claims its batch (notifications.claim)."""
    (row,) = claim([pk], now)
    return row


@pytest.fixture
def usager(organisation):
    return UsagerFactory(organisation=organisation, with_email=True)


@pytest.fixture
def rdv(organisation, basic_agent, usager):
    return RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])


def already_sent(
    address: str, count: int, *, ago: dt.timedelta, event: str = Event.CREATED, status: str = Status.SENT
) -> None:
    """`count` messages to `address`, sent `ago` (about other RDVs of the family), or claimed
    then by a worker still sending them."""
    at = timezone.now() - ago
    Notification.objects.bulk_create(
        Notification(
            event=event,
            channel=Notification.Channel.EMAIL,
            to=address,
            subject="RDV confirmé",
            body="…",
            status=status,
            created_at=at,
            sent_at=at if status == Status.SENT else None,
            next_attempt_at=timezone.now() + dt.timedelta(minutes=1),
        )
        for _ in range(count)
    )


def confirmation(rdv) -> Notification:
    (row,) = notify(rdv, Event.CREATED)
    return row


def test_the_message_after_the_tenth_of_the_day_is_not_sent(rdv, usager):
    already_sent(usager.email, 10, ago=dt.timedelta(hours=23))
    row = confirmation(rdv)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert (row.status, row.last_error, row.attempts) == (Status.DROPPED, LIMIT_REACHED, 0)
    assert mail.outbox == []


def test_the_tenth_of_the_day_is_sent(rdv, usager):
    already_sent(usager.email, 9, ago=dt.timedelta(hours=1))
    row = confirmation(rdv)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(mail.outbox) == 1


def test_messages_of_the_day_before_do_not_count(rdv, usager):
    already_sent(usager.email, 10, ago=dt.timedelta(hours=24, minutes=1))
    row = confirmation(rdv)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_messages_being_sent_count(rdv, usager):
    already_sent(usager.email, 9, ago=dt.timedelta(hours=2))
    already_sent(usager.email, 1, ago=dt.timedelta(seconds=5), status=Status.SENDING)
    row = confirmation(rdv)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert row.status == Status.DROPPED


def test_the_limit_is_a_setting(settings, rdv, usager):
    settings.NOTIFICATIONS_DAILY_LIMIT = 2
    already_sent(usager.email, 2, ago=dt.timedelta(hours=1))
    row = confirmation(rdv)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert (row.status, row.last_error) == (Status.DROPPED, LIMIT_REACHED)


def test_each_address_has_its_own_limit(organisation, rdv, usager):
    already_sent("autre@exemple.fr", 10, ago=dt.timedelta(hours=1))
    already_sent(usager.email, 10, ago=dt.timedelta(hours=1), event=Event.LOGIN_CODE)
    already_sent(usager.email, 10, ago=dt.timedelta(hours=1), event=Event.INVITATION)
    row = confirmation(rdv)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SENT


@pytest.mark.parametrize(
    "write",
    [
        lambda to: queue_code_email(to=to, subject="Votre code", body="Votre code : 123456"),
        lambda to: queue_email(organisation_id=None, to=to, subject="Invitation", body="Rejoignez…"),
    ],
    ids=["usager-code", "agent-invitation"],
)
def test_a_code_or_an_invitation_is_never_held_back(usager, write):
    """An usager must be able to sign in whatever it was sent today; an invitation is asked
    by an administrator for a professional, once."""
    already_sent(usager.email, 10, ago=dt.timedelta(hours=1))
    row = write(usager.email)
    deliver_one(row.pk)
    row.refresh_from_db()
    assert row.status == Status.SENT


def test_the_rdv_page_says_why_it_was_not_sent(client, basic_agent, rdv, usager):
    already_sent(usager.email, 10, ago=dt.timedelta(hours=1))
    deliver_one(confirmation(rdv).pk)
    client.force_login(basic_agent)
    page = client.get(reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk}))
    assert LIMIT_REACHED in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_both_send_the_last_one_allowed(settings, organisation, basic_agent, usager):
    """The second claim waits for the first one's decision on the same address, then counts it."""
    settings.NOTIFICATIONS_DAILY_LIMIT = 1
    first, second = (
        confirmation(RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])) for _ in range(2)
    )
    # Both were handled at their commit (eager tasks): waiting again, as if the broker were slow.
    Notification.objects.update(
        status=Status.PENDING, attempts=0, sent_at=None, last_error="", next_attempt_at=timezone.now()
    )
    mail.outbox.clear()
    outcome = {}

    def other_worker():
        try:
            outcome["second"] = claim_one(second.pk, timezone.now()).status
        finally:
            connection.close()

    with transaction.atomic():
        assert claim_one(first.pk, timezone.now()).status == Status.SENDING
        worker = threading.Thread(target=other_worker)
        worker.start()
        assert wait_for_a_blocked_transaction()
    worker.join(timeout=10)
    assert outcome == {"second": Status.DROPPED}
