import datetime as dt
import random
import threading
import zoneinfo
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from motifs.models import Motif
from planning.creneaux import (
    FIRST_SEARCH_WINDOW,
    available_slots,
    free_agents_at,
    is_still_free,
    load_busy,
    load_calendar,
    next_availability,
)
from planning.intervals import Window
from planning.models import Absence, AbsenceException, PlageOuverture, PlageOuvertureException
from planning.recurrence import Frequency, Moved, Rule, expand
from planning.rules import rule_from_recurrence
from planning.slots import AbsenceRow, PlageRow, Slot, compute_slots
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.helpers import at, wait_for_a_blocked_transaction
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import (
    AbsenceExceptionFactory,
    AbsenceFactory,
    PlageOuvertureExceptionFactory,
    PlageOuvertureFactory,
)
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
MONDAY = dt.date(2030, 6, 3)
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


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


def test_an_archived_lieu_offers_no_slot(motif, plage):
    assert available_slots(motif=motif, now=NOW, **day_window(MONDAY))
    plage.lieu.is_active = False
    plage.lieu.save()
    assert available_slots(motif=motif, now=NOW, **day_window(MONDAY)) == []
    assert next_availability(motif=motif, after=at(MONDAY, 0), now=NOW) is None


def test_is_still_free(motif, plage):
    slot = available_slots(motif=motif, now=NOW, **day_window(MONDAY))[0]
    with transaction.atomic():
        assert is_still_free(slot)
    RdvFactory(organisation=motif.organisation, agents=[plage.agent], starts_at=at(MONDAY, 9, 15))
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        assert not is_still_free(slot)
    assert len(queries) == 2 + 2  # the lock and the check, plus the savepoint and its release


@pytest.mark.django_db(transaction=True)
def test_is_still_free_waits_for_a_concurrent_booking_and_then_sees_it(motif, plage):
    """Two bookings of the same agent at once: the second waits for the first's lock and, once
    the first has committed its RDV, answers that the slot is taken."""
    slot = available_slots(motif=motif, now=NOW, **day_window(MONDAY))[0]
    first_holds_lock = threading.Event()
    answers = []

    def first_booking():
        try:
            with transaction.atomic():
                assert is_still_free(slot)
                first_holds_lock.set()
                assert wait_for_a_blocked_transaction()  # the second booking waits on the agent's row
                RdvFactory(organisation=motif.organisation, agents=[plage.agent], starts_at=slot.start)
        finally:
            connection.close()

    thread = threading.Thread(target=first_booking)
    thread.start()
    assert first_holds_lock.wait(timeout=10)
    with transaction.atomic():
        answers.append(is_still_free(slot))
    thread.join()
    assert answers == [False]


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
    assert len(one) == len(twenty) == 4  # plages, their exceptions, absences with theirs, RDVs


def _calendar_rows(plages, absences) -> tuple[list, list]:
    return (
        sorted(
            (
                plage.agent_id,
                plage.lieu_id,
                plage.first_day,
                plage.start_time,
                plage.end_time,
                plage.rule,
                sorted(plage.exceptions.items()),
            )
            for plage in plages
        ),
        sorted(
            (
                absence.agent_id,
                absence.first_day,
                absence.start_time,
                absence.end_time,
                absence.span_days,
                absence.rule,
                sorted(absence.exceptions.items()),
            )
            for absence in absences
        ),
    )


