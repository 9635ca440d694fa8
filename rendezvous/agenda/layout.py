"""Where everything sits on an agenda, computed from rows already read (RDV blocks come from
`blocks`): plages, absences and times held elsewhere as bands, columns (one per day, or one per
agent on the team's day) positioned in `rem` on one hour range, RDVs whose blocks would cover
each other side by side, the RDVs that fall in an absence, what lasts the whole day, and the
weeks of a month. No query and no HTML here: `queries` reads the rows, `html` writes the links."""

import copy
import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from django.utils.translation import gettext as _

from planning.models import EventOccurrence
from rendezvous.agenda.bands import Band, BusyElsewhere, busy_band, minutes_to_show, occurrence_band
from rendezvous.agenda.blocks import RdvBlock
from rendezvous.agenda.periods import Period, days_touched, hour_label, long_date, minutes_in_day, short_date

# The grid shows at least 7:00 to 20:00, widened to the hour to any RDV or plage outside, and
# to the ends of absences and busy blocks that fall outside (see `bands.minutes_to_show`).
DAY_START_HOUR = 7
DAY_END_HOUR = 20
# One hour is 4rem high. An RDV's block is never shorter than 30 minutes (2rem, two lines: its
# time, then its usagers; its motif in the tooltip): a 15-minute RDV stays readable, and the RDV
# that follows it goes beside it rather than under it (`assign_lanes` reads the drawn extent).
REM_PER_HOUR = 4
MIN_BLOCK_MINUTES = 30
LINE_PX = 15  # the line height of a block's text (agenda.css)
HOURS_REM = 3.5  # the column of hours
AGENT_COLUMN_REM = 11  # an agent's column on the team's day, at least
# The top of a band where its title is written on the grid (a line and its padding).
BAND_LABEL_MINUTES = 20
MONTH_MAX_RDVS = 3


@dataclass
class DayColumn:
    """A column of the grid: a day of the agent's agenda, or an agent's day on the team's."""

    date: dt.date
    label: str  # the heading: « lun. 23/11 », or the agent's name on the team's day
    long_label: str  # « lundi 23 novembre 2020 », or the agent's name
    is_today: bool
    closed: str  # the public holiday's name when the organisation closes that day
    url: str = ""
    anchor: str = ""  # the heading's id, where the skip links lead
    agent_id: int | None = None  # the team's day: the column's agent
    rdvs: list[RdvBlock] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    slot_link: str = ""  # a time cell's link, up to its time (`time_grid`'s `slot_link`)
    slot_action: str = ""  # what a time cell does, after its time: « : poser un RDV le … »
    now_style: str = ""
    now_label: str = ""
    tips_end: bool = False  # a column of the right half: its tooltips open leftwards
    html: str = ""  # the column's cells as the page shows them, written by `rendezvous.agenda.html`
    print_html: str = ""  # the team's day on paper, written by `rendezvous.agenda.html`

    @property
    def all_day(self) -> list[Band]:
        """What keeps the agent away the whole day: the « Toute la journée » row."""
        return [band for band in self.bands if band.all_day]

    @property
    def has_absence(self) -> bool:
        return any(band.kind == "absence" for band in self.bands)

    @property
    def has_busy(self) -> bool:
        return any(band.kind == "busy" for band in self.bands)

    @property
    def plage_bands(self) -> list[Band]:
        return [band for band in self.bands if band.kind == "plage"]

    @property
    def notes(self) -> list[Band]:
        """The plages, absences and busy blocks of part of the day, in words under the heading:
        their titles stay readable there whatever RDVs cover their bands in the grid."""
        return [band for band in self.bands if not band.all_day]


@dataclass
class TimeGrid:
    columns: list[DayColumn]
    start_hour: int
    end_hour: int
    slot_minutes: int
    kind: str = "semaine"  # "jour" | "semaine" | "equipe" (one column per agent)

    @property
    def slots(self) -> list[tuple[str, str]]:
        """The time cells of every column: (« 9h30 », « 09:30 » as a link says it)."""
        return [
            (hour_label(minute), f"{minute // 60:02d}:{minute % 60:02d}")
            for minute in range(self.start_hour * 60, self.end_hour * 60, self.slot_minutes)
        ]

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

    @cached_property
    def has_all_day(self) -> bool:
        return any(column.all_day for column in self.columns)

    @property
    def style(self) -> str:
        """The grid's columns: hours, then the days sharing the width; on the team's day every
        agent keeps 11rem, and the grid is as wide as they all need (its frame scrolls
        sideways, agenda.css): the hours, sticky, stay in sight across the whole width."""
        if self.kind == "equipe":
            count = len(self.columns)
            return (
                f"grid-template-columns:{HOURS_REM:g}rem repeat({count}, minmax({AGENT_COLUMN_REM:g}rem, 1fr));"
                f"width:max(100%, {HOURS_REM + AGENT_COLUMN_REM * count:g}rem)"
            )
        return f"grid-template-columns:{HOURS_REM:g}rem repeat({len(self.columns)}, minmax(0, 1fr))"


