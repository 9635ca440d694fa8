"""The figures of « Vos statistiques globales », read from the summary (stats/models.py).

Each block is one query over the summary's rows, never over the RDVs: a 5-year page reads a few
thousand rows, whatever the organisation's history. The rows are those of every RDV (`agent`
NULL) or, with the agent filter, those of that agent; the service and the type are read from
the RDV's motif, now, as a direct count would. A deleted RDV is gone from the summary, hence
from every figure (the seed: « Le RDV disparait de l'agenda et des statistiques »).
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from motifs.models import Motif
from organisations.models import Organisation
from rendezvous.models import TO_COME, TO_FILL, Rdv, RdvQuerySet
from stats.models import RdvMonthCount, RdvStatusCount, RdvUnknownDayCount, UsagerMonthCount
from stats.periods import Bucket, Grain, Period


@dataclass(frozen=True)
class Filters:
    """What the page narrows the figures to (ids of the organisation's rows; None: all)."""

    service_id: int | None = None
    lieu_id: int | None = None
    motif_id: int | None = None
    agent_id: int | None = None

    def __bool__(self) -> bool:
        return any((self.service_id, self.lieu_id, self.motif_id, self.agent_id))

    def query(self) -> dict[str, int]:
        """The same filters as « Tous les RDVs » names them."""
        names = {"service": self.service_id, "lieu": self.lieu_id, "motif": self.motif_id, "agent": self.agent_id}
        return {name: value for name, value in names.items() if value}


Organisations = Organisation | Sequence[Organisation]


def _ids(organisations: Organisations) -> list[int]:
    return [organisations.pk] if isinstance(organisations, Organisation) else [o.pk for o in organisations]


def _scoped(queryset: QuerySet, organisations: Organisations, filters: Filters) -> QuerySet:
    """Summary rows of the organisations: the agent's if filtered on one, else every RDV's."""
    queryset = queryset.filter(organisation_id__in=_ids(organisations))
    queryset = queryset.filter(agent_id=filters.agent_id) if filters.agent_id else queryset.filter(agent__isnull=True)
    if filters.service_id:
        queryset = queryset.filter(motif__service_id=filters.service_id)
    if filters.motif_id:
        queryset = queryset.filter(motif_id=filters.motif_id)
    if filters.lieu_id:
        queryset = queryset.filter(lieu_id=filters.lieu_id)
    return queryset


def rdvs_for(organisations: Organisations, filters: Filters) -> RdvQuerySet:
    """The same RDVs, directly (for the few the summary cannot answer: today's)."""
    rdvs = Rdv.objects.filter(organisation_id__in=_ids(organisations))
    if filters.agent_id:
        rdvs = rdvs.filter(agents=filters.agent_id)
    if filters.service_id:
        rdvs = rdvs.filter(motif__service_id=filters.service_id)
    if filters.motif_id:
        rdvs = rdvs.filter(motif_id=filters.motif_id)
    if filters.lieu_id:
        rdvs = rdvs.filter(lieu_id=filters.lieu_id)
    return rdvs


def status_counts(organisation: Organisation, now: dt.datetime, filters: Filters = Filters()) -> dict[str, int]:
    """Every RDV of the organisation (within the filters) counted by what it reads at `now`,
    with the total: one query (`status_counts_by_organisation`)."""
    return status_counts_by_organisation([organisation], now, filters)[organisation.pk]


def status_counts_by_organisation(
    organisations: Sequence[Organisation], now: dt.datetime, filters: Filters = Filters()
) -> dict[int, dict[str, int]]:
    """Every RDV of each organisation (within the filters) counted by what it reads at `now`,
    with the total: one query. The seed's words: « Indéterminé » reads « À venir » before the
    start and « À renseigner » once started; the keys are the `statut` values of « Tous les
    RDVs »' filter. « À venir » are the RDVs of the days after today (the summary's days) and
    those of today not started yet (counted directly: a day of RDVs at most), « today » in each
    organisation's time zone."""
    later_days, today_rdvs = Q(), Q()
    for organisation in organisations:
        tomorrow = timezone.localdate(now, organisation.tzinfo) + dt.timedelta(days=1)
        later_days |= Q(organisation_id=organisation.pk, day__gte=tomorrow)
        today_rdvs |= Q(
            organisation_id=organisation.pk,
            starts_at__lt=dt.datetime.combine(tomorrow, dt.time.min, tzinfo=organisation.tzinfo),
        )
    by_status = (
        _scoped(RdvStatusCount.objects.all(), organisations, filters)
        .values("organisation_id", "status")
        .annotate(n=Sum("count"))
    )
    later = (
        _scoped(RdvUnknownDayCount.objects.all(), organisations, filters)
        .filter(later_days)
        .annotate(key=Value("later"))
        .values("organisation_id", "key")
        .annotate(n=Sum("count"))
    )
    today = (
        rdvs_for(organisations, filters)
        .filter(today_rdvs, status=Rdv.Status.UNKNOWN, starts_at__gte=now)
        .annotate(key=Value("today"))
        .values("organisation_id", "key")
        .annotate(n=Count("pk", output_field=IntegerField()))
    )
    counts = {o.pk: dict.fromkeys(Rdv.Status.values, 0) | {"later": 0, "today": 0} for o in organisations}
    rows = by_status.order_by().union(later.order_by(), today.order_by(), all=True)
    for organisation_id, key, n in rows.values_list("organisation_id", "status", "n"):
        counts[organisation_id][key] += n or 0
    return {organisation_id: _displayed(values) for organisation_id, values in counts.items()}


def _displayed(counts: dict[str, int]) -> dict[str, int]:
    to_come = counts.pop("later") + counts.pop("today")
    unknown = counts.pop(Rdv.Status.UNKNOWN)
    return {"total": sum(counts.values()) + unknown, TO_COME: to_come, TO_FILL: unknown - to_come, **counts}


@dataclass
class Series:
    key: str
    label: str | Promise
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass
class Figures:
    """Counts per bar (`buckets`, in order) for each series; bars without any count are 0."""

    buckets: list[Bucket]
    series: list[Series] = field(default_factory=list)

    @property
    def bucket_totals(self) -> list[int]:
        return [sum(values) for values in zip(*(s.values for s in self.series), strict=True)] or [0] * len(self.buckets)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.series)

    def add(self, key: str, label: str | Promise, by_month: dict[dt.date, int]) -> None:
        """A series from counts per month (the 1st): each bar adds up its months."""
        values = [0] * len(self.buckets)
        index = {month: position for position, bucket in enumerate(self.buckets) for month in _months(bucket)}
        for month, count in by_month.items():
            if month in index:
                values[index[month]] += count
        self.series.append(Series(key, label, values))


