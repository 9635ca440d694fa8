import datetime as dt
import zoneinfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from motifs.models import Motif
from planning.creneaux import (
    AbsenceRow,
    PlageRow,
    Slot,
    available_slots,
    compute_slots,
    free_agents_at,
    is_still_free,
    next_availability,
)
from planning.models import PlageOuverture, PlageOuvertureException, Window
from planning.recurrence import Frequency, Rule, expand
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
MONDAY = dt.date(2030, 6, 3)
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def at(day: dt.date, hour: int, minute: int = 0, tz: zoneinfo.ZoneInfo = PARIS) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def day_window(day: dt.date, tz: zoneinfo.ZoneInfo = PARIS, days: int = 1) -> dict:
    return {"start": at(day, 0, tz=tz), "end": at(day + dt.timedelta(days=days), 0, tz=tz)}


def starts(slots: list[Slot], tz: zoneinfo.ZoneInfo = PARIS) -> list[str]:
    return [f"{slot.start.astimezone(tz):%H:%M}" for slot in slots]


@pytest.fixture
def motif(organisation):
    return MotifFactory(organisation=organisation, default_duration_in_min=30)


@pytest.fixture
def plage(organisation, motif):
    return PlageOuvertureFactory(
        organisation=organisation, motifs=[motif], first_day=MONDAY, weekly=True, weekdays=(0,), start_time=dt.time(9)
    )


# Plain examples, one per rule.


