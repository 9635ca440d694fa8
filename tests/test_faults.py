"""Faults (issue 18, point 7). PostgreSQL restarted or out of reach: « Service momentanément
indisponible » (503) during the outage, rendered without the database; the site back by itself
afterwards, without restarting it. The broker out of reach while an usager books online: the
booking succeeds, its message leaves afterwards (an agent's booking, Redis really stopped and a
worker killed mid-send: tests/notifications/test_worker.py).

Requests go through Django's WSGI handler as gunicorn calls it (`request_started` and
`request_finished` included, which the test client leaves out): that is where a connection kept
between requests (CONN_MAX_AGE) is checked and a broken one closed. The outage is this process's
own: its connection's settings point at a closed port, or its PostgreSQL backend is terminated
(`pg_terminate_backend`). The real PostgreSQL server, which other test processes share, is never
stopped; `make loadtest ARGS=--faults` restarts it under load (bench/loadtest.py, README)."""

import socket
import time
from contextlib import contextmanager
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.db import IntegrityError, OperationalError, connection, connections
from django.db.backends.postgresql import base as postgresql_base
from django.test import RequestFactory

from notifications.models import Notification
from notifications.tasks import deliver_due
from rdv.errors import _database_unreachable
from rdv.postgresql.base import RECENT_SECONDS
from tests.agents.factories import AgentFactory
from tests.notifications.test_worker import DEAD_BROKER, broker  # noqa: F401  (a fixture)
from tests.organisations.factories import OrganisationFactory
from tests.reservation.search_helpers import (
    NOW,
    lieu,
    online_motif,
    organisation,
    plage,
    seine_et_marne,
    sign_in_usager,
)
from tests.reservation.test_booking_flow import book_through_the_pages
from tests.usagers.factories import UsagerFactory

# Transactional: the requests open, lose and reopen connections; no test transaction may span them.
# Run once in CI, not again at the DST instant (.ci/run): a fault is survived the same way at any
# hour (the bookings hold their own instant).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]


class Answer:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_code = int(status.split()[0])
        self.headers = dict(headers)
        self.text = body.decode()


def get(path: str, cookies: dict[str, str] | None = None) -> Answer:
    """GET `path` as a WSGI server would: Django's handler, signals, middlewares, error handlers."""
    environ = RequestFactory().get(path).environ
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    started: list = []
    response = WSGIHandler()(environ, lambda status, headers, exc_info=None: started.extend([status, headers]))
    try:
        body = b"".join(response)
    finally:
        response.close()  # request_finished: what gunicorn does after each answer
    return Answer(started[0], started[1], body)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def database_out_of_reach():
    """This process's next connections go to a port where nothing listens, as during a restart."""
    connection.close()
    with mock.patch.dict(connection.settings_dict, {"HOST": "127.0.0.1", "PORT": str(closed_port())}):
        yield
    connection.close()


def terminate_backend(pid: int) -> None:
    """What a PostgreSQL restart does to a connection: its server process is gone."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # once it is gone
    finally:
        other.close()


@pytest.fixture
def agent_page(client):
    """An agent's page and the cookies of its signed-in session."""
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    client.force_login(agent)
    return f"/organisations/{organisation.pk}/rdvs/", {"sessionid": client.cookies["sessionid"].value}


def assert_unavailable_page(answer: Answer) -> None:
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "30"
    assert "<title>Service momentanément indisponible — RDV Solidarités</title>" in answer.text
    assert "<h1>Service momentanément indisponible</h1>" in answer.text
    assert 'class="fr-header"' in answer.text and "/static/dsfr/dist/dsfr/dsfr.min.css" in answer.text
    # The headers of every page (rdv/headers.py, django-csp) are there too.
    assert "no-store" in answer.headers["Cache-Control"]
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]


def test_while_the_database_is_out_of_reach_every_page_says_so_and_the_site_comes_back_alone(agent_page):
    path, cookies = agent_page
    assert get(path, cookies).status_code == 200
    with database_out_of_reach():
        # The agent's session cannot even be read; an usager's search of its commune needs the
        # communes.
        assert_unavailable_page(get(path, cookies))
        assert_unavailable_page(get("/?q=Noisiel"))
        # The pages that need nothing from it are still served.
        assert get("/").status_code == 200
        assert get("/connexion/").status_code == 200
    # PostgreSQL is back: the next requests connect again, nothing restarted.
    assert get(path, cookies).status_code == 200
    assert get("/?q=Noisiel").status_code in (200, 302)


