"""« Vos agendas »: an agent's calendar (jour, semaine, mois) and the secrétariat's « Journée de
l'équipe » (one column per agent for one day).

Two halves. The pure half turns RDVs, occurrences of plages d'ouverture and absences, and the
organisation's closed days into what the templates draw: day columns with positioned blocks in
`rem`, a month grid, agent columns. Every label, URL and style is computed here once, and the
links of RDVs and time cells (hundreds on a busy week) are built here as escaped HTML: the
templates only lay out the page around them. Times are wall-clock times of the organisation's
time zone: a 9:00 RDV sits on the 9:00 row on the days clocks change too.

The view half reads, for the window shown, the RDVs (with motif, lieu, agents, usagers), the
plages and absences with their occurrences, in a fixed number of SQL queries whatever the number
of RDVs or agents. The agents whose agenda may be opened come from
`agents.permissions.agents_with_visible_agenda`: any other agent answers 404.
"""

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from html import escape as html_escape
from typing import Any, cast

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from agents.models import Agent
from agents.permissions import Membership, agents_with_visible_agenda
from motifs.models import Motif
from organisations.models import Lieu, Organisation, Service
from planning.holidays import closed_days
from planning.models import Absence, EventOccurrence, PlageOuverture, Window
from rdv.forms import DsfrForm
from rendezvous.models import Participation, Rdv

DEFAULT_VIEW = "semaine"
# The grid shows at least 7:00 to 20:00, widened to the hour to any RDV or plage outside, and
# to the ends of absences and busy blocks that fall outside (see `_minutes_to_show`).
DAY_START_HOUR = 7
DAY_END_HOUR = 20
# An absence entered « 0h00 – 23h59 » is a whole day: its end is the day's edge, like midnight.
LAST_MINUTE_OF_DAY = 24 * 60 - 1
# One hour is 4rem high: a 15-minute RDV keeps one line of text.
REM_PER_HOUR = 4
MIN_BLOCK_REM = 1.0
SLOT_MINUTES = {"jour": 15, "semaine": 30}
MONTH_MAX_RDVS = 3
# Dates the pages accept: far enough for any history, and no overflow when moving by a month.
MIN_DATE = dt.date(1970, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)

DAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
SHORT_DAY_NAMES = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")
MONTH_NAMES = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# Pure black and white: for any background one of them reaches 4.58:1 at least (WCAG AA).
DARK_TEXT = "#000000"
STATUS_ICONS: dict[str, str] = {
    Rdv.Status.WAITING: "fr-icon-time-line",
    Rdv.Status.SEEN: "fr-icon-check-line",
    Rdv.Status.NOSHOW: "fr-icon-close-circle-line",
    Rdv.Status.EXCUSED: "fr-icon-close-line",
    Rdv.Status.REVOKED: "fr-icon-close-line",
}
LIGHT_TEXT = "#ffffff"


# ---------------------------------------------------------------------------------------------
# Dates and periods


def hour_label(minutes: int) -> str:
    """9h30 for 570 minutes after midnight; 24h00 for the end of the day."""
    return f"{minutes // 60}h{minutes % 60:02d}"


def long_date(day: dt.date, *, weekday: bool = True, year: bool = True) -> str:
    """« lundi 23 novembre 2020 »."""
    text = f"{day.day}{'er' if day.day == 1 else ''} {MONTH_NAMES[day.month - 1]}"
    if weekday:
        text = f"{DAY_NAMES[day.weekday()]} {text}"
    if year:
        text = f"{text} {day.year}"
    return text


