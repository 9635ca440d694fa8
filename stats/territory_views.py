"""« Statistiques du territoire »: for a territory administrator, the figures of every
organisation of the département, added up and side by side (a table per organisation), read
from the same summary as each organisation's page, in the same number of queries whatever the
number of organisations. Filter: the service. Anyone else gets 404."""

from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from agents.permissions import can_manage_territory
from organisations.middleware import OrganisationRequest
from organisations.models import Organisation
from stats.figures import Filters, rdvs_created, status_counts_by_organisation, usagers_created
from stats.forms import TerritoryStatsForm
from stats.periods import Grain, Period, month_label
from stats.views import BAR_WORDS, MAIN_TILES, OTHER_TILES, ChartBlock, chart_block, page_query, query_string, read_form

View = Callable[..., HttpResponse]


def territory_stats_required(view_func: View) -> View:
    @wraps(view_func)
    def wrapper(request: OrganisationRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.membership is None or not can_manage_territory(request.membership):
            raise Http404("Page réservée aux administrateurs du territoire.")
        return view_func(request, *args, **kwargs)

    return wrapper


def territory_organisations(request: OrganisationRequest) -> list[Organisation]:
    return list(
        Organisation.objects.filter(territory_id=request.organisation.territory_id)
        .select_related("territory")
        .order_by("name", "pk")
    )


def territory_charts(
    organisations: list[Organisation], period: Period, grain: Grain, filters: Filters
) -> list[ChartBlock]:
    """Two queries, whatever the period, the number of organisations and of RDVs."""
    created = rdvs_created(organisations, period, grain, filters)
    per = BAR_WORDS[grain]
    return [
        chart_block(
            "rdvs-par-organisation",
            _("RDV créés par organisation"),
            _("Les RDV créés dans chaque organisation du territoire, selon la date de leur création."),
            _("RDV créés %(per)s, par organisation") % {"per": per},
            _("Organisation"),
            created.by_organisation,
        ),
        chart_block(
            "rdvs-crees",
            _("RDV créés"),
            _("Par les agents, par les usagers en ligne ou par les prescripteurs, dans tout le territoire."),
            _("RDV créés %(per)s, selon qui les a créés") % {"per": per},
            _("Créés par"),
            created.by_creator,
        ),
        chart_block(
            "rdvs-par-type",
            _("RDV créés par type"),
            _("Sur place, par téléphone ou à domicile, dans tout le territoire."),
            _("RDV créés %(per)s, selon leur type") % {"per": per},
            _("Type"),
            created.by_type,
        ),
        chart_block(
            "rdvs-par-service",
            _("RDV créés par service"),
            _("Selon le service de leur motif, dans tout le territoire."),
            _("RDV créés %(per)s, selon le service") % {"per": per},
            _("Service"),
            created.by_service,
        ),
        chart_block(
            "usagers-crees",
            _("Usagers créés"),
            _("Usagers ajoutés aux organisations du territoire (les filtres ne s'y appliquent pas)."),
            _("Usagers créés %(per)s") % {"per": per},
            "",
            usagers_created(organisations, period, grain),
        ),
    ]


STATUS_COLUMNS = [*MAIN_TILES, *OTHER_TILES]


@territory_stats_required
@require_GET
def territory_stats(request: OrganisationRequest, organisation_id):
    organisations = territory_organisations(request)
    page = read_form(request, partial(TerritoryStatsForm, organisations=organisations))
    by_organisation = status_counts_by_organisation(organisations, timezone.now(), page.filters)
    keys = ["total", *(tile.key for tile in STATUS_COLUMNS)]
    totals = {key: sum(counts[key] for counts in by_organisation.values()) for key in keys}
    period_label = ""
    if page.period:
        period_label = _("de %(first)s à %(last)s") % {
            "first": month_label(page.period.first_month),
            "last": month_label(page.period.last_month),
        }
    return render(
        request,
        "stats/territory.html",
        {
            "territory": request.organisation.territory,
            "form": page.form,
            "period_label": period_label,
            "filtered": bool(page.filters),
            "status_columns": STATUS_COLUMNS,
            "status_rows": [
                (organisation.name, [by_organisation[organisation.pk][key] for key in keys])
                for organisation in organisations
            ],
            "status_totals": [totals[key] for key in keys],
            "charts": territory_charts(organisations, page.period, page.grain, page.filters) if page.period else [],
            "page_query": query_string(**page_query(page)),
            "table_export_name": "stats:territory_table_export",
        },
        status=200 if page.period else 422,
    )
