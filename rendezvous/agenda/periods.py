"""The days an agenda shows and how it names them: the jour, semaine and mois periods, the
window of local days they cover, the wall-clock minutes of a day an interval covers, and the
date and hour labels (« lundi 23 novembre 2020 », « lun. 23/11 », « 9h30 »)."""

import datetime as dt
from dataclasses import dataclass

from django.utils.dates import MONTHS, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from planning.intervals import Window
from rdv.dates import add_months


def hour_label(minutes: int) -> str:
    """9h30 for 570 minutes after midnight; 24h00 for the end of the day."""
    return f"{minutes // 60}h{minutes % 60:02d}"


def weekday_names() -> list[str]:
    """« lundi » to « dimanche », Monday first, as Django's translations say them."""
    return [WEEKDAYS[weekday] for weekday in range(7)]


def long_date(day: dt.date, *, weekday: bool = True, year: bool = True) -> str:
    """« lundi 23 novembre 2020 »."""
    text = f"{day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month]}"
    if weekday:
        text = f"{WEEKDAYS[day.weekday()]} {text}"
    if year:
        text = f"{text} {day.year}"
    return text


def short_date(day: dt.date) -> str:
    """« lun. 23/11 »: Django's French abbreviation (« Lun ») written as French typography
    abbreviates a day in running text, in lower case with its full stop."""
    return f"{str(WEEKDAYS_ABBR[day.weekday()]).lower()}. {day:%d/%m}"


def day_window(first: dt.date, last: dt.date, tz: dt.tzinfo) -> Window:
    """From local midnight of `first` to local midnight after `last`."""
    return Window(
        dt.datetime.combine(first, dt.time(), tzinfo=tz),
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def days_touched(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[dt.date]:
    """Every local date of `tz` that [start, end) touches (`Window.local_days`, day by day)."""
    first, last = Window(start, end).local_days(tz)
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


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
            last_of_month = add_months(day, 1) - dt.timedelta(days=1)
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
            return add_months(self.day, -1)
        return self.first - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        if self.view == "jour":
            return self.day + dt.timedelta(days=1)
        if self.view == "mois":
            return add_months(self.day, 1)
        return self.first + dt.timedelta(days=7)

    def window(self, tz: dt.tzinfo) -> Window:
        """From local midnight of the first day to local midnight after the last one."""
        return day_window(self.first, self.last, tz)

    @property
    def title(self) -> str:
        if self.view == "jour":
            return long_date(self.day)
        if self.view == "mois":
            return f"{MONTHS[self.day.month]} {self.day.year}".capitalize()
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