def short_date(day: dt.date) -> str:
    """« lun. 23/11 »."""
    return f"{SHORT_DAY_NAMES[day.weekday()]} {day:%d/%m}"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """The days a view shows around the date asked: that day (jour), its week from Monday to
    Sunday (semaine), or the whole weeks covering its month (mois)."""

    view: str
    day: dt.date
    first: dt.date
    last: dt.date  # inclusive

    @classmethod
    def around(cls, view: str, day: dt.date) -> "Period":
        if view == "jour":
            return cls(view, day, day, day)
        if view == "mois":
            first_of_month = day.replace(day=1)
            last_of_month = _add_months(day, 1) - dt.timedelta(days=1)
            first = first_of_month - dt.timedelta(days=first_of_month.weekday())
            last = last_of_month + dt.timedelta(days=6 - last_of_month.weekday())
            return cls(view, day, first, last)
        monday = day - dt.timedelta(days=day.weekday())
        return cls("semaine", day, monday, monday + dt.timedelta(days=6))

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def previous(self) -> dt.date:
        if self.view == "jour":
            return self.day - dt.timedelta(days=1)
        if self.view == "mois":
            return _add_months(self.day, -1)
        return self.first - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        if self.view == "jour":
            return self.day + dt.timedelta(days=1)
        if self.view == "mois":
            return _add_months(self.day, 1)
        return self.first + dt.timedelta(days=7)

    def window(self, tz: dt.tzinfo) -> Window:
        """From local midnight of the first day to local midnight after the last one."""
        return day_window(self.first, self.last, tz)

    @property
    def title(self) -> str:
        if self.view == "jour":
            return long_date(self.day)
        if self.view == "mois":
            return f"{MONTH_NAMES[self.day.month - 1]} {self.day.year}".capitalize()
        first, last = self.first, self.last
        if first.year != last.year:
            start = long_date(first, weekday=False)
        elif first.month != last.month:
            start = long_date(first, weekday=False, year=False)
        else:
            start = f"{first.day}{'er' if first.day == 1 else ''}"
        return _("Semaine du %(start)s au %(end)s") % {"start": start, "end": long_date(last, weekday=False)}

    @property
    def previous_label(self) -> str:
        return {"jour": _("Jour précédent"), "mois": _("Mois précédent")}.get(self.view, _("Semaine précédente"))

    @property
    def next_label(self) -> str:
        return {"jour": _("Jour suivant"), "mois": _("Mois suivant")}.get(self.view, _("Semaine suivante"))