def _rem(value: float) -> str:
    return f"{round(value, 3):g}rem"


def _hide_covered_labels(column: DayColumn) -> None:
    """A band's title is written at its top unless an RDV's box or an absence covers that place:
    half a title peeking between blocks reads as noise. The column's heading names every band
    in words anyway (`DayColumn.notes`)."""
    for band in column.bands:
        label_end = band.start_minute + BAND_LABEL_MINUTES
        covered = any(block.start_minute < label_end and drawn_end(block) > band.start_minute for block in column.rdvs)
        covered = covered or any(
            other.kind == "absence"
            and other is not band
            and band.kind != "absence"
            and other.start_minute < label_end
            and other.end_minute > band.start_minute
            for other in column.bands
        )
        band.show_label = not covered


def _lines(minutes: int) -> int:
    """How many whole lines of text a block `minutes` high holds (agenda.css: 15px lines in a
    box with a 1px border): its text ends on a whole line, with « … », never half a line."""
    return max(1, (round(minutes * REM_PER_HOUR / 60 * 16) - 2) // LINE_PX)


def drawn_end(block: RdvBlock) -> int:
    """Where the block's box ends on the grid: a short RDV is drawn 30 minutes high."""
    return max(block.end_minute, block.start_minute + MIN_BLOCK_MINUTES)


def assign_lanes(blocks: Sequence[RdvBlock]) -> None:
    """Side by side when their boxes would overlap (a 15-minute RDV's box covers the next
    quarter of an hour: `drawn_end`): each block gets a lane, and every block of a group of
    overlapping ones the number of lanes of that group. `blocks` sorted by start."""
    group: list[RdvBlock] = []
    lane_ends: list[int] = []
    group_end = -1

    def close() -> None:
        for block in group:
            block.lanes = len(lane_ends)

    for block in blocks:
        end = drawn_end(block)
        if group and block.start_minute >= group_end:
            close()
            group, lane_ends, group_end = [], [], -1
        for index, lane_end in enumerate(lane_ends):
            if lane_end <= block.start_minute:
                block.lane = index
                lane_ends[index] = end
                break
        else:
            block.lane = len(lane_ends)
            lane_ends.append(end)
        group.append(block)
        group_end = max(group_end, end)
    if group:
        close()


def _place_in_day(block: RdvBlock, day: dt.date, tz: dt.tzinfo, *, again: bool) -> RdvBlock | None:
    """The block with its minutes of `day`: itself the first time it is placed, a copy in any
    further column (an RDV over two days, or of two agents on the team's day)."""
    minutes = minutes_in_day(block.starts_at, block.ends_at, day, tz)
    if minutes is None:
        return None
    placed = copy.copy(block) if again else block
    placed.start_minute, placed.end_minute = minutes
    return placed


ColumnKey = tuple[int | None, dt.date]  # (the agent on the team's day, else None; the day)


def _fill_columns(
    columns: dict[ColumnKey, DayColumn],
    *,
    tz: dt.tzinfo,
    rdvs: Iterable[RdvBlock],
    plages: Iterable[EventOccurrence],
    absences: Iterable[EventOccurrence],
    busy: Iterable[BusyElsewhere],
    per_agent: bool,
) -> None:
    """Puts each item in the columns of the few days it touches (and, `per_agent`, of its
    agent or agents), clipped to each day; then marks the RDVs that fall in an absence. A block
    is placed itself in its first column (hundreds of copies cost a busy page dearly), a copy in
    any other."""

    def targets(agent_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> Iterable[DayColumn]:
        keys: Iterable[int | None] = agent_ids if per_agent else (None,)
        for day in days_touched(start, end, tz):
            for key in keys:
                column = columns.get((key, day))
                if column is not None:
                    yield column

    for kind, occurrences in (("plage", plages), ("absence", absences)):
        for occurrence in occurrences:
            for column in targets((occurrence.event.agent_id,), occurrence.start, occurrence.end):
                band = occurrence_band(kind, occurrence, column.date, tz)
                if band is not None:
                    column.bands.append(band)
    for item in busy:
        for column in targets((item.agent_id,), item.start, item.end):
            band = busy_band(item, column.date, tz)
            if band is not None:
                column.bands.append(band)
    for block in rdvs:
        again = False
        for column in targets(block.agent_ids, block.starts_at, block.ends_at):
            placed = _place_in_day(block, column.date, tz, again=again)
            if placed is not None:
                column.rdvs.append(placed)
                again = True
    for column in columns.values():
        column.rdvs.sort(key=lambda b: (b.start_minute, -b.end_minute, b.pk))
        mark_rdvs_in_absences(column)


def mark_rdvs_in_absences(column: DayColumn) -> None:
    """An RDV that holds time during one of the column's absences gets that absence's title
    (`RdvBlock.in_absence`): the agent will not be there, someone must move it."""
    absences = [band for band in column.bands if band.kind == "absence"]
    if not absences:
        return
    for block in column.rdvs:
        if block.cancelled:
            continue
        for band in absences:
            if block.start_minute < band.end_minute and block.end_minute > band.start_minute:
                block.in_absence = band.title
                break


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
    columns: dict[ColumnKey, DayColumn] = {
        (None, day): DayColumn(
            date=day,
            label=short_date(day),
            long_label=long_date(day),
            is_today=day == today,
            closed=closed.get(day, ""),
            anchor=f"jour-{day.isoformat()}",
            slot_action=_(": poser un RDV le %(day)s") % {"day": long_date(day)},
        )
        for day in days
    }
    _fill_columns(columns, tz=tz, rdvs=rdvs, plages=plages, absences=absences, busy=busy, per_agent=False)
    return list(columns.values())


def agent_columns(
    *,
    day: dt.date,
    agents: Iterable[tuple[int, str]],
    tz: dt.tzinfo,
    now: dt.datetime,
    rdvs: Iterable[RdvBlock],
    plages: Iterable[EventOccurrence] = (),
    absences: Iterable[EventOccurrence] = (),
    closed: str = "",
    busy: Iterable[BusyElsewhere] = (),
) -> list[DayColumn]:
    """« Journée de l'équipe »: one column per agent (id, name), in the order given, for `day`,
    laid out as a day of the agenda: an RDV of several agents shows in each one's column."""
    is_today = day == now.astimezone(tz).date()
    columns: dict[ColumnKey, DayColumn] = {
        (agent_id, day): DayColumn(
            date=day,
            label=name,
            long_label=name,
            is_today=is_today,
            closed=closed,
            anchor=f"agent-{agent_id}",
            agent_id=agent_id,
            slot_action=_(": poser un RDV avec %(agent)s") % {"agent": name},
        )
        for agent_id, name in agents
    }
    _fill_columns(columns, tz=tz, rdvs=rdvs, plages=plages, absences=absences, busy=busy, per_agent=True)
    return list(columns.values())


def time_grid(
    columns: list[DayColumn],
    *,
    tz: dt.tzinfo,
    now: dt.datetime,
    slot_minutes: int,
    slot_link: Callable[[DayColumn], str],
    kind: str = "semaine",
) -> TimeGrid:
    """Positions everything of the columns on one hour range: 7:00–20:00, widened to whole
    hours to show every RDV and plage, and the ends of absences and busy blocks that fall
    outside (`bands.minutes_to_show`; closed days do not widen it). `slot_link(column)` is the
    link of the column's time cells up to their time, which `TimeGrid.slots` ends (« 09:30 »):
    hundreds of cells on a page, one link built per column."""
    starts = [DAY_START_HOUR * 60]
    ends = [DAY_END_HOUR * 60]
    for column in columns:
        for block in column.rdvs:
            starts.append(block.start_minute)
            ends.append(block.end_minute)
        for band in column.bands:
            shown = minutes_to_show(band)
            if shown is not None:
                starts.append(shown[0])
                ends.append(shown[1])
    start_hour = min(starts) // 60
    end_hour = min(24, math.ceil(max(ends) / 60))
    grid_start, grid_end = start_hour * 60, end_hour * 60
    scale = REM_PER_HOUR / 60
    local_now = now.astimezone(tz)
    now_minute = local_now.hour * 60 + local_now.minute
    for index, column in enumerate(columns):
        column.tips_end = len(columns) > 1 and index >= len(columns) / 2
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
        _hide_covered_labels(column)
        for block in column.rdvs:
            top = block.start_minute - grid_start
            # A box drawn past the grid's end (a short RDV at 19h45) stops at the end.
            height = min(drawn_end(block), grid_end) - block.start_minute
            width = 100 / block.lanes
            block.tip_up = top > (grid_end - grid_start) / 2
            # Alone in its lane, the block takes the column's width (the CSS's default).
            lane = f"left:{round(block.lane * width, 3):g}%;width:{round(width, 3):g}%;" if block.lanes > 1 else ""
            block.style = f"top:{_rem(top * scale)};height:{_rem(height * scale)};{lane}--rdv-lines:{_lines(height)}"
        column.slot_link = slot_link(column)
        if column.is_today and grid_start <= now_minute < grid_end:
            column.now_style = f"top:{_rem((now_minute - grid_start) * scale)}"
            column.now_label = _("Il est %(time)s") % {"time": hour_label(now_minute)}
    return TimeGrid(columns=columns, start_hour=start_hour, end_hour=end_hour, slot_minutes=slot_minutes, kind=kind)


def visible_week_days(columns: list[DayColumn]) -> list[DayColumn]:
    """Monday to Friday, and Saturday or Sunday when it is today or when a plage or an RDV falls
    on it (« Aujourd'hui » on a Saturday shows that Saturday). An absence alone does not add a
    weekend day: a week of leave would widen every week it covers."""
    return [
        column
        for column in columns
        if column.date.weekday() < 5 or column.is_today or column.rdvs or column.plage_bands
    ]


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
