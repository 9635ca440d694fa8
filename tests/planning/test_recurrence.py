import datetime as dt
import zoneinfo

import pytest
from dateutil import rrule as du
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.intervals import end_after
from planning.recurrence import Frequency, Moved, Rule, expand, occurrence_dates

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
GUADELOUPE = zoneinfo.ZoneInfo("America/Guadeloupe")
UTC = dt.UTC


def reference_dates(first_day, rule, start, end):
    """dateutil's rrule, iterating from the first day: an independent brute-force reference."""
    if rule is None:
        return [first_day] if start <= first_day <= end else []
    weekdays = [du.weekday(day) for day in rule.weekdays]
    if rule.frequency is Frequency.MONTHLY:
        weekdays = [du.weekday(rule.weekdays[0])(rule.nth)]
    series = du.rrule(
        du.WEEKLY if rule.frequency is Frequency.WEEKLY else du.MONTHLY,
        dtstart=dt.datetime.combine(first_day, dt.time()),
        interval=rule.interval,
        byweekday=weekdays,
        wkst=du.MO,
        until=dt.datetime.combine(rule.until, dt.time()) if rule.until else None,
    )
    days = []
    for occurrence in series:
        if occurrence.date() > end:
            break
        if occurrence.date() >= start:
            days.append(occurrence.date())
    return days


dates = st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2029, 12, 31))


@st.composite
def rules(draw):
    kind = draw(st.sampled_from(["none", "weekly", "monthly"]))
    if kind == "none":
        return None
    until = draw(st.one_of(st.none(), dates))
    interval = draw(st.integers(1, 5))
    if kind == "weekly":
        weekdays = tuple(sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))))
        return Rule(Frequency.WEEKLY, interval=interval, weekdays=weekdays, until=until)
    return Rule(
        Frequency.MONTHLY,
        interval=interval,
        weekdays=(draw(st.integers(0, 6)),),
        nth=draw(st.sampled_from([1, 2, 3, 4, -1])),
        until=until,
    )


@settings(max_examples=400, deadline=None)
@given(first_day=dates, rule=rules(), start=dates, length=st.integers(0, 120))
def test_occurrence_dates_match_the_reference(first_day, rule, start, length):
    end = start + dt.timedelta(days=length)
    assert list(occurrence_dates(first_day, rule, start, end)) == reference_dates(first_day, rule, start, end)


times = st.times(min_value=dt.time(6, 0), max_value=dt.time(20, 0)).map(lambda t: t.replace(second=0, microsecond=0))


@settings(max_examples=300, deadline=None)
@given(
    first_day=dates,
    rule=rules(),
    start_time=times,
    length_minutes=st.integers(15, 240),
    window_start=dates,
    window_days=st.integers(1, 60),
    tz=st.sampled_from([PARIS, REUNION, GUADELOUPE]),
    data=st.data(),
)
def test_expand_keeps_wall_clock_times_and_honours_exceptions(
    first_day, rule, start_time, length_minutes, window_start, window_days, tz, data
):
    end_time = (dt.datetime.combine(dt.date(2000, 1, 1), start_time) + dt.timedelta(minutes=length_minutes)).time()
    if end_time <= start_time:
        end_time = dt.time(23, 59)
    window_from = dt.datetime.combine(window_start, dt.time(), tzinfo=tz)
    window_to = window_from + dt.timedelta(days=window_days)
    expected_days = reference_dates(first_day, rule, window_start, window_start + dt.timedelta(days=window_days - 1))

    cancelled = set(data.draw(st.lists(st.sampled_from(expected_days), unique=True))) if expected_days else set()
    movable = [day for day in expected_days if day not in cancelled]
    moved_days = set(data.draw(st.lists(st.sampled_from(movable), unique=True, max_size=3))) if movable else set()
    exceptions = dict.fromkeys(cancelled)
    for day in moved_days:
        new_start = dt.datetime.combine(day, dt.time(21, 0), tzinfo=tz)
        exceptions[day] = Moved(start=new_start, end=new_start + dt.timedelta(minutes=30))

    occurrences = expand(
        first_day=first_day,
        start_time=start_time,
        end_time=end_time,
        rule=rule,
        tz=tz,
        window_start=window_from,
        window_end=window_to,
        exceptions=exceptions,
    )
    regular = [o for o in occurrences if not o.moved]
    assert [o.original_date for o in regular] == [d for d in expected_days if d not in exceptions]
    assert {o.original_date for o in occurrences if o.moved} == moved_days
    for occurrence in regular:
        local = occurrence.start.astimezone(tz)
        # Wall-clock time holds every day, DST or not (Paris' skipped hour is 2:00-3:00, outside 6:00-20:00).
        assert (local.date(), local.time()) == (occurrence.original_date, start_time)
        assert occurrence.end.astimezone(tz).time() == end_time
    starts = [o.start for o in occurrences]
    assert starts == sorted(starts)


