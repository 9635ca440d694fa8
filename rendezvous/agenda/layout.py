"""Where everything sits on an agenda, computed from rows already read (RDV blocks come from
`blocks`): plages, absences and times held elsewhere as bands, day columns positioned
in `rem` on one hour range, overlapping RDVs side by side, and the weeks of a month. No query
and no HTML here: `queries` reads the rows, `html` writes the links."""

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from django.utils.translation import gettext as _

from planning.models import EventOccurrence
from rendezvous.agenda.blocks import RdvBlock
from rendezvous.agenda.periods import Period, days_touched, hour_label, long_date, minutes_in_day, short_date

# The grid shows at least 7:00 to 20:00, widened to the hour to any RDV or plage outside, and
# to the ends of absences and busy blocks that fall outside (see `_minutes_to_show`).
DAY_START_HOUR = 7
DAY_END_HOUR = 20
# An absence entered « 0h00 – 23h59 » is a whole day: its end is the day's edge, like midnight.
LAST_MINUTE_OF_DAY = 24 * 60 - 1
# One hour is 4rem high: a 15-minute RDV keeps one line of text.
REM_PER_HOUR = 4
MIN_BLOCK_REM = 1.0
MONTH_MAX_RDVS = 3


@dataclass
class Band:
    """A plage d'ouverture or an absence, drawn behind the RDVs of a day."""

    kind: str  # "plage" | "absence" | "busy" (another organisation's RDV or absence, see `BusyElsewhere`)
    title: str
    detail: str
    start_minute: int
    end_minute: int
    lieu_id: int | None = None
    time_label: str = ""
    style: str = ""


@dataclass
class GridSlot:
    """A time cell: a link to « poser un RDV » at that time."""

    time_label: str
    url: str


@dataclass
class DayColumn:
    date: dt.date
    label: str
    long_label: str
    is_today: bool
    closed: str  # the public holiday's name when the organisation closes that day
    url: str = ""
    rdvs: list[RdvBlock] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    slots: list[GridSlot] = field(default_factory=list)
    now_style: str = ""
    now_label: str = ""
    slots_html: str = ""  # the time cells as the page shows them, written by `rendezvous.agenda.html`


@dataclass
class TimeGrid:
    columns: list[DayColumn]
    start_hour: int
    end_hour: int
    slot_minutes: int

    @property
    def height(self) -> str:
        return _rem((self.end_hour - self.start_hour) * REM_PER_HOUR)

    @property
    def hours(self) -> list[dict[str, str]]:
        return [
            {"label": f"{hour}h", "style": f"top:{_rem((hour - self.start_hour) * REM_PER_HOUR)}"}
            for hour in range(self.start_hour, self.end_hour)
        ]

    @property
    def slot_height(self) -> str:
        return _rem(self.slot_minutes * REM_PER_HOUR / 60)

    @property
    def template_columns(self) -> str:
        return f"3rem repeat({len(self.columns)}, minmax(0, 1fr))"


def _rem(value: float) -> str:
    return f"{round(value, 3):g}rem"


