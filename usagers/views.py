from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from agents.models import Agent
from organisations.middleware import OrganisationRequest
from rdv.redirects import local_url
from rendezvous.fiche import usager_rdv_counts, usager_rdv_lines
from usagers.forms import ProcheForm, UsagerForm
from usagers.history import usager_history
from usagers.models import Usager, UsagerProfile
from usagers.permissions import access_usager, usagers_visible_to, with_visible_responsible
from usagers.services import create_proche, create_usager, remove_usager_from_organisation, update_usager

PAGE_SIZE = 50
LIVE_RESULTS = 8
RECENT_HISTORY = 5
MAX_QUERY_LENGTH = 100


def _query(request: OrganisationRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]


def _with_org_referents(usagers, organisation) -> None:
    """Attaches `org_referents`, its référents in `organisation`, to each usager: two queries for
    a whole page."""
    prefetch_related_objects(
        usagers,
        Prefetch(
            "profiles",
            queryset=UsagerProfile.objects.filter(organisation=organisation).prefetch_related(
                Prefetch("referents", queryset=Agent.objects.order_by("last_name", "first_name"))
            ),
            to_attr="org_profiles",
        ),
    )
    for usager in usagers:
        usager.org_referents = list(usager.org_profiles[0].referents.all()) if usager.org_profiles else []


