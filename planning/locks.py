"""What serialises two writes that could hold the same agent at overlapping times: PostgreSQL
advisory locks on the agent's time, held until the transaction ends (`pg_advisory_xact_lock`),
to the minute.

Each writer locks, for each hour its time touches, either the whole hour (exclusive) when its
time covers it, or the hour in shared mode and each minute it touches (exclusive). Two times that
overlap share a minute: both hold that minute, or one holds its whole hour, which conflicts with
the other's shared or exclusive lock on it: they wait for each other. Two times that do not
overlap (9:00–9:07 and 9:07–9:14, the three créneaux of one afternoon) share no minute and only
shared hours: they go on at once. An RDV of 24 hours takes 24 keys per agent, a créneau of
30 minutes 31 or 32. Every writer takes its keys in one statement, in key order, so two writers
never wait for each other in a cycle through these locks. The availability is checked in a later
statement: under READ COMMITTED a statement that waited keeps the snapshot taken before it
waited.

The keys are 64-bit, `agent id << 32 | level << 31 | index` (level 1 for hours, 0 for minutes;
the index since 1970), in the one-key space of PostgreSQL's advisory locks
(`notifications.claim` and `rendezvous.online` use the two-key space, which does not overlap it).
Each part is cut to fit: two different (agent, hour or minute) would share a key only past 2³¹
agents or 4 000 years apart, and then their writers would only wait for each other without
need."""

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection

Span = tuple[dt.datetime, dt.datetime]

# One statement for every key, in the arrays' (key) order; a shared lock where `shared`.
WAIT_SQL = """
SELECT count(CASE WHEN shared THEN pg_advisory_xact_lock_shared(key) ELSE pg_advisory_xact_lock(key) END)
FROM unnest(%s::bigint[], %s::boolean[]) AS t(key, shared)
"""
TRY_SQL = """
SELECT bool_and(CASE WHEN shared THEN pg_try_advisory_xact_lock_shared(key) ELSE pg_try_advisory_xact_lock(key) END)
FROM unnest(%s::bigint[], %s::boolean[]) AS t(key, shared)
"""


def _minutes(start: dt.datetime, end: dt.datetime) -> range:
    first = math.floor(start.timestamp() / 60)
    return range(first, max(first, math.ceil(end.timestamp() / 60) - 1) + 1)


def _key(agent_id: int, level: int, index: int) -> int:
    return ((agent_id & 0x7FFFFFFF) << 32) | (level << 31) | (index & 0x7FFFFFFF)


def time_keys(agent_ids: Iterable[int], spans: Iterable[Span]) -> list[tuple[int, bool]]:
    """The (key, shared) pairs locking the agents' time over each span [start, end), by key."""
    by_hour: dict[int, set[int]] = defaultdict(set)
    for start, end in spans:
        for minute in _minutes(start, end):
            by_hour[minute // 60].add(minute)
    keys: dict[int, bool] = {}
    for agent_id in set(agent_ids):
        for hour, minutes in by_hour.items():
            if len(minutes) == 60:
                keys[_key(agent_id, 1, hour)] = False
                continue
            keys[_key(agent_id, 1, hour)] = True
            keys.update((_key(agent_id, 0, minute), False) for minute in minutes)
    return sorted(keys.items())


# The agents among those asked whose time over a span another transaction holds right now to
# write it: an exclusive lock on one of its minutes, or on a whole hour it touches (a writer
# holds an hour exclusively only when its time covers it all). Read in pg_locks, where a key shows
# as classid (its high 32 bits: the agent) and objid (level and index), and nothing is taken: a
# probe holding a key even a moment could make that writer's own attempt fail.
HELD_SQL = """SELECT DISTINCT classid::bigint FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND mode = 'ExclusiveLock'
        AND pid <> pg_backend_pid()
        AND classid::bigint = ANY(%(held_agents)s::bigint[]) AND objid::bigint = ANY(%(held_keys)s::bigint[])"""


def held_params(agent_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> dict[str, list[int]]:
    """HELD_SQL's parameters for the agents' time over [start, end), as `time_keys` cuts it."""
    minutes = _minutes(start, end)
    hours = sorted({minute // 60 for minute in minutes})
    return {
        "held_agents": sorted({agent_id & 0x7FFFFFFF for agent_id in agent_ids}),
        "held_keys": [minute & 0x7FFFFFFF for minute in minutes] + [(1 << 31) | (hour & 0x7FFFFFFF) for hour in hours],
    }


def hold_agents_time(agent_ids: Iterable[int], *spans: Span, wait: bool = True) -> bool:
    """Inside the caller's transaction, locks the agents' time over each span [start, end),
    waiting for any other transaction holding part of it; True. With `wait=False`, takes what is
    free at once and returns whether it got everything: False leaves part of it held, which only
    rolling back to a savepoint taken before releases (`rendezvous.online.claim`)."""
    pairs = time_keys(agent_ids, spans)
    if not pairs:
        return True
    with connection.cursor() as cursor:
        cursor.execute(WAIT_SQL if wait else TRY_SQL, [[key for key, _ in pairs], [shared for _, shared in pairs]])
        row = cursor.fetchone()
    return wait or bool(row and row[0])
