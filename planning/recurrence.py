"""Recurrence expansion: the one place where plages d'ouverture and absences become occurrences.

Pure functions over plain data. A recurring event is a first day, a wall-clock start and end time
in the organisation's time zone, and a rule (weekly on some weekdays, or monthly on the nth
weekday, every `interval` weeks or months, until a date or forever). Expansion:

- looks only at the days of the window asked for: its cost grows with the window, never with the
  age of the plage nor with the number of occurrences before the window;
- turns each occurrence date into aware datetimes with the time zone's rules of that very day, so
  a 9:00 plage stays 9:00 across daylight-saving changes, in Paris as in La Réunion;
- applies single-occurrence exceptions keyed by the occurrence's original date: cancelled, or
  moved to another start and end (what RFC 5545 calls EXDATE and RECURRENCE-ID).
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Frequency(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class Rule:
    """Weekly: `weekdays` (0 = Monday … 6 = Sunday). Monthly: the `nth` (1…4, or -1 for the last)
    `weekdays[0]` of the month. `until` is the last date an occurrence may fall on."""

    frequency: Frequency
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    nth: int | None = None
    until: dt.date | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.interval <= 52:
            raise ValueError("interval must be between 1 and 52")
        if not self.weekdays or any(not 0 <= day <= 6 for day in self.weekdays):
            raise ValueError("weekdays must hold days 0 (Monday) to 6 (Sunday)")
        if self.frequency is Frequency.MONTHLY and (len(self.weekdays) != 1 or self.nth not in (1, 2, 3, 4, -1)):
            raise ValueError("a monthly rule has one weekday and nth in 1…4 or -1")


@dataclass(frozen=True)
class Moved:
    """A single occurrence moved elsewhere in time (aware datetimes)."""

    start: dt.datetime
    end: dt.datetime


Exceptions = Mapping[dt.date, Moved | None]


@dataclass(frozen=True)
class Occurrence:
    start: dt.datetime  # aware
    end: dt.datetime  # aware
    original_date: dt.date  # identifies the occurrence for exceptions, even once moved
    moved: bool = False


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> dt.date | None:
    if nth > 0:
        first = dt.date(year, month, 1)
        day = first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
        return day if day.month == month else None
    next_month = dt.date(year + month // 12, month % 12 + 1, 1)
    last = next_month - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def occurrence_dates(first_day: dt.date, rule: Rule | None, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Dates of occurrences falling in [start, end] (inclusive), in order. Without a rule, the
    event happens once, on its first day."""
    if rule is None:
        if start <= first_day <= end:
            yield first_day
        return
    start = max(start, first_day)
    if rule.until is not None:
        end = min(end, rule.until)
    if start > end:
        return
    if rule.frequency is Frequency.WEEKLY:
        # Week by week: the cost is one step per week that counts, not one per day.
        shifts = [dt.timedelta(days=day) for day in sorted(set(rule.weekdays))]
        monday = _monday(start)
        weeks = (monday - _monday(first_day)).days // 7
        if weeks % rule.interval:
            monday += dt.timedelta(weeks=rule.interval - weeks % rule.interval)
        step = dt.timedelta(weeks=rule.interval)
        while monday <= end:
            for shift in shifts:
                day = monday + shift
                if start <= day <= end:
                    yield day
            monday += step
        return
    # Monthly on the nth weekday.
    assert rule.nth is not None
    month_index = start.year * 12 + start.month - 1
    first_index = first_day.year * 12 + first_day.month - 1
    last_index = end.year * 12 + end.month - 1
    offset = (month_index - first_index) % rule.interval
    if offset:
        month_index += rule.interval - offset
    while month_index <= last_index:
        nth_day = _nth_weekday(month_index // 12, month_index % 12 + 1, rule.weekdays[0], rule.nth)
        if nth_day is not None and start <= nth_day <= end:
            yield nth_day
        month_index += rule.interval


def wall_clock(day: dt.date, time: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The aware datetime of a wall-clock time on a day. In the hour skipped when clocks go forward,
    the time is read with the offset before the change (fold=0), i.e. it lands one hour later: a
    plage cannot start at a time that does not exist."""
    return dt.datetime.combine(day, time, tzinfo=tz)


def expand(
    *,
    first_day: dt.date,
    start_time: dt.time,
    end_time: dt.time,
    rule: Rule | None,
    tz: zoneinfo.ZoneInfo,
    window_start: dt.datetime,
    window_end: dt.datetime,
    exceptions: Exceptions | None = None,
    duration_days: int = 0,
) -> list[Occurrence]:
    """Occurrences overlapping [window_start, window_end), sorted by start.

    `duration_days` lets an occurrence end on a later day than it starts (multi-day absences):
    it ends on its date + duration_days at end_time.
    """
    exceptions = exceptions or {}
    # Local dates whose occurrence can overlap the window: widen by the occurrence's span.
    first_date = window_start.astimezone(tz).date() - dt.timedelta(days=duration_days + 1)
    last_date = window_end.astimezone(tz).date() + dt.timedelta(days=1)
    occurrences = []
    for day in occurrence_dates(first_day, rule, first_date, last_date):
        if day in exceptions:
            continue
        start = wall_clock(day, start_time, tz)
        end = wall_clock(day + dt.timedelta(days=duration_days), end_time, tz)
        if start < window_end and end > window_start:
            occurrences.append(Occurrence(start=start, end=end, original_date=day))
    for day, moved in exceptions.items():
        if moved is None or not (moved.start < window_end and moved.end > window_start):
            continue
        # A moved occurrence exists only if its original date belongs to the series.
        if next(occurrence_dates(first_day, rule, day, day), None) == day:
            occurrences.append(Occurrence(start=moved.start, end=moved.end, original_date=day, moved=True))
    occurrences.sort(key=lambda occurrence: occurrence.start)
    return occurrences
