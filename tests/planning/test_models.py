import datetime as dt
import zoneinfo

import pytest
import recurrence
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from planning.intervals import Window
from planning.models import Absence, AbsenceException, PlageOuverture, PlageOuvertureException
from planning.recurrence import Frequency, Rule
from planning.rules import recurrence_from_rule, rule_from_recurrence
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.planning.factories import (
    AbsenceExceptionFactory,
    AbsenceFactory,
    PlageOuvertureExceptionFactory,
    PlageOuvertureFactory,
)

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def window(first: dt.date, last: dt.date, tz=PARIS) -> Window:
    return Window(
        dt.datetime.combine(first, dt.time(), tzinfo=tz),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


@pytest.mark.parametrize(
    "rule",
    [
        Rule(Frequency.WEEKLY, weekdays=(MON, THU)),
        Rule(Frequency.WEEKLY, interval=3, weekdays=(SUN,), until=dt.date(2026, 12, 31)),
        Rule(Frequency.MONTHLY, weekdays=(TUE,), nth=2),
        Rule(Frequency.MONTHLY, interval=5, weekdays=(FRI,), nth=-1, until=dt.date(2027, 1, 1)),
    ],
)
@pytest.mark.parametrize("current_tz", ["Europe/Paris", "Indian/Reunion", "Pacific/Noumea", "America/Cayenne"])
def test_rule_survives_the_rfc_5545_text_whatever_the_current_time_zone(rule, current_tz):
    with timezone.override(zoneinfo.ZoneInfo(current_tz)):
        text = recurrence.serialize(recurrence_from_rule(rule))
        assert text.startswith("RRULE:FREQ=")
        assert rule_from_recurrence(recurrence.deserialize(text)) == rule
        assert rule_from_recurrence(text) == rule


def test_rule_from_recurrence_reads_bysetpos_and_refuses_what_the_forms_do_not_offer():
    assert rule_from_recurrence("RRULE:FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2") == Rule(
        Frequency.MONTHLY, weekdays=(TUE,), nth=2
    )
    assert rule_from_recurrence(None) is None
    assert rule_from_recurrence("") is None
    with pytest.raises(ValueError):
        rule_from_recurrence("RRULE:FREQ=DAILY")
    with pytest.raises(ValueError):
        rule_from_recurrence("RRULE:FREQ=WEEKLY;BYDAY=MO\nRRULE:FREQ=WEEKLY;BYDAY=TU")


def test_the_end_of_the_rule_is_kept_in_its_indexed_column(db):
    forever = PlageOuvertureFactory(weekly=True)
    until = PlageOuvertureFactory(weekly=True, until=dt.date(2026, 6, 30), first_day=dt.date(2026, 1, 5))
    once = PlageOuvertureFactory(first_day=dt.date(2026, 2, 3))
    assert forever.recurrence_ends_on is None
    assert until.recurrence_ends_on == dt.date(2026, 6, 30)
    assert once.recurrence_ends_on == dt.date(2026, 2, 3)
    field = PlageOuverture._meta.get_field("recurrence_ends_on")
    assert field.db_index


def test_active_on_lets_the_database_exclude_finished_and_future_series(db):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    make = lambda **kwargs: PlageOuvertureFactory(organisation=organisation, agent=agent, **kwargs)  # noqa: E731
    finished = make(weekly=True, first_day=dt.date(2025, 1, 6), until=dt.date(2025, 12, 31))
    forever = make(weekly=True, first_day=dt.date(2025, 1, 6), weekdays=(TUE,))
    ends_inside = make(weekly=True, first_day=dt.date(2025, 1, 6), until=dt.date(2026, 3, 3), weekdays=(WED,))
    not_started = make(weekly=True, first_day=dt.date(2026, 6, 1), weekdays=(THU,))
    once_inside = make(first_day=dt.date(2026, 3, 4), start_time=dt.time(14), end_time=dt.time(15))
    once_before = make(first_day=dt.date(2026, 2, 27))
    with CaptureQueriesContext(connection) as queries:
        found = set(PlageOuverture.objects.active_on(dt.date(2026, 3, 1), dt.date(2026, 3, 31)))
    assert found == {forever, ends_inside, once_inside}
    assert "recurrence_ends_on" in queries[0]["sql"]
    assert finished not in found and not_started not in found and once_before not in found


def test_active_on_widens_absences_by_their_own_span(db):
    over_the_weekend = AbsenceFactory(first_day=dt.date(2026, 2, 27), days=4)  # Friday to Monday
    long_ago = AbsenceFactory(first_day=dt.date(2026, 2, 20), days=2)
    found = set(Absence.objects.active_on(dt.date(2026, 3, 2), dt.date(2026, 3, 8)))
    assert found == {over_the_weekend}
    assert long_ago not in found


def test_occurrences_expand_every_plage_in_its_organisations_time_zone_with_exceptions(
    db, django_assert_max_num_queries
):
    paris = OrganisationFactory()
    reunion = OrganisationFactory(territory=TerritoryFactory(reunion=True))
    plage_paris = PlageOuvertureFactory(organisation=paris, weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2))
    plage_reunion = PlageOuvertureFactory(
        organisation=reunion, weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2)
    )
    cancelled = PlageOuvertureExceptionFactory(plage=plage_paris, original_date=dt.date(2026, 3, 9))
    moved = PlageOuvertureExceptionFactory(
        plage=plage_paris,
        original_date=dt.date(2026, 3, 16),
        starts_at=dt.datetime(2026, 3, 17, 14, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 3, 17, 17, tzinfo=PARIS),
    )
    PlageOuvertureExceptionFactory(plage=plage_reunion, original_date=dt.date(2026, 6, 1))  # far from the window
    with django_assert_max_num_queries(3):
        found = PlageOuverture.objects.occurrences(window(dt.date(2026, 3, 1), dt.date(2026, 3, 22)))
    paris_starts = [item.start for item in found if item.event == plage_paris]
    assert paris_starts == [
        dt.datetime(2026, 3, 2, 9, tzinfo=PARIS),
        dt.datetime(2026, 3, 17, 14, tzinfo=PARIS),  # the 16th, moved
    ]
    assert cancelled.original_date not in [item.occurrence.original_date for item in found if item.event == plage_paris]
    assert [item.occurrence.moved for item in found if item.event == plage_paris] == [False, True]
    assert moved.is_cancelled is False
    reunion_starts = [item.start for item in found if item.event == plage_reunion]
    # 9:00 in La Réunion is 5:00 UTC, all year round.
    assert [start.astimezone(dt.UTC).time() for start in reunion_starts] == [dt.time(5)] * 3


