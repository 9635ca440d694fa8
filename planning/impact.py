"""Which future RDVs a change to an agent's planning leaves outside its availability.

Saving a plage d'ouverture or an absence is never refused for this: the agent may mean it (a
training announced late, a lieu that closes). The agent is warned, with the list of those RDVs,
and decides what to do with each.

An RDV holding the agent's time is *outside availability* when:
- an absence of the agent overlaps it, in any organisation (an absent agent is absent
  everywhere, as for the créneaux engine); or
- no plage d'ouverture of the agent in the RDV's organisation covers its whole span while
  offering its motif and, for a motif « sur place », at the RDV's lieu: a plage that moved to
  another lieu or stopped offering the motif leaves the usager waiting where the agent is not.
  Occurrences on days the organisation is closed do not count; back-to-back occurrences
  covering the RDV together do.
These are the créneaux engine's rules read backwards: an RDV inside availability is one the
engine could have offered.

Only what a change *newly* leaves outside is reported (`change_and_check`): an RDV booked
knowingly outside the plages is not repeated at every later change, but an absence put over it
is reported, since that is a new reason.
"""

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.utils import timezone

from motifs.models import Motif
from organisations.models import Organisation
from planning.holidays import closed_days
from planning.intervals import Window, covers, merge
from planning.models import Absence, PlageOuverture, RecurringEvent
from rendezvous.models import Rdv

if TYPE_CHECKING:
    from agents.models import Agent

# How far ahead a change is checked: a series without end is checked over the coming year.
HORIZON = dt.timedelta(days=366)
# No RDV lasts more than a day (a constraint of Rdv).
LONGEST_RDV = dt.timedelta(hours=24)

T = TypeVar("T")
Days = tuple[dt.date, dt.date | None]


@dataclass(frozen=True)
class OutsideRdv:
    """An RDV outside availability and why: not covered by a plage offering it, and/or
    overlapped by these absences."""

    rdv: Rdv
    uncovered: bool
    absence_ids: frozenset[int]


def rdvs_outside_availability(
    *, agent: "Agent", organisation: Organisation, window: Window, now: dt.datetime | None = None
) -> list[OutsideRdv]:
    """The agent's RDVs of the organisation that hold its time, start from now on and overlap
    the window, and are outside its availability; sorted by start. At most six queries whatever
    the number of RDVs, plages and absences: the RDVs (with their motif), the plages and their
    exceptions, the plages' motifs, the absences and their exceptions."""
    now = now or timezone.now()
    rdvs = list(
        Rdv.objects.for_organisation(organisation)
        .for_agents([agent])
        .holding_time()
        .upcoming(now)
        .overlapping(window.start, window.end)
        .select_related("motif")
        .order_by("starts_at", "pk")
    )
    if not rdvs:
        return []
    # Only the RDVs' own span needs reading, often much shorter than the window.
    span = Window(rdvs[0].starts_at, max(rdv.ends_at for rdv in rdvs))
    uncovered = _uncovered(rdvs, agent=agent, organisation=organisation, span=span)
    absences = _absences_over(rdvs, agent=agent, span=span)
    return [
        OutsideRdv(rdv, rdv.pk in uncovered, frozenset(absences.get(rdv.pk, ())))
        for rdv in rdvs
        if rdv.pk in uncovered or rdv.pk in absences
    ]


def _uncovered(rdvs: Sequence[Rdv], *, agent: "Agent", organisation: Organisation, span: Window) -> set[int]:
    """Ids of the RDVs no plage occurrence offering their motif (at their lieu) covers."""
    occurrences = PlageOuverture.objects.for_organisation(organisation).for_agent(agent).occurrences(span)
    plage_ids = {occurrence.event.pk for occurrence in occurrences}
    motifs_of: dict[int, set[int]] = defaultdict(set)
    if plage_ids:
        through = PlageOuverture.motifs.through.objects.filter(plageouverture_id__in=plage_ids)
        for plage_id, motif_id in through.values_list("plageouverture_id", "motif_id"):
            motifs_of[plage_id].add(motif_id)
    tz = organisation.tzinfo
    closed = closed_days(organisation, span.start.astimezone(tz).date(), span.end.astimezone(tz).date())
    # What an RDV needs: its motif, and its lieu for a motif « sur place ».
    merged: dict[tuple[int, int | None], tuple[list[dt.datetime], list[dt.datetime]]] = {}
    found = set()
    for rdv in rdvs:
        lieu_id = rdv.lieu_id if rdv.motif.location_type == Motif.LocationType.PUBLIC_OFFICE else None
        key = (rdv.motif_id, lieu_id)
        if key not in merged:
            merged[key] = merge(
                (occurrence.start, occurrence.end)
                for occurrence in occurrences
                if rdv.motif_id in motifs_of[occurrence.event.pk]
                and (lieu_id is None or occurrence.event.lieu_id == lieu_id)
                and occurrence.start.astimezone(tz).date() not in closed
            )
        if not covers(*merged[key], rdv.starts_at, rdv.ends_at):
            found.add(rdv.pk)
    return found