def test_plage_cut_into_slots_with_agent_and_lieu(motif, plage):
    slots = available_slots(motif=motif, now=NOW, **day_window(MONDAY))
    assert starts(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert {(slot.agent_id, slot.lieu_id) for slot in slots} == {(plage.agent_id, plage.lieu_id)}
    assert slots[0].end - slots[0].start == dt.timedelta(minutes=30)
    # Another motif, not offered by the plage: nothing.
    assert available_slots(motif=MotifFactory(organisation=motif.organisation), now=NOW, **day_window(MONDAY)) == []


def test_free_time_after_an_rdv_starts_at_its_end(motif, plage):
    RdvFactory(organisation=motif.organisation, agents=[plage.agent], starts_at=at(MONDAY, 9), duration_in_min=80)
    slots = available_slots(motif=motif, now=NOW, **day_window(MONDAY))
    assert starts(slots) == ["10:20", "10:50", "11:20"]


@pytest.mark.parametrize(
    ("trait", "blocks"), [("excused", False), ("revoked", False), ("noshow", True), ("seen", True)]
)
def test_only_rdvs_holding_time_block(motif, plage, trait, blocks):
    RdvFactory(organisation=motif.organisation, agents=[plage.agent], starts_at=at(MONDAY, 9), **{trait: True})
    slots = available_slots(motif=motif, now=NOW, **day_window(MONDAY))
    assert (starts(slots)[0] == "09:30") is blocks


def test_rdv_in_another_organisation_blocks_the_agent(motif, plage):
    RdvFactory(agents=[plage.agent], starts_at=at(MONDAY, 11), duration_in_min=60)
    assert starts(available_slots(motif=motif, now=NOW, **day_window(MONDAY))) == ["09:00", "09:30", "10:00", "10:30"]


def test_absences_single_and_recurring(motif, plage):
    AbsenceFactory(
        organisation=motif.organisation,
        agent=plage.agent,
        first_day=MONDAY,
        start_time=dt.time(10),
        end_time=dt.time(11),
    )
    AbsenceFactory(
        organisation=motif.organisation,
        agent=plage.agent,
        first_day=MONDAY - dt.timedelta(weeks=4),
        weekly=True,
        weekdays=(0,),
        start_time=dt.time(11, 30),
        end_time=dt.time(13),
    )
    assert starts(available_slots(motif=motif, now=NOW, **day_window(MONDAY))) == ["09:00", "09:30", "11:00"]


def test_multi_day_absence_covers_the_plage(motif, plage):
    AbsenceFactory(
        organisation=motif.organisation,
        agent=plage.agent,
        first_day=MONDAY - dt.timedelta(days=2),
        days=3,
        start_time=dt.time(8),
        end_time=dt.time(18),
    )
    assert available_slots(motif=motif, now=NOW, **day_window(MONDAY)) == []


def test_cancelled_and_moved_occurrences(motif, plage):
    PlageOuvertureException.objects.create(plage=plage, original_date=MONDAY)
    assert available_slots(motif=motif, now=NOW, **day_window(MONDAY)) == []
    next_monday = MONDAY + dt.timedelta(weeks=2)  # the week after is Whit Monday, a public holiday
    PlageOuvertureException.objects.create(
        plage=plage, original_date=next_monday, starts_at=at(next_monday, 14), ends_at=at(next_monday, 15)
    )
    assert starts(available_slots(motif=motif, now=NOW, **day_window(next_monday))) == ["14:00", "14:30"]


def test_public_holidays_when_the_organisation_closes(motif):
    may_day = dt.date(2030, 5, 1)
    PlageOuvertureFactory(organisation=motif.organisation, motifs=[motif], first_day=may_day)
    assert available_slots(motif=motif, now=NOW, **day_window(may_day)) == []
    motif.organisation.close_on_public_holidays = False
    motif.organisation.save()
    motif = Motif.objects.get(pk=motif.pk)
    assert len(available_slots(motif=motif, now=NOW, **day_window(may_day))) == 6


def test_sur_place_needs_a_lieu_and_lieux_filter(motif, plage):
    PlageOuvertureFactory(organisation=motif.organisation, motifs=[motif], first_day=MONDAY, without_lieu=True)
    slots = available_slots(motif=motif, now=NOW, **day_window(MONDAY))
    assert {slot.agent_id for slot in slots} == {plage.agent_id}
    other_lieu = LieuFactory(organisation=motif.organisation)
    assert available_slots(motif=motif, now=NOW, lieux=[other_lieu], **day_window(MONDAY)) == []
    assert len(available_slots(motif=motif, now=NOW, lieux=[plage.lieu], **day_window(MONDAY))) == 6
    phone = MotifFactory(organisation=motif.organisation, phone=True)
    PlageOuvertureFactory(organisation=motif.organisation, motifs=[phone], first_day=MONDAY, without_lieu=True)
    assert len(available_slots(motif=phone, now=NOW, **day_window(MONDAY))) == 6


def test_agents_filter(motif, plage):
    other = PlageOuvertureFactory(organisation=motif.organisation, motifs=[motif], first_day=MONDAY)
    both = available_slots(motif=motif, now=NOW, **day_window(MONDAY))
    assert {slot.agent_id for slot in both} == {plage.agent_id, other.agent_id}
    only = available_slots(motif=motif, now=NOW, agents=[other.agent], **day_window(MONDAY))
    assert {slot.agent_id for slot in only} == {other.agent_id}


def test_past_slots_never_show(motif, plage):
    now = at(MONDAY, 10, 10)
    assert starts(available_slots(motif=motif, now=now, **day_window(MONDAY))) == ["10:30", "11:00", "11:30"]


def test_online_rules(organisation):
    motif = MotifFactory(organisation=organisation, online=True, min_booking_delay=Motif.BookingDelay.TWO_DAYS)
    plage = PlageOuvertureFactory(organisation=organisation, motifs=[motif], first_day=MONDAY, weekly=True)
    PlageOuvertureFactory(organisation=organisation, motifs=[motif], first_day=MONDAY, lieu=plage.lieu)
    now = at(MONDAY, 10) - dt.timedelta(days=2)
    slots = available_slots(motif=motif, now=now, online=True, **day_window(MONDAY))
    # One slot per start time, from now + the minimum delay.
    assert starts(slots) == ["10:00", "10:30", "11:00", "11:30"]
    # Booking takes a free agent at that time.
    second = PlageOuverture.objects.exclude(pk=plage.pk).get()
    assert free_agents_at(motif=motif, start=slots[0].start, lieu_id=plage.lieu_id, now=now) == sorted(
        [plage.agent_id, second.agent_id]
    )
    RdvFactory(organisation=organisation, agents=[plage.agent], starts_at=slots[0].start)
    assert free_agents_at(motif=motif, start=slots[0].start, lieu_id=plage.lieu_id, now=now) == [second.agent_id]
    # Beyond the maximum delay (three months): nothing.
    far = MONDAY + dt.timedelta(weeks=15)
    assert available_slots(motif=motif, now=now, online=True, **day_window(far)) == []
    assert len(available_slots(motif=motif, now=now, **day_window(far))) == 6
    # Not bookable online: nothing online, everything for agents.
    offline = MotifFactory(organisation=organisation)
    plage.motifs.add(offline)
    assert available_slots(motif=offline, now=now, online=True, **day_window(MONDAY)) == []
    assert len(available_slots(motif=offline, now=now, **day_window(MONDAY))) == 5  # 10:00 booked above


def test_follow_up_online_offers_only_referents(organisation):
    motif = MotifFactory(organisation=organisation, online=True, follow_up=True)
    referent_plage = PlageOuvertureFactory(organisation=organisation, motifs=[motif], first_day=MONDAY)
    PlageOuvertureFactory(
        organisation=organisation, motifs=[motif], first_day=MONDAY, start_time=dt.time(13), end_time=dt.time(14)
    )
    usager = UsagerFactory(organisation=organisation, referents=[referent_plage.agent])
    now = at(MONDAY, 0) - dt.timedelta(days=1)
    slots = available_slots(motif=motif, now=now, online=True, usager=usager, **day_window(MONDAY))
    assert {slot.agent_id for slot in slots} == {referent_plage.agent_id}
    stranger = UsagerFactory(organisation=organisation)
    assert available_slots(motif=motif, now=now, online=True, usager=stranger, **day_window(MONDAY)) == []
    assert available_slots(motif=motif, now=now, online=True, **day_window(MONDAY)) == []
    assert len({slot.agent_id for slot in available_slots(motif=motif, now=now, **day_window(MONDAY))}) == 2


def test_daylight_saving_day_keeps_wall_clock_and_real_durations(organisation):
    motif = MotifFactory(organisation=organisation, default_duration_in_min=60)
    spring = dt.date(2030, 3, 31)  # clocks go from 2:00 to 3:00
    PlageOuvertureFactory(
        organisation=organisation,
        motifs=[motif],
        first_day=spring - dt.timedelta(weeks=1),
        weekly=True,
        weekdays=(6,),
        start_time=dt.time(1),
        end_time=dt.time(5),
    )
    slots = available_slots(motif=motif, now=NOW, **day_window(spring))
    # 1:00 to 5:00 lasts three real hours that day.
    assert starts(slots) == ["01:00", "03:00", "04:00"]
    assert all(slot.end.timestamp() - slot.start.timestamp() == 3600 for slot in slots)
    assert starts(available_slots(motif=motif, now=NOW, **day_window(spring - dt.timedelta(weeks=1)))) == [
        "01:00",
        "02:00",
        "03:00",
        "04:00",
    ]


def test_overseas_time_zone(db):
    organisation = OrganisationFactory(territory=TerritoryFactory(reunion=True))
    motif = MotifFactory(organisation=organisation)
    PlageOuvertureFactory(organisation=organisation, motifs=[motif], first_day=MONDAY)
    slots = available_slots(motif=motif, now=NOW, **day_window(MONDAY, REUNION))
    assert starts(slots, REUNION)[0] == "09:00"
    assert slots[0].start == dt.datetime(2030, 6, 3, 5, tzinfo=dt.UTC)


def test_next_availability(motif, plage):
    for week in (0, 2, 3):  # MONDAY + 1 week is Whit Monday
        day = MONDAY + dt.timedelta(weeks=week)
        RdvFactory(organisation=motif.organisation, agents=[plage.agent], starts_at=at(day, 9), duration_in_min=180)
    found = next_availability(motif=motif, after=at(MONDAY, 0), now=NOW)
    assert found is not None
    assert found.start == at(MONDAY + dt.timedelta(weeks=4), 9)
    assert (
        next_availability(motif=motif, after=at(MONDAY, 0), now=NOW, horizon=at(MONDAY, 0) + dt.timedelta(weeks=3))
        is None
    )


def test_is_still_free(motif, plage):
    slot = available_slots(motif=motif, now=NOW, **day_window(MONDAY))[0]
    with transaction.atomic():
        assert is_still_free(slot)
    RdvFactory(organisation=motif.organisation, agents=[plage.agent], starts_at=at(MONDAY, 9, 15))
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert not is_still_free(slot)
    assert len(queries) == 1 + 2  # the check, plus the savepoint and its release


def test_query_count_does_not_grow_with_agents(organisation):
    motif = Motif.objects.select_related("organisation__territory").get(pk=MotifFactory(organisation=organisation).pk)

    def add_agent():
        agent_plage = PlageOuvertureFactory(organisation=organisation, motifs=[motif], first_day=MONDAY, weekly=True)
        AbsenceFactory(organisation=organisation, agent=agent_plage.agent, first_day=MONDAY, weekly=True)
        PlageOuvertureException.objects.create(plage=agent_plage, original_date=MONDAY + dt.timedelta(weeks=1))
        RdvFactory(organisation=organisation, agents=[agent_plage.agent], starts_at=at(MONDAY, 9))

    add_agent()
    with CaptureQueriesContext(connection) as one:
        assert available_slots(motif=motif, now=NOW, start=at(MONDAY, 0), end=at(MONDAY, 0) + dt.timedelta(weeks=2))
    for _ in range(19):
        add_agent()
    with CaptureQueriesContext(connection) as twenty:
        slots = available_slots(motif=motif, now=NOW, start=at(MONDAY, 0), end=at(MONDAY, 0) + dt.timedelta(weeks=2))
    assert len({slot.agent_id for slot in slots}) == 20
    assert len(one) == len(twenty) == 5


# Property tests: the engine against a brute-force reference that walks minute by minute.

MINUTE = 60
DAYS = [dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 6, 10), dt.date(2026, 12, 31)]


