"""Intervals of time, merged once and then asked whether they cover a span: the créneaux engine
(seconds as floats), the RDVs left outside a plage (planning.impact) and the conflict check of an
RDV (rendezvous.conflicts) share these two functions; `Window` is the span every query and
expansion of the planning is asked for."""

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T", float, dt.datetime)


def merge(intervals: Iterable[tuple[T, T]]) -> tuple[list[T], list[T]]:
    """The intervals sorted, those that touch or overlap merged, as parallel lists of starts and
    ends (each start after the previous end)."""
    starts: list[T] = []
    ends: list[T] = []
    for start, end in sorted(intervals):
        if ends and start <= ends[-1]:
            if end > ends[-1]:
                ends[-1] = end
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def covers(starts: list[T], ends: list[T], start: T, end: T) -> bool:
    """Whether merged intervals (`merge`'s result) cover [start, end) without a gap."""
    index = bisect_right(starts, start) - 1
    return index >= 0 and ends[index] >= end


@dataclass(frozen=True)
class Window:
    """[start, end) in aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    @property
    def date_range(self) -> tuple[dt.date, dt.date]:
        """The UTC dates of the window, widened by a day each side so that they cover the local
        dates of every time zone (all are within ±14 hours of UTC)."""
        return (
            self.start.astimezone(dt.UTC).date() - dt.timedelta(days=1),
            self.end.astimezone(dt.UTC).date() + dt.timedelta(days=1),
        )

    def local_days(self, tz: dt.tzinfo) -> tuple[dt.date, dt.date]:
        """The first and the last local date of `tz` the window touches. Its end is excluded: a
        window ending at midnight does not touch the next day."""
        return self.start.astimezone(tz).date(), (self.end - dt.timedelta(microseconds=1)).astimezone(tz).date()

    def whole_days(self, tz: dt.tzinfo) -> "Window":
        """From local midnight of the first day the window touches to local midnight after the last."""
        first, last = self.local_days(tz)
        return Window(
            dt.datetime.combine(first, dt.time(), tzinfo=tz),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz),
        )


def end_after(start: dt.datetime, minutes: int) -> dt.datetime:
    """The end of `minutes` from `start` in real time, as the créneaux engine counts them (POSIX
    seconds), in UTC: on the night clocks go back, 2:30 (summer time) + 60 min is 2:30 (winter
    time), not the wall clock's 3:30. UTC also keeps comparisons right: two datetimes of the same
    time zone compare by their wall clocks, whatever their fold."""
    return start.astimezone(dt.UTC) + dt.timedelta(minutes=minutes)