def day_window(first: dt.date, last: dt.date, tz: dt.tzinfo) -> Window:
    return Window(
        dt.datetime.combine(first, dt.time(), tzinfo=tz),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def minutes_in_day(start: dt.datetime, end: dt.datetime, day: dt.date, tz: dt.tzinfo) -> tuple[int, int] | None:
    """The wall-clock minutes [start, end) of `day` that the interval covers, or None when it
    does not touch that day. Read on the wall clock, so a DST day keeps 9:00 on the 9:00 row."""
    day_start, day_end = (
        dt.datetime.combine(day, dt.time(), tzinfo=tz),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )
    if not (start < day_end and end > day_start):
        return None
    local_start = start.astimezone(tz)
    local_end = end.astimezone(tz)
    begin = local_start.hour * 60 + local_start.minute if local_start.date() == day else 0
    finish = local_end.hour * 60 + local_end.minute if local_end.date() == day else 24 * 60
    if finish <= begin:
        # A wall clock going back (the night of the autumn change) or a zero-length instant.
        finish = min(24 * 60, begin + max(1, round((end - start).total_seconds() / 60)))
    return begin, finish


# ---------------------------------------------------------------------------------------------
# Colours


def _luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@lru_cache(maxsize=512)
def text_color_for(background: str) -> str:
    """Near-black or white, whichever reads better on the motif's colour (WCAG contrast)."""
    try:
        dark = contrast_ratio(background, DARK_TEXT)
        light = contrast_ratio(background, LIGHT_TEXT)
    except (ValueError, IndexError):
        return DARK_TEXT
    return DARK_TEXT if dark >= light else LIGHT_TEXT


# ---------------------------------------------------------------------------------------------
# What the templates draw


@dataclass
class RdvBlock:
    """One RDV as the agendas show it: every text precomputed."""

    pk: int
    url: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    start_label: str
    end_label: str
    usagers: str
    motif: str
    place: str
    agents: str
    status: str
    status_label: str
    to_fill: bool  # past and still « À renseigner »
    cancelled: bool
    background: str
    color: str
    agent_ids: frozenset[int] = frozenset()
    can_set_waiting: bool = False
    status_url: str = ""
    # Set when placed in a day column.
    start_minute: int = 0
    end_minute: int = 0
    lane: int = 0
    lanes: int = 1
    style: str = ""
    html: str = ""  # the link as the page shows it (see `grid_rdv_html` and the others)
    dom_id: str = ""

    @property
    def short_text(self) -> str:
        who = self.usagers or self.motif
        return f"{self.start_label} {who}"

    @property
    def show_status(self) -> bool:
        """The status is written on the block unless it is the ordinary « À venir »."""
        return self.status != Rdv.Status.UNKNOWN or self.to_fill

    @property
    def icon(self) -> str:
        """A DSFR icon beside the status's text, so that it never shows by colour alone."""
        if self.to_fill:
            return "fr-icon-warning-fill"
        return STATUS_ICONS.get(self.status, "")

    @property
    def css_class(self) -> str:
        classes = []
        if self.cancelled:
            classes.append("rdv-agenda__rdv--cancelled")
        if self.to_fill:
            classes.append("rdv-agenda__rdv--to-fill")
        if self.status == Rdv.Status.WAITING:
            classes.append("rdv-agenda__rdv--waiting")
        return " ".join(classes)


@dataclass(frozen=True)
class Labels:
    """The translated words of the blocks, looked up once per page rather than once per RDV."""

    statuses: dict[str, str]
    upcoming: str
    to_fill: str
    locations: dict[str, str]

    @classmethod
    def current(cls) -> "Labels":
        return cls(
            statuses={value: str(label) for value, label in Rdv.Status.choices},
            upcoming=_("À venir"),
            to_fill=_("À renseigner"),
            locations={value: str(label) for value, label in Motif.LocationType.choices},
        )


def rdv_block(rdv: Rdv, *, tz: dt.tzinfo, now: dt.datetime, url: str, labels: Labels | None = None) -> RdvBlock:
    """Reads `rdv.motif`, `rdv.lieu`, and the agents and usagers that `rdvs_in_window` loads
    (or, for an RDV loaded otherwise, `rdv.agents` and `rdv.participations`)."""
    labels = labels or Labels.current()
    start = rdv.starts_at.astimezone(tz)
    end = rdv.ends_at.astimezone(tz)
    agent_rows = getattr(rdv, "agent_rows", None)
    if agent_rows is None:
        agent_rows = [(agent.pk, agent.first_name, agent.last_name) for agent in rdv.agents.all()]
    usager_names = getattr(rdv, "usager_names", None)
    if usager_names is None:
        usager_names = [p.usager.full_name for p in rdv.participations.all()]
    motif = rdv.motif
    place = rdv.lieu.name if rdv.lieu is not None else labels.locations.get(motif.location_type, "")
    if rdv.status == Rdv.Status.UNKNOWN:
        to_fill = rdv.starts_at < now
        status_label = labels.to_fill if to_fill else labels.upcoming
    else:
        to_fill = False
        status_label = labels.statuses.get(str(rdv.status), str(rdv.status))
    return RdvBlock(
        pk=rdv.pk,
        url=url,
        starts_at=rdv.starts_at,
        ends_at=rdv.ends_at,
        start_label=hour_label(start.hour * 60 + start.minute),
        end_label=hour_label(end.hour * 60 + end.minute),
        usagers=", ".join(usager_names),
        motif=motif.name,
        place=place,
        agents=", ".join(f"{first} {last}".strip() for _pk, first, last in agent_rows),
        status=rdv.status,
        status_label=status_label,
        to_fill=to_fill,
        cancelled=rdv.status in Rdv.CANCELLED_STATUSES,
        background=motif.color,
        color=text_color_for(motif.color),
        agent_ids=frozenset(pk for pk, _first, _last in agent_rows),
    )


# The links of RDVs and time cells are built here rather than in the templates: a busy week
# has hundreds of them, and plain f-strings with the standard library's escape() are ten times
# faster than the template engine (or format_html) for that. Every value is escaped, the
# constant labels included.


def _status_icon_html(block: RdvBlock) -> str:
    return f'<span class="{block.icon} fr-icon--xs" aria-hidden="true"></span> ' if block.icon else ""


def _who(block: RdvBlock) -> str:
    return html_escape(block.usagers or _("Sans usager"))


def grid_rdv_html(block: RdvBlock) -> SafeString:
    """An RDV in the day and week grids: a link whose text says time, usagers, motif, and the
    status when it is not the ordinary « À venir »."""
    status = html_escape(block.status_label)
    after_time = f' <strong class="rdv-agenda__rdv-status">{status}</strong>' if block.to_fill else ""
    after = (
        f' · <span class="rdv-agenda__rdv-status">{status}</span>' if block.show_status and not block.to_fill else ""
    )
    return mark_safe(
        f'<a class="rdv-agenda__rdv {block.css_class}" href="{html_escape(block.url)}" '
        f'style="{html_escape(block.style)}">{_status_icon_html(block)}'
        f'<span class="rdv-agenda__rdv-time">{block.start_label}<span class="fr-sr-only"> à {block.end_label}</span>'
        f"</span>{after_time} {_who(block)} · {html_escape(block.motif)}{after}</a>"
    )


def month_rdv_html(block: RdvBlock) -> SafeString:
    """An RDV in a day of the month: its time and usagers, the rest for screen readers."""
    status = (
        f'<span class="fr-sr-only">, </span><span class="rdv-agenda-month__status">'
        f"{html_escape(block.status_label)}</span>"
        if block.show_status
        else ""
    )
    return mark_safe(
        f'<a class="rdv-agenda-month__rdv {block.css_class}" href="{html_escape(block.url)}" '
        f'style="background-color:{html_escape(block.background)};color:{block.color}">'
        f"{_status_icon_html(block)}{html_escape(block.short_text)}"
        f'<span class="fr-sr-only"> à {block.end_label}, {html_escape(block.motif)}</span>{status}</a>'
    )


def team_rdv_html(block: RdvBlock, dom_id: str, *, csrf_token: str, next_url: str) -> SafeString:
    """An RDV of « Journée de l'équipe »: time, usagers, motif and lieu, status in words, and
    the one-click « En salle d'attente » when the status rules allow it now."""
    button = ""
    if block.can_set_waiting:
        label = html_escape(_("En salle d'attente"))
        button = (
            f'<form method="post" action="{html_escape(block.status_url)}" class="rdv-team__action rdv-no-print">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{html_escape(csrf_token)}">'
            f'<input type="hidden" name="status" value="{Rdv.Status.WAITING.value}">'
            f'<input type="hidden" name="next" value="{html_escape(next_url)}">'
            f'<button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary" id="{dom_id}-attente" '
            f'aria-describedby="{dom_id}">{label}</button></form>'
        )
    return mark_safe(
        f'<li class="rdv-team__rdv {block.css_class}" style="border-left-color:{html_escape(block.background)}">'
        f'<a id="{dom_id}" href="{html_escape(block.url)}"><strong>{block.start_label} – {block.end_label}</strong> '
        f'{_who(block)}<span class="rdv-team__motif">{html_escape(block.motif)} · {html_escape(block.place)}</span></a>'
        f'<p class="rdv-team__status">{_status_icon_html(block)}{html_escape(block.status_label)}</p>{button}</li>'
    )


def slots_html(column: "DayColumn") -> SafeString:
    """The time cells of a day: links to « poser un RDV » at that time."""
    label = html_escape(column.long_label)
    return mark_safe(
        "".join(
            f'<a class="rdv-agenda__slot" href="{html_escape(slot.url)}"><span class="rdv-agenda__slot-time">'
            f'{slot.time_label}</span><span class="fr-sr-only"> : poser un RDV le {label}</span></a>'
            for slot in column.slots
        )
    )


@dataclass
class Band:
    """A plage d'ouverture or an absence, drawn behind the RDVs of a day."""

    kind: str  # "plage" | "absence" | "busy" (another organisation's RDV or absence, see `Busy`)
    title: str
    detail: str
    start_minute: int
    end_minute: int
    lieu_id: int | None = None
    time_label: str = ""
    style: str = ""


@dataclass
class Slot:
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
    slots: list[Slot] = field(default_factory=list)
    now_style: str = ""
    now_label: str = ""
    slots_html: str = ""

    @property
    def has_content(self) -> bool:
        return bool(self.rdvs or self.bands or self.closed)


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


def _band(kind: str, occurrence: EventOccurrence, day: dt.date, tz: dt.tzinfo) -> Band | None:
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
class Busy:
    """A time an agent is held by another organisation (an RDV that holds time or an absence):
    only its span is known here, never its motif, usagers, lieu, title or organisation."""

    agent_id: int
    start: dt.datetime
    end: dt.datetime


def merge_busy(items: Iterable[Busy]) -> list[Busy]:
    """Per agent, overlapping or touching spans merged into one, sorted by agent then start: the
    agenda says when the agent is busy, not how many things keep it so."""
    merged: list[Busy] = []
    for item in sorted(items, key=lambda b: (b.agent_id, b.start, b.end)):
        last = merged[-1] if merged else None
        if last is not None and last.agent_id == item.agent_id and item.start <= last.end:
            if item.end > last.end:
                merged[-1] = replace(last, end=item.end)
        else:
            merged.append(item)
    return merged


def _busy_band(busy: Busy, day: dt.date, tz: dt.tzinfo) -> Band | None:
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
    busy: Iterable[Busy] = (),
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
            for day in _local_days(occurrence.start, occurrence.end, tz):
                if day in columns:
                    band = _band(kind, occurrence, day, tz)
                    if band is not None:
                        columns[day].bands.append(band)
    for item in busy:
        for day in _local_days(item.start, item.end, tz):
            if day in columns:
                band = _busy_band(item, day, tz)
                if band is not None:
                    columns[day].bands.append(band)
    for block in rdvs:
        for day in _local_days(block.starts_at, block.ends_at, tz):
            if day in columns:
                placed = _place_in_day(block, day, tz)
                if placed is not None:
                    columns[day].rdvs.append(placed)
    for column in columns.values():
        column.rdvs.sort(key=lambda b: (b.start_minute, -b.end_minute, b.pk))
    return list(columns.values())


def _local_days(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[dt.date]:
    first = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


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
            block.html = grid_rdv_html(block)
        column.slots = [
            Slot(time_label=hour_label(minute), url=slot_url(column.date, minute))
            for minute in range(grid_start, grid_end, slot_minutes)
        ]
        column.slots_html = slots_html(column)
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
            rdvs=[replace(block, html=month_rdv_html(block)) for block in column.rdvs[:MONTH_MAX_RDVS]],
            more=max(0, len(column.rdvs) - MONTH_MAX_RDVS),
            absent=any(band.kind == "absence" for band in column.bands),
            busy=[f"{band.title} {band.time_label}" for band in column.bands if band.kind == "busy"],
        )
        for column in columns
    ]
    return [days[index : index + 7] for index in range(0, len(days), 7)]