def reference(plages, absences, busy, closed, duration, window, tz, not_before, not_after, expand_days):
    first, last = expand_days
    wide_start = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    wide_end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    blocked: dict[int, list[tuple[int, int]]] = {}
    for absence in absences:
        for occurrence in expand(
            first_day=absence.first_day,
            start_time=absence.start_time,
            end_time=absence.end_time,
            rule=absence.rule,
            tz=tz,
            window_start=wide_start,
            window_end=wide_end,
            duration_days=absence.span_days,
        ):
            blocked.setdefault(absence.agent_id, []).append(
                (int(occurrence.start.timestamp()), int(occurrence.end.timestamp()))
            )
    for agent_id, start, end in busy:
        blocked.setdefault(agent_id, []).append((int(start), int(end)))
    low = max(window.start, not_before).timestamp()
    high = window.end.timestamp()
    found = set()
    step = int(duration.total_seconds())
    for plage in plages:
        for occurrence in expand(
            first_day=plage.first_day,
            start_time=plage.start_time,
            end_time=plage.end_time,
            rule=plage.rule,
            tz=tz,
            window_start=wide_start,
            window_end=wide_end,
        ):
            if occurrence.start.astimezone(tz).date() in closed:
                continue
            run_start = None
            minute = int(occurrence.start.timestamp())
            end = int(occurrence.end.timestamp())
            while minute <= end:
                free = minute < end and not any(s <= minute < e for s, e in blocked.get(plage.agent_id, []))
                if free and run_start is None:
                    run_start = minute
                if not free and run_start is not None:
                    cut = run_start
                    while cut + step <= minute:
                        if low <= cut < high and (not_after is None or cut <= not_after.timestamp()):
                            found.add((cut, plage.agent_id, plage.lieu_id))
                        cut += step
                    run_start = None
                minute += MINUTE
    return sorted(found, key=lambda item: (item[0], item[1]))


