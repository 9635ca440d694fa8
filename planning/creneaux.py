"""The créneaux engine: which slots a motif offers, for which agents, where and when.

Availability = occurrences of the plages d'ouverture offering the motif (at a lieu for motifs
« Sur place »), minus absences, minus RDVs that still hold time, minus the days the organisation
is closed, cut into consecutive slots of the motif's duration from the start of each free
interval (free time after an RDV ending at 10:20 offers 10:20).

Two layers:
- `planning.slots.compute_slots`, a pure function over plain rows (no database), where the rules
  live;
- `load_inputs`, here, which reads those rows in a constant number of queries whatever the number of
  agents, as tuples, never model instances: the plages through the ORM, the fixed-shape reads in
  plain SQL, the RDVs from the copy of their times kept on their agent links by PostgreSQL.

Time arithmetic is done on absolute instants (POSIX seconds): a 30-minute slot lasts 30 minutes
even on daylight-saving nights. Slots come back as aware datetimes in the organisation's time
zone, whose wall-clock times are those of the plages.
"""

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from agents.models import Agent
from motifs.models import Motif
from organisations.models import Organisation
from planning.holidays import closed_days as organisation_closed_days
from planning.intervals import Window
from planning.models import PlageOuverture
from planning.recurrence import Moved, Rule
from planning.rules import rule_from_recurrence
from planning.slots import LONGEST_RDV, AbsenceRow, Busy, Inputs, PlageRow, Slot, compute_slots
from rendezvous.models import Rdv
from usagers.models import Usager, UsagerProfile

# How far « Prochaine disponibilité » looks ahead for agents (online, the motif's maximum delay).
DEFAULT_HORIZON = dt.timedelta(days=183)
# The first window « Prochaine disponibilité » reads; each next one is twice as long.
FIRST_SEARCH_WINDOW = dt.timedelta(days=7)


@lru_cache(maxsize=4096)
def _rule(raw: str | None) -> Rule | None:
    return rule_from_recurrence(raw) if raw else None


def _ids(objects: Iterable[Any] | None) -> list[int] | None:
    if objects is None:
        return None
    return [item if isinstance(item, int) else item.pk for item in objects]


def _organisation(motif: "Motif") -> "Organisation":
    """The motif's organisation with its territory, reusing what the caller loaded."""
    cached = motif._state.fields_cache.get("organisation")
    if cached is not None and "territory" in cached._state.fields_cache:
        return cached
    organisation = Organisation.objects.select_related("territory").get(pk=motif.organisation_id)
    motif.organisation = organisation
    return organisation


# The engine's fixed-shape reads, in plain SQL: the ORM would spend more time building these
# queries than PostgreSQL takes to answer them. They say what the querysets of planning.models
# say (`OccurrenceExceptionQuerySet.near`, `AbsenceQuerySet.active_on`,
# `AbsenceExceptionQuerySet.near`); tests/planning/test_creneaux.py holds them to it.
PLAGE_EXCEPTIONS_SQL = """
SELECT plage_id, original_date, starts_at, ends_at
FROM planning_plageouvertureexception
WHERE plage_id = ANY(%(plages)s)
    AND (
        (original_date >= %(exceptions_first)s AND original_date <= %(exceptions_last)s)
        OR (starts_at < %(end)s AND ends_at > %(start)s)
    )
"""

# The absences with, on as many rows, their exceptions near the window (NULLs when none).
ABSENCES_SQL = """
SELECT absence.id, absence.agent_id, absence.first_day, absence.start_time, absence.end_day,
    absence.end_time, absence.recurrence, exception.original_date, exception.starts_at,
    exception.ends_at
FROM planning_absence AS absence
LEFT JOIN planning_absenceexception AS exception ON exception.absence_id = absence.id
    AND (
        (
            exception.original_date + (absence.end_day - absence.first_day) >= %(exceptions_first)s
            AND exception.original_date <= %(exceptions_last)s
        )
        OR (exception.starts_at < %(end)s AND exception.ends_at > %(start)s)
    )
WHERE absence.agent_id = ANY(%(agents)s)
    AND absence.first_day <= %(last)s
    AND (
        absence.recurrence_ends_on IS NULL
        OR absence.recurrence_ends_on + (absence.end_day - absence.first_day) >= %(first)s
    )
"""

