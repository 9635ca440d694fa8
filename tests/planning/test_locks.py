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


def test_overlapping_times_share_a_key_adjacent_ones_none():
    assert set(time_keys([1], [span(0, 30)])) & set(time_keys([1], [span(25, 55)]))
    assert set(time_keys([1], [span(0, 30)])) & set(time_keys([1], [span(29, 31)]))
    assert not set(time_keys([1], [span(0, 30)])) & set(time_keys([1], [span(30, 60)]))
    assert not set(time_keys([1], [span(0, 30)])) & set(time_keys([2], [span(0, 30)]))
    # Not on a 5-minute step: shares the step it starts in with the time before it (a wait
    # without need, never a missed overlap).
    assert set(time_keys([1], [span(0, 32)])) & set(time_keys([1], [span(32, 60)]))


def test_keys_are_sorted_and_cover_each_span_for_each_agent():
    keys = time_keys([7, 3], [span(0, 30), span(120, 125)])
    assert keys == sorted(keys) and len(keys) == 2 * (6 + 1)
    assert time_keys([3], [span(0, 0)]) == time_keys([3], [span(0, 5)])  # an instant holds its step


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
