"""Delivery by a real Celery worker through Redis, and bookings while the broker is down
(invariant 5 of DESIGN.md: a broker outage delays messages, never loses them, never fails the
booking)."""

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import kombu.pools
import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from celery.exceptions import CPendingDeprecationWarning
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from notifications.delivery import deliver_one
from notifications.models import CLAIM_TIMEOUT, Notification
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


class PrivateRedis:
    """A Redis server of the test's own, on a free port: the test may stop and restart it, and no
    other test run (other xdist workers, another checkout's tests) takes its tasks."""

    def __init__(self, directory: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server n'est pas installé (paquet « redis-server »)")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


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


def test_a_booking_while_redis_is_stopped_is_delivered_once_it_restarts(broker, private_redis):
    """Redis stops: the booking succeeds at once, its message waits in the outbox; Redis
    restarts: the worker reconnects and the sweep (what beat queues every minute) delivers it,
    once."""
    broker(private_redis.url)
    usager = UsagerFactory(with_email=True)
    with start_worker(app, perform_ping_check=False, shutdown_timeout=10):
        # Celery warns that version 6 will cancel the running tasks on a connection loss; the
        # settings keep them running (CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS).
        # Its worker shows its own warnings always: ignored after it started (pytest restores).
        warnings.filterwarnings("ignore", category=CPendingDeprecationWarning)
        private_redis.stop()
        started = time.monotonic()
        rdv = book(usager)
        assert time.monotonic() - started < 5
        (row,) = Notification.objects.filter(rdv=rdv)
        assert row.status == Notification.Status.PENDING
        private_redis.start()
        app.signature("notifications.deliver_due").apply_async()
        (row,) = wait_until_final(rdv, timeout=60)
    assert (row.status, row.attempts) == (Notification.Status.SENT, 1)
    assert deliver_due() == 0  # later sweeps find nothing more to send
    assert [message.to for message in mail.outbox] == [[usager.email]]


def database_url() -> str:
    """The test database, for a worker in another process (DATABASE_URL)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_a_row_whose_worker_was_killed_mid_send_is_sent_once_after_its_claim_expires(broker, private_redis, tmp_path):
    """A real worker process claims the SMS and hangs in the provider's call; it is killed
    (SIGKILL: no chance to record anything). The row stays « sending » until its claim expires,
    then the sweep sends it, once; the task the dead worker held changes nothing."""
    broker(private_redis.url)
    usager = UsagerFactory(with_phone=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": private_redis.url,
        "SMS_BACKEND": "tests.notifications.worker_process.HangingSmsBackend",
        "SMS_FILE_PATH": str(tmp_path / "sms"),
    }
    command = [sys.executable, "-m", "tests.notifications.worker_process", timezone.now().isoformat()]
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen(command, cwd=django_settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        rdv = book(usager)
        started = tmp_path / "sms" / "started"
        deadline = time.monotonic() + 60
        while not started.exists() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert started.exists(), (tmp_path / "worker.log").read_text()
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    (row,) = Notification.objects.filter(rdv=rdv)
    assert (row.status, row.attempts) == (Notification.Status.SENDING, 1)
    assert deliver_one(row.pk) is None  # its worker may still be sending it: not before the deadline
    with time_machine.travel(row.next_attempt_at, tick=False):
        assert deliver_due() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Notification.Status.SENT, 2)
    assert [text.to for text in sms.LocmemSmsBackend.outbox] == [usager.phone.as_e164]


def test_a_dead_workers_rows_leave_again_within_two_minutes(settings):
    """The claim outlives the longest send (the providers' timeouts: 10 s to connect and 10 s to
    read), and with the sweep every minute a dead worker's row leaves again within 2 minutes."""
    longest_send = 2 * max(settings.EMAIL_TIMEOUT, settings.SMS_TIMEOUT, settings.ANYMAIL["REQUESTS_TIMEOUT"])
    assert dt.timedelta(seconds=2 * longest_send) <= CLAIM_TIMEOUT
    sweep_every = dt.timedelta(seconds=settings.CELERY_BEAT_SCHEDULE["notifications-deliver-due"]["schedule"])
    assert CLAIM_TIMEOUT + sweep_every < dt.timedelta(minutes=2)