# The time the agents' RDVs hold, merged per agent into disjoint intervals by PostgreSQL
# (range_agg), as POSIX seconds. It reads the copy of each RDV's start, end and status kept on its
# agent links (migration rendezvous 0002): one index-only scan on (agent_id, rdv_starts_at),
# whatever the other organisations' RDVs and the agents' history. Merging touching RDVs changes
# no slot (`compute_slots` merges blockers the same way) and, on a full agenda, hands over one
# row per busy stretch rather than one per RDV.
BUSY_SQL = """
SELECT agent_id, EXTRACT(EPOCH FROM lower(busy))::float8, EXTRACT(EPOCH FROM upper(busy))::float8
FROM (
    SELECT agent_id, unnest(range_agg(tstzrange(rdv_starts_at, rdv_ends_at))) AS busy
    FROM rendezvous_rdv_agents
    WHERE agent_id = ANY(%(agents)s)
        AND rdv_starts_at < %(end)s AND rdv_starts_at > %(earliest)s AND rdv_ends_at > %(start)s
        AND NOT rdv_status = ANY(%(cancelled)s)
    GROUP BY agent_id
) AS merged
"""


def load_busy(agent_ids: Sequence[int], window: Window) -> list[Busy]:
    """The time held by the agents' RDVs (in any organisation: an agent is busy everywhere)
    overlapping the window, as disjoint intervals per agent, in one query."""

    if not agent_ids:
        return []
    params: dict[str, Any] = {
        "agents": list(agent_ids),
        "start": window.start,
        "end": window.end,
        "earliest": window.start - LONGEST_RDV,
        "cancelled": [str(status) for status in Rdv.CANCELLED_STATUSES],
    }
    with connection.cursor() as cursor:
        cursor.execute(BUSY_SQL, params)
        return cursor.fetchall()


@dataclass(frozen=True)
class Calendar:
    """What `compute_slots` needs besides the RDVs, read once for a span of local days: the
    plages offering the motif, the absences of their agents, the closed days."""

    plages: list[PlageRow]
    absences: list[AbsenceRow]
    agent_ids: list[int]
    closed_days: frozenset[dt.date]
    tz: zoneinfo.ZoneInfo
    queries: int


