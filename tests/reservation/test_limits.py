"""The fixed windows of reservation.limits, counted in the shared Redis."""

import datetime as dt
import logging

import pytest
import time_machine
from django.core.cache import cache

from reservation.limits import Limit, count, wait_for

NOW = dt.datetime(2027, 6, 9, 10, 30, tzinfo=dt.UTC)
HOURLY = Limit("test-hourly", "3/h")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def now() -> int:
    return int(NOW.timestamp())


def test_the_rate_is_a_count_per_period():
    assert (Limit("a", "5/h").count, Limit("a", "5/h").period) == (5, 3600)
    assert (Limit("a", "10/d").count, Limit("a", "10/d").period) == (10, 86_400)
    assert (Limit("a", "60/m").count, Limit("a", "60/m").period) == (60, 60)


@pytest.mark.parametrize("key", ["1", "42", "usager@exemple.fr", "2001:db8::"])
def test_a_window_is_one_period_long_and_ends_after_now(key):
    end = HOURLY.window_end(key, now())
    assert now() < end <= now() + 3600
    # The same window all along, the next one from its end.
    assert HOURLY.window_end(key, end - 3600) == end
    assert HOURLY.window_end(key, end - 1) == end
    assert HOURLY.window_end(key, end) == end + 3600


def test_windows_are_staggered_by_key():
    """A day's limit does not start again for everyone at the same second."""
    ends = {Limit("a", "10/d").window_end(str(pk), now()) for pk in range(20)}
    assert len(ends) > 15


def test_the_limit_holds_until_the_window_ends(clock):
    assert [wait_for([(HOURLY, "k")]) for _ in range(3)] == [0, 0, 0]
    end = HOURLY.window_end("k", now())
    assert wait_for([(HOURLY, "k")]) == end - now()
    # Its last second still in it, the next window free again.
    clock.move_to(dt.datetime.fromtimestamp(end - 1, dt.UTC))
    assert wait_for([(HOURLY, "k")]) == 1
    clock.move_to(dt.datetime.fromtimestamp(end, dt.UTC))
    assert wait_for([(HOURLY, "k")]) == 0


def test_keys_and_limits_count_apart(clock):
    daily = Limit("test-daily", "1/d")
    for _ in range(3):
        assert wait_for([(HOURLY, "k"), (daily, "other")]) in (0, daily.window_end("other", now()) - now())
    assert count(HOURLY, "k", now()) == 4
    assert count(HOURLY, "autre", now()) == 1
    assert count(daily, "other", now()) == 4
    # The longest wait of the exceeded limits.
    assert wait_for([(HOURLY, "k"), (daily, "other")]) == max(
        HOURLY.window_end("k", now()) - now(), daily.window_end("other", now()) - now()
    )


def test_what_is_counted_is_not_written_in_redis(clock):
    wait_for([(HOURLY, "usager@exemple.fr")])
    client = cache._cache.get_client(write=True)
    keys = [key.decode() for key in client.scan_iter(match=cache.make_key("limit:*"))]
    assert len(keys) == 1 and "exemple" not in keys[0] and "usager" not in keys[0]
    # Kept no longer than the window.
    assert 0 < client.ttl(keys[0]) <= HOURLY.window_end("usager@exemple.fr", now()) - now() + 1


def test_redis_unreachable_counts_nothing_and_lets_through(settings, caplog):
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {}}}
    with caplog.at_level(logging.WARNING, logger="reservation.limits"):
        assert [wait_for([(HOURLY, "k"), (Limit("test-daily", "1/d"), "k")]) for _ in range(5)] == [0] * 5
    # One try per request, not one per limit: a Redis that hangs costs one timeout.
    assert caplog.messages == ["Rate limits from test-hourly on not counted"] * 5


def test_the_hash_depends_on_the_secret_key(clock, settings):
    client = cache._cache.get_client(write=True)

    def keys():
        return {key.decode() for key in client.scan_iter(match=cache.make_key("limit:*"))}

    wait_for([(HOURLY, "192.0.2.1")])
    first = keys()
    settings.SECRET_KEY = "une-autre-clef-secrete-" + "x" * 40
    wait_for([(HOURLY, "192.0.2.1")])
    assert len(first) == 1 and len(keys()) == 2