@pytest.fixture
def kept_connections():
    """Connections kept between requests, as in production (CONN_MAX_AGE 60 when DEBUG is off)."""
    with mock.patch.dict(connection.settings_dict, {"CONN_MAX_AGE": 60}):
        connection.close()
        yield
    connection.close()


def test_a_kept_connection_lost_in_a_restart_is_replaced_before_the_next_page(agent_page, kept_connections):
    """CONN_HEALTH_CHECKS (rdv/settings.py): a kept connection is tested before a request uses it;
    one whose server process died is replaced, and the page answers as if nothing happened."""
    path, cookies = agent_page
    assert get(path, cookies).status_code == 200
    pid = connection.connection.info.backend_pid
    terminate_backend(pid)
    assert get(path, cookies).status_code == 200
    assert connection.connection.info.backend_pid != pid


def test_a_kept_connection_in_working_order_is_checked_without_a_round_trip(kept_connections):
    """rdv.postgresql: Django's own check sends `SELECT 1` before every request; an idle connection
    with nothing to read needs none. One the server ended has its farewell to read: then the
    server is asked, and says it is gone."""
    connection.ensure_connection()
    with mock.patch.object(postgresql_base.DatabaseWrapper, "is_usable", side_effect=AssertionError) as asked:
        assert connection.is_usable()
        assert not asked.called
    # Idle longer than RECENT_SECONDS: a peer gone without a word leaves nothing to read, the
    # server is asked.
    connection.checked_at -= RECENT_SECONDS
    with mock.patch.object(postgresql_base.DatabaseWrapper, "is_usable", return_value=True) as asked:
        assert connection.is_usable()
        assert asked.called
    with mock.patch.object(postgresql_base.DatabaseWrapper, "is_usable", side_effect=AssertionError):
        assert connection.is_usable()  # asked just now
    terminate_backend(connection.connection.info.backend_pid)
    assert not connection.is_usable()
    connection.close()
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")  # not idle: asked as Django asks
        with mock.patch.object(postgresql_base.DatabaseWrapper, "is_usable", return_value=True) as asked:
            assert connection.is_usable()
            assert asked.called
        cursor.execute("ROLLBACK")


def test_a_connection_lost_in_the_middle_of_a_page_gives_the_503_and_the_next_page_reconnects(
    agent_page, kept_connections
):
    """Without a check before use (or the connection dying after it), the page that finds it dead
    says « Service momentanément indisponible »; the broken connection is closed at the end of that
    request, and the next one opens a new one."""
    path, cookies = agent_page
    assert get(path, cookies).status_code == 200
    terminate_backend(connection.connection.info.backend_pid)
    # Read from the settings when the connection opened (CONN_HEALTH_CHECKS): turned off on this one.
    with mock.patch.object(connection, "health_check_enabled", False):
        assert_unavailable_page(get(path, cookies))
        assert connection.connection is None
        assert get(path, cookies).status_code == 200


def test_only_database_connection_errors_are_an_outage():
    assert _database_unreachable(OperationalError("connection refused"))
    try:
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError as lost:
            raise RuntimeError("while rendering") from lost
    except RuntimeError as error:
        assert _database_unreachable(error)
    assert not _database_unreachable(IntegrityError("duplicate key"))
    assert not _database_unreachable(ValueError("a bug"))
    assert not _database_unreachable(None)


def test_an_usager_books_online_while_the_broker_is_out_of_reach_and_the_message_follows(
    client,
    communes,
    broker,  # noqa: F811
):
    with time_machine.travel(NOW, tick=False):
        mds = organisation(seine_et_marne(), "MDS de Noisiel")
        place = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
        motif = online_motif(mds, "Consultation de puériculture")
        plage(motif, place)
        usager = UsagerFactory(email="ines@example.fr", phone="")
        sign_in_usager(client, usager)
        broker(DEAD_BROKER)
        started = time.monotonic()
        rdv = book_through_the_pages(client, {"organisation": mds, "lieu": place, "motif": motif})
        assert time.monotonic() - started < 10
        (row,) = Notification.objects.filter(rdv=rdv)
        assert row.status == Notification.Status.PENDING and mail.outbox == []
        assert deliver_due() == 1  # the sweep beat queues every minute, once the broker is back
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT
    assert [message.to for message in mail.outbox] == [["ines@example.fr"]]
