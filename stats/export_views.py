"""The exports of « Vos statistiques globales »: a table as CSV or XLSX, at once; the RDVs of the
period in the background, with a page that follows its progress and offers the file. For the
organisation's administrators; an export's page and file for the agent who asked for it only
(another's, or another organisation's, answers 404)."""

import io
from functools import partial

from django.conf import settings
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from organisations.decorators import settings_access_required
from organisations.middleware import OrganisationRequest
from stats.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, table_rows, write_csv, write_xlsx
from stats.forms import TerritoryStatsForm
from stats.models import RdvExport
from stats.tasks import start_export
from stats.territory_views import territory_charts, territory_organisations, territory_stats_required
from stats.views import ChartBlock, Page, charts, read_form

TABLE_FORMATS = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}


def _table_response(page: Page, blocks: list[ChartBlock], table: str, format: str) -> HttpResponse:
    block = next((b for b in blocks if b.id == table), None)
    if block is None or page.period is None:
        raise Http404(_("Tableau inconnu."))
    out = io.BytesIO()
    if format == "csv":
        write_csv(out, table_rows(block))
    else:
        write_xlsx(out, table_rows(block), title=str(block.title))
    period = page.period
    response = HttpResponse(out.getvalue(), content_type=TABLE_FORMATS[format])
    filename = f"{table}-{period.first_month:%Y-%m}-{period.last_month:%Y-%m}.{format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@settings_access_required
@require_GET
def table_export(request: OrganisationRequest, organisation_id, table: str, format: str):
    """One table of the organisation's page, for the period and filters of the query string."""
    page = read_form(request)
    if page.period is None or format not in TABLE_FORMATS:
        raise Http404(_("Période ou format non valable."))
    return _table_response(page, charts(request.organisation, page.period, page.grain, page.filters), table, format)


@territory_stats_required
@require_GET
def territory_table_export(request: OrganisationRequest, organisation_id, table: str, format: str):
    """One table of the territory's page."""
    organisations = territory_organisations(request)
    page = read_form(request, partial(TerritoryStatsForm, organisations=organisations))
    if page.period is None or format not in TABLE_FORMATS:
        raise Http404(_("Période ou format non valable."))
    blocks = territory_charts(organisations, page.period, page.grain, page.filters)
    return _table_response(page, blocks, table, format)


def _exports(request: OrganisationRequest):
    return RdvExport.objects.filter(organisation=request.organisation, requested_by=request.user)


@settings_access_required
@require_POST
def rdv_export_create(request: OrganisationRequest, organisation_id):
    """Asks for the export of the RDVs of the period and filters of the query string; the names
    of the usagers only when the box is ticked."""
    page = read_form(request)
    format = request.POST.get("format", RdvExport.Format.CSV)
    if page.period is None or format not in RdvExport.Format.values:
        raise Http404(_("Période ou format non valable."))
    with transaction.atomic():
        export = RdvExport.objects.create(
            organisation=request.organisation,
            requested_by=request.user,
            first_month=page.period.first_month,
            last_month=page.period.last_month,
            filters=page.filters.query(),
            with_usagers=request.POST.get("usagers") == "oui",
            format=format,
        )
        transaction.on_commit(partial(start_export, export.pk))
    return redirect("stats:rdv_export", organisation_id=request.organisation.pk, pk=export.pk)


def _export_page(request: OrganisationRequest, export: RdvExport, *, status: int = 200) -> HttpResponse:
    context = {
        "export": export,
        "finished": export.state in (RdvExport.State.DONE, RdvExport.State.FAILED),
        "expired": export.is_expired(timezone.now()),
        "retention_days": settings.STATS_EXPORT_RETENTION_DAYS,
        "page_url": reverse("stats:rdv_export", kwargs={"organisation_id": request.organisation.pk, "pk": export.pk}),
        "stats_url": reverse("stats:organisation", kwargs={"organisation_id": request.organisation.pk}),
    }
    if request.headers.get("HX-Request"):
        return render(request, "stats/_export_status.html", context, status=status)
    return render(request, "stats/export.html", context, status=status)


@settings_access_required
@require_GET
def rdv_export_detail(request: OrganisationRequest, organisation_id, pk):
    return _export_page(request, get_object_or_404(_exports(request), pk=pk))


@settings_access_required
@require_GET
def rdv_export_download(request: OrganisationRequest, organisation_id, pk):
    """The file, streamed from the `exports` storage (stats.storage), until its export expires:
    past that (and until stats.retention deletes the row) the export's page, in 410."""
    export = get_object_or_404(_exports(request).filter(state=RdvExport.State.DONE), pk=pk)
    if export.is_expired(timezone.now()):
        return _export_page(request, export, status=410)
    storage = export.file.storage
    try:
        # exists() first: an object storage's file opens lazily, and would fail mid-response.
        if not export.file.name or not storage.exists(export.file.name):
            raise FileNotFoundError(export.file.name)
        file = storage.open(export.file.name, "rb")
    except OSError:
        # Not in the storage (deleted, or written where this server cannot read: a worker on
        # another machine without a shared storage): the export's page says so and offers a new
        # one, rather than an error page.
        RdvExport.objects.filter(pk=export.pk, state=RdvExport.State.DONE).update(
            state=RdvExport.State.FAILED, error=_("Le fichier de cet export n'est plus disponible : relancez l'export.")
        )
        return redirect("stats:rdv_export", organisation_id=organisation_id, pk=export.pk)
    response = FileResponse(file, as_attachment=True, filename=export.file.name.rsplit("/", 1)[-1])
    # Usagers' data: no copy in a browser's or a proxy's cache.
    response["Cache-Control"] = "no-store"
    return response
