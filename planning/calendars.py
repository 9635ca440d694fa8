"""What the créneaux engine reads: the rows `planning.slots.compute_slots` needs, as tuples, never
model instances, in a number of queries that depends neither on the number of agents nor on the
number of motifs asked at once.

- `load_calendars`: for one or several motifs (the lieu step of online booking asks for every
  organisation's motif of a card at once), each over its own window, the plages offering it, their
  exceptions, the absences of their agents and the organisation's closed days: three queries in
  all (plages, exceptions, absences), plus one per motif whose organisation was not loaded with it;
- `load_busy`: the time the agents' RDVs hold over a window, one query for any set of agents.

All by the fixed SQL below, which spares building querysets on every search (the page's main
cost when the ORM compiled them). `planning.creneaux` answers the pages from these rows.
"""

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.db import connection

from motifs.models import Motif
from organisations.models import Organisation
from planning.holidays import closed_days as organisation_closed_days
from planning.intervals import Window
from planning.recurrence import Moved, Rule
from planning.rules import rule_from_recurrence
from planning.slots import LONGEST_RDV, AbsenceRow, Busy, PlageRow
from rendezvous.models import Rdv
from usagers.models import Usager


@lru_cache(maxsize=4096)
def _rule(raw: str | None) -> Rule | None:
    return rule_from_recurrence(raw) if raw else None


def _ids(objects: Iterable[Any] | None) -> list[int] | None:
    if objects is None:
        return None
    return [item if isinstance(item, int) else item.pk for item in objects]


def _organisation(motif: Motif) -> Organisation:
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
# `AbsenceExceptionQuerySet.near`, `PlageOuvertureQuerySet.offering`); tests/planning/test_creneaux.py
# and tests/reservation/test_catalogue.py hold them to it.

# The plages offering any of the motifs over the days first to last (inclusive), one row per
# plage and motif; `referent` is REFERENT_SQL or false.
PLAGES_SQL = """
SELECT plage.id, link.motif_id, plage.organisation_id, plage.agent_id, plage.lieu_id, {referent},
    plage.first_day, plage.start_time, plage.end_time, plage.recurrence
FROM planning_plageouverture AS plage
JOIN planning_plageouverture_motifs AS link ON link.plageouverture_id = plage.id
LEFT JOIN organisations_lieu AS lieu ON lieu.id = plage.lieu_id
WHERE link.motif_id = ANY(%(motifs)s::bigint[])
    AND lieu.is_active IS NOT FALSE
    AND plage.first_day <= %(last)s
    AND (plage.recurrence_ends_on IS NULL OR plage.recurrence_ends_on >= %(first)s)
"""

# Whether the plage's agent is a référent of the usager in the plage's organisation.
REFERENT_SQL = """EXISTS (
    SELECT 1 FROM usagers_usagerprofile_referents AS referent
    JOIN usagers_usagerprofile AS profile ON profile.id = referent.usagerprofile_id
    WHERE profile.organisation_id = plage.organisation_id AND profile.usager_id = %(usager)s
        AND profile.deleted_at IS NULL AND referent.agent_id = plage.agent_id
)"""

