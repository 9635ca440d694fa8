"""The figures of « Vos statistiques globales », counted by PostgreSQL.

Each block is one aggregate query (`Count(filter=…)`, `values().annotate()`), whatever the number
of RDVs or usagers: the page's query count does not grow with the organisation's history. Months
are cut in the organisation's time zone (an RDV created on the 1st at 00:30 in Paris belongs to
that month, though it is still the previous month in UTC). A deleted RDV is gone from the table,
hence from every figure (the seed: « Le RDV disparait de l'agenda et des statistiques »).
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from motifs.models import Motif
from organisations.models import Organisation
from rdv.dates import add_months
from rendezvous.models import Rdv, displayed_status_condition, displayed_statuses
from usagers.models import UsagerProfile


def months_between(first: dt.date, last: dt.date) -> int:
    """How many months from `first`'s to `last`'s, both included."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


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


def status_counts(organisation: Organisation, now: dt.datetime) -> dict[str, int]:
    """Every RDV of the organisation counted by status, with the total: one query. The seed's
    words: « Indéterminé » reads « À venir » before the start and « À renseigner » once started;
    the keys are the `statut` values of « Tous les RDVs »' filter."""
    return Rdv.objects.for_organisation(organisation).aggregate(
        total=Count("pk"),
        **{key: Count("pk", filter=displayed_status_condition(key, now)) for key in displayed_statuses()},
    )


@dataclass
class Series:
    key: str
    label: str | Promise
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class MonthlyFigures:
    """Counts per month (`months`, in order) for each series; months without any count are 0."""

    months: list[dt.date]
    series: list[Series] = field(default_factory=list)

    @property
    def month_totals(self) -> list[int]:
        return [sum(values) for values in zip(*(s.values for s in self.series), strict=True)] or [0] * len(self.months)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)

    def add(self, key: str, label: str | Promise, by_month: dict[dt.date, int]) -> None:
        self.series.append(Series(key, label, [by_month.get(month, 0) for month in self.months]))


CREATORS: list[tuple[str, Promise]] = [
    (Rdv.CreatedBy.AGENT, _("Agents")),
    (Rdv.CreatedBy.USAGER, _("Usagers")),
    (Rdv.CreatedBy.PRESCRIPTEUR, _("Prescripteurs")),
]


def _month(value: dt.datetime) -> dt.date:
    # TruncMonth(tzinfo=…) answers midnight of the 1st in that time zone.
    return value.date()


def _rdvs_created_in(organisation: Organisation, period: Period):
    start, end = period.bounds(organisation.tzinfo)
    return Rdv.objects.for_organisation(organisation).filter(created_at__gte=start, created_at__lt=end)


def rdvs_created(organisation: Organisation, period: Period) -> tuple[MonthlyFigures, MonthlyFigures]:
    """RDVs created per month, by who created them and by type (Sur place, Par téléphone,
    À domicile): one query."""
    kinds = {f"by_{key}": Q(created_by=key) for key, _label in CREATORS}
    kinds |= {f"type_{key}": Q(motif__location_type=key) for key in Motif.LocationType.values}
    rows = (
        _rdvs_created_in(organisation, period)
        .annotate(month=TruncMonth("created_at", tzinfo=organisation.tzinfo))
        .values("month")
        .annotate(**{name: Count("pk", filter=condition) for name, condition in kinds.items()})
        .order_by("month")
    )
    by_month = {_month(row["month"]): row for row in rows}
    by_creator = MonthlyFigures(period.months)
    for key, label in CREATORS:
        by_creator.add(key, label, {month: row[f"by_{key}"] for month, row in by_month.items()})
    by_type = MonthlyFigures(period.months)
    for key, label in Motif.LocationType.choices:
        by_type.add(key, label, {month: row[f"type_{key}"] for month, row in by_month.items()})
    return by_creator, by_type


def rdvs_created_by_service(organisation: Organisation, period: Period) -> MonthlyFigures:
    """RDVs created per month by the service of their motif: one query. Only the services that
    have RDVs in the period appear, in alphabetical order."""
    rows = (
        _rdvs_created_in(organisation, period)
        .annotate(month=TruncMonth("created_at", tzinfo=organisation.tzinfo))
        .values("month", "motif__service_id", "motif__service__name")
        .annotate(count=Count("pk"))
        .order_by("motif__service__name", "motif__service_id", "month")
    )
    services: dict[int, tuple[str, dict[dt.date, int]]] = {}
    for row in rows:
        name, counts = services.setdefault(row["motif__service_id"], (row["motif__service__name"], {}))
        counts[_month(row["month"])] = row["count"]
    figures = MonthlyFigures(period.months)
    for service_id, (name, counts) in services.items():
        figures.add(f"service_{service_id}", name, counts)
    return figures


def usagers_created(organisation: Organisation, period: Period) -> MonthlyFigures:
    """Usagers created per month in the organisation: the profiles it opened (an usager known to
    two organisations counts once in each, when each met it). One query."""
    start, end = period.bounds(organisation.tzinfo)
    rows = (
        UsagerProfile.objects.filter(organisation=organisation, created_at__gte=start, created_at__lt=end)
        .annotate(month=TruncMonth("created_at", tzinfo=organisation.tzinfo))
        .values("month")
        .annotate(count=Count("pk"))
        .order_by("month")
    )
    figures = MonthlyFigures(period.months)
    figures.add("usagers", _("Usagers"), {_month(row["month"]): row["count"] for row in rows})
    return figures
