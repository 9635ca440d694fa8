"""What many tests share: instants in a time zone, next Monday, the queries a page reads, a lock
held by another connection, calls released together in threads of their own."""

import datetime as dt
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from planning.locks import hold_agents_time
from rendezvous.online import TOKEN_LOCK, TOKEN_TRY_SQL
from sectorisation.loading import load_communes
from sectorisation.models import Commune

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(day: dt.date, hour: int, minute: int = 0, tz: dt.tzinfo = PARIS) -> dt.datetime:
    """That wall-clock time of `day` in `tz` (Paris by default), aware."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def next_monday(weeks: int = 1) -> dt.date:
    """The Monday `weeks` weeks after this week's, from today in Paris (freeze the clock in tests
    whose outcome depends on which day that is)."""
    today = timezone.localdate(timezone=PARIS)
    return today + dt.timedelta(days=7 * weeks - today.weekday())


def count_queries(client, path: str) -> int:
    """How many SQL queries the page reads; it must answer 200."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def wait_for_a_blocked_transaction(timeout: float = 10.0) -> bool:
    """From a transaction that holds a lock: returns once another connection waits for a lock in
    this database (the barrier of the concurrency tests: a fixed sleep would race on a slow
    machine), or False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # The activity a transaction reads is a snapshot kept until it ends: read it afresh.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


@contextmanager
def held_elsewhere(
    agent_ids: list[int], *spans: tuple[dt.datetime, dt.datetime], booking_token: str | None = None
) -> Iterator[threading.Event]:
    """Another connection holds these agents' time until the block ends, or until the event it
    yields is set; with `booking_token`, that form's token too, as a confirmation booking with it
    (`rendezvous.online.claim`)."""
    holding, done = threading.Event(), threading.Event()

    def other() -> None:
        try:
            with transaction.atomic():
                if booking_token is not None:
                    with connection.cursor() as cursor:
                        cursor.execute(TOKEN_TRY_SQL, [TOKEN_LOCK, booking_token])
                hold_agents_time(agent_ids, *spans)
                holding.set()
                done.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    assert holding.wait(timeout=10)
    try:
        yield done
    finally:
        done.set()
        thread.join()


def at_once(*calls: Callable[[], object], timeout: float = 30) -> list[object]:
    """Each call in a thread of its own (its own database connection, closed after), all released
    together: what each returned or raised, in the order given. Fails when one is still running
    after `timeout` seconds (waiting for a lock it should not wait for)."""
    ready = threading.Barrier(len(calls), timeout=timeout)
    outcomes: list[object] = [None] * len(calls)
    finished = [False] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            ready.wait()
            outcomes[index] = call()
        except Exception as error:
            outcomes[index] = error
        finally:
            finished[index] = True
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert all(finished), "still waiting"
    return outcomes


def close_file(response) -> None:
    """Closes the file a FileResponse streams (an export's download) that the test did not read.
    Not `response.close()`: it sends `request_finished`, whose handler closes the test's database
    connection."""
    for closer in getattr(response, "_resource_closers", []):
        closer()
    response._resource_closers.clear()


def ensure_communes() -> None:
    """Every commune of France: the migration loaded them and the flush of transactional tests
    keeps them (tests/conftest.py). In a test database that an older flush emptied (--reuse-db),
    they are loaded again on a connection of their own, committed: the caller's transaction (READ
    COMMITTED) sees them, and so do the later tests, instead of each reloading them in its
    rolled-back transaction."""
    if Commune.objects.filter(pk="75056").exists():
        return
    failures: list[BaseException] = []

    def load() -> None:
        try:
            load_communes()
        except BaseException as error:  # re-raised in the caller's thread
            failures.append(error)
        finally:
            connection.close()

    loader = threading.Thread(target=load)
    loader.start()
    loader.join()
    if failures:
        raise failures[0]