# ---------------------------------------------------------------------------------------------
# Reading the data: a fixed number of queries


# What the agendas print of an RDV, its motif and lieu: nothing else is loaded.
RDV_FIELDS = (
    "id",
    "organisation_id",
    "starts_at",
    "ends_at",
    "duration_in_min",
    "status",
    "motif__name",
    "motif__color",
    "motif__location_type",
    "lieu__name",
)


def rdvs_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[Rdv]:
    """The organisation's RDVs of these agents overlapping the window, with everything the
    agendas print, in 3 queries whatever their number: the RDVs with their motif and lieu
    (select_related), then their agents and their usagers, prefetched by hand as plain rows
    (`rdv.agent_rows`: (id, first name, last name); `rdv.usager_names`, in the order they were
    added). A busy week has hundreds of RDVs: model instances for each agent, participation and
    usager would cost more than the rest of the page."""
    rdvs = list(
        Rdv.objects.for_organisation(organisation)
        .filter(pk__in=Rdv.agents.through.objects.filter(agent_id__in=agent_ids).values("rdv_id"))
        .overlapping(window.start, window.end)
        .select_related("motif", "lieu")
        .only(*RDV_FIELDS)
        .order_by("starts_at", "pk")
    )
    agent_rows: dict[int, list[tuple[int, str, str]]] = {rdv.pk: [] for rdv in rdvs}
    usager_names: dict[int, list[str]] = {rdv.pk: [] for rdv in rdvs}
    for rdv in rdvs:
        rdv.organisation = organisation  # status rules read its time zone: no query per RDV
        setattr(rdv, "agent_rows", agent_rows[rdv.pk])  # noqa: B010
        setattr(rdv, "usager_names", usager_names[rdv.pk])  # noqa: B010
    if not rdvs:
        return rdvs
    for rdv_id, agent_id, first_name, last_name in (
        Rdv.agents.through.objects.filter(rdv_id__in=agent_rows)
        .order_by("agent__last_name", "agent__first_name", "agent_id")
        .values_list("rdv_id", "agent_id", "agent__first_name", "agent__last_name")
    ):
        agent_rows[rdv_id].append((agent_id, first_name, last_name))
    for rdv_id, first_name, last_name in (
        Participation.objects.filter(rdv_id__in=usager_names)
        .order_by("pk")
        .values_list("rdv_id", "usager__first_name", "usager__last_name")
    ):
        # As `Usager.full_name` says it.
        usager_names[rdv_id].append(f"{first_name} {last_name.upper()}".strip())
    return rdvs


