"""Intervals of time, merged once and then asked whether they cover a span: the créneaux engine
(seconds as floats), the RDVs left outside a plage (planning.impact) and the conflict check of an
RDV (rendezvous.conflicts) share these two functions."""

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
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
