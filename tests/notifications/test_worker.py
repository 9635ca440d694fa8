"""Delivery by a real Celery worker through Redis, and bookings while the broker is down
(invariant 5 of DESIGN.md: a broker outage delays messages, never loses them, never fails the
booking)."""

import datetime as dt
import time

import kombu.pools
import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from notifications.models import Notification
from notifications.tasks import deliver_due
from rdv import sms
from rdv.celery import app
from rendezvous.conflicts import conflicts_signature, find_conflicts
from rendezvous.services import create_rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db(transaction=True)

# A Redis database of its own: a developer's `make run` worker (database 0) never takes these.
TEST_BROKER = "redis://127.0.0.1:6379/15"
DEAD_BROKER = "redis://127.0.0.1:1/0"


def use_broker(url: str) -> None:
    """Points the app at `url`, dropping the connections it pooled for the previous broker (and
    kombu's registries of pools, which would hand the closed ones back)."""
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    app.conf.broker_url = url


@pytest.fixture
def broker():
    previous = app.conf.broker_url
    app.conf.task_always_eager = False
    yield use_broker
    use_broker(previous)
    app.conf.task_always_eager = True


def book(usager) -> object:
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    usager.profiles.create(organisation=organisation)
    starts_at = timezone.now() + dt.timedelta(days=2)
    ends_at = starts_at + dt.timedelta(minutes=30)
    return create_rdv(
        organisation=organisation,
        motif=MotifFactory(organisation=organisation),
        lieu=LieuFactory(organisation=organisation),
        starts_at=starts_at,
        duration_in_min=30,
        agents=[agent],
        usagers=[usager],
        by=agent,
        accepted_conflicts=conflicts_signature(find_conflicts(None, organisation, [agent], starts_at, ends_at)),
    )


def wait_until_final(rdv, timeout: float = 20.0) -> list[Notification]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Notification.objects.filter(rdv=rdv).order_by("pk"))
        if rows and all(row.is_final for row in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"not delivered in {timeout} s: {[(row.channel, row.status) for row in rows]}")


def test_a_worker_delivers_the_confirmation_after_the_commit(broker):
    broker(TEST_BROKER)
    usager = UsagerFactory(with_email=True, with_phone=True)
    with start_worker(app, perform_ping_check=False, shutdown_timeout=10):
        rdv = book(usager)
        rows = wait_until_final(rdv)
    assert [(row.channel, row.status) for row in rows] == [("email", "sent"), ("sms", "sent")]
    assert [message.to for message in mail.outbox] == [[usager.email]]
    assert [text.to for text in sms.LocmemSmsBackend.outbox] == [usager.phone.as_e164]


def test_a_booking_while_the_broker_is_down_succeeds_and_its_messages_follow(broker):
    broker(DEAD_BROKER)
    usager = UsagerFactory(with_email=True)
    started = time.monotonic()
    rdv = book(usager)
    assert time.monotonic() - started < 5
    (row,) = Notification.objects.filter(rdv=rdv)
    assert row.status == Notification.Status.PENDING
    assert mail.outbox == []
    assert deliver_due() == 1  # the periodic sweep, once the broker is back
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT
    assert len(mail.outbox) == 1