def plages_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[EventOccurrence]:
    """2 queries: the plages (with lieu) and their exceptions near the window."""
    return (
        PlageOuverture.objects.for_organisation(organisation)
        .filter(agent_id__in=agent_ids)
        .select_related("lieu")
        .occurrences(window)
    )


def absences_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[EventOccurrence]:
    """2 queries: the absences and their exceptions near the window."""
    return Absence.objects.for_organisation(organisation).filter(agent_id__in=agent_ids).occurrences(window)


def absences_and_busy(
    organisation: Organisation, agent_ids: Sequence[int], window: Window
) -> tuple[list[EventOccurrence], list[Busy]]:
    """3 queries whatever the number of agents, RDVs and organisations: the agents' absences in
    every organisation with their exceptions (2, as `absences_in_window`), and the links of the
    agents to the RDVs that hold time in other organisations, read as bare times (1). Returns the
    organisation's own absences, whole, and what other organisations hold, as spans only: an
    agent is busy everywhere (as for the créneaux engine and `find_conflicts`), but another
    organisation's motif, title, usagers or lieu never reach the page."""
    own: list[EventOccurrence] = []
    busy: list[Busy] = []
    for occurrence in Absence.objects.filter(agent_id__in=agent_ids).occurrences(window):
        event = occurrence.event
        if event.organisation_id == organisation.pk:
            own.append(occurrence)
        else:
            busy.append(Busy(agent_id=event.agent_id, start=occurrence.start, end=occurrence.end))
    elsewhere = Rdv.objects.holding_time().overlapping(window.start, window.end).exclude(organisation=organisation)
    for agent_id, starts_at, ends_at in Rdv.agents.through.objects.filter(
        agent_id__in=agent_ids, rdv__in=elsewhere
    ).values_list("agent_id", "rdv__starts_at", "rdv__ends_at"):
        busy.append(Busy(agent_id=agent_id, start=starts_at, end=ends_at))
    return own, merge_busy(busy)


