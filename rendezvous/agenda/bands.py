"""What is drawn behind the RDVs of an agenda: plages d'ouverture, absences, and the times another
organisation holds the agent (« Occupé (autre organisation) », spans only), each clipped to one
day as a `Band`, with the words that name it. No query and no HTML here."""

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.utils.translation import gettext as _

from planning.models import EventOccurrence
from rendezvous.agenda.periods import hour_label, long_date, minutes_in_day

# An absence entered « 0h00 – 23h59 » is a whole day: its end is the day's edge, like midnight.
LAST_MINUTE_OF_DAY = 24 * 60 - 1
# Kinds of band that keep the agent away: a whole day of one goes to the « Toute la journée »
# row, and an RDV during an absence is marked.
AWAY_KINDS = ("absence", "busy")


@dataclass
class Band:
    """A plage d'ouverture, an absence or a time held elsewhere, drawn behind the RDVs of a
    day and named in words above them (`DayColumn.notes`, `DayColumn.all_day`)."""

    kind: str  # "plage" | "absence" | "busy" (another organisation's RDV or absence, see `BusyElsewhere`)
    title: str
    detail: str
    start_minute: int
    end_minute: int
    lieu_id: int | None = None
    time_label: str = ""
    style: str = ""
    several_days: bool = False  # its time label names days (« du 26 octobre à 8h00 au … »)
    show_label: bool = True  # its title is written on the grid (nothing covers that place)

    @property
    def all_day(self) -> bool:
        """An absence or a busy block over the whole day (0h00 to midnight, or to 23h59): it goes
        to the « Toute la journée » row, the grid only hatches the day."""
        return self.kind in AWAY_KINDS and self.start_minute == 0 and self.end_minute >= LAST_MINUTE_OF_DAY


def occurrence_band(kind: str, occurrence: EventOccurrence, day: dt.date, tz: dt.tzinfo) -> Band | None:
    """A plage (`kind` "plage") or an absence ("absence") on `day`, clipped to it; None when it
    does not touch that day."""
    minutes = minutes_in_day(occurrence.start, occurrence.end, day, tz)
    if minutes is None:
        return None
    event = occurrence.event
    lieu = getattr(event, "lieu", None) if kind == "plage" else None
    if kind == "plage":
        title = event.title
        detail = lieu.name if lieu is not None else _("sans lieu")
    else:
        title = _("Absence : %(title)s") % {"title": event.title}
        detail = ""
    span = _span_label(occurrence.start, occurrence.end, tz)
    time_label = span or f"{hour_label(minutes[0])} – {hour_label(minutes[1])}"
    return Band(
        kind=kind,
        title=title,
        detail=detail,
        start_minute=minutes[0],
        end_minute=minutes[1],
        lieu_id=getattr(event, "lieu_id", None),
        time_label=time_label,
        several_days=bool(span),
    )


def _span_label(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> str:
    """« du 26 octobre à 8h00 au 30 octobre à 18h00 » for a span over several local days; "" for
    one within a day (its caller says the hours its own way)."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_start.date() == local_end.date():
        return ""
    return _("du %(start)s à %(start_time)s au %(end)s à %(end_time)s") % {
        "start": long_date(local_start.date(), weekday=False, year=False),
        "start_time": hour_label(local_start.hour * 60 + local_start.minute),
        "end": long_date(local_end.date(), weekday=False, year=False),
        "end_time": hour_label(local_end.hour * 60 + local_end.minute),
    }


@dataclass(frozen=True)
class BusyElsewhere:
    """A time an agent is held by another organisation (an RDV that holds time or an absence):
    only its span is known here, never its motif, usagers, lieu, title or organisation."""

    agent_id: int
    start: dt.datetime
    end: dt.datetime


def merge_busy(items: Iterable[BusyElsewhere]) -> list[BusyElsewhere]:
    """Per agent, overlapping or touching spans merged into one, sorted by agent then start: the
    agenda says when the agent is busy, not how many things keep it so."""
    merged: list[BusyElsewhere] = []
    for item in sorted(items, key=lambda b: (b.agent_id, b.start, b.end)):
        last = merged[-1] if merged else None
        if last is not None and last.agent_id == item.agent_id and item.start <= last.end:
            if item.end > last.end:
                merged[-1] = replace(last, end=item.end)
        else:
            merged.append(item)
    return merged


def busy_band(busy: BusyElsewhere, day: dt.date, tz: dt.tzinfo) -> Band | None:
    """« Occupé (autre organisation) » and « de 14h00 à 15h00 »: the templates print the title
    then the times, one sentence for screen readers too."""
    minutes = minutes_in_day(busy.start, busy.end, day, tz)
    if minutes is None:
        return None
    span = _span_label(busy.start, busy.end, tz)
    time_label = span or _("de %(start)s à %(end)s") % {"start": hour_label(minutes[0]), "end": hour_label(minutes[1])}
    return Band(
        kind="busy",
        title=_("Occupé (autre organisation)"),
        detail="",
        start_minute=minutes[0],
        end_minute=minutes[1],
        time_label=time_label,
        several_days=bool(span),
    )


def minutes_to_show(band: Band) -> tuple[int, int] | None:
    """The minutes of a band the grid must show: all of a plage; of an absence or a busy block
    (« Occupé (autre organisation) »), the ends it has inside the day, each with its hour. An end
    at midnight or at 23h59, or one carried over from another day (`minutes_in_day` clips it to
    0 or 24h00), is the day's edge and widens nothing: a day away (0h00 – 23h59, or the middle of
    an absence over several days) keeps 7h – 20h, while a block at 6h00 – 7h30 or 20h30 – 21h30
    no longer falls off the grid. None when nothing needs showing."""
    start, end = band.start_minute, band.end_minute
    if band.kind == "plage":
        return start, end
    starts_inside = start > 0
    ends_inside = end < LAST_MINUTE_OF_DAY
    if starts_inside and ends_inside:
        return start, end
    if starts_inside:
        # Runs on to the next day: the hour it starts in.
        return start, min(end, (start // 60 + 1) * 60)
    if ends_inside:
        # Comes from the day before: the hour it ends in.
        return max(start, math.ceil(end / 60) * 60 - 60), end
    return None