@require_GET
def usager_list(request: OrganisationRequest, organisation_id):
    """« Vos usagers »: the organisation's base, in alphabetical order, searched with `q`
    (the header's search bar sends it here) and narrowed to « mes usagers » on demand."""
    membership = request.membership
    query = _query(request)
    mine = request.GET.get("mes_usagers") == "1"
    usagers = usagers_visible_to(membership)
    if mine:
        usagers = usagers.followed_by(membership.agent, membership.organisation)
    usagers = with_visible_responsible(usagers.search(query) if query else usagers.alphabetical(), membership)
    page = Paginator(usagers, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    _with_org_referents(page.object_list, membership.organisation)
    return render(
        request,
        "usagers/list.html",
        {
            "page": page,
            "query": query,
            "mine": mine,
            "filters": urlencode({k: v for k, v in (("q", query), ("mes_usagers", "1" if mine else "")) if v})
            + ("&" if query or mine else ""),
            "organisation": membership.organisation,
        },
    )


@require_GET
def usager_search(request: OrganisationRequest, organisation_id):
    """Live results under the header's search bar (htmx): the first matches, responsibles and
    proches alike, and a link to all of them."""
    query = _query(request)
    usagers = []
    if len(query) >= 2:
        usagers = list(
            with_visible_responsible(usagers_visible_to(request.membership).search(query), request.membership)[
                : LIVE_RESULTS + 1
            ]
        )
    return render(
        request,
        "usagers/includes/live_results.html",
        {
            "usagers": usagers[:LIVE_RESULTS],
            "more": len(usagers) > LIVE_RESULTS,
            "query": query,
            "organisation": request.membership.organisation,
        },
    )


def _duplicates(membership, form, exclude_pk=None) -> list[Usager]:
    data = form.cleaned_data
    duplicates = usagers_visible_to(membership).likely_duplicates_of(
        first_name=data["first_name"],
        last_name=data["last_name"],
        birth_date=data.get("birth_date"),
        email=data.get("email", ""),
        phone=data.get("phone", ""),
    )
    if exclude_pk:
        duplicates = duplicates.exclude(pk=exclude_pk)
    return list(with_visible_responsible(duplicates.alphabetical(), membership)[:5])


def _next_url(request: OrganisationRequest) -> str:
    """Where « Créer un usager » goes back to (the RDV being posed), if the link gave a page of
    this site: never another site (open redirect), never an address that does not resolve."""
    return local_url(request, request.POST.get("next") or request.GET.get("next"))


def _with_new_usager(url: str, pk: int) -> str:
    """`url` with `nouvel_usager=<pk>`: the page that sent the agent here selects the new usager."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("nouvel_usager", str(pk))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def usager_create(request: OrganisationRequest, organisation_id):
    """« Créer un usager »: only the first and last names are required. A likely duplicate is
    shown before anything is saved; the agent opens it or creates the new fiche anyway.
    With `next` (an address of this site), the agent goes back there once the usager is created,
    with `nouvel_usager=<id>`: « Créer un usager » from the RDV wizard returns to it."""
    membership = request.membership
    next_url = _next_url(request)
    form = UsagerForm(request.POST or None, organisation=membership.organisation)
    duplicates: list[Usager] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if not request.POST.get("ignore_duplicates"):
                duplicates = _duplicates(membership, form)
            if not duplicates:
                usager = create_usager(
                    organisation=membership.organisation,
                    usager=form.save(commit=False),
                    referents=form.cleaned_data["referents"],
                    notes=form.cleaned_data["notes"],
                )
                messages.success(request, _("L'usager %(name)s a été créé.") % {"name": usager.full_name})
                if next_url:
                    return redirect(_with_new_usager(next_url, usager.pk))
                return redirect("usagers:detail", organisation_id=organisation_id, pk=usager.pk)
        else:
            status = 422
    return render(
        request,
        "usagers/form.html",
        {"form": form, "duplicates": duplicates, "usager": None, "responsible": None, "next_url": next_url},
        status=status,
    )


def _profile(usager: Usager, organisation) -> UsagerProfile:
    return get_object_or_404(UsagerProfile, usager=usager, organisation=organisation, deleted_at__isnull=True)


@require_GET
def usager_detail(request: OrganisationRequest, organisation_id, pk):
    """The fiche: identity, contact, social information, référents, proches (or the responsible
    of a proche), RDVs and the latest changes. Viewing it is not recorded."""
    membership = request.membership
    usager = access_usager(membership, pk)
    profile = _profile(usager, membership.organisation)
    referents = list(profile.referents.order_by("last_name", "first_name"))
    visible = usagers_visible_to(membership)
    if usager.is_proche:
        proches = []
        responsible = visible.filter(pk=usager.responsible_id).first()
    else:
        proches = list(visible.filter(responsible=usager).alphabetical())
        responsible = None
    upcoming_rdvs, past_rdvs = usager_rdv_lines(usager, membership)
    return render(
        request,
        "usagers/detail.html",
        {
            "usager": usager,
            "profile": profile,
            "referents": referents,
            "proches": proches,
            "responsible": responsible,
            "history": usager_history(usager, profile, limit=RECENT_HISTORY),
            "organisation": membership.organisation,
            "rdv_counts": usager_rdv_counts(usager, membership),
            "upcoming_rdvs": upcoming_rdvs,
            "past_rdvs": past_rdvs,
            # « Prendre un RDV »: « Trouver un créneau », this usager already chosen.
            "book_url": reverse(
                "rendezvous:creneaux", kwargs={"organisation_id": organisation_id}, query={"usagers": usager.pk}
            ),
        },
    )


@require_GET
def usager_history_page(request: OrganisationRequest, organisation_id, pk):
    membership = request.membership
    usager = access_usager(membership, pk)
    profile = _profile(usager, membership.organisation)
    return render(
        request,
        "usagers/history.html",
        {"usager": usager, "history": usager_history(usager, profile), "organisation": membership.organisation},
    )


def usager_update(request: OrganisationRequest, organisation_id, pk):
    membership = request.membership
    usager = access_usager(membership, pk)
    profile = _profile(usager, membership.organisation)
    form_class = ProcheForm if usager.is_proche else UsagerForm
    form = form_class(request.POST or None, instance=usager, organisation=membership.organisation, profile=profile)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            update_usager(
                usager=form.save(commit=False),
                profile=profile,
                changed_fields=form.changed_data,
                referents=form.cleaned_data["referents"],
                notes=form.cleaned_data["notes"],
            )
            messages.success(request, _("La fiche de %(name)s a été enregistrée.") % {"name": usager.full_name})
            return redirect("usagers:detail", organisation_id=organisation_id, pk=usager.pk)
        status = 422
    return render(
        request,
        "usagers/form.html",
        {"form": form, "duplicates": [], "usager": usager, "responsible": None},
        status=status,
    )


def proche_create(request: OrganisationRequest, organisation_id, pk):
    """« Ajouter un proche » from the fiche of an usager en charge: only first and last names are
    required; the proche gets its own fiche, known to the same organisation."""
    membership = request.membership
    responsible = access_usager(membership, pk)
    if responsible.is_proche:
        raise Http404("Un proche ne peut pas avoir de proches.")
    form = ProcheForm(
        request.POST or None,
        organisation=membership.organisation,
        # Most proches are children living with the usager en charge: its name and address.
        initial={"last_name": responsible.last_name, "address": responsible.address},
    )
    duplicates: list[Usager] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            if not request.POST.get("ignore_duplicates"):
                duplicates = _duplicates(membership, form)
            if not duplicates:
                proche = create_proche(
                    responsible=responsible,
                    organisation=membership.organisation,
                    proche=form.save(commit=False),
                    referents=form.cleaned_data["referents"],
                    notes=form.cleaned_data["notes"],
                )
                messages.success(
                    request,
                    _("%(proche)s a été ajouté(e) aux proches de %(name)s.")
                    % {"proche": proche.full_name, "name": responsible.full_name},
                )
                return redirect("usagers:detail", organisation_id=organisation_id, pk=responsible.pk)
        else:
            status = 422
    return render(
        request,
        "usagers/form.html",
        {"form": form, "duplicates": duplicates, "usager": None, "responsible": responsible},
        status=status,
    )


def usager_delete(request: OrganisationRequest, organisation_id, pk):
    """« Supprimer »: a confirmation page, then the usager (with its proches) leaves the
    organisation's base. See remove_usager_from_organisation for what happens to the data."""
    membership = request.membership
    usager = access_usager(membership, pk)
    proches = [] if usager.is_proche else list(usagers_visible_to(membership).filter(responsible=usager).alphabetical())
    if request.method == "POST":
        remove_usager_from_organisation(usager=usager, organisation=membership.organisation)
        messages.success(
            request, _("%(name)s a été retiré(e) de la base de l'organisation.") % {"name": usager.full_name}
        )
        return redirect("usagers:list", organisation_id=organisation_id)
    return render(
        request,
        "usagers/delete.html",
        {"usager": usager, "proches": proches, "organisation": membership.organisation},
    )