def test_nine_oclock_stays_nine_oclock_across_both_dst_changes_in_paris():
    rule = Rule(Frequency.WEEKLY, weekdays=(5, 6, 0))  # Saturday, Sunday, Monday
    for saturday in (dt.date(2026, 3, 28), dt.date(2026, 10, 24)):  # last weekends of March and October
        occurrences = expand(
            first_day=dt.date(2026, 1, 3),
            start_time=dt.time(9, 0),
            end_time=dt.time(12, 0),
            rule=rule,
            tz=PARIS,
            window_start=dt.datetime.combine(saturday, dt.time(), tzinfo=PARIS),
            window_end=dt.datetime.combine(saturday + dt.timedelta(days=3), dt.time(), tzinfo=PARIS),
        )
        assert [o.start.astimezone(PARIS).time() for o in occurrences] == [dt.time(9, 0)] * 3
        utc_hours = [o.start.astimezone(UTC).hour for o in occurrences]
        assert utc_hours == ([8, 7, 7] if saturday.month == 3 else [7, 8, 8])
        assert all(o.end - o.start == dt.timedelta(hours=3) for o in occurrences)


def test_reunion_has_no_dst_and_is_four_hours_ahead():
    occurrences = expand(
        first_day=dt.date(2026, 3, 23),
        start_time=dt.time(8, 30),
        end_time=dt.time(12, 0),
        rule=Rule(Frequency.WEEKLY, weekdays=(0,)),
        tz=REUNION,
        window_start=dt.datetime(2026, 3, 1, tzinfo=UTC),
        window_end=dt.datetime(2026, 4, 30, tzinfo=UTC),
    )
    assert {o.start.astimezone(UTC).time() for o in occurrences} == {dt.time(4, 30)}
    assert len(occurrences) == 6


def test_a_window_far_from_the_first_day_does_not_walk_the_history():
    rule = Rule(Frequency.WEEKLY, interval=3, weekdays=(1, 3))
    days = list(occurrence_dates(dt.date(1990, 1, 2), rule, dt.date(2026, 6, 1), dt.date(2026, 6, 30)))
    assert days == reference_dates(dt.date(1990, 1, 2), rule, dt.date(2026, 6, 1), dt.date(2026, 6, 30))


def test_second_tuesday_of_every_month():
    rule = Rule(Frequency.MONTHLY, weekdays=(1,), nth=2)
    days = list(occurrence_dates(dt.date(2026, 1, 1), rule, dt.date(2026, 1, 1), dt.date(2026, 4, 30)))
    assert days == [dt.date(2026, 1, 13), dt.date(2026, 2, 10), dt.date(2026, 3, 10), dt.date(2026, 4, 14)]


def test_an_occurrence_overlapping_the_window_edge_is_returned():
    occurrences = expand(
        first_day=dt.date(2026, 5, 4),
        start_time=dt.time(9, 0),
        end_time=dt.time(12, 0),
        rule=None,
        tz=PARIS,
        window_start=dt.datetime(2026, 5, 4, 10, 0, tzinfo=PARIS),
        window_end=dt.datetime(2026, 5, 4, 11, 0, tzinfo=PARIS),
    )
    assert len(occurrences) == 1


def test_multi_day_absence():
    occurrences = expand(
        first_day=dt.date(2026, 7, 6),
        start_time=dt.time(14, 0),
        end_time=dt.time(12, 0),
        rule=None,
        tz=PARIS,
        window_start=dt.datetime(2026, 7, 8, tzinfo=PARIS),
        window_end=dt.datetime(2026, 7, 9, tzinfo=PARIS),
        duration_days=3,
    )
    [absence] = occurrences
    assert absence.start == dt.datetime(2026, 7, 6, 14, 0, tzinfo=PARIS)
    assert absence.end == dt.datetime(2026, 7, 9, 12, 0, tzinfo=PARIS)


def test_a_moved_occurrence_outside_the_series_is_ignored():
    occurrences = expand(
        first_day=dt.date(2026, 5, 4),
        start_time=dt.time(9, 0),
        end_time=dt.time(12, 0),
        rule=Rule(Frequency.WEEKLY, weekdays=(0,)),
        tz=PARIS,
        window_start=dt.datetime(2026, 5, 1, tzinfo=PARIS),
        window_end=dt.datetime(2026, 5, 31, tzinfo=PARIS),
        exceptions={
            dt.date(2026, 5, 5): Moved(
                dt.datetime(2026, 5, 6, 9, tzinfo=PARIS), dt.datetime(2026, 5, 6, 10, tzinfo=PARIS)
            )
        },
    )
    assert all(not o.moved for o in occurrences)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"frequency": Frequency.WEEKLY, "weekdays": ()},
        {"frequency": Frequency.WEEKLY, "weekdays": (7,)},
        {"frequency": Frequency.WEEKLY, "weekdays": (0,), "interval": 0},
        {"frequency": Frequency.MONTHLY, "weekdays": (0, 1), "nth": 1},
        {"frequency": Frequency.MONTHLY, "weekdays": (0,), "nth": 5},
    ],
)
def test_invalid_rules_are_refused(kwargs):
    with pytest.raises(ValueError):
        Rule(**kwargs)


def test_an_end_counts_real_minutes_on_the_night_clocks_go_back():
    """2:30 summer time + 60 min is 2:30 winter time (the wall clock would say 3:30): the créneaux
    engine counts in POSIX seconds, and so does the end of a créneau booked online."""
    start = dt.datetime(2030, 10, 27, 2, 30, tzinfo=PARIS)  # fold 0: the first 2:30, summer time
    assert end_after(start, 60).timestamp() - start.timestamp() == 3600