def visible_agents(membership: Membership) -> list[Agent]:
    return list(agents_with_visible_agenda(membership).order_by("last_name", "first_name", "pk"))


# ---------------------------------------------------------------------------------------------
# Views


class AgendaParamsForm(DsfrForm):
    vue = forms.ChoiceField(
        label=gettext_lazy("Vue"),
        choices=[
            ("jour", gettext_lazy("Journée")),
            ("semaine", gettext_lazy("Semaine")),
            ("mois", gettext_lazy("Mois")),
        ],
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choisissez la vue Journée, Semaine ou Mois.")},
    )
    date = forms.DateField(
        label=gettext_lazy("Date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("Saisissez une date au format AAAA-MM-JJ.")},
    )

    def clean_date(self) -> dt.date | None:
        day = self.cleaned_data.get("date")
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise forms.ValidationError(_("Choisissez une date entre 1970 et 2100."))
        return day


def _params(request: HttpRequest, form_class: type[AgendaParamsForm], **kwargs: Any) -> tuple[AgendaParamsForm, dict]:
    """The valid parameters, each wrong one replaced by its default (the form keeps the error)."""
    data = request.GET.copy()
    if not data.get("date"):
        data["date"] = _today(request.organisation).isoformat()  # type: ignore[attr-defined]
    form = form_class(data, **kwargs)
    form.is_valid()
    values = {name: form.cleaned_data.get(name) for name in form.fields}
    return form, values


def _today(organisation: Organisation) -> dt.date:
    return timezone.localdate(timezone=organisation.tzinfo)


def _rdv_url_maker(name: str, organisation_id: int) -> Callable[[int], str]:
    # One reverse() for the page, not one per RDV.
    marker = 999999999
    pattern = reverse(name, kwargs={"organisation_id": organisation_id, "pk": marker})
    prefix, suffix = pattern.split(str(marker))
    return lambda pk: f"{prefix}{pk}{suffix}"


@require_GET
def agenda(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """« Vos agendas »: the signed-in agent's calendar, or the one chosen in the side menu's
    drop-down (`?agent=`), keeping the view and the date."""
    membership = request.membership  # type: ignore[attr-defined]
    agent_id = membership.agent.pk
    chosen = request.GET.get("agent", "")
    if chosen.isdigit() and len(chosen) < 12:
        agent_id = int(chosen)
    query = {key: request.GET[key] for key in ("vue", "date") if request.GET.get(key)}
    url = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation_id, "agent_id": agent_id})
    return redirect(f"{url}?{urlencode(query)}" if query else url)