times = st.builds(lambda q: dt.time(q // 12, q % 12 * 5), st.integers(0, 24 * 12 - 1))


@st.composite
def scenarios(draw):
    tz = draw(st.sampled_from([PARIS, REUNION]))
    base = draw(st.sampled_from(DAYS))
    plages = []
    for agent_id in (1, 2)[: draw(st.integers(1, 2))]:
        for _ in range(draw(st.integers(1, 2))):
            start = draw(times)
            minutes = draw(st.integers(30, 300))
            end_minutes = min(start.hour * 60 + start.minute + minutes, 24 * 60 - 5)
            if end_minutes <= start.hour * 60 + start.minute:
                continue
            weekly = draw(st.booleans())
            first_day = base - dt.timedelta(days=draw(st.integers(0, 14)) if weekly else draw(st.integers(-1, 1)))
            rule = (
                Rule(Frequency.WEEKLY, weekdays=tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1)))))
                if weekly
                else None
            )
            plages.append(
                PlageRow(
                    agent_id,
                    draw(st.sampled_from([None, 7])),
                    first_day,
                    start,
                    dt.time(end_minutes // 60, end_minutes % 60),
                    rule,
                )
            )
    absences = []
    for _ in range(draw(st.integers(0, 2))):
        first_day = base + dt.timedelta(days=draw(st.integers(-2, 1)))
        span = draw(st.integers(0, 1))
        start, end = draw(times), draw(times)
        if span == 0 and end <= start:
            continue
        rule = Rule(Frequency.WEEKLY, weekdays=(first_day.weekday(),)) if draw(st.booleans()) else None
        absences.append(AbsenceRow(draw(st.sampled_from([1, 2])), first_day, start, end, span, rule))
    busy = []
    origin = dt.datetime.combine(base, dt.time(), tzinfo=tz)
    for _ in range(draw(st.integers(0, 6))):
        start = origin + dt.timedelta(minutes=5 * draw(st.integers(-100, 400)))
        end = start + dt.timedelta(minutes=draw(st.sampled_from([5, 20, 30, 45, 90])))
        busy.append((draw(st.sampled_from([1, 2])), start.timestamp(), end.timestamp()))
    closed = {base + dt.timedelta(days=1)} if draw(st.booleans()) else set()
    duration = dt.timedelta(minutes=draw(st.sampled_from([15, 20, 30, 45, 60])))
    window = Window(origin + dt.timedelta(minutes=15 * draw(st.integers(0, 20))), origin + dt.timedelta(days=2))
    not_before = origin + dt.timedelta(minutes=5 * draw(st.integers(0, 300)))
    not_after = origin + dt.timedelta(minutes=5 * draw(st.integers(100, 600))) if draw(st.booleans()) else None
    return tz, plages, absences, busy, closed, duration, window, not_before, not_after


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_engine_matches_minute_by_minute_reference(scenario):
    tz, plages, absences, busy, closed, duration, window, not_before, not_after = scenario
    slots = compute_slots(
        plages=plages,
        absences=absences,
        busy=busy,
        closed_days=closed,
        duration=duration,
        window=window,
        tz=tz,
        not_before=not_before,
        not_after=not_after,
    )
    first = window.start.astimezone(tz).date()
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    expected = reference(plages, absences, busy, closed, duration, window, tz, not_before, not_after, (first, last))
    got = [(int(slot.start.timestamp()), slot.agent_id, slot.lieu_id) for slot in slots]
    assert set(got) == set(expected)
    for slot in slots:
        assert slot.end.timestamp() - slot.start.timestamp() == duration.total_seconds()
        assert slot.start.tzinfo is tz
        assert slot.start >= not_before
        start, end = slot.start.timestamp(), slot.end.timestamp()
        assert not any(agent == slot.agent_id and s < end and start < e for agent, s, e in busy)
