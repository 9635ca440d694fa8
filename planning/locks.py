"""What serialises two writes that could hold the same agent at overlapping times: one
PostgreSQL advisory lock per agent and 5-minute step of the time written, held until the
transaction ends (`pg_advisory_xact_lock`).

Two intervals that overlap share an instant, hence that instant's step: their writers wait for
each other. Two bookings of the same agent at different times (three créneaux of one afternoon)
share no step and go on at once, which a lock on the agent's row did not allow. Every writer
takes its keys in one sorted statement, so two writers never wait for each other in a cycle
through these locks. The availability is checked in a later statement: under READ COMMITTED a
statement that waited keeps the snapshot taken before it waited.

The keys are 64-bit, `agent id << 32 | step` (the one-key space of PostgreSQL's advisory locks;
`notifications.claim` uses the two-key space, which does not overlap it), each part cut to fit
(31 and 32 bits): two pairs would share a key only past 2³¹ agents or 40 000 years apart, and
then their writers would only wait for each other without need."""

import datetime as dt
import math
from collections.abc import Iterable

from django.db import connection

STEP_SECONDS = 5 * 60

# One statement for every key, in the array's (sorted) order.
WAIT_SQL = "SELECT count(pg_advisory_xact_lock(key)) FROM unnest(%s::bigint[]) AS key"
TRY_SQL = "SELECT bool_and(pg_try_advisory_xact_lock(key)) FROM unnest(%s::bigint[]) AS key"


Span = tuple[dt.datetime, dt.datetime]


def _steps(start: dt.datetime, end: dt.datetime) -> range:
    first = math.floor(start.timestamp() / STEP_SECONDS)
    return range(first, max(first, math.ceil(end.timestamp() / STEP_SECONDS) - 1) + 1)


def time_keys(agent_ids: Iterable[int], spans: Iterable[Span]) -> list[int]:
    """The keys of the steps each span [start, end) touches, for each agent, sorted."""
    steps = {step for start, end in spans for step in _steps(start, end)}
    return sorted({((agent & 0x7FFFFFFF) << 32) | (step & 0xFFFFFFFF) for agent in set(agent_ids) for step in steps})


def hold_agents_time(agent_ids: Iterable[int], *spans: Span, wait: bool = True) -> bool:
    """Inside the caller's transaction, locks the agents' time over each span [start, end),
    waiting for any other transaction holding part of it; True. With `wait=False`, takes what is
    free at once and returns whether it got everything: False leaves part of it held, which only
    rolling back to a savepoint taken before releases (`rendezvous.online.book`)."""
    keys = time_keys(agent_ids, spans)
    if not keys:
        return True
    with connection.cursor() as cursor:
        cursor.execute(WAIT_SQL if wait else TRY_SQL, [keys])
        row = cursor.fetchone()
    return wait or bool(row and row[0])