@require_GET
def agenda_agent(request: HttpRequest, organisation_id: int, agent_id: int) -> HttpResponse:
    membership: Membership = request.membership  # type: ignore[attr-defined]
    organisation = membership.organisation
    agents = visible_agents(membership)
    agent = next((candidate for candidate in agents if candidate.pk == agent_id), None)
    if agent is None:
        raise Http404(_("Agenda inconnu."))
    tz = organisation.tzinfo
    now = timezone.now()
    today = _today(organisation)
    form, values = _params(request, AgendaParamsForm)
    view = values["vue"] or DEFAULT_VIEW
    period = Period.around(view, values["date"] or today)
    window = period.window(tz)

    agenda_url = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": agent.pk})

    def page_url(view: str, day: dt.date) -> str:
        return f"{agenda_url}?{urlencode({'vue': view, 'date': day.isoformat()})}"

    detail_url = _rdv_url_maker("rendezvous:detail", organisation.pk)
    labels = Labels.current()
    absences, busy = absences_and_busy(organisation, [agent.pk], window)
    blocks = [
        rdv_block(rdv, tz=tz, now=now, url=detail_url(rdv.pk), labels=labels)
        for rdv in rdvs_in_window(organisation, [agent.pk], window)
    ]
    columns = day_columns(
        days=period.days,
        tz=tz,
        now=now,
        rdvs=blocks,
        plages=plages_in_window(organisation, [agent.pk], window),
        absences=absences,
        closed=closed_days(organisation, period.first, period.last),
        busy=busy,
    )
    for column in columns:
        column.url = page_url("jour", column.date)
    # « Cliquez sur un créneau » and « Trouver un créneau »: the booking pages
    # (rendezvous/views/booking.py, creneaux.py).
    create_base = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    creneaux_url = reverse("rendezvous:creneaux", kwargs={"organisation_id": organisation.pk})

    def slot_url(day: dt.date, minute: int) -> str:
        return f"{create_base}?agent={agent.pk}&debut={day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"

    # The summary counts the period's RDVs once each: the month's own days, not its neighbours'.
    counted = {
        block.pk: block
        for column in columns
        if period.view != "mois" or column.date.month == period.day.month
        for block in column.rdvs
    }
    grid = None
    weeks = None
    if period.view == "mois":
        weeks = month_weeks(period, columns, day_url=lambda day: page_url("jour", day))
    else:
        shown = columns if period.view == "jour" else visible_week_days(columns)
        grid = time_grid(shown, tz=tz, now=now, slot_minutes=SLOT_MINUTES[period.view], slot_url=slot_url)
    context = {
        "agent": agent,
        "is_own": agent.pk == membership.agent.pk,
        "agents": agents,
        "period": period,
        "grid": grid,
        "weeks": weeks,
        "weekday_names": DAY_NAMES,
        "form": form,
        "views": [
            {"label": label, "url": page_url(value, period.day), "current": value == period.view}
            for value, label in (("mois", _("Mois")), ("semaine", _("Semaine")), ("jour", _("Journée")))
        ],
        "today_url": page_url(period.view, today),
        "previous_url": page_url(period.view, period.previous),
        "next_url": page_url(period.view, period.next),
        "creneaux_url": f"{creneaux_url}?{urlencode({'agents': agent.pk})}",
        "team_url": _team_url(organisation.pk, period.day) if len(agents) > 1 else "",
        "rdv_count": len(counted),
        "to_fill_count": sum(1 for block in counted.values() if block.to_fill),
    }
    return render(request, "rendezvous/agenda/agent.html", context, status=400 if form.errors else 200)


def _team_url(organisation_id: int, day: dt.date) -> str:
    url = reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": organisation_id})
    return f"{url}?{urlencode({'date': day.isoformat()})}"


