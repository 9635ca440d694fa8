"""The créneaux engine: which slots a motif offers, for which agents, where and when.

Availability = occurrences of the plages d'ouverture offering the motif (at a lieu for motifs
« Sur place »), minus absences, minus RDVs that still hold time, minus the days the organisation
is closed, cut into consecutive slots of the motif's duration from the start of each free
interval (free time after an RDV ending at 10:20 offers 10:20).

Three layers:
- `planning.slots.compute_slots`, a pure function over plain rows (no database), where the rules
  live;
- `planning.calendars`, which reads those rows in a constant number of queries whatever the number
  of agents (and of motifs asked at once), as tuples, never model instances: the plages through
  the ORM, the fixed-shape reads in plain SQL, the RDVs from the copy of their times kept on their
  agent links by PostgreSQL;
- here, the answers to the pages: the slots of a window, the agents free at a time, « Prochaine
  disponibilité » (of a motif, of each of its lieux, of several motifs at once).

Time arithmetic is done on absolute instants (POSIX seconds): a 30-minute slot lasts 30 minutes
even on daylight-saving nights. Slots come back as aware datetimes in the organisation's time
zone, whose wall-clock times are those of the plages.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from motifs.models import Motif
from planning.calendars import (
    ABSENCES_SQL,
    BUSY_SQL,
    HOLDING_SQL,
    PLAGE_EXCEPTIONS_SQL,
    Calendar,
    CalendarRequest,
    holding_params,
    load_busy,
    load_calendar,
    load_calendars,
)
from planning.intervals import Window
from planning.locks import hold_agents_time
from planning.slots import Busy, Inputs, PlageRow, Slot, compute_slots
from usagers.models import Usager

# The engine's entry points; the reads of `planning.calendars` it answers from stay importable here
# (bench_creneaux measures the engine's own SQL).
__all__ = [
    "ABSENCES_SQL",
    "BUSY_SQL",
    "DEFAULT_HORIZON",
    "FIRST_SEARCH_WINDOW",
    "PLAGE_EXCEPTIONS_SQL",
    "Calendar",
    "available_slots",
    "free_agents_at",
    "is_still_free",
    "load_busy",
    "load_calendar",
    "load_inputs",
    "next_availabilities",
    "next_availability",
    "next_availability_by_lieu",
]

# How far « Prochaine disponibilité » looks ahead for agents (online, the motif's maximum delay).
DEFAULT_HORIZON = dt.timedelta(days=183)
# The first window « Prochaine disponibilité » reads; each next one is twice as long.
FIRST_SEARCH_WINDOW = dt.timedelta(days=7)


def load_inputs(
    motif: Motif,
    window: Window,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    *,
    usager: Usager | None = None,
    referents_only: bool = False,
) -> Inputs:
    """Every row `compute_slots` needs for the motif over the local days of the window, in at
    most five queries whatever the number of agents: `load_calendar`'s, and the time their
    agents' RDVs hold (`load_busy`)."""
    calendar = load_calendar(motif, window, agents, lieux, usager=usager, referents_only=referents_only)
    if not calendar.plages:
        busy: list[Busy] = []
        queries = calendar.queries
    else:
        busy = load_busy(calendar.agent_ids, window.whole_days(calendar.tz))
        queries = calendar.queries + 1
    return Inputs(
        plages=calendar.plages,
        absences=calendar.absences,
        busy=busy,
        closed_days=calendar.closed_days,
        tz=calendar.tz,
        queries=queries,
    )