PLAGE_EXCEPTIONS_SQL = """
SELECT plage_id, original_date, starts_at, ends_at
FROM planning_plageouvertureexception
WHERE plage_id = ANY(%(plages)s::bigint[])
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
WHERE absence.agent_id = ANY(%(agents)s::bigint[])
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
# The agents' links to RDVs that hold time over [start, end): the condition both BUSY_SQL and
# `rendezvous.online.busy_and_twin` read, with the parameters `holding_params` gives.
HOLDING_SQL = """agent_id = ANY(%(agents)s::bigint[])
        AND rdv_starts_at < %(end)s AND rdv_starts_at > %(earliest)s AND rdv_ends_at > %(start)s
        AND NOT rdv_status = ANY(%(cancelled)s)"""

BUSY_SQL = f"""
SELECT agent_id, EXTRACT(EPOCH FROM lower(busy))::float8, EXTRACT(EPOCH FROM upper(busy))::float8
FROM (
    SELECT agent_id, unnest(range_agg(tstzrange(rdv_starts_at, rdv_ends_at))) AS busy
    FROM rendezvous_rdv_agents
    WHERE {HOLDING_SQL}
    GROUP BY agent_id
) AS merged
"""


def holding_params(agent_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """HOLDING_SQL's parameters: RDVs not cancelled, overlapping [start, end); the lower bound on
    their start (no RDV lasts more than LONGEST_RDV) lets the index on (agent_id, rdv_starts_at)
    bound both ends."""
    return {
        "agents": _array(sorted(agent_ids)),
        "start": start,
        "end": end,
        "earliest": start - LONGEST_RDV,
        "cancelled": [str(status) for status in Rdv.CANCELLED_STATUSES],
    }


def load_busy(agent_ids: Sequence[int], window: Window) -> list[Busy]:
    """The time held by the agents' RDVs (in any organisation: an agent is busy everywhere)
    overlapping the window, as disjoint intervals per agent, in one query."""

    if not agent_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(BUSY_SQL, holding_params(agent_ids, window.start, window.end))
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


@dataclass(frozen=True)
class CalendarRequest:
    """One motif's calendar to read: over the local days of `window` (in its organisation's time
    zone), the plages of `agents` and at `lieux` (None: any), of the usager's référents only when
    `referents_only` (a « RDV de suivi » booked online)."""

    motif: Motif
    window: Window
    agents: Iterable[Any] | None = None
    lieux: Iterable[Any] | None = None
    referents_only: bool = False


def load_calendar(
    motif: Motif,
    window: Window,
    agents: Iterable[Any] | None = None,
    lieux: Iterable[Any] | None = None,
    *,
    usager: Usager | None = None,
    referents_only: bool = False,
) -> Calendar:
    """The plages offering the motif over the local days of the window, their exceptions, the
    agents' absences (in any organisation: an absent agent is absent everywhere) with their
    exceptions: at most four queries (three, and the organisation when the motif was not loaded
    with it) whatever the number of agents. Rows, never model instances."""
    request = CalendarRequest(motif, window, agents, lieux, referents_only)
    calendars, queries = load_calendars([request], usager=usager)
    return replace(calendars[0], queries=queries)


@dataclass(frozen=True)
class _Bounds:
    """A request's local days and the span the exceptions near them are read for."""

    first: dt.date
    last: dt.date
    whole_days: Window
    exceptions_first: dt.date
    exceptions_last: dt.date

    @classmethod
    def of(cls, window: Window, tz: zoneinfo.ZoneInfo) -> "_Bounds":
        first, last = window.local_days(tz)
        whole_days = window.whole_days(tz)
        # Exceptions near the window, as `OccurrenceExceptionQuerySet.near` decides: UTC dates
        # widened by a day each side.
        exceptions_first, exceptions_last = whole_days.date_range
        return cls(first, last, whole_days, exceptions_first, exceptions_last)

    @classmethod
    def union(cls, bounds: Sequence["_Bounds"]) -> "_Bounds":
        return cls(
            min(item.first for item in bounds),
            max(item.last for item in bounds),
            Window(min(item.whole_days.start for item in bounds), max(item.whole_days.end for item in bounds)),
            min(item.exceptions_first for item in bounds),
            max(item.exceptions_last for item in bounds),
        )


@dataclass(frozen=True)
class _Offering:
    """Which rows of the one plages query may receive a request's motif, as
    `PlageOuvertureQuerySet.offering` decides for one motif (of its organisation, at a lieu for a
    motif « sur place »; offering it and not at an archived lieu are decided in SQL for all the
    motifs at once), narrowed to the agents and lieux asked, and to the usager's référents for a
    « RDV de suivi » online."""

    organisation_id: int
    on_site: bool
    agent_ids: frozenset[int] | None
    lieu_ids: frozenset[int] | None
    referents_only: bool

    @classmethod
    def of(cls, request: CalendarRequest, usager: Usager | None) -> "_Offering | None":
        """None when no plage can receive the motif: no agent or no lieu asked, or référents
        asked of nobody."""
        agent_ids, lieu_ids = _ids(request.agents), _ids(request.lieux)
        if agent_ids == [] or lieu_ids == [] or (request.referents_only and usager is None):
            return None
        return cls(
            organisation_id=request.motif.organisation_id,
            on_site=request.motif.location_type == Motif.LocationType.PUBLIC_OFFICE,
            agent_ids=None if agent_ids is None else frozenset(agent_ids),
            lieu_ids=None if lieu_ids is None else frozenset(lieu_ids),
            referents_only=request.referents_only,
        )

    def accepts(self, organisation_id: int, agent_id: int, lieu_id: int | None, referent: bool) -> bool:
        return (
            organisation_id == self.organisation_id
            and (lieu_id is not None or not self.on_site)
            and (self.agent_ids is None or agent_id in self.agent_ids)
            and (self.lieu_ids is None or lieu_id in self.lieu_ids)
            and (referent or not self.referents_only)
        )


def _array(ids: Iterable[int]) -> str:
    """A PostgreSQL array literal of ids: psycopg adapts a list of thousands of ints one by one,
    which costs more than PostgreSQL takes to use them."""
    return "{" + ",".join(map(str, ids)) + "}"