class TeamDayForm(AgendaParamsForm):
    service = forms.ModelChoiceField(
        label=gettext_lazy("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=gettext_lazy("Tous les services"),
        error_messages={"invalid_choice": gettext_lazy("Choisissez un service de la liste.")},
    )
    lieu = forms.ModelChoiceField(
        label=gettext_lazy("Lieu"),
        queryset=Lieu.objects.none(),
        required=False,
        empty_label=gettext_lazy("Tous les lieux"),
        error_messages={"invalid_choice": gettext_lazy("Choisissez un lieu de la liste.")},
    )

    field_order = ["date", "service", "lieu"]

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["vue"]
        service_field = cast(forms.ModelChoiceField, self.fields["service"])
        service_field.queryset = Service.objects.filter(agent_roles__organisation=organisation).distinct()
        lieu_field = cast(forms.ModelChoiceField, self.fields["lieu"])
        lieu_field.queryset = Lieu.objects.for_organisation(organisation).active().by_name()


@dataclass
class AgentColumn:
    agent: Agent
    url: str
    rdvs: list[RdvBlock]
    plages: list[Band]
    absences: list[Band]
    busy: list[Band] = field(default_factory=list)  # what other organisations hold, times only


@require_GET
def agenda_secretariat(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """« Journée de l'équipe »: one column per agent whose agenda the membership may open, for
    one day, filtered by service and lieu. Polled by htmx every 30 seconds (the grid only)."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    organisation = membership.organisation
    tz = organisation.tzinfo
    now = timezone.now()
    today = _today(organisation)
    form, values = _params(request, TeamDayForm, organisation=organisation)
    day = values["date"] or today
    service, lieu = values["service"], values["lieu"]
    window = day_window(day, day, tz)

    agents_qs = agents_with_visible_agenda(membership)
    if service is not None:
        agents_qs = agents_qs.in_service(service, organisation)
    agents = list(agents_qs.order_by("last_name", "first_name", "pk"))
    agent_ids = [agent.pk for agent in agents]
    rdvs = rdvs_in_window(organisation, agent_ids, window)
    plages = plages_in_window(organisation, agent_ids, window)
    absences, busy = absences_and_busy(organisation, agent_ids, window)
    if lieu is not None:
        rdvs = [rdv for rdv in rdvs if rdv.lieu_id == lieu.pk]
        plages = [occurrence for occurrence in plages if occurrence.event.lieu_id == lieu.pk]
    detail_url = _rdv_url_maker("rendezvous:detail", organisation.pk)
    status_url = _rdv_url_maker("rendezvous:status", organisation.pk)
    closed = closed_days(organisation, day, day)
    by_agent: dict[int, AgentColumn] = {}
    agenda_url = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": 0})
    agenda_prefix = agenda_url.rsplit("/0/", 1)[0]
    day_query = urlencode({"vue": "jour", "date": day.isoformat()})
    for agent in agents:
        by_agent[agent.pk] = AgentColumn(
            agent=agent, url=f"{agenda_prefix}/{agent.pk}/?{day_query}", rdvs=[], plages=[], absences=[]
        )
    labels = Labels.current()
    csrf_token = get_token(request)
    page_url = request.get_full_path()
    for rdv in rdvs:
        block = rdv_block(rdv, tz=tz, now=now, url=detail_url(rdv.pk), labels=labels)
        block.status_url = status_url(rdv.pk)
        # Every RDV here has an agent whose agenda the membership may open: it may change it.
        block.can_set_waiting = rdv.status == Rdv.Status.UNKNOWN and rdv.status_refusal(Rdv.Status.WAITING, now) is None
        for agent_id in block.agent_ids:
            if agent_id in by_agent:
                dom_id = f"equipe-rdv-{agent_id}-{rdv.pk}"
                html = team_rdv_html(block, dom_id, csrf_token=csrf_token, next_url=page_url)
                by_agent[agent_id].rdvs.append(replace(block, dom_id=dom_id, html=html))
    for kind, occurrences, attribute in (("plage", plages, "plages"), ("absence", absences, "absences")):
        for occurrence in occurrences:
            band = _band(kind, occurrence, day, tz)
            if band is not None:
                getattr(by_agent[occurrence.event.agent_id], attribute).append(band)
    for item in busy:
        busy_band = _busy_band(item, day, tz)
        if busy_band is not None:
            by_agent[item.agent_id].busy.append(busy_band)
    columns = [column for column in by_agent.values() if column.rdvs or column.plages]
    others = [column for column in by_agent.values() if not (column.rdvs or column.plages)]
    context = {
        "form": form,
        "day": day,
        "day_label": long_date(day),
        "closed": closed.get(day, ""),
        "is_today": day == today,
        "columns": columns,
        "others": others,
        "updated_at": hour_label(now.astimezone(tz).hour * 60 + now.astimezone(tz).minute),
        "previous_url": _team_url_with(request, day - dt.timedelta(days=1)),
        "next_url": _team_url_with(request, day + dt.timedelta(days=1)),
        "today_url": _team_url_with(request, today),
        "page_url": page_url,
        "own_agenda_url": reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})
        + f"?{urlencode({'vue': 'jour', 'date': day.isoformat()})}",
    }
    status = 400 if form.errors else 200
    if getattr(request, "htmx", False):
        return render(request, "rendezvous/agenda/_team_grid.html", context, status=status)
    return render(request, "rendezvous/agenda/team.html", context, status=status)


def _team_url_with(request: HttpRequest, day: dt.date) -> str:
    query = {key: request.GET.get(key, "") for key in ("service", "lieu") if request.GET.get(key)}
    query["date"] = day.isoformat()
    url = reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": request.organisation.pk})  # type: ignore[attr-defined]
    return f"{url}?{urlencode(query)}"
