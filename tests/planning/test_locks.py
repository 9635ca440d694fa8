"""The agents' time locks (planning.locks): two writers wait for each other only where their
times overlap for the same agent."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from planning.locks import hold_agents_time, time_keys
from tests.helpers import held_elsewhere, wait_for_a_blocked_transaction

NINE = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)  # 9:00 in Paris


def span(start_minutes: int, end_minutes: int) -> tuple[dt.datetime, dt.datetime]:
    return NINE + dt.timedelta(minutes=start_minutes), NINE + dt.timedelta(minutes=end_minutes)


def conflict(agent_a: int, span_a, agent_b: int, span_b) -> bool:
    """Whether two writers' locks conflict: a key both take, exclusively by one of them."""
    a, b = dict(time_keys([agent_a], [span_a])), dict(time_keys([agent_b], [span_b]))
    return any(not (a[key] and b[key]) for key in a.keys() & b.keys())


def test_overlapping_times_conflict_others_never():
    """Checked against the overlap itself over many pairs, on and across hours, whole or not."""
    for first in range(-70, 130, 7):
        for length in (1, 7, 15, 30, 60, 61, 125):
            for other in range(-70, 130, 11):
                for other_length in (1, 12, 45, 60, 90):
                    overlap = first < other + other_length and other < first + length
                    assert conflict(1, span(first, first + length), 1, span(other, other + other_length)) == overlap
    assert not conflict(1, span(0, 30), 2, span(0, 30))


def test_adjacent_creneaux_of_any_length_do_not_conflict():
    for length in (7, 12, 20, 25):
        assert not conflict(1, span(0, length), 1, span(length, 2 * length))


def test_few_keys_whatever_the_length():
    assert len(time_keys([3], [span(0, 30)])) == 1 + 30  # the hour, shared, and 30 minutes
    day = time_keys([3], [span(0, 24 * 60)])
    assert len(day) == 24 and not any(shared for _key, shared in day)  # 24 whole hours
    keys = time_keys([7, 3], [span(0, 30), span(120, 125)])
    assert keys == sorted(keys) and len(keys) == 2 * (31 + 6)
    assert time_keys([3], [span(0, 0)]) == time_keys([3], [span(0, 1)])  # an instant holds its minute


@pytest.mark.django_db(transaction=True)
def test_another_time_or_another_agent_is_not_held():
    with held_elsewhere([1], span(0, 30)):
        for agent, other_span in ((1, span(30, 60)), (1, span(-30, 0)), (2, span(0, 30))):
            with transaction.atomic():
                assert hold_agents_time([agent], other_span, wait=False)
        with transaction.atomic():
            assert not hold_agents_time([1], span(25, 55), wait=False)
            assert not hold_agents_time([2, 1], span(60, 90), span(0, 5), wait=False)


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_rolled_back_releases_what_it_took():
    """What `rendezvous.online.book` relies on to try the next agent without keeping the time of
    the one it gave up."""
    with transaction.atomic():
        with transaction.atomic():
            assert hold_agents_time([1], span(0, 30), wait=False)
            transaction.set_rollback(True)
        assert taken_elsewhere([1], span(0, 30))
        with transaction.atomic():
            assert hold_agents_time([1], span(0, 30), wait=False)
        # A savepoint released keeps its locks until the transaction ends.
        assert not taken_elsewhere([1], span(10, 15))


def taken_elsewhere(agent_ids: list[int], *spans: tuple[dt.datetime, dt.datetime]) -> bool:
    """Whether another connection gets that time at once."""
    got = []

    def other() -> None:
        try:
            with transaction.atomic():
                got.append(hold_agents_time(agent_ids, *spans, wait=False))
        finally:
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(timeout=10)
    return got == [True]


@pytest.mark.django_db(transaction=True)
def test_a_writer_waits_for_an_overlapping_one_then_goes_on():
    order = []
    with held_elsewhere([1], span(0, 30)) as done:

        def second() -> None:
            try:
                with transaction.atomic():
                    hold_agents_time([1], span(15, 45))
                    order.append("second")
            finally:
                connection.close()

        thread = threading.Thread(target=second)
        thread.start()
        assert wait_for_a_blocked_transaction()
        order.append("first commits")
        done.set()
        thread.join(timeout=10)
    assert order == ["first commits", "second"]