def _calendar_from_querysets(motif, window: Window) -> tuple[list, list]:
    """What `load_calendar` must read, as the querysets of planning.models select it."""
    first = window.start.astimezone(PARIS).date()
    last = (window.end - dt.timedelta(microseconds=1)).astimezone(PARIS).date()
    whole_days = Window(at(first, 0), at(last + dt.timedelta(days=1), 0))
    plages = list(PlageOuverture.objects.filter(organisation=motif.organisation, motifs=motif).active_on(first, last))
    moved = {}
    for exception in PlageOuvertureException.objects.filter(plage__in=plages).near(whole_days):
        moved.setdefault(exception.plage_id, {})[exception.original_date] = (
            Moved(exception.starts_at, exception.ends_at) if exception.starts_at else None
        )
    absences = list(Absence.objects.filter(agent__in={plage.agent_id for plage in plages}).active_on(first, last))
    absent = {}
    for exception in AbsenceException.objects.filter(absence__in=absences).near(whole_days):
        absent.setdefault(exception.absence_id, {})[exception.original_date] = (
            Moved(exception.starts_at, exception.ends_at) if exception.starts_at else None
        )
    return _calendar_rows(
        [
            PlageRow(
                plage.agent_id,
                plage.lieu_id,
                plage.first_day,
                plage.start_time,
                plage.end_time,
                rule_from_recurrence(plage.recurrence),
                moved.get(plage.pk, {}),
            )
            for plage in plages
        ],
        [
            AbsenceRow(
                absence.agent_id,
                absence.first_day,
                absence.start_time,
                absence.end_time,
                (absence.end_day - absence.first_day).days,
                rule_from_recurrence(absence.recurrence),
                absent.get(absence.pk, {}),
            )
            for absence in absences
        ],
    )


def test_engine_sql_reads_what_the_querysets_select(organisation, motif, plage):
    """`load_calendar` reads exceptions and absences with its own SQL: the same rows as
    `near()` and `active_on()`, around every boundary."""
    agent = plage.agent
    week = dt.timedelta(weeks=1)
    PlageOuvertureExceptionFactory(plage=plage, original_date=MONDAY)
    PlageOuvertureExceptionFactory(
        plage=plage,
        original_date=MONDAY + week,
        starts_at=at(MONDAY, 14) + week + dt.timedelta(days=1),
        ends_at=at(MONDAY, 15) + week + dt.timedelta(days=1),
    )
    # An occurrence moved from far away into the second week, and a far exception.
    PlageOuvertureExceptionFactory(
        plage=plage,
        original_date=MONDAY + 6 * week,
        starts_at=at(MONDAY, 16) + 2 * week,
        ends_at=at(MONDAY, 17) + 2 * week,
    )
    PlageOuvertureExceptionFactory(plage=plage, original_date=MONDAY + 30 * week)
    PlageOuvertureFactory(
        organisation=organisation, agent=agent, motifs=[motif], first_day=MONDAY + dt.timedelta(days=3)
    )
    PlageOuvertureFactory(
        organisation=organisation,
        motifs=[motif],
        first_day=MONDAY - 4 * week,
        weekly=True,
        weekdays=(1,),
        until=MONDAY + week,
    )
    AbsenceFactory(organisation=organisation, agent=agent, first_day=MONDAY + dt.timedelta(days=1))
    AbsenceFactory(organisation=organisation, agent=agent, first_day=MONDAY - dt.timedelta(days=2), days=3)
    # Friday to Monday, every week, the last one ending on MONDAY.
    weekend = AbsenceFactory(
        organisation=organisation,
        agent=agent,
        first_day=MONDAY - 4 * week - dt.timedelta(days=3),
        days=4,
        weekly=True,
        weekdays=(4,),
        until=MONDAY - dt.timedelta(days=3),
    )
    AbsenceExceptionFactory(absence=weekend, original_date=MONDAY - week - dt.timedelta(days=3))
    AbsenceExceptionFactory(absence=weekend, original_date=MONDAY - dt.timedelta(days=3))  # its span reaches MONDAY
    recurring = AbsenceFactory(organisation=organisation, agent=agent, first_day=MONDAY - 8 * week, weekly=True)
    AbsenceExceptionFactory(absence=recurring, original_date=MONDAY)
    AbsenceExceptionFactory(
        absence=recurring,
        original_date=MONDAY + week,
        starts_at=at(MONDAY, 8) + 2 * week,
        ends_at=at(MONDAY, 9) + 2 * week,
    )
    AbsenceExceptionFactory(absence=recurring, original_date=MONDAY + 40 * week)
    AbsenceFactory(agent=agent, first_day=MONDAY + dt.timedelta(days=2))  # in another organisation
    AbsenceFactory(organisation=organisation, first_day=MONDAY)  # an agent without plage for the motif
    motif = Motif.objects.select_related("organisation__territory").get(pk=motif.pk)
    for offset in range(-4, 18):
        for days in (1, 7):
            window = Window(at(MONDAY, 0) + dt.timedelta(days=offset), at(MONDAY, 0) + dt.timedelta(days=offset + days))
            calendar = load_calendar(motif, window)
            assert _calendar_rows(calendar.plages, calendar.absences) == _calendar_from_querysets(motif, window)
    assert calendar.queries == 3


