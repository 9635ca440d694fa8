"""« Vos statistiques globales »: the organisation's RDVs by status, and month by month the RDVs
created (by whom, of which type, for which service) and the usagers created. For the
organisation's administrators, like the other settings pages (404 for anyone else)."""

from dataclasses import dataclass

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from organisations.decorators import settings_access_required
from organisations.middleware import OrganisationRequest
from stats.charts import BarChart, bar_chart, month_abbreviation, month_label
from stats.figures import MonthlyFigures, Period, rdvs_created, rdvs_created_by_service, status_counts, usagers_created
from stats.forms import DEFAULT_MONTHS, PeriodForm


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
    figures: MonthlyFigures
    chart: BarChart | None

    dimension: str | Promise = ""

    @property
    def month_headers(self) -> list[dict]:
        return [
            {"short": month_abbreviation(month), "year": month.year, "long": month_label(month)}
            for month in self.figures.months
        ]


def _tiles(tiles: list[StatusTile], counts: dict[str, int], list_url: str) -> list[dict]:
    return [
        {"tile": tile, "count": counts[tile.key], "url": f"{list_url}?{urlencode({'statut': tile.key})}"}
        for tile in tiles
    ]


def _block(id_: str, title, description, caption, dimension, figures: MonthlyFigures) -> ChartBlock:
    chart = bar_chart(figures) if figures.total else None
    return ChartBlock(id_, title, description, caption, figures, chart, dimension)


def _charts(organisation, period: Period) -> list[ChartBlock]:
    """Four queries, whatever the period and the number of RDVs."""
    by_creator, by_type = rdvs_created(organisation, period)
    return [
        _block(
            "rdvs-crees",
            _("RDV créés"),
            _("Par les agents, par les usagers en ligne ou par les prescripteurs, selon le mois de leur création."),
            _("RDV créés par mois, selon qui les a créés"),
            _("Créés par"),
            by_creator,
        ),
        _block(
            "rdvs-par-type",
            _("RDV créés par type"),
            _("Sur place, par téléphone ou à domicile, selon le type de leur motif."),
            _("RDV créés par mois, selon leur type"),
            _("Type"),
            by_type,
        ),
        _block(
            "rdvs-par-service",
            _("RDV créés par service"),
            _("Selon le service de leur motif."),
            _("RDV créés par mois, selon le service"),
            _("Service"),
            rdvs_created_by_service(organisation, period),
        ),
        _block(
            "usagers-crees",
            _("Usagers créés"),
            _("Usagers ajoutés à l'organisation, par un agent ou lors d'une prise de RDV en ligne."),
            _("Usagers créés par mois"),
            "",
            usagers_created(organisation, period),
        ),
    ]


@settings_access_required
@require_GET
def organisation_stats(request: OrganisationRequest, organisation_id):
    organisation = request.organisation
    now = timezone.now()
    today = timezone.localdate(now, organisation.tzinfo)
    default = Period.last_months(DEFAULT_MONTHS, today)
    if request.GET.get("debut") is not None or request.GET.get("fin") is not None:
        form = PeriodForm(request.GET, today=today)
        period = form.period
    else:
        form = PeriodForm(today=today, initial={"debut": default.first_month, "fin": default.last_month})
        period = default
    counts = status_counts(organisation, now)
    list_url = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    period_label = ""
    if period:
        period_label = _("de %(first)s à %(last)s") % {
            "first": month_label(period.first_month),
            "last": month_label(period.last_month),
        }
    return render(
        request,
        "stats/organisation.html",
        {
            "form": form,
            "period_label": period_label,
            "total": counts["total"],
            "total_url": list_url,
            "main_tiles": _tiles(MAIN_TILES, counts, list_url),
            "other_tiles": _tiles(OTHER_TILES, counts, list_url),
            "charts": _charts(organisation, period) if period else [],
        },
        status=200 if period else 422,
    )
