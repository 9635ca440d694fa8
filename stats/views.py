"""« Vos statistiques globales »: the organisation's RDVs by status, and bar by bar (month,
quarter or year) the RDVs created (by whom, of which type, for which service) and the usagers
created, over any period up to 5 years, narrowed to a service, a lieu, a motif or an agent. For
the organisation's administrators, like the other settings pages (404 for anyone else).

Everything is read from the summary (stats/figures.py): the page makes the same queries for an
organisation of 50 RDVs and one of 500 000."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from organisations.decorators import settings_access_required
from organisations.middleware import OrganisationRequest
from rendezvous.forms import RdvFilterForm
from stats.charts import BarChart, bar_chart, number_cells
from stats.figures import Figures, Filters, Series, rdvs_created, status_counts, usagers_created
from stats.forms import DEFAULT_MONTHS, PeriodForm, StatsForm
from stats.periods import Grain, Period, month_label

FORM_FIELDS = ("debut", "fin", "par", "service", "lieu", "motif", "agent")


@dataclass(frozen=True)
class StatusTile:
    key: str  # a `statut` value of « Tous les RDVs »' filter
    label: str | Promise
    description: str | Promise
    status: str  # for the colour, as the status badges


# The seed's five counters, then the two statuses it does not name, so that the counts add up.
MAIN_TILES = [
    StatusTile(
        "a_renseigner",
        _("À renseigner"),
        _("RDV passés sans statut : balayez-les et attribuez-leur le statut correct."),
        "unknown",
    ),
    StatusTile("seen", _("Vus"), _("RDV qui se sont déroulés, l'usager était présent."), "seen"),
    StatusTile("a_venir", _("À venir"), _("RDV qui n'ont pas encore commencé."), "upcoming"),
    StatusTile("excused", _("Excusés"), _("RDV annulés par l'usager ou l'agent."), "excused"),
    StatusTile("noshow", _("Non-excusés"), _("Lapins posés par les usagers."), "noshow"),
]
OTHER_TILES = [
    StatusTile(
        "waiting", _("En salle d'attente"), _("L'usager est arrivé, le RDV n'est pas encore « Vu »."), "waiting"
    ),
    StatusTile("revoked", _("Annulés par le service"), _("RDV annulés à l'initiative du service."), "revoked"),
]


@dataclass
class ChartBlock:
    id: str
    title: str | Promise
    description: str | Promise
    caption: str | Promise
    figures: Figures
    chart: BarChart | None

    dimension: str | Promise = ""

    @property
    def headers(self) -> list[dict]:
        return [
            {"short": bucket.short, "year": "" if bucket.grain == Grain.YEAR else bucket.year, "long": bucket.long}
            for bucket in self.figures.buckets
        ]

    @property
    def rows(self) -> list[tuple[Series, str]]:
        """Each series with the cells of its table row."""
        return [(series, number_cells(series.values)) for series in self.figures.series]

    @property
    def total_cells(self) -> str:
        return number_cells(self.figures.bucket_totals, strong=True)

    @property
    def partial_buckets(self) -> str:
        """The bars that hold only part of their quarter or year, in words."""
        return ", ".join(bucket.long for bucket in self.figures.buckets if bucket.partial)


def _tiles(tiles: list[StatusTile], counts: dict[str, int], list_url: str, filters: Filters) -> list[dict]:
    return [
        {
            "tile": tile,
            "count": counts[tile.key],
            "url": f"{list_url}?{query_string(statut=tile.key, **filters.query(), periode=RdvFilterForm.ALL)}",
        }
        for tile in tiles
    ]


def query_string(**values) -> str:
    return urlencode(values)


def chart_block(id_: str, title, description, caption, dimension, figures: Figures) -> ChartBlock:
    chart = bar_chart(figures) if figures.total else None
    return ChartBlock(id_, title, description, caption, figures, chart, dimension)


BAR_WORDS = {
    Grain.MONTH: _("par mois"),
    Grain.QUARTER: _("par trimestre"),
    Grain.YEAR: _("par année"),
}


def charts(organisation, period: Period, grain: Grain, filters: Filters) -> list[ChartBlock]:
    """Two queries, whatever the period and the number of RDVs."""
    created = rdvs_created(organisation, period, grain, filters)
    per = BAR_WORDS[grain]
    usagers_description = _("Usagers ajoutés à l'organisation, par un agent ou lors d'une prise de RDV en ligne.")
    if filters:
        usagers_description = _(
            "Usagers ajoutés à l'organisation, par un agent ou lors d'une prise de RDV en ligne "
            "(toute l'organisation : les filtres ne s'y appliquent pas)."
        )
    return [
        chart_block(
            "rdvs-crees",
            _("RDV créés"),
            _("Par les agents, par les usagers en ligne ou par les prescripteurs, selon la date de leur création."),
            _("RDV créés %(per)s, selon qui les a créés") % {"per": per},
            _("Créés par"),
            created.by_creator,
        ),
        chart_block(
            "rdvs-par-type",
            _("RDV créés par type"),
            _("Sur place, par téléphone ou à domicile, selon le type de leur motif."),
            _("RDV créés %(per)s, selon leur type") % {"per": per},
            _("Type"),
            created.by_type,
        ),
        chart_block(
            "rdvs-par-service",
            _("RDV créés par service"),
            _("Selon le service de leur motif."),
            _("RDV créés %(per)s, selon le service") % {"per": per},
            _("Service"),
            created.by_service,
        ),
        chart_block(
            "usagers-crees",
            _("Usagers créés"),
            usagers_description,
            _("Usagers créés %(per)s") % {"per": per},
            "",
            usagers_created(organisation, period, grain),
        ),
    ]


@dataclass
class Page:
    form: PeriodForm
    period: Period | None
    grain: Grain
    filters: Filters


def read_form(request: OrganisationRequest, make_form: Callable[..., PeriodForm] | None = None) -> Page:
    """The period, bars and filters the query string asks for (the last 12 months by month, no
    filter, without one). `make_form(data, today=…, initial=…)`: the organisation's by default."""
    organisation = request.organisation
    make_form = make_form or partial(StatsForm, organisation=organisation)
    today = timezone.localdate(timezone.now(), organisation.tzinfo)
    if any(request.GET.get(name) is not None for name in FORM_FIELDS):
        form = make_form(request.GET, today=today)
        period = form.period
        return Page(form, period, form.grain if period else Grain.MONTH, form.filters)
    default = Period.last_months(DEFAULT_MONTHS, today)
    form = make_form(today=today, initial={"debut": default.first_month, "fin": default.last_month})
    return Page(form, default, Grain.MONTH, Filters())