@pytest.mark.parametrize("model", ["plage", "absence"])
def test_two_occurrences_moved_to_the_same_time_come_in_the_order_of_their_original_dates(db, model):
    """The exceptions are read by original date (the models' ordering), whatever the order they
    were written in: the later one written first still comes second."""
    if model == "plage":
        event = PlageOuvertureFactory(weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2))
        factory, key, queryset = PlageOuvertureExceptionFactory, "plage", PlageOuverture.objects
    else:
        event = AbsenceFactory(weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2))
        factory, key, queryset = AbsenceExceptionFactory, "absence", Absence.objects
    for original_date, end_hour in ((dt.date(2026, 3, 9), 12), (dt.date(2026, 3, 2), 11)):
        factory(
            **{key: event},
            original_date=original_date,
            starts_at=dt.datetime(2026, 3, 4, 10, tzinfo=PARIS),
            ends_at=dt.datetime(2026, 3, 4, end_hour, tzinfo=PARIS),
        )
    found = queryset.occurrences(window(dt.date(2026, 3, 2), dt.date(2026, 3, 9)))
    assert [item.occurrence.original_date for item in found] == [dt.date(2026, 3, 2), dt.date(2026, 3, 9)]


def test_occurrences_given_their_organisation_do_not_read_it_again(db, django_assert_num_queries):
    organisation = OrganisationFactory()
    plage = PlageOuvertureFactory(
        organisation=organisation, weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2)
    )
    PlageOuvertureFactory(weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2))  # another organisation's
    week = window(dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    mine = PlageOuverture.objects.filter(organisation=organisation)
    with django_assert_num_queries(2):  # the plages, their exceptions: no organisation joined
        found = mine.occurrences(week, organisation)
    assert [(item.event, item.event.organisation) for item in found] == [(plage, organisation)]
    assert found[0].event.organisation is organisation
    assert [item.start for item in found] == [item.start for item in mine.occurrences(week)]
    with pytest.raises(ValueError):
        PlageOuverture.objects.occurrences(week, organisation)  # rows of another organisation


def test_the_exceptions_read_in_sql_are_those_the_querysets_select(db):
    """near_rows (SQL, read by every agenda) against near() (the ORM's statement of the rule):
    cancelled and moved occurrences, multi-day absences, windows around each of them."""
    plage = PlageOuvertureFactory(weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2))
    absence = AbsenceFactory(weekly=True, weekdays=(MON,), first_day=dt.date(2026, 3, 2), days=3)
    for weeks, moved_days in ((0, None), (1, 2), (2, -5), (4, None), (6, 9)):
        original = dt.date(2026, 3, 2) + dt.timedelta(weeks=weeks)
        times = {}
        if moved_days is not None:
            start = dt.datetime.combine(original + dt.timedelta(days=moved_days), dt.time(10), tzinfo=PARIS)
            times = {"starts_at": start, "ends_at": start + dt.timedelta(hours=2)}
        PlageOuvertureExceptionFactory(plage=plage, original_date=original, **times)
        AbsenceExceptionFactory(absence=absence, original_date=original, **times)
    for model, parent in ((PlageOuvertureException, plage), (AbsenceException, absence)):
        key = model._meta.get_field("plage" if model is PlageOuvertureException else "absence").attname
        for first in (dt.date(2026, 2, 23) + dt.timedelta(days=n) for n in range(0, 70, 3)):
            for days in (0, 2, 6):
                span = window(first, first + dt.timedelta(days=days))
                expected = list(
                    model.objects.filter(**{key: parent.pk})
                    .near(span)
                    .order_by("original_date")
                    .values_list(key, "original_date", "starts_at", "ends_at")
                )
                assert model.objects.near_rows(span, key, [parent.pk]) == expected, (model.__name__, span)