def load_calendar(
    motif: "Motif",
    window: Window,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    *,
    usager: "Usager | None" = None,
    referents_only: bool = False,
) -> Calendar:
    """The plages offering the motif over the local days of the window, their exceptions, the
    agents' absences (in any organisation: an absent agent is absent everywhere) with their
    exceptions: at most four queries (three, and the organisation when the motif was not loaded
    with it) whatever the number of agents. Rows, never model instances.

    The plages, whose filters vary (agents, lieux, référents), are read through the ORM; the
    rest by the fixed SQL above, which spares rebuilding three querysets on every search."""

    queries = 0
    if "organisation" not in motif._state.fields_cache:
        queries += 1
    organisation = _organisation(motif)
    tz = organisation.tzinfo
    first, last = window.local_days(tz)
    whole_days = window.whole_days(tz)

    plages_qs = PlageOuverture.objects.offering(motif).active_on(first, last)
    agent_ids = _ids(agents)
    if agent_ids is not None:
        plages_qs = plages_qs.filter(agent_id__in=agent_ids)
    lieu_ids = _ids(lieux)
    if lieu_ids is not None:
        plages_qs = plages_qs.filter(lieu_id__in=lieu_ids)
    if referents_only and usager is None:
        plages_qs = plages_qs.none()
    elif referents_only and usager is not None:
        referents = UsagerProfile.referents.through.objects.filter(
            usagerprofile__organisation_id=motif.organisation_id,
            usagerprofile__usager_id=usager.pk,
            usagerprofile__deleted_at__isnull=True,
        ).values("agent_id")
        plages_qs = plages_qs.filter(agent_id__in=referents)
    plage_rows = list(
        plages_qs.order_by()
        .annotate(raw_recurrence=Cast("recurrence", TextField()))
        .values_list("pk", "agent_id", "lieu_id", "first_day", "start_time", "end_time", "raw_recurrence")
    )
    queries += 1
    closed = frozenset(organisation_closed_days(organisation, first, last))
    if not plage_rows:
        return Calendar(plages=[], absences=[], agent_ids=[], closed_days=closed, tz=tz, queries=queries)

    # Exceptions near the window, as `OccurrenceExceptionQuerySet.near` decides: UTC dates
    # widened by a day each side.
    exceptions_first, exceptions_last = whole_days.date_range
    params: dict[str, Any] = {
        "plages": [row[0] for row in plage_rows],
        "first": first,
        "last": last,
        "start": whole_days.start,
        "end": whole_days.end,
        "exceptions_first": exceptions_first,
        "exceptions_last": exceptions_last,
    }
    plage_exceptions: dict[int, dict[dt.date, Moved | None]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(PLAGE_EXCEPTIONS_SQL, params)
        for plage_id, original_date, starts_at, ends_at in cursor.fetchall():
            plage_exceptions[plage_id][original_date] = Moved(starts_at, ends_at) if starts_at and ends_at else None
    queries += 1
    plages = [
        PlageRow(agent_id, lieu_id, first_day, start_time, end_time, _rule(raw), plage_exceptions.get(pk, {}))
        for pk, agent_id, lieu_id, first_day, start_time, end_time, raw in plage_rows
    ]
    found_agents = sorted({plage.agent_id for plage in plages})

    params["agents"] = found_agents
    absence_rows: dict[int, tuple] = {}
    absence_exceptions: dict[int, dict[dt.date, Moved | None]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(ABSENCES_SQL, params)
        for *row, original_date, starts_at, ends_at in cursor.fetchall():
            absence_rows[row[0]] = row
            if original_date is not None:
                absence_exceptions[row[0]][original_date] = Moved(starts_at, ends_at) if starts_at and ends_at else None
    queries += 1
    absences = [
        AbsenceRow(
            agent_id,
            first_day,
            start_time,
            end_time,
            (end_day - first_day).days,
            _rule(raw),
            absence_exceptions.get(pk, {}),
        )
        for pk, agent_id, first_day, start_time, end_day, end_time, raw in absence_rows.values()
    ]
    return Calendar(
        plages=plages, absences=absences, agent_ids=found_agents, closed_days=closed, tz=tz, queries=queries
    )


def load_inputs(
    motif: "Motif",
    window: Window,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    *,
    usager: "Usager | None" = None,
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


def _online_bounds(motif: "Motif", now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return (
        now + dt.timedelta(seconds=motif.min_booking_delay),
        now + dt.timedelta(seconds=motif.max_booking_delay),
    )


def _search_bounds(
    motif: "Motif", start: dt.datetime, end: dt.datetime, online: bool, now: dt.datetime
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
    motif: "Motif",
    start: dt.datetime,
    end: dt.datetime,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    online: bool = False,
    usager: "Usager | None" = None,
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
    motif: "Motif",
    start: dt.datetime,
    lieu_id: int | None,
    online: bool = True,
    usager: "Usager | None" = None,
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
    motif: "Motif",
    after: dt.datetime,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    online: bool = False,
    usager: "Usager | None" = None,
    now: dt.datetime | None = None,
    horizon: dt.datetime | None = None,
) -> Slot | None:
    """« Prochaine disponibilité »: the first slot starting at or after `after`, or None up to
    the horizon (online: now + the motif's maximum delay; otherwise six months).

    The plages, absences and closed days of the whole span are read once (a few rows per agent);
    the RDVs, which are most of the rows, a week first, then in windows twice as long each time,
    each window read and computed once: a near slot costs one week's RDVs, a full horizon
    3 + 5 queries."""
    found = _first_slots(motif, after, agents, lieux, online, usager, now, horizon, per_lieu=False)
    return next(iter(found.values()), None)


def next_availability_by_lieu(
    *,
    motif: "Motif",
    after: dt.datetime,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    online: bool = False,
    usager: "Usager | None" = None,
    now: dt.datetime | None = None,
    horizon: dt.datetime | None = None,
) -> dict[int | None, Slot]:
    """« Prochaine disponibilité » of each lieu where the motif is offered (None: plages without a
    lieu), what `next_availability` answers for that lieu alone; lieux with nothing are left out.

    The calendar is read once for every lieu, the RDVs window by window as `next_availability`
    reads them, of the agents of the lieux still without a slot: the number of queries depends
    on how far the slots are, never on the number of lieux (3 + 1 when all are within a week)."""
    return _first_slots(motif, after, agents, lieux, online, usager, now, horizon, per_lieu=True)


def _first_slots(
    motif: "Motif",
    after: dt.datetime,
    agents: Iterable[Any] | None,
    lieux: Iterable[Any] | None,
    online: bool,
    usager: "Usager | None",
    now: dt.datetime | None,
    horizon: dt.datetime | None,
    *,
    per_lieu: bool,
) -> dict[int | None, Slot]:
    """The first slot (of each lieu when `per_lieu`, else the first of all, keyed by its lieu)."""
    now = now or timezone.now()
    if online and not motif.bookable_online:
        return {}
    if horizon is None:
        horizon = _online_bounds(motif, now)[1] if online else max(after, now) + DEFAULT_HORIZON
    span, not_before, not_after = _search_bounds(motif, after, horizon, online, now)
    if span is None:
        return {}
    calendar = load_calendar(motif, span, agents, lieux, usager=usager, referents_only=online and motif.follow_up)
    duration = dt.timedelta(minutes=motif.default_duration_in_min)
    found: dict[int | None, Slot] = {}
    waiting = calendar.plages
    start, length = span.start, FIRST_SEARCH_WINDOW
    while waiting and start < span.end:
        window = Window(start, min(start + length, span.end))
        slots = compute_slots(
            plages=waiting,
            absences=calendar.absences,
            busy=load_busy(sorted({plage.agent_id for plage in waiting}), window.whole_days(calendar.tz)),
            closed_days=calendar.closed_days,
            duration=duration,
            window=window,
            tz=calendar.tz,
            not_before=not_before,
            not_after=not_after,
            one_per_start=online,
        )
        if slots and not per_lieu:
            return {slots[0].lieu_id: slots[0]}
        for slot in slots:
            found.setdefault(slot.lieu_id, slot)
        # A plage's slots depend on its agent's blockers, never on the agent's other plages: those
        # of the lieux already found are left out of the next windows.
        waiting = [plage for plage in waiting if plage.lieu_id not in found]
        start, length = window.end, length * 2
    return found


def is_still_free(slot: Slot) -> bool:
    """Whether no RDV holding time overlaps the slot for its agent.

    Inside a transaction it first locks the agent's row (select_for_update), then checks in a
    second statement: two bookings of the same agent are serialised, and the second one, once
    the first has committed, sees its RDV. (One statement doing both would not: under READ
    COMMITTED its snapshot is taken before it waits for the lock.)"""

    if connection.in_atomic_block and not Agent.objects.lock_for_booking([slot.agent_id]):
        return False
    holding = Rdv.objects.holding_time().overlapping(slot.start, slot.end).filter(agents=OuterRef("pk"))
    busy: Sequence[bool] = (
        Agent.objects.filter(pk=slot.agent_id).annotate(busy=Exists(holding)).values_list("busy", flat=True)
    )
    answer = list(busy)
    return bool(answer) and not answer[0]
