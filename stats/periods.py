"""The months a page covers, and the bars they make: a month, a quarter or a year each.

A period is whole months in the organisation's time zone. Up to 24 months, one bar a month;
longer, one a quarter (5 years: 20 bars), so that no chart has more than 24 bars. A quarter or
a year cut by the period's ends holds only the months of the period, and says so.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils.dates import MONTHS, MONTHS_AP
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from rdv.dates import add_months

MAX_BARS = 24


def months_between(first: dt.date, last: dt.date) -> int:
    """How many months from `first`'s to `last`'s, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def month_label(month: dt.date) -> str:
    """« février 2026 »."""
    return f"{MONTHS[month.month]} {month.year}"


def month_abbreviation(month: dt.date) -> str:
    """« fév. »."""
    return str(MONTHS_AP[month.month])


class Grain(models.TextChoices):
    MONTH = "mois", _("Mois")
    QUARTER = "trimestre", _("Trimestre")
    YEAR = "annee", _("Année")


def _quarter(month: dt.date) -> int:
    return (month.month - 1) // 3 + 1


def _bucket_start(month: dt.date, grain: Grain) -> dt.date:
    if grain == Grain.YEAR:
        return month.replace(month=1)
    if grain == Grain.QUARTER:
        return month.replace(month=3 * (_quarter(month) - 1) + 1)
    return month


@dataclass(frozen=True)
class Bucket:
    """One bar: the months from `first` to `last` (1st of each) of the period, in one month,
    quarter or year."""

    first: dt.date
    last: dt.date
    grain: Grain

    @property
    def key(self) -> dt.date:
        """The 1st of the calendar month, quarter or year, whatever the period's ends."""
        return _bucket_start(self.first, self.grain)

    @property
    def partial(self) -> bool:
        whole = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}[self.grain]
        return months_between(self.first, self.last) < whole

    @property
    def short(self) -> str:
        """Under the bar: « fév. », « T1 », « 2026 »."""
        if self.grain == Grain.YEAR:
            return str(self.first.year)
        if self.grain == Grain.QUARTER:
            return pgettext("trimestre abrégé", "T%(number)s") % {"number": _quarter(self.first)}
        return month_abbreviation(self.first)

    @property
    def year(self) -> int:
        return self.first.year

    @property
    def long(self) -> str:
        """In full, for tables and tooltips: « février 2026 », « 1er trimestre 2026 (février
        et mars) », « 2026 »."""
        if self.grain == Grain.MONTH:
            return month_label(self.first)
        if self.grain == Grain.QUARTER:
            number = _quarter(self.first)
            ordinal = pgettext("trimestre", "1er") if number == 1 else pgettext("trimestre", "%(n)se") % {"n": number}
            label = str(_("%(ordinal)s trimestre %(year)s")) % {"ordinal": ordinal, "year": self.first.year}
        else:
            label = str(self.first.year)
        if not self.partial:
            return label
        if self.first == self.last:
            months = str(MONTHS[self.first.month])
        else:
            months = str(_("%(first)s à %(last)s")) % {
                "first": MONTHS[self.first.month],
                "last": MONTHS[self.last.month],
            }
        return f"{label} ({months})"


@dataclass(frozen=True)
class Period:
    """Whole months, from `first_month` to `last_month` included (both the 1st of their month)."""

    first_month: dt.date
    last_month: dt.date

    @classmethod
    def last_months(cls, count: int, today: dt.date) -> "Period":
        last = today.replace(day=1)
        return cls(add_months(last, -(count - 1)), last)

    @property
    def months(self) -> list[dt.date]:
        return [add_months(self.first_month, i) for i in range(months_between(self.first_month, self.last_month))]

    def bounds(self, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as aware datetimes: midnight of the first month's 1st, in `tz`, to midnight
        of the 1st of the month after the last one."""
        start = dt.datetime.combine(self.first_month, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(add_months(self.last_month, 1), dt.time.min, tzinfo=tz)
        return start, end

    def bars(self, grain: Grain) -> int:
        return len({_bucket_start(month, grain) for month in self.months})

    def default_grain(self) -> Grain:
        """Months while they fit in 24 bars, then quarters (5 years make 20), then years."""
        for grain in (Grain.MONTH, Grain.QUARTER):
            if self.bars(grain) <= MAX_BARS:
                return grain
        return Grain.YEAR

    def buckets(self, grain: Grain) -> list[Bucket]:
        buckets: list[Bucket] = []
        for month in self.months:
            if buckets and _bucket_start(month, grain) == buckets[-1].key:
                buckets[-1] = Bucket(buckets[-1].first, month, grain)
            else:
                buckets.append(Bucket(month, month, grain))
        return buckets