def test_busy_time_is_merged_per_agent(organisation):
    """The RDVs holding each agent's time, in any organisation, as disjoint stretches."""
    agent, other = AgentFactory(organisation=organisation), AgentFactory(organisation=organisation)
    for agents, start, minutes, traits in [
        ([agent], at(MONDAY, 9), 30, {}),
        ([agent, other], at(MONDAY, 9, 30), 30, {}),  # touches the first
        ([agent], at(MONDAY, 9, 45), 60, {}),  # overlaps the second
        ([agent], at(MONDAY, 11), 30, {"excused": True}),
        ([agent], at(MONDAY, 12), 30, {"revoked": True}),
        ([agent], at(MONDAY, 13), 30, {"noshow": True}),
        ([other], at(MONDAY, 20) - dt.timedelta(days=1), 24 * 60, {}),  # from the day before
        ([other], at(MONDAY, 9) + dt.timedelta(days=1), 30, {}),  # the day after
        ([agent], at(MONDAY, 9) - dt.timedelta(days=1), 30, {}),  # the day before
    ]:
        RdvFactory(organisation=organisation, agents=agents, starts_at=start, duration_in_min=minutes, **traits)
    RdvFactory(agents=[other], starts_at=at(MONDAY, 21), duration_in_min=30)  # another organisation
    busy = load_busy([agent.pk, other.pk], Window(at(MONDAY, 0), at(MONDAY + dt.timedelta(days=1), 0)))
    assert sorted(busy) == [
        (agent.pk, at(MONDAY, 9).timestamp(), at(MONDAY, 10, 45).timestamp()),
        (agent.pk, at(MONDAY, 13).timestamp(), at(MONDAY, 13, 30).timestamp()),
        (other.pk, (at(MONDAY, 20) - dt.timedelta(days=1)).timestamp(), at(MONDAY, 20).timestamp()),
        (other.pk, at(MONDAY, 21).timestamp(), at(MONDAY, 21, 30).timestamp()),
    ]
    assert load_busy([], Window(at(MONDAY, 0), at(MONDAY, 23))) == []