def load_calendars(requests: Sequence[CalendarRequest], *, usager: Usager | None = None) -> tuple[list[Calendar], int]:
    """The calendar of each request, in its order, and the number of queries read: the plages
    offering any of the motifs (one query, each row with the motif it offers), their exceptions
    (one), the absences of all their agents with their exceptions (one), and the organisation of
    each motif not loaded with it. One motif per request.

    The days read are those of all the requests together: a calendar may hold plages, absences
    and exceptions beyond its own window, which have no occurrence in it and so change no slot."""
    if len({request.motif.pk for request in requests}) != len(requests):
        raise ValueError("one request per motif")
    queries = sum(1 for request in requests if "organisation" not in request.motif._state.fields_cache)
    organisations = [_organisation(request.motif) for request in requests]
    bounds = [
        _Bounds.of(request.window, organisation.tzinfo)
        for request, organisation in zip(requests, organisations, strict=True)
    ]
    plages: dict[int, list[PlageRow]] = {}
    absences: dict[int, list[AbsenceRow]] = {}
    offerings = {
        request.motif.pk: offering for request in requests if (offering := _Offering.of(request, usager)) is not None
    }
    if offerings:
        span = _Bounds.union(bounds)
        plage_rows = _plage_rows(offerings, span, usager)
        queries += 1
        if plage_rows:
            plages = _plages_by_motif(plage_rows, span)
            absences = _absences_by_agent(sorted({row[2] for row in plage_rows}), span)
            queries += 2
    calendars = []
    for request, organisation, item in zip(requests, organisations, bounds, strict=True):
        rows = plages.get(request.motif.pk, [])
        agent_ids = sorted({plage.agent_id for plage in rows})
        calendars.append(
            Calendar(
                plages=rows,
                absences=[absence for agent_id in agent_ids for absence in absences.get(agent_id, ())],
                agent_ids=agent_ids,
                closed_days=frozenset(organisation_closed_days(organisation, item.first, item.last)),
                tz=organisation.tzinfo,
                queries=0,
            )
        )
    return calendars, queries


# (plage id, motif id, agent id, lieu id, first day, start time, end time, recurrence as text)
_PlageRead = tuple[int, int, int, int | None, dt.date, dt.time, dt.time, str | None]


def _plage_rows(offerings: dict[int, _Offering], span: _Bounds, usager: Usager | None) -> list[_PlageRead]:
    """The plages that may receive each motif (by motif id) over the span's days, one query: those
    of a motif asked, not at an inactive lieu, with an occurrence possible in the span (as
    `RecurringEventQuerySet.active_on`), each row with the motif it offers."""
    # Whether the plage's agent is a référent of the usager in the plage's organisation: read
    # only when a motif asked is reserved to référents.
    referents = usager is not None and any(offering.referents_only for offering in offerings.values())
    with connection.cursor() as cursor:
        cursor.execute(
            PLAGES_SQL.format(referent=REFERENT_SQL if referents else "false"),
            {
                "motifs": _array(sorted(offerings)),
                "first": span.first,
                "last": span.last,
                "usager": usager.pk if referents and usager is not None else None,
            },
        )
        rows = cursor.fetchall()
    return [
        (pk, motif_id, agent_id, lieu_id, first_day, start_time, end_time, raw)
        for pk, motif_id, organisation_id, agent_id, lieu_id, is_referent, first_day, start_time, end_time, raw in rows
        if offerings[motif_id].accepts(organisation_id, agent_id, lieu_id, is_referent)
    ]


def _plages_by_motif(plage_rows: list[_PlageRead], span: _Bounds) -> dict[int, list[PlageRow]]:
    """The plages of each motif with their exceptions near the span (one query)."""
    params: dict[str, Any] = {
        "plages": _array(sorted({row[0] for row in plage_rows})),
        "start": span.whole_days.start,
        "end": span.whole_days.end,
        "exceptions_first": span.exceptions_first,
        "exceptions_last": span.exceptions_last,
    }
    exceptions: dict[int, dict[dt.date, Moved | None]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(PLAGE_EXCEPTIONS_SQL, params)
        for plage_id, original_date, starts_at, ends_at in cursor.fetchall():
            exceptions[plage_id][original_date] = Moved(starts_at, ends_at) if starts_at and ends_at else None
    plages: dict[int, list[PlageRow]] = defaultdict(list)
    for pk, motif_id, agent_id, lieu_id, first_day, start_time, end_time, raw in plage_rows:
        plages[motif_id].append(
            PlageRow(agent_id, lieu_id, first_day, start_time, end_time, _rule(raw), exceptions.get(pk, {}))
        )
    return plages


def _absences_by_agent(agent_ids: list[int], span: _Bounds) -> dict[int, list[AbsenceRow]]:
    """The agents' absences over the span's days (in any organisation: an absent agent is absent
    everywhere) with their exceptions near it (one query)."""
    params: dict[str, Any] = {
        "agents": _array(agent_ids),
        "first": span.first,
        "last": span.last,
        "start": span.whole_days.start,
        "end": span.whole_days.end,
        "exceptions_first": span.exceptions_first,
        "exceptions_last": span.exceptions_last,
    }
    rows: dict[int, tuple] = {}
    exceptions: dict[int, dict[dt.date, Moved | None]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(ABSENCES_SQL, params)
        for *row, original_date, starts_at, ends_at in cursor.fetchall():
            rows[row[0]] = row
            if original_date is not None:
                exceptions[row[0]][original_date] = Moved(starts_at, ends_at) if starts_at and ends_at else None
    absences: dict[int, list[AbsenceRow]] = defaultdict(list)
    for pk, agent_id, first_day, start_time, end_day, end_time, raw in rows.values():
        absences[agent_id].append(
            AbsenceRow(
                agent_id,
                first_day,
                start_time,
                end_time,
                (end_day - first_day).days,
                _rule(raw),
                exceptions.get(pk, {}),
            )
        )
    return absences