def assign_lanes(blocks: Sequence[RdvBlock]) -> None:
    """Side by side when they overlap: each block gets a lane, and every block of a group of
    overlapping ones the number of lanes of that group. `blocks` sorted by start."""
    group: list[RdvBlock] = []
    lane_ends: list[int] = []
    group_end = -1

    def close() -> None:
        for block in group:
            block.lanes = len(lane_ends)

    for block in blocks:
        if group and block.start_minute >= group_end:
            close()
            group, lane_ends, group_end = [], [], -1
        for index, lane_end in enumerate(lane_ends):
            if lane_end <= block.start_minute:
                block.lane = index
                lane_ends[index] = block.end_minute
                break
        else:
            block.lane = len(lane_ends)
            lane_ends.append(block.end_minute)
        group.append(block)
        group_end = max(group_end, block.end_minute)
    if group:
        close()


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
    time_label = _span_label(occurrence.start, occurrence.end, tz) or (
        f"{hour_label(minutes[0])} – {hour_label(minutes[1])}"
    )
    return Band(
        kind=kind,
        title=title,
        detail=detail,
        start_minute=minutes[0],
        end_minute=minutes[1],
        lieu_id=getattr(event, "lieu_id", None),
        time_label=time_label,
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
    time_label = _span_label(busy.start, busy.end, tz) or (
        _("de %(start)s à %(end)s") % {"start": hour_label(minutes[0]), "end": hour_label(minutes[1])}
    )
    return Band(
        kind="busy",
        title=_("Occupé (autre organisation)"),
        detail="",
        start_minute=minutes[0],
        end_minute=minutes[1],
        time_label=time_label,
    )


def _place_in_day(block: RdvBlock, day: dt.date, tz: dt.tzinfo) -> RdvBlock | None:
    minutes = minutes_in_day(block.starts_at, block.ends_at, day, tz)
    if minutes is None:
        return None
    return replace(block, start_minute=minutes[0], end_minute=minutes[1])


def day_columns(
    *,
    days: Iterable[dt.date],
    tz: dt.tzinfo,
    now: dt.datetime,
    rdvs: Iterable[RdvBlock],
    plages: Iterable[EventOccurrence] = (),
    absences: Iterable[EventOccurrence] = (),
    closed: dict[dt.date, str] | None = None,
    busy: Iterable[BusyElsewhere] = (),
) -> list[DayColumn]:
    """One column per day with the RDVs, plages and absences that touch it (clipped to it), and
    the times another organisation holds the agent (`busy`, drawn over the plages)."""
    closed = closed or {}
    today = now.astimezone(tz).date()
    columns = {
        day: DayColumn(
            date=day,
            label=short_date(day),
            long_label=long_date(day),
            is_today=day == today,
            closed=closed.get(day, ""),
        )
        for day in days
    }
    # Each item goes to the few days it touches, not through every day of the period.
    for kind, occurrences in (("plage", plages), ("absence", absences)):
        for occurrence in occurrences:
            for day in days_touched(occurrence.start, occurrence.end, tz):
                if day in columns:
                    band = occurrence_band(kind, occurrence, day, tz)
                    if band is not None:
                        columns[day].bands.append(band)
    for item in busy:
        for day in days_touched(item.start, item.end, tz):
            if day in columns:
                band = busy_band(item, day, tz)
                if band is not None:
                    columns[day].bands.append(band)
    for block in rdvs:
        for day in days_touched(block.starts_at, block.ends_at, tz):
            if day in columns:
                placed = _place_in_day(block, day, tz)
                if placed is not None:
                    columns[day].rdvs.append(placed)
    for column in columns.values():
        column.rdvs.sort(key=lambda b: (b.start_minute, -b.end_minute, b.pk))
    return list(columns.values())


def time_grid(
    columns: list[DayColumn],
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
    slot_minutes: int,
    slot_url: Callable[[dt.date, int], str],
) -> TimeGrid:
    """Positions everything of the columns on one hour range: 7:00–20:00, widened to whole
    hours to show every RDV and plage, and the ends of absences and busy blocks that fall
    outside (`_minutes_to_show`; closed days do not widen it)."""
    starts = [DAY_START_HOUR * 60]
    ends = [DAY_END_HOUR * 60]
    for column in columns:
        for block in column.rdvs:
            starts.append(block.start_minute)
            ends.append(block.end_minute)
        for band in column.bands:
            shown = _minutes_to_show(band)
            if shown is not None:
                starts.append(shown[0])
                ends.append(shown[1])
    start_hour = min(starts) // 60
    end_hour = min(24, math.ceil(max(ends) / 60))
    grid_start, grid_end = start_hour * 60, end_hour * 60
    scale = REM_PER_HOUR / 60
    local_now = now.astimezone(tz)
    now_minute = local_now.hour * 60 + local_now.minute
    for column in columns:
        visible_bands = []
        for band in column.bands:
            top = max(band.start_minute, grid_start)
            bottom = min(band.end_minute, grid_end)
            if bottom <= top:
                continue
            band.style = f"top:{_rem((top - grid_start) * scale)};height:{_rem((bottom - top) * scale)}"
            visible_bands.append(band)
        column.bands = visible_bands
        assign_lanes(column.rdvs)
        for block in column.rdvs:
            rdv_top = (block.start_minute - grid_start) * scale
            height = max(MIN_BLOCK_REM, (block.end_minute - block.start_minute) * scale)
            width = 100 / block.lanes
            block.style = (
                f"top:{_rem(rdv_top)};height:{_rem(height)};left:{round(block.lane * width, 3):g}%;"
                f"width:{round(width, 3):g}%;background-color:{block.background};color:{block.color}"
            )
        column.slots = [
            GridSlot(time_label=hour_label(minute), url=slot_url(column.date, minute))
            for minute in range(grid_start, grid_end, slot_minutes)
        ]
        if column.is_today and grid_start <= now_minute < grid_end:
            column.now_style = f"top:{_rem((now_minute - grid_start) * scale)}"
            column.now_label = _("Il est %(time)s") % {"time": hour_label(now_minute)}
    return TimeGrid(columns=columns, start_hour=start_hour, end_hour=end_hour, slot_minutes=slot_minutes)


def _minutes_to_show(band: Band) -> tuple[int, int] | None:
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


def visible_week_days(columns: list[DayColumn]) -> list[DayColumn]:
    """Monday to Friday, and Saturday or Sunday when something happens on them."""
    return [column for column in columns if column.date.weekday() < 5 or column.rdvs or column.bands]


@dataclass
class MonthDay:
    date: dt.date
    number: str
    label: str
    in_month: bool
    is_today: bool
    closed: str
    url: str
    rdvs: list[RdvBlock]
    more: int
    absent: bool
    busy: list[str]  # « Occupé (autre organisation) de 14h00 à 15h00 », once per span


def month_weeks(period: Period, columns: list[DayColumn], *, day_url: Callable[[dt.date], str]) -> list[list[MonthDay]]:
    """The month's weeks, Monday first; each day with its first RDVs and how many more."""
    days = [
        MonthDay(
            date=column.date,
            number=str(column.date.day),
            label=column.long_label,
            in_month=column.date.month == period.day.month,
            is_today=column.is_today,
            closed=column.closed,
            url=day_url(column.date),
            rdvs=[replace(block) for block in column.rdvs[:MONTH_MAX_RDVS]],
            more=max(0, len(column.rdvs) - MONTH_MAX_RDVS),
            absent=any(band.kind == "absence" for band in column.bands),
            busy=[f"{band.title} {band.time_label}" for band in column.bands if band.kind == "busy"],
        )
        for column in columns
    ]
    return [days[index : index + 7] for index in range(0, len(days), 7)]