@pytest.mark.parametrize("seed", range(4))
def test_next_availability_is_the_first_slot_up_to_the_horizon(organisation, seed):
    """Windows read one after the other find the slot that one reading of the whole horizon
    finds, wherever it lies: in the first week, in a later window, on a window's edge, nowhere."""
    rng = random.Random(seed)
    motif = MotifFactory(organisation=organisation, default_duration_in_min=rng.choice([20, 30, 45]), online=True)
    motif = Motif.objects.select_related("organisation__territory").get(pk=motif.pk)
    lieu = LieuFactory(organisation=organisation)
    weeks = 14
    horizon = at(MONDAY, 0) + dt.timedelta(weeks=weeks)
    rdvs, holders = [], []
    free_weeks = {agent_index: rng.randrange(weeks + 3) for agent_index in range(2)}
    for agent_index in range(2):
        weekday, hour = rng.randrange(5), rng.choice([8, 9, 14])
        plage = PlageOuvertureFactory(
            organisation=organisation,
            motifs=[motif],
            lieu=lieu,
            first_day=MONDAY - dt.timedelta(weeks=2),
            weekly=True,
            weekdays=(weekday,),
            start_time=dt.time(hour),
            end_time=dt.time(hour + 3),
        )
        for week in range(weeks + 1):
            start = at(MONDAY + dt.timedelta(weeks=week, days=weekday), hour)
            # Full but for a gap in the agent's free week; touching and cancelled RDVs besides.
            gap = (
                (rng.randrange(0, 180, 5), rng.choice([15, 30, 45, 60])) if week == free_weeks[agent_index] else (0, 0)
            )
            cut = rng.randrange(5, 175, 5)
            pieces = [(0, cut), (cut, 180)]
            if gap[1]:
                pieces = [(0, gap[0]), (gap[0] + gap[1], 180)]
            for begin, end in pieces:
                if end > begin:
                    rdvs.append(
                        Rdv(
                            organisation=organisation,
                            motif=motif,
                            lieu=lieu,
                            starts_at=start + dt.timedelta(minutes=begin),
                            duration_in_min=end - begin,
                        )
                    )
                    holders.append(plage.agent_id)
            rdvs.append(
                Rdv(
                    organisation=organisation,
                    motif=motif,
                    lieu=lieu,
                    starts_at=start,
                    duration_in_min=180,
                    status=Rdv.Status.EXCUSED,
                )
            )
            holders.append(plage.agent_id)
    for rdv in rdvs:
        rdv.ends_at = rdv.starts_at + dt.timedelta(minutes=rdv.duration_in_min)
    Rdv.objects.bulk_create(rdvs)
    Rdv.agents.through.objects.bulk_create(
        [Rdv.agents.through(rdv_id=rdv.pk, agent_id=agent_id) for rdv, agent_id in zip(rdvs, holders, strict=True)]
    )
    first = available_slots(motif=motif, start=at(MONDAY, 0), end=horizon, now=NOW)
    afters = [at(MONDAY, 0), at(MONDAY, 0) + dt.timedelta(days=rng.randrange(40), hours=rng.randrange(24))]
    if first:  # the first slot on the edge of the second window, then of the third
        afters += [first[0].start - FIRST_SEARCH_WINDOW, first[0].start - 3 * FIRST_SEARCH_WINDOW]
    for after in afters:
        whole = available_slots(motif=motif, start=after, end=horizon, now=NOW)
        assert next_availability(motif=motif, after=after, now=NOW, horizon=horizon) == (whole[0] if whole else None)
        now = after - dt.timedelta(days=1)
        online = available_slots(motif=motif, start=after, end=horizon + dt.timedelta(weeks=20), now=now, online=True)
        assert next_availability(motif=motif, after=after, now=now, online=True) == (online[0] if online else None)


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
        start, end = slot.start.timestamp(), slot.end.timestamp()
        # As instants: two datetimes of one zone compare by wall time, and when the clocks go back
        # 02:00 (the second time) comes after 02:05 (the first).
        assert start >= not_before.timestamp()
        assert not any(agent == slot.agent_id and s < end and start < e for agent, s, e in busy)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.lists(st.integers(0, 10), min_size=1, max_size=3))
def test_plages_sharing_a_series_give_what_each_gives_alone(scenario, shifts):
    """`compute_slots` expands a series once for all the agents who have it: the slots are those
    of each plage computed alone, whatever the first days, intervals and exceptions."""
    tz, plages, absences, busy, closed, duration, window, not_before, not_after = scenario
    everything = list(plages)
    for index, shift in enumerate(shifts):
        for plage in plages:
            earlier = plage.first_day - dt.timedelta(weeks=shift)
            everything.append(
                PlageRow(10 + index, plage.lieu_id, earlier, plage.start_time, plage.end_time, plage.rule)
            )
            if plage.rule is not None:
                fortnightly = Rule(Frequency.WEEKLY, interval=2, weekdays=plage.rule.weekdays)
                everything.append(
                    PlageRow(20 + index, plage.lieu_id, earlier, plage.start_time, plage.end_time, fortnightly)
                )
                monthly = Rule(Frequency.MONTHLY, weekdays=plage.rule.weekdays[:1], nth=-1)
                everything.append(
                    PlageRow(30 + index, plage.lieu_id, earlier, plage.start_time, plage.end_time, monthly)
                )
            cancelled = {window.start.astimezone(tz).date() + dt.timedelta(days=day): None for day in range(shift % 2)}
            everything.append(
                PlageRow(40 + index, plage.lieu_id, earlier, plage.start_time, plage.end_time, plage.rule, cancelled)
            )
    rules = {
        "absences": absences,
        "busy": busy,
        "closed_days": closed,
        "duration": duration,
        "window": window,
        "tz": tz,
        "not_before": not_before,
        "not_after": not_after,
    }
    together = compute_slots(plages=everything, **rules)
    alone = Counter(slot for plage in everything for slot in compute_slots(plages=[plage], **rules))
    assert Counter(together) == alone