def test_occurrence_queries_do_not_grow_with_the_number_of_plages(db, django_assert_max_num_queries):
    organisation = OrganisationFactory()
    for index in range(20):
        plage = PlageOuvertureFactory(
            organisation=organisation, weekly=True, weekdays=(index % 7,), first_day=dt.date(2026, 1, 5)
        )
        PlageOuvertureExceptionFactory(plage=plage, original_date=dt.date(2026, 1, 5) + dt.timedelta(days=index % 7))
    with django_assert_max_num_queries(3):
        found = PlageOuverture.objects.for_organisation(organisation).occurrences(
            window(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
        )
    assert len(found) > 20


@pytest.mark.parametrize(
    "sunday, utc_before, utc_after",
    [
        (dt.date(2026, 3, 29), dt.time(8), dt.time(7)),  # last Sunday of March: UTC+1 → UTC+2
        (dt.date(2026, 10, 25), dt.time(7), dt.time(8)),  # last Sunday of October: UTC+2 → UTC+1
    ],
)
def test_nine_oclock_stays_nine_oclock_across_the_dst_change(db, sunday, utc_before, utc_after):
    plage = PlageOuvertureFactory(weekly=True, weekdays=(SAT, SUN, MON), first_day=sunday - dt.timedelta(days=7))
    found = PlageOuverture.objects.occurrences(window(sunday - dt.timedelta(days=1), sunday + dt.timedelta(days=1)))
    assert [item.event for item in found] == [plage] * 3
    assert [item.start.astimezone(PARIS).time() for item in found] == [dt.time(9)] * 3
    assert [item.end.astimezone(PARIS).time() for item in found] == [dt.time(12)] * 3
    saturday, dst_sunday, monday = (item.start.astimezone(dt.UTC).time() for item in found)
    assert saturday == utc_before
    assert dst_sunday == utc_after
    assert monday == utc_after


def test_an_absence_over_the_dst_night_keeps_its_wall_clock_ends(db):
    absence = AbsenceFactory(
        first_day=dt.date(2026, 3, 28), days=2, start_time=dt.time(20), end_time=dt.time(10)
    )  # Saturday 20:00 to Sunday 10:00, the night clocks go forward
    [item] = Absence.objects.occurrences(window(dt.date(2026, 3, 28), dt.date(2026, 3, 29)))
    assert item.event == absence
    assert item.start == dt.datetime(2026, 3, 28, 20, tzinfo=PARIS)
    assert item.end == dt.datetime(2026, 3, 29, 10, tzinfo=PARIS)
    assert item.end.astimezone(dt.UTC) - item.start.astimezone(dt.UTC) == dt.timedelta(hours=13)  # 1 hour less


def test_recurring_absence_with_a_cancelled_and_a_moved_occurrence(db, django_assert_max_num_queries):
    absence = AbsenceFactory(weekly=True, weekdays=(FRI,), first_day=dt.date(2026, 1, 2))
    AbsenceExceptionFactory(absence=absence, original_date=dt.date(2026, 1, 9))
    AbsenceExceptionFactory(
        absence=absence,
        original_date=dt.date(2026, 1, 16),
        starts_at=dt.datetime(2026, 1, 15, 8, tzinfo=PARIS),
        ends_at=dt.datetime(2026, 1, 15, 10, tzinfo=PARIS),
    )
    with django_assert_max_num_queries(3):
        found = Absence.objects.for_agent(absence.agent).occurrences(window(dt.date(2026, 1, 1), dt.date(2026, 1, 24)))
    assert [item.start for item in found] == [
        dt.datetime(2026, 1, 2, 14, tzinfo=PARIS),
        dt.datetime(2026, 1, 15, 8, tzinfo=PARIS),
        dt.datetime(2026, 1, 23, 14, tzinfo=PARIS),
    ]


def test_overlap_is_found_on_the_first_common_occurrence(db):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    every_other_monday = PlageOuvertureFactory(
        organisation=organisation, agent=agent, weekly=True, interval=2, weekdays=(MON,), first_day=dt.date(2026, 1, 5)
    )
    # Every third Monday from the 12th: never the same Monday until 2 February... then every 6 weeks.
    candidate = PlageOuvertureFactory.build(
        organisation=organisation,
        agent=agent,
        weekly=True,
        interval=3,
        weekdays=(MON,),
        first_day=dt.date(2026, 1, 12),
        start_time=dt.time(11),
        end_time=dt.time(13),
    )
    candidate.recurrence_ends_on = candidate.derive_ends_on()
    assert candidate.find_overlap() == (every_other_monday, dt.date(2026, 2, 2))
    # Back to back is no overlap.
    candidate.start_time, candidate.end_time = dt.time(12), dt.time(13)
    assert candidate.find_overlap() is None


def test_overlap_stops_at_the_end_of_either_series(db):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    PlageOuvertureFactory(
        organisation=organisation,
        agent=agent,
        weekly=True,
        weekdays=(TUE,),
        until=dt.date(2026, 1, 31),
        first_day=dt.date(2026, 1, 1),
    )
    later = PlageOuvertureFactory.build(
        organisation=organisation, agent=agent, weekly=True, weekdays=(TUE,), first_day=dt.date(2026, 2, 1)
    )
    later.recurrence_ends_on = later.derive_ends_on()
    assert later.find_overlap() is None


def test_a_plage_of_another_agent_never_conflicts(db):
    organisation = OrganisationFactory()
    PlageOuvertureFactory(organisation=organisation, weekly=True, weekdays=(MON,), first_day=dt.date(2026, 1, 5))
    mine = PlageOuvertureFactory.build(
        organisation=organisation,
        agent=AgentFactory(organisation=organisation),
        weekly=True,
        weekdays=(MON,),
        first_day=dt.date(2026, 1, 5),
    )
    assert mine.find_overlap() is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_time": dt.time(12), "end_time": dt.time(9)},
        {"start_time": dt.time(9), "end_time": dt.time(9)},
    ],
)
def test_the_database_refuses_a_plage_ending_before_it_starts(db, kwargs):
    with pytest.raises(IntegrityError, match="plage_ends_after_start"):
        PlageOuvertureFactory(**kwargs)


def test_the_database_refuses_a_recurrence_ending_before_the_first_day(db):
    with pytest.raises(IntegrityError, match="plage_recurrence_ends_after_first_day"):
        PlageOuvertureFactory(weekly=True, first_day=dt.date(2026, 3, 2), until=dt.date(2026, 3, 1))


def test_the_database_refuses_an_absence_ending_before_it_starts(db):
    with pytest.raises(IntegrityError, match="absence_ends_after_start"):
        AbsenceFactory(start_time=dt.time(14), end_time=dt.time(10))


def test_only_one_exception_per_occurrence(db):
    exception = PlageOuvertureExceptionFactory()
    with pytest.raises(IntegrityError, match="plage_exception_one_exception_per_occurrence"):
        PlageOuvertureExceptionFactory(plage=exception.plage, original_date=exception.original_date)


def test_history_is_kept(db):
    plage = PlageOuvertureFactory()
    plage.title = "Permanence sociale"
    plage.save()
    assert plage.history.first().title == "Permanence sociale"
    assert plage.history.count() == 2