def _online_bounds(motif: Motif, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return (
        now + dt.timedelta(seconds=motif.min_booking_delay),
        now + dt.timedelta(seconds=motif.max_booking_delay),
    )


def _search_bounds(
    motif: Motif, start: dt.datetime, end: dt.datetime, online: bool, now: dt.datetime
) -> tuple[Window | None, dt.datetime, dt.datetime | None]:
    """The window left to search once past slots (and online, the booking delays) are cut off,
    None when nothing is left; and the bounds `compute_slots` checks slots against."""
    not_before, not_after = now, None
    if online:
        not_before, not_after = _online_bounds(motif, now)
    window = Window(max(start, not_before), end if not_after is None else min(end, not_after + dt.timedelta(seconds=1)))
    return (window if window.start < window.end else None), not_before, not_after


def available_slots(
    *,
    motif: Motif,
    start: dt.datetime,
    end: dt.datetime,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    online: bool = False,
    usager: Usager | None = None,
    now: dt.datetime | None = None,
    one_per_start: bool | None = None,
) -> list[Slot]:
    """The slots of the motif starting in [start, end). Past slots never show.

    `online=True` is the usager booking: the motif must be bookable online, slots lie between
    now + its minimum delay and now + its maximum delay, a « RDV de suivi » offers only the
    usager's référents, and one slot is shown per start time and lieu.
    """
    now = now or timezone.now()
    if online and not motif.bookable_online:
        return []
    window, not_before, not_after = _search_bounds(motif, start, end, online, now)
    if window is None:
        return []
    referents_only = online and motif.follow_up
    inputs = load_inputs(motif, window, agents, lieux, usager=usager, referents_only=referents_only)
    return compute_slots(
        plages=inputs.plages,
        absences=inputs.absences,
        busy=inputs.busy,
        closed_days=inputs.closed_days,
        duration=dt.timedelta(minutes=motif.default_duration_in_min),
        window=window,
        tz=inputs.tz,
        not_before=not_before,
        not_after=not_after,
        one_per_start=online if one_per_start is None else one_per_start,
    )


def free_agents_at(
    *,
    motif: Motif,
    start: dt.datetime,
    lieu_id: int | None,
    online: bool = True,
    usager: Usager | None = None,
    now: dt.datetime | None = None,
) -> list[int]:
    """The agents free for the motif at that start time and lieu, smallest id first: online an
    usager picks a time, and booking takes one of them (checked again with `is_still_free`)."""
    slots = available_slots(
        motif=motif,
        start=start,
        end=start + dt.timedelta(seconds=1),
        lieux=None if lieu_id is None else [lieu_id],
        online=online,
        usager=usager,
        now=now,
        one_per_start=False,
    )
    return [slot.agent_id for slot in slots if slot.start == start and slot.lieu_id == lieu_id]


def next_availability(
    *,
    motif: Motif,
    after: dt.datetime,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    online: bool = False,
    usager: Usager | None = None,
    now: dt.datetime | None = None,
    horizon: dt.datetime | None = None,
) -> Slot | None:
    """« Prochaine disponibilité »: the first slot starting at or after `after`, or None up to
    the horizon (online: now + the motif's maximum delay; otherwise six months).

    The plages, absences and closed days of the whole span are read once (a few rows per agent);
    the RDVs, which are most of the rows, a week first, then in windows twice as long each time,
    each window read and computed once: a near slot costs one week's RDVs, a full horizon
    3 + 5 queries."""
    search = _Search(motif, agents, lieux)
    found = _first_slots([search], after, online, usager, now, horizon, per_lieu=False)[motif.pk]
    return next(iter(found.values()), None)


def next_availability_by_lieu(
    *,
    motif: Motif,
    after: dt.datetime,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    online: bool = False,
    usager: Usager | None = None,
    now: dt.datetime | None = None,
    horizon: dt.datetime | None = None,
) -> dict[int | None, Slot]:
    """« Prochaine disponibilité » of each lieu where the motif is offered (None: plages without a
    lieu), what `next_availability` answers for that lieu alone; lieux with nothing are left out.

    The calendar is read once for every lieu, the RDVs window by window as `next_availability`
    reads them, of the agents of the lieux still without a slot: the number of queries depends
    on how far the slots are, never on the number of lieux (3 + 1 when all are within a week)."""
    search = _Search(motif, agents, lieux)
    return _first_slots([search], after, online, usager, now, horizon, per_lieu=True)[motif.pk]


def next_availabilities(
    *,
    motifs: Sequence[Motif],
    after: dt.datetime,
    agents: Mapping[int, Iterable[Any] | None] | None = None,
    per_lieu: bool = True,
    online: bool = False,
    usager: Usager | None = None,
    now: dt.datetime | None = None,
    horizon: dt.datetime | None = None,
) -> dict[int, dict[int | None, Slot]]:
    """By motif id, what `next_availability_by_lieu` (`per_lieu`) or `next_availability` (keyed by
    the slot's lieu) answers for that motif alone, each with its own organisation's time zone and
    closed days, duration, booking delays and référents rule; `agents` by motif id (a motif left
    out: any agent). The motifs of a card of online booking, one per organisation.

    One read of the calendars of all the motifs (`load_calendars`: three queries), then the RDVs
    window by window for the agents of every motif still searching: an agent busy in one
    organisation is busy in all of them, so one read serves every motif. The number of queries
    depends on how far the slots are, never on the number of motifs or lieux (3 + 1 when all are
    within a week)."""
    searches = [_Search(motif, (agents or {}).get(motif.pk)) for motif in motifs]
    return _first_slots(searches, after, online, usager, now, horizon, per_lieu=per_lieu)


@dataclass(frozen=True)
class _Search:
    motif: Motif
    agents: Iterable[Any] | None = None
    lieux: Iterable[Any] | None = None


@dataclass
class _Hunt:
    """One motif's search for its first slots: its span, its calendar, the plages still searched."""

    motif: Motif
    span: Window
    not_before: dt.datetime
    not_after: dt.datetime | None
    calendar: Calendar = field(repr=False)
    waiting: list[PlageRow] = field(repr=False)
    found: dict[int | None, Slot] = field(default_factory=dict)

    def window(self, window: Window) -> Window | None:
        """The part of `window` this motif searches, None when it is done or out of its span."""
        part = Window(max(window.start, self.span.start), min(window.end, self.span.end))
        return part if self.waiting and part.start < part.end else None

    def take(self, slots: list[Slot], per_lieu: bool) -> None:
        if slots and not per_lieu:
            self.found = {slots[0].lieu_id: slots[0]}
            self.waiting = []
            return
        for slot in slots:
            self.found.setdefault(slot.lieu_id, slot)
        # A plage's slots depend on its agent's blockers, never on the agent's other plages: those
        # of the lieux already found are left out of the next windows.
        self.waiting = [plage for plage in self.waiting if plage.lieu_id not in self.found]


def _first_slots(
    searches: Sequence[_Search],
    after: dt.datetime,
    online: bool,
    usager: Usager | None,
    now: dt.datetime | None,
    horizon: dt.datetime | None,
    *,
    per_lieu: bool,
) -> dict[int, dict[int | None, Slot]]:
    """By motif id, the first slot (of each lieu when `per_lieu`, else the first of all, keyed by
    its lieu). Windows start at the earliest span: a window's slots are the same whether it is
    read alone or cut in pieces (`compute_slots` cuts on each free interval's own grid), so every
    motif finds, window after window, the first slots its own search would."""
    now = now or timezone.now()
    bounds: list[tuple[dt.datetime, dt.datetime | None]] = []
    requests: list[CalendarRequest] = []
    for search in searches:
        motif = search.motif
        if online and not motif.bookable_online:
            continue
        end = horizon
        if end is None:
            end = _online_bounds(motif, now)[1] if online else max(after, now) + DEFAULT_HORIZON
        span, not_before, not_after = _search_bounds(motif, after, end, online, now)
        if span is None:
            continue
        referents_only = online and motif.follow_up
        requests.append(CalendarRequest(motif, span, search.agents, search.lieux, referents_only))
        bounds.append((not_before, not_after))
    calendars, _queries = load_calendars(requests, usager=usager)
    hunts = [
        _Hunt(request.motif, request.window, not_before, not_after, calendar, waiting=calendar.plages)
        for request, (not_before, not_after), calendar in zip(requests, bounds, calendars, strict=True)
    ]
    _search(hunts, online=online, per_lieu=per_lieu)
    found: dict[int, dict[int | None, Slot]] = {search.motif.pk: {} for search in searches}
    found.update({hunt.motif.pk: hunt.found for hunt in hunts})
    return found


def _search(hunts: Sequence[_Hunt], *, online: bool, per_lieu: bool) -> None:
    """Window after window, a week first, then twice as long each time, from the earliest span:
    one read of the RDVs for every motif still searching that window."""
    if not hunts:
        return
    start, stop = min(hunt.span.start for hunt in hunts), max(hunt.span.end for hunt in hunts)
    length = FIRST_SEARCH_WINDOW
    while start < stop and any(hunt.waiting for hunt in hunts):
        window = Window(start, min(start + length, stop))
        due = [(hunt, part) for hunt in hunts if (part := hunt.window(window)) is not None]
        if due:
            busy = _busy_by_agent(due)
            for hunt, part in due:
                slots = compute_slots(
                    plages=hunt.waiting,
                    absences=hunt.calendar.absences,
                    busy=[row for agent_id in _agents(hunt.waiting) for row in busy.get(agent_id, ())],
                    closed_days=hunt.calendar.closed_days,
                    duration=dt.timedelta(minutes=hunt.motif.default_duration_in_min),
                    window=part,
                    tz=hunt.calendar.tz,
                    not_before=hunt.not_before,
                    not_after=hunt.not_after,
                    one_per_start=online,
                )
                hunt.take(slots, per_lieu)
        start, length = window.end, length * 2


def _agents(plages: Iterable[PlageRow]) -> list[int]:
    return sorted({plage.agent_id for plage in plages})


def _busy_by_agent(due: Sequence[tuple[_Hunt, Window]]) -> dict[int, list[Busy]]:
    """The RDVs of the agents of every motif due over the whole local days of each one's window
    (its organisation's time zone), in one query: a motif gets more than its own days at most,
    which changes none of its slots."""
    days = [part.whole_days(hunt.calendar.tz) for hunt, part in due]
    span = Window(min(item.start for item in days), max(item.end for item in days))
    by_agent: dict[int, list[Busy]] = defaultdict(list)
    for row in load_busy(_agents(plage for hunt, _part in due for plage in hunt.waiting), span):
        by_agent[row[0]].append(row)
    return by_agent


# Whether the agent exists and no RDV holds it over [start, end): the copies of each RDV's time
# and status kept on its agents' rows (`HOLDING_SQL`), as the engine and
# `rendezvous.online.busy_and_twin` read them. Fixed SQL: the ORM's EXISTS cost more to build
# than to answer, under the agent's lock.
STILL_FREE_SQL = f"""
SELECT NOT EXISTS (SELECT 1 FROM rendezvous_rdv_agents WHERE {HOLDING_SQL})
FROM agents_agent WHERE id = %(agent)s
"""


def is_still_free(slot: Slot) -> bool:
    """Whether no RDV holding time overlaps the slot for its agent.

    Inside a transaction it first locks the agent's time over the slot (`hold_agents_time`),
    then checks in a second statement: two bookings of the same agent at overlapping times are
    serialised, and the second one, once the first has committed, sees its RDV. (One statement
    doing both would not: under READ COMMITTED its snapshot is taken before it waits.)"""
    if connection.in_atomic_block:
        hold_agents_time([slot.agent_id], (slot.start, slot.end))
    return is_free(slot.agent_id, slot.start, slot.end)


def is_free(agent_id: int, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether the agent exists and no RDV holding time overlaps [start, end), as this statement
    sees them: under `hold_agents_time`, what the writers that held it before committed."""
    with connection.cursor() as cursor:
        cursor.execute(STILL_FREE_SQL, {**holding_params([agent_id], start, end), "agent": agent_id})
        row = cursor.fetchone()
    return row is not None and bool(row[0])