def page_query(page: Page) -> dict[str, str | int]:
    """The query string of the page as shown: for its exports' links."""
    if not page.period:
        return {}
    return {
        "debut": f"{page.period.first_month:%Y-%m}",
        "fin": f"{page.period.last_month:%Y-%m}",
        "par": page.grain.value,
        **page.filters.query(),
    }


@settings_access_required
@require_GET
def organisation_stats(request: OrganisationRequest, organisation_id):
    organisation = request.organisation
    page = read_form(request)
    counts = status_counts(organisation, timezone.now(), page.filters)
    list_url = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    period_label = ""
    if page.period:
        period_label = _("de %(first)s à %(last)s") % {
            "first": month_label(page.period.first_month),
            "last": month_label(page.period.last_month),
        }
    query = page_query(page)
    return render(
        request,
        "stats/organisation.html",
        {
            "form": page.form,
            "period_label": period_label,
            "filtered": bool(page.filters),
            "total": counts["total"],
            # Every time, as the counters count: the list would otherwise open on the coming days.
            "total_url": f"{list_url}?{query_string(**page.filters.query(), periode=RdvFilterForm.ALL)}",
            "main_tiles": _tiles(MAIN_TILES, counts, list_url, page.filters),
            "other_tiles": _tiles(OTHER_TILES, counts, list_url, page.filters),
            "charts": charts(organisation, page.period, page.grain, page.filters) if page.period else [],
            "page_query": query_string(**query),
            "table_export_name": "stats:table_export",
            "territory_url": reverse("stats:territory", kwargs={"organisation_id": organisation.pk})
            if request.membership.administers_territory
            else "",
            "export_url": reverse("stats:rdv_export_create", kwargs={"organisation_id": organisation.pk}, query=query),
        },
        status=200 if page.period else 422,
    )
