"""« Paramètres du territoire »: the sectors of the organisation's territory, their areas and
attributions, the CSV import and « Tester la sectorisation ». Territory administrators only
(`can_manage_territory`); anyone else gets 404, as for every settings page.

The pages live under an organisation of the territory, like every agent page: its side menu, its
time zone, the organisation switcher. `territory` is their address by the territory alone, for an
agent who is elsewhere (in another territory's organisation, a link): it opens them in one of the
agent's organisations of that territory."""

import copy
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.models import Agent
from agents.permissions import can_manage_territory
from motifs.models import Motif
from organisations.middleware import AgentRequest, OrganisationRequest
from organisations.models import Organisation, Territory
from organisations.services import find_address
from sectorisation.communes import resolve_commune
from sectorisation.forms import AreaForm, AttributionForm, ImportForm, SectorForm, TestForm
from sectorisation.imports import (
    MAX_BYTES,
    ImportPlan,
    PreviewOutdated,
    apply_previewed,
    decode,
    plan_import,
    preview_token,
)
from sectorisation.models import Sector, SectorArea, SectorAttribution
from sectorisation.routing import route

View = Callable[..., HttpResponse]


def territory_access_required(view_func: View) -> View:
    @wraps(view_func)
    def wrapper(request: OrganisationRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.membership is None or not can_manage_territory(request.membership):
            raise Http404("Page réservée aux administrateurs du territoire.")
        return view_func(request, *args, **kwargs)

    return wrapper


@require_GET
def territory(request: AgentRequest, territory_id: int) -> HttpResponse:
    """To the territory's settings, in the agent's first organisation (by name) of the territory.
    Its administrators only; anyone else gets 404, as on the settings themselves. An administrator
    who belongs to none of its organisations is told why they cannot open, on its home page."""
    administered = Territory.objects.filter(admin_roles__agent=request.user)
    organisation = (
        Organisation.objects.for_agent(request.user)
        .filter(territory__in=administered.filter(pk=territory_id))
        .order_by("name", "pk")
        .first()
    )
    if organisation is not None:
        return redirect("sectorisation:sectors", organisation_id=organisation.pk)
    territory = get_object_or_404(administered, pk=territory_id)
    messages.warning(
        request,
        _(
            "Vous administrez le territoire %(territory)s, mais vous n'êtes membre d'aucune de ses "
            "organisations : ses paramètres s'ouvrent depuis l'une d'elles. Demandez à l'administrateur "
            "d'une organisation du territoire de vous y inviter."
        )
        % {"territory": territory},
    )
    return redirect("organisations:choose")


def _sectors_url(request: OrganisationRequest) -> str:
    return reverse("sectorisation:sectors", kwargs={"organisation_id": request.organisation.pk})


def _sector_url(request: OrganisationRequest, sector: Sector) -> str:
    return reverse("sectorisation:sector", kwargs={"organisation_id": request.organisation.pk, "pk": sector.pk})


def _sector(request: OrganisationRequest, pk: int) -> Sector:
    return get_object_or_404(
        Sector.objects.filter(territory_id=request.organisation.territory_id).select_related("territory"), pk=pk
    )


@territory_access_required
@require_GET
def sectors(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    territory = request.organisation.territory
    # Explicitly ordered: Meta.ordering does not apply to a query with aggregates.
    rows = (
        Sector.objects.filter(territory=territory)
        .annotate(area_count=Count("areas", distinct=True), attribution_count=Count("attributions", distinct=True))
        .order_by("name", "pk")
    )
    return render(request, "sectorisation/sectors.html", {"territory": territory, "sectors": rows})


@territory_access_required
@require_http_methods(["GET", "POST"])
def sector_create(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    form = SectorForm(request.POST if request.method == "POST" else None, territory=request.organisation.territory)
    if request.method == "POST":
        if form.is_valid():
            sector = form.save()
            messages.success(request, _("Le secteur « %(name)s » a été créé.") % {"name": sector.name})
            return redirect(_sector_url(request, sector))
        return render(request, "sectorisation/sector_form.html", {"form": form}, status=422)
    return render(request, "sectorisation/sector_form.html", {"form": form})


@territory_access_required
@require_http_methods(["GET", "POST"])
def sector(request: OrganisationRequest, organisation_id: int, pk: int) -> HttpResponse:
    """A sector: its name, its areas and attributions, each with a form to add and a button to remove."""
    sector = _sector(request, pk)
    action = request.POST.get("action", "")
    # On a copy: a refused name must not become the page's title.
    name_form = SectorForm(
        request.POST if action == "rename" else None, instance=copy.copy(sector), territory=sector.territory
    )
    area_form = AreaForm(request.POST if action == "add_area" else None, sector=sector)
    attribution_form = AttributionForm(request.POST if action == "add_attribution" else None, sector=sector)
    if request.method == "POST":
        if action == "rename" and name_form.is_valid():
            renamed = name_form.save()
            messages.success(request, _("Le secteur a été renommé « %(name)s ».") % {"name": renamed.name})
            return redirect(_sector_url(request, sector))
        if action == "add_area" and area_form.is_valid():
            area = SectorArea.objects.create(
                sector=sector, commune=area_form.cleaned_data["commune"], street=area_form.cleaned_data["street"]
            )
            messages.success(request, _("« %(area)s » a été ajouté au secteur.") % {"area": area})
            return redirect(_sector_url(request, sector))
        if action == "add_attribution" and attribution_form.is_valid():
            organisation_id_, agent_id = attribution_form.cleaned_data["target"]
            SectorAttribution.objects.create(sector=sector, organisation_id=organisation_id_, agent_id=agent_id)
            messages.success(request, _("L'attribution a été ajoutée."))
            return redirect(_sector_url(request, sector))
        if action not in ("rename", "add_area", "add_attribution"):
            return HttpResponse(_("Action inconnue."), status=400)
    context = {
        "sector": sector,
        "name_form": name_form,
        "area_form": area_form,
        "attribution_form": attribution_form,
        "areas": sector.areas.select_related("commune").order_by("commune__name", "street"),
        "attributions": sector.attributions.select_related("organisation", "agent").order_by(
            "organisation__name", "agent__last_name"
        ),
    }
    return render(request, "sectorisation/sector.html", context, status=422 if request.method == "POST" else 200)


@territory_access_required
@require_POST
def area_delete(request: OrganisationRequest, organisation_id: int, pk: int, area_id: int) -> HttpResponse:
    sector = _sector(request, pk)
    area = get_object_or_404(sector.areas.select_related("commune"), pk=area_id)
    area.delete()
    messages.success(request, _("« %(area)s » a été retiré du secteur.") % {"area": area})
    return redirect(_sector_url(request, sector))


@territory_access_required
@require_POST
def attribution_delete(
    request: OrganisationRequest, organisation_id: int, pk: int, attribution_id: int
) -> HttpResponse:
    sector = _sector(request, pk)
    get_object_or_404(sector.attributions, pk=attribution_id).delete()
    messages.success(request, _("L'attribution a été retirée."))
    return redirect(_sector_url(request, sector))


@territory_access_required
@require_http_methods(["GET", "POST"])
def sector_delete(request: OrganisationRequest, organisation_id: int, pk: int) -> HttpResponse:
    sector = _sector(request, pk)
    if request.method == "POST":
        name = sector.name
        sector.delete()
        messages.success(request, _("Le secteur « %(name)s » a été supprimé.") % {"name": name})
        return redirect(_sectors_url(request))
    return render(request, "sectorisation/sector_delete.html", {"sector": sector})


@territory_access_required
@require_http_methods(["GET", "POST"])
def sector_import(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    """Upload → preview of what will change (or the line-numbered errors) → « Appliquer ». The
    preview carries the file's text back in a hidden field, with the token of what it showed;
    applying plans the text again and writes only if the plan is still the one shown."""
    territory = request.organisation.territory
    if request.method == "POST" and "content" in request.POST:
        return _apply_import(request)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    plan: ImportPlan | None = None
    content = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            # Never more than the import accepts in memory: one byte more says it is too big.
            data = form.cleaned_data["file"].read(MAX_BYTES + 1)
            plan = plan_import(territory, data)
            content = decode(data).replace("\x00", "")
            status = 422 if plan.errors else 200
        else:
            status = 422
    return render(request, "sectorisation/import.html", _import_context(request, form, plan, content), status=status)


def _apply_import(request: OrganisationRequest) -> HttpResponse:
    """« Appliquer ces changements »: the previewed text and the token of what the preview showed."""
    content = request.POST["content"].replace("\x00", "")
    try:
        plan, changed = apply_previewed(
            territory=request.organisation.territory,
            agent=request.user,
            data=content.encode(),
            token=request.POST.get("preview_token", ""),
        )
    except PreviewOutdated as outdated:
        context = _import_context(request, ImportForm(), outdated.plan, content, outdated=True)
        return render(request, "sectorisation/import.html", context, status=409)
    if plan.errors:
        context = _import_context(request, ImportForm(), plan, content)
        return render(request, "sectorisation/import.html", context, status=422)
    messages.success(request, _("Import terminé : %(count)s secteur(s) créé(s) ou modifié(s).") % {"count": changed})
    return redirect(_sectors_url(request))


def _import_context(
    request: OrganisationRequest, form: ImportForm, plan: ImportPlan | None, content: str, outdated: bool = False
) -> dict[str, Any]:
    """`outdated`: the preview the agent applied no longer holds; this one is the new one."""
    token = ""
    if plan is not None and plan.changes:
        token = preview_token(territory=request.organisation.territory, agent=request.user, plan=plan)
    return {"form": form, "plan": plan, "content": content, "preview_token": token, "outdated": outdated}


@territory_access_required
@require_GET
def sector_test(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    """« Tester la sectorisation »: an address or a commune → the sectors it falls in, why, and the
    organisations and agents it reaches for each sectorisation level."""
    territory = request.organisation.territory
    geocoding = bool(settings.GEOCODING_URL)
    form = TestForm(request.GET or None, territory=territory, geocoding=geocoding)
    context: dict[str, Any] = {"form": form, "territory": territory}
    if request.GET and form.is_valid():
        commune, street = form.cleaned_data["commune"], form.cleaned_data["street"]
        if form.cleaned_data.get("address"):
            found = find_address(form.cleaned_data["address"])
            located = resolve_commune(found.citycode) if found else None
            if found and located:
                commune, street = located, found.street
                context["geocoded"] = found.label
            elif commune is None:
                form.add_error("address", _("Adresse introuvable : indiquez la commune."))
                return render(request, "sectorisation/test.html", context, status=422)
            else:
                context["geocoding_failed"] = True
        result = route(commune, street)
        context["route"] = result
        context["levels"] = _levels(result)
    status = 422 if request.GET and form.errors else 200
    return render(request, "sectorisation/test.html", context, status=status)


def _levels(result) -> list[dict[str, Any]]:
    """For each sectorisation level, the organisations and agents reached, with names."""
    organisation_ids = set(result.departement_organisation_ids)
    agent_ids = {agent for sector in result.sectors for agents in sector.agent_ids.values() for agent in agents}
    organisations = {o.pk: o for o in Organisation.objects.filter(pk__in=organisation_ids)}
    agents = {a.pk: a for a in Agent.objects.filter(pk__in=agent_ids)}
    levels = []
    for level, label in Motif.SectorisationLevel.choices:
        reached = sorted(
            (organisations[pk] for pk in result.organisation_ids(level) if pk in organisations), key=lambda o: o.name
        )
        rows = []
        for organisation in reached:
            allowed = result.agent_ids(level, organisation.pk)
            names = None if allowed is None else sorted(agents[pk].full_name for pk in allowed if pk in agents)
            rows.append({"organisation": organisation, "agents": names})
        deciding = [sector.name for sector in result.deciding(level)]
        levels.append({"level": level, "label": label, "rows": rows, "deciding": deciding})
    return levels