def _absences_over(rdvs: Sequence[Rdv], *, agent: "Agent", span: Window) -> dict[int, set[int]]:
    """The absences (ids) overlapping each RDV, by RDV id."""
    found: dict[int, set[int]] = defaultdict(set)
    starts = [rdv.starts_at for rdv in rdvs]
    for occurrence in Absence.objects.for_agent(agent).occurrences(span):
        # RDVs are sorted by start and last at most a day: only those starting in
        # (occurrence start - a day, occurrence end) can overlap it.
        low = bisect_right(starts, occurrence.start - LONGEST_RDV)
        high = bisect_left(starts, occurrence.end)
        for rdv in rdvs[low:high]:
            if rdv.ends_at > occurrence.start:
                found[rdv.pk].add(occurrence.event.pk)
    return found


def newly_outside(before: Iterable[OutsideRdv], after: Iterable[OutsideRdv]) -> list[Rdv]:
    """The RDVs outside availability after a change that were not before, or that the change
    gave a new reason to be (no longer covered by a plage, or a new absence over them)."""
    previous = {item.rdv.pk: item for item in before}
    found = []
    for item in after:
        old = previous.get(item.rdv.pk)
        if old is None or (item.uncovered and not old.uncovered) or not item.absence_ids <= old.absence_ids:
            found.append(item.rdv)
    return found


def series_days(event: RecurringEvent) -> Days:
    """The local days a plage or absence's series spans: from its first day to the end of its
    last occurrence (None: no end). No query: it reads the event as it is in memory."""
    last = event.derive_ends_on()
    return event.first_day, last + dt.timedelta(days=event.span_days) if last else None


def event_days(event: RecurringEvent) -> list[Days]:
    """`series_days`, and the days its moved occurrences went to (one query for a saved event)."""
    days = [series_days(event)]
    if event.pk:
        tz = event.organisation.tzinfo
        moved = event.exceptions.filter(starts_at__isnull=False).values_list("starts_at", "ends_at")
        days.extend(
            (start.astimezone(tz).date(), end.astimezone(tz).date())
            for start, end in moved
            if start is not None and end is not None  # a moved occurrence has both (a database constraint)
        )
    return days


def horizon(organisation: Organisation, days: Iterable[Days], now: dt.datetime) -> Window | None:
    """The window to check for a change touching these local days: from now (or the first day)
    to the end of the last one, at most `HORIZON` ahead. None when it is all in the past."""
    days = list(days)
    if not days:
        return None
    tz = organisation.tzinfo
    first = min(day for day, _ in days)
    lasts = [last for _, last in days]
    start = max(now, dt.datetime.combine(first, dt.time(), tzinfo=tz))
    end = now + HORIZON
    if None not in lasts:
        last = max(day for day in lasts if day is not None)
        end = min(end, dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz))
    return Window(start, end) if start < end else None


def change_and_check(
    change: Callable[[], T],
    *,
    agent: "Agent",
    organisation: Organisation,
    days: Iterable[Days],
    now: dt.datetime | None = None,
) -> tuple[T, list[Rdv]]:
    """Run `change` (a save or a delete touching the agent's planning on those local days) and
    return its result with the future RDVs it newly left outside availability. Call it inside
    the change's transaction: the state before and after are read in it."""
    now = now or timezone.now()
    window = horizon(organisation, days, now)
    if window is None:
        return change(), []
    before = rdvs_outside_availability(agent=agent, organisation=organisation, window=window, now=now)
    result = change()
    after = rdvs_outside_availability(agent=agent, organisation=organisation, window=window, now=now)
    return result, newly_outside(before, after)