def _months(bucket: Bucket) -> list[dt.date]:
    return Period(bucket.first, bucket.last).months


CREATORS: list[tuple[str, Promise]] = [
    (Rdv.CreatedBy.AGENT, _("Agents")),
    (Rdv.CreatedBy.USAGER, _("Usagers")),
    (Rdv.CreatedBy.PRESCRIPTEUR, _("Prescripteurs")),
]


@dataclass
class CreatedFigures:
    by_creator: Figures
    by_type: Figures
    by_service: Figures
    by_organisation: Figures


ROW = ("organisation_id", "month", "created_by", "motif__location_type", "motif__service_id", "motif__service__name")


def rdvs_created(
    organisations: Organisations, period: Period, grain: Grain, filters: Filters = Filters()
) -> CreatedFigures:
    """RDVs created per bar by who created them, by type (Sur place, Par téléphone, À domicile),
    by the service of their motif and by organisation: one query over the period's summary rows.
    Only the services that have RDVs in the period appear, in alphabetical order; the
    organisations all appear, in the order given."""
    rows = (
        _scoped(RdvMonthCount.objects.all(), organisations, filters)
        .filter(month__gte=period.first_month, month__lte=period.last_month)
        .values(*ROW)
        .annotate(n=Sum("count"))
        .exclude(n=0)  # a figure's stripes that add up to nothing (stats.models)
        .values_list(*ROW, "n")
        .order_by()
    )
    creators: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    types: dict[str, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    services: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    places: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[int, str] = {}
    for organisation_id, month, created_by, location_type, service_id, service_name, n in rows:
        creators[created_by][month] += n
        types[location_type][month] += n
        services[service_id][month] += n
        places[organisation_id][month] += n
        names[service_id] = service_name
    buckets = period.buckets(grain)
    result = CreatedFigures(Figures(buckets), Figures(buckets), Figures(buckets), Figures(buckets))
    for key, label in CREATORS:
        result.by_creator.add(key, label, creators[key])
    for key, label in Motif.LocationType.choices:
        result.by_type.add(key, label, types[key])
    for service_id in sorted(names, key=lambda pk: (names[pk], pk)):
        result.by_service.add(f"service_{service_id}", names[service_id], services[service_id])
    for organisation in [organisations] if isinstance(organisations, Organisation) else organisations:
        result.by_organisation.add(f"organisation_{organisation.pk}", organisation.name, places[organisation.pk])
    return result


def usagers_created(organisations: Organisations, period: Period, grain: Grain) -> Figures:
    """Usagers created per bar in the organisations: the profiles they opened (an usager known
    to two organisations counts once in each, when each met it). One query."""
    rows = (
        UsagerMonthCount.objects.filter(
            organisation_id__in=_ids(organisations), month__gte=period.first_month, month__lte=period.last_month
        )
        .values("month")
        .annotate(n=Sum("count"))
        .exclude(n=0)
        .values_list("month", "n")
        .order_by()
    )
    figures = Figures(period.buckets(grain))
    figures.add("usagers", _("Usagers"), dict(rows))
    return figures
