"""The pure créneaux engine: the rules of availability over plain rows, no database.

Availability = occurrences of the plages d'ouverture offering the motif (at a lieu for motifs
« Sur place »), minus absences, minus RDVs that still hold time, minus the days the organisation
is closed, cut into consecutive slots of the motif's duration from the start of each free
interval (free time after an RDV ending at 10:20 offers 10:20). `planning.creneaux` reads the
rows and answers the pages.

Time arithmetic is done on absolute instants (POSIX seconds): a 30-minute slot lasts 30 minutes
even on daylight-saving nights. Slots come back as aware datetimes in the organisation's time
zone, whose wall-clock times are those of the plages.
"""

import datetime as dt
import zoneinfo
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from planning.intervals import Window, merge
from planning.recurrence import Moved, Rule, expand


@dataclass(frozen=True, slots=True)
class PlageRow:
    agent_id: int
    lieu_id: int | None
    first_day: dt.date
    start_time: dt.time
    end_time: dt.time
    rule: Rule | None
    exceptions: Mapping[dt.date, Moved | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AbsenceRow:
    agent_id: int
    first_day: dt.date
    start_time: dt.time
    end_time: dt.time
    span_days: int
    rule: Rule | None
    exceptions: Mapping[dt.date, Moved | None] = field(default_factory=dict)


# (agent id, start, end) of time held by the agent's RDVs, in POSIX seconds: read as numbers
# from the database, which spares building two aware datetimes per RDV on the hot path.
Busy = tuple[int, float, float]

# No RDV lasts more than a day (a constraint of Rdv): the lower bound that lets the database use
# the index on starts_at for both ends of an overlap search.
LONGEST_RDV = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable time: aware start and end in the organisation's time zone, with its agent and
    lieu (None for motifs by phone or at home)."""

    start: dt.datetime
    end: dt.datetime
    agent_id: int
    lieu_id: int | None


@dataclass(frozen=True)
class Inputs:
    plages: list[PlageRow]
    absences: list[AbsenceRow]
    busy: list[Busy]
    closed_days: frozenset[dt.date]
    tz: zoneinfo.ZoneInfo
    queries: int = 0


def compute_slots(
    *,
    plages: Iterable[PlageRow],
    absences: Iterable[AbsenceRow],
    busy: Iterable[Busy],
    closed_days: Collection[dt.date],
    duration: dt.timedelta,
    window: Window,
    tz: zoneinfo.ZoneInfo,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    agent_ids: Collection[int] | None = None,
    one_per_start: bool = False,
) -> list[Slot]:
    """The slots starting in [window.start, window.end), and in [not_before, not_after] when
    given, sorted by start then agent.

    Free intervals are computed over whole occurrences (whatever the window), so a slot's start
    never depends on the window asked for: the rows must cover the local days of the window.
    `one_per_start` keeps one slot per start time and lieu (what usagers see online), the one of
    the agent with the smallest id.
    """
    step = duration.total_seconds()
    if step <= 0:
        raise ValueError("duration must be positive")
    low = window.start.timestamp()
    high = window.end.timestamp()
    if not_before is not None:
        low = max(low, not_before.timestamp())
    # A slot may start at not_after itself, and must start before the window's end.
    latest = high - 1e-6 if not_after is None else min(high - 1e-6, not_after.timestamp())
    if low > latest:
        return []
    # Occurrences are expanded over whole local days around the window (see the docstring).
    local_first = window.start.astimezone(tz).date()
    local_last = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    expand_start = dt.datetime.combine(local_first, dt.time(), tzinfo=tz)
    expand_end = dt.datetime.combine(local_last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    closed = frozenset(closed_days)

    expansions: dict[tuple, list[tuple[float, float, dt.date]]] = {}

    def instants(event: PlageRow | AbsenceRow, span_days: int = 0) -> list[tuple[float, float, dt.date]]:
        """The event's occurrences as (start, end) POSIX seconds and the local date of the start.
        Expanded once per distinct series in the call: agents of an organisation mostly share
        opening hours. Only series with no exception are shared, and the first day counts
        unless it cannot change the dates (a series repeating every week or month that started
        before the expanded days)."""
        rule = event.rule
        key = None
        if not event.exceptions:
            shared_start = (
                rule is not None
                and rule.interval == 1
                and event.first_day < local_first - dt.timedelta(days=span_days + 1)
            )
            key = (None if shared_start else event.first_day, event.start_time, event.end_time, rule, span_days)
            found = expansions.get(key)
            if found is not None:
                return found
        found = [
            (occurrence.start.timestamp(), occurrence.end.timestamp(), occurrence.start.astimezone(tz).date())
            for occurrence in expand(
                first_day=event.first_day,
                start_time=event.start_time,
                end_time=event.end_time,
                rule=rule,
                tz=tz,
                window_start=expand_start,
                window_end=expand_end,
                exceptions=event.exceptions,
                duration_days=span_days,
            )
        ]
        if key is not None:
            expansions[key] = found
        return found

    openings: dict[int, list[tuple[float, float, int | None]]] = defaultdict(list)
    for plage in plages:
        if agent_ids is not None and plage.agent_id not in agent_ids:
            continue
        lieu_id = plage.lieu_id
        for occ_start, occ_end, day in instants(plage):
            if day not in closed:
                openings[plage.agent_id].append((occ_start, occ_end, lieu_id))
    if not openings:
        return []

    blocked: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for absence in absences:
        if absence.agent_id not in openings:
            continue
        blocked[absence.agent_id].extend(
            (occ_start, occ_end) for occ_start, occ_end, _day in instants(absence, absence.span_days)
        )
    for agent_id, busy_start, busy_end in busy:
        if agent_id in openings:
            blocked[agent_id].append((busy_start, busy_end))

    found: list[tuple[float, int, int | None]] = []
    for agent_id, occurrences in openings.items():
        starts, ends = merge(blocked.get(agent_id, []))
        for occ_start, occ_end, lieu_id in occurrences:
            if occ_end <= low or occ_start > latest:
                continue
            # Blockers that may overlap this occurrence: the first whose end is after its start.
            index = bisect_right(ends, occ_start)
            free_start = occ_start
            while True:
                if index < len(starts) and starts[index] < occ_end:
                    free_end = starts[index]
                    next_start = ends[index]
                    index += 1
                else:
                    free_end = occ_end
                    next_start = None
                if free_end > free_start:
                    time = free_start
                    if time < low:
                        # Jump to the first cut at or after `low`, on the interval's own grid.
                        time += -((free_start - low) // step) * step
                    while time + step <= free_end and time <= latest:
                        found.append((time, agent_id, lieu_id))
                        time += step
                if next_start is None or next_start >= occ_end:
                    break
                free_start = max(free_start, next_start)
    found.sort(key=lambda item: (item[0], item[1]))
    slots: list[Slot] = []
    seen: set[tuple[float, int | None]] = set()
    # Agents share start times: each instant becomes an aware datetime once.
    instants_cache: dict[float, dt.datetime] = {}
    for time, agent_id, lieu_id in found:
        if one_per_start:
            key = (time, lieu_id)
            if key in seen:
                continue
            seen.add(key)
        start = instants_cache.get(time)
        if start is None:
            start = instants_cache[time] = dt.datetime.fromtimestamp(time, tz)
        end = instants_cache.get(time + step)
        if end is None:
            end = instants_cache[time + step] = dt.datetime.fromtimestamp(time + step, tz)
        slots.append(Slot(start=start, end=end, agent_id=agent_id, lieu_id=lieu_id))
    return slots
