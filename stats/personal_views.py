"""« Vos statistiques »: every agent's figures, limited to the RDVs it may see (stats/personal.py).

« Mes statistiques », the RDVs it takes part in: their statuses, each count a link to those
RDVs in « Tous les RDVs », and the charts of the ones created over a period. Then « Les agendas
que vous consultez »: one line per agent whose agenda it may open, by status. The organisation's
administrators find « Vos statistiques globales » from there. A fixed number of queries, whatever
the number of RDVs: the agents, the agent's counts, the agents' counts, one chart query (and the
organisation's line for those who open every agenda)."""

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from agents.permissions import agents_with_visible_agenda, can_access_all_agendas, can_manage_settings
from organisations.middleware import OrganisationRequest
from rendezvous.forms import RdvFilterForm
from rendezvous.models import TO_FILL
from stats.figures import Filters, rdvs_created, status_counts
from stats.forms import PersonalStatsForm
from stats.periods import month_label
from stats.personal import status_counts_by_agent
from stats.views import BAR_WORDS, MAIN_TILES, OTHER_TILES, _tiles, chart_block, query_string, read_form

# The columns of the agents' table, in the order of the tiles.
COLUMNS = [*MAIN_TILES, *OTHER_TILES]


def _row(label, counts: dict[str, int], list_url: str, **filters) -> dict:
    return {
        "label": label,
        "cells": [
            {"count": counts[tile.key], "url": f"{list_url}?{query_string(**filters, statut=tile.key)}", "tile": tile}
            for tile in COLUMNS
        ],
        "total": counts["total"],
        # « Tous les RDVs » opens on the coming days: a total is every time's.
        "total_url": f"{list_url}?{query_string(**filters, periode=RdvFilterForm.ALL)}",
    }


def _my_charts(organisation, page, filters: Filters) -> list:
    created = rdvs_created(organisation, page.period, page.grain, filters)
    per = BAR_WORDS[page.grain]
    return [
        chart_block(
            "mes-rdvs-crees",
            _("Mes RDV créés"),
            _("Les RDV auxquels vous participez, selon la date de leur création et qui les a créés."),
            _("Mes RDV créés %(per)s, selon qui les a créés") % {"per": per},
            _("Créés par"),
            created.by_creator,
        ),
        chart_block(
            "mes-rdvs-par-type",
            _("Mes RDV créés par type"),
            _("Sur place, par téléphone ou à domicile, selon le type de leur motif."),
            _("Mes RDV créés %(per)s, selon leur type") % {"per": per},
            _("Type"),
            created.by_type,
        ),
    ]


@require_GET
def my_stats(request: OrganisationRequest, organisation_id):
    membership = request.membership
    organisation, agent = membership.organisation, membership.agent
    now = timezone.now()
    page = read_form(request, PersonalStatsForm)
    list_url = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    mine = Filters(agent_id=agent.pk)
    my_counts = status_counts(organisation, now, mine)
    agents = list(agents_with_visible_agenda(membership).order_by("last_name", "first_name", "pk"))
    by_agent = status_counts_by_agent(organisation, [a.pk for a in agents], now)
    rows = [_row(a.full_name, by_agent[a.pk], list_url, agent=a.pk) for a in agents]
    everything = None
    if can_access_all_agendas(membership):
        everything = _row(_("Toute l'organisation"), status_counts(organisation, now), list_url)
    period_label = ""
    if page.period:
        period_label = _("de %(first)s à %(last)s") % {
            "first": month_label(page.period.first_month),
            "last": month_label(page.period.last_month),
        }
    return render(
        request,
        "stats/personal.html",
        {
            "form": page.form,
            "period_label": period_label,
            "my_total": my_counts["total"],
            "my_total_url": f"{list_url}?{query_string(**mine.query(), periode=RdvFilterForm.ALL)}",
            "my_to_fill": my_counts[TO_FILL],
            "main_tiles": _tiles(MAIN_TILES, my_counts, list_url, mine),
            "other_tiles": _tiles(OTHER_TILES, my_counts, list_url, mine),
            "charts": _my_charts(organisation, page, mine) if page.period else [],
            "columns": COLUMNS,
            "rows": rows,
            "everything": everything,
            "shares_rdvs": len(rows) > 1,
            "global_url": reverse("stats:organisation", kwargs={"organisation_id": organisation.pk})
            if can_manage_settings(membership)
            else "",
            "table_export_name": "",
            "page_query": "",
        },
        status=200 if page.period else 422,
    )
