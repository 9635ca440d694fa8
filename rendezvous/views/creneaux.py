"""« Trouver un créneau » (`creneaux`): a motif, a date, agents and lieux → the week's slots of the
créneaux engine, grouped by lieu; a slot → the usagers (and the address, à domicile) →
« Continuer » books it (`rendezvous.services.book_slot`, which locks the agent and checks the slot
again)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from agents.models import Agent
from agents.permissions import (
    Membership,
    agents_with_visible_agenda,
    can_access_all_agendas,
    receives_motif,
)
from motifs.models import Motif
from organisations.middleware import OrganisationRequest
from organisations.models import Lieu
from planning.creneaux import available_slots, free_agents_at, next_availability
from planning.intervals import end_after
from planning.models import PlageOuverture
from planning.slots import Slot
from rdv import words
from rendezvous.booking_forms import CreneauxForm, motif_label
from rendezvous.services import SlotTaken, book_slot
from rendezvous.views.common import (
    agenda_url,
    announce_created,
    local_input,
    offered_motifs,
    parse_id,
    parse_start,
    with_params,
)
from rendezvous.views.creneaux_choices import Choices, agent_name, filter_choices, searched_agents_sentence
from rendezvous.views.usagers_step import DRAFT_PARAM, keep_notes, usager_create_url, usagers_step, with_kept_notes
from usagers.models import Usager
from usagers.permissions import usagers_visible_to

WEEK = dt.timedelta(days=7)


@dataclass
class CreneauxDay:
    day: dt.date
    slots: list[dict]


@dataclass
class LieuGroup:
    title: str
    address: str
    days: list[CreneauxDay]
    count: int


def _filter_params(values: dict) -> list[tuple[str, Any]]:
    return [
        ("motif", values["motif"].pk),
        ("a_partir_du", values["a_partir_du"].isoformat() if values.get("a_partir_du") else None),
        *[("agents", agent.pk) for agent in values.get("agents") or []],
        *[("lieux", lieu.pk) for lieu in values.get("lieux") or []],
    ]


def _engine_agents(membership: Membership, values: dict, agents: list[Agent]) -> list[int] | None:
    """The agents whose slots show: those asked, else every agent the membership may book for
    (None: all of the organisation)."""
    if values.get("agents"):
        return [agent.pk for agent in values["agents"]]
    if can_access_all_agendas(membership):
        return None
    return [agent.pk for agent in agents]


def _plages_offering(motif: Motif, *, since: dt.date) -> dict[int, set[int | None]]:
    """Per agent, the lieux (None: without lieu) of its plages d'ouverture offering the motif and
    not finished by `since`, in one query whatever the number of agents: the plages the créneaux
    engine may read from that day on (`planning.creneaux.load_calendar`: the motif's organisation,
    never an archived lieu, a lieu for a motif « sur place »), so an agent missing here has no
    slot for the motif, this week or later."""
    plages = PlageOuverture.objects.offering(motif).current(since)
    offers: dict[int, set[int | None]] = {}
    for agent_id, lieu_id in plages.order_by().values_list("agent_id", "lieu_id").distinct():
        offers.setdefault(agent_id, set()).add(lieu_id)
    return offers


@dataclass
class Coverage:
    """Why a search may find nothing, said before the slots: the agents chosen who have no plage
    d'ouverture offering the motif (at the lieux chosen), one sentence each, and whether no agent
    searched has any (`none`: no slot can exist, whatever the week; then at least one sentence
    says so). `widen_url` searches again without the filter that left the others out."""

    missing: list[str] = field(default_factory=list)
    none: bool = False
    # « Agents recherchés : … »: whose slots the week shows.
    searched: str = ""
    widen_url: str = ""
    widen_label: str = ""


def _coverage(
    *,
    motif: Motif,
    offers: dict[int, set[int | None]],
    chosen_agents: list[Agent],
    chosen_lieux: set[int] | None,
    searched_agents: list[int] | None,
    bookable_agents: list[Agent],
    url_without: Callable[[str], str],
) -> Coverage:
    """`offers` from `_plages_offering`; `chosen_lieux` None when the lieux do not filter (none
    ticked, or a motif by phone or at home); `searched_agents` None for all of the organisation;
    `url_without(name)` the search's URL without that filter."""

    def offers_here(agent_id: int) -> bool:
        lieux = offers.get(agent_id, set())
        return bool(lieux if chosen_lieux is None else lieux & chosen_lieux)

    coverage = Coverage()
    for agent in chosen_agents:
        if offers_here(agent.pk):
            continue
        name = agent.full_name or agent.email
        if chosen_lieux is not None and offers.get(agent.pk):
            sentence = _("%(agent)s n'a pas de plage d'ouverture pour ce motif dans les lieux choisis.")
        elif not receives_motif(agent, motif):
            sentence = _(
                "%(agent)s n'a pas de plage d'ouverture pour ce motif et n'appartient pas au service %(service)s."
            )
        else:
            sentence = _("%(agent)s n'a pas de plage d'ouverture pour ce motif.")
        coverage.missing.append(sentence % {"agent": name, "service": motif.service.name})
    if chosen_agents:
        coverage.searched = searched_agents_sentence([agent_name(agent) for agent in chosen_agents], all_agents=False)
    else:
        pool = set(offers) if searched_agents is None else set(searched_agents)
        names = [agent_name(agent) for agent in bookable_agents if agent.pk in pool and offers_here(agent.pk)]
        if names:
            coverage.searched = searched_agents_sentence(names, all_agents=True)
    searched = offers.keys() if searched_agents is None else searched_agents
    coverage.none = not any(offers_here(agent_id) for agent_id in searched)
    if not coverage.none:
        return coverage
    if not coverage.missing:
        where = _(" dans les lieux choisis") if chosen_lieux is not None else ""
        coverage.missing.append(
            _(
                "Aucune plage d'ouverture ne propose ce motif%(where)s : ajoutez-le aux plages d'ouverture "
                "des agents qui le reçoivent (menu « Votre planning », « Plages d'ouverture »)."
            )
            % {"where": where}
        )
    bookable = {agent.pk for agent in bookable_agents}
    chosen = {agent.pk for agent in chosen_agents}
    if chosen and any(offers_here(pk) for pk in bookable - chosen):
        coverage.widen_url = url_without("agents")
        coverage.widen_label = _("D'autres agents proposent ce motif : afficher les créneaux de tous les agents")
    elif chosen_lieux is not None and any(offers.get(pk) for pk in (chosen or bookable)):
        coverage.widen_url = url_without("lieux")
        coverage.widen_label = _("Ce motif est proposé ailleurs : afficher les créneaux de tous les lieux")
    return coverage


def _group_slots(
    slots: list[Slot],
    *,
    motif: Motif,
    days: list[dt.date],
    lieux: dict[int, Lieu],
    names: dict[int, str],
    slot_url,
    tz,
) -> list[LieuGroup]:
    by_lieu: dict[int | None, dict[dt.date, list[dict]]] = {}
    for slot in slots:
        local = slot.start.astimezone(tz)
        name = names.get(slot.agent_id, "")
        by_lieu.setdefault(slot.lieu_id, {}).setdefault(local.date(), []).append(
            {"time": words.time_of_day(local), "agent": name, "url": slot_url(slot)}
        )
    groups = []
    for lieu_id, by_day in by_lieu.items():
        lieu = lieux.get(lieu_id) if lieu_id is not None else None
        if lieu is not None:
            title, address = lieu.name, lieu.address
        else:
            title, address = str(motif.get_location_type_display()), ""
        columns = [CreneauxDay(day, by_day.get(day, [])) for day in days]
        groups.append(LieuGroup(title, address, columns, sum(len(column.slots) for column in columns)))
    groups.sort(key=lambda group: group.title.lower())
    return groups


def _chosen_usagers(membership: Membership, data: QueryDict) -> list[Usager]:
    """The usagers « Prendre un RDV » chose (`usagers` of the query string) that the membership
    may see; the others are left out. One query, none without."""
    ids = [pk for pk in (parse_id(value) for value in data.getlist("usagers")) if pk is not None]
    return list(usagers_visible_to(membership).filter(pk__in=ids).order_by("last_name", "first_name")) if ids else []


def _slot_from(data: QueryDict, *, motif: Motif, agents: list[Agent], lieux: dict[int, Lieu], tz) -> Slot | None:
    """The slot a link of the list designates (`creneau`, `agent`, `lieu`), if it is well formed
    and names an agent and a lieu the membership may use."""
    start = parse_start(data.get("creneau", ""), tz)
    agent_id = parse_id(data.get("agent"))
    if start is None or agent_id not in {agent.pk for agent in agents}:
        return None
    raw_lieu = data.get("lieu", "")
    if motif.location_type == Motif.LocationType.PUBLIC_OFFICE:
        lieu_id = parse_id(raw_lieu)
        if lieu_id not in lieux:
            return None
    elif raw_lieu:
        return None
    else:
        lieu_id = None
    return Slot(
        start=start,
        end=end_after(start, motif.default_duration_in_min),
        agent_id=agent_id,
        lieu_id=lieu_id,
    )


@require_http_methods(["GET", "POST"])
def creneaux(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    """« Trouver un créneau »: the search and the week of slots (GET), a slot's usagers step (GET
    with `creneau`) and its booking (POST)."""
    membership = request.membership
    organisation = membership.organisation
    tz = organisation.tzinfo
    data = request.POST if request.method == "POST" else request.GET
    # Their services here label and group the choices of the « Agent(s) » filter: one query for all.
    agents = list(
        agents_with_visible_agenda(membership).with_services_in(organisation).order_by("last_name", "first_name")
    )
    motifs = offered_motifs(membership)
    # « Mettre à jour la liste des motifs » (without JavaScript) and the agents filter's htmx
    # request redraw the filters for the agents ticked: they search nothing, refuse nothing.
    redraw = data.get("action") == "motifs" or data.get("partie") == "motifs"
    bound = "motif" in data and not redraw
    today = timezone.localtime(timezone.now(), tz).date()
    by_pk = {agent.pk: agent for agent in agents}
    requested = [by_pk[pk] for pk in dict.fromkeys(parse_id(value) for value in data.getlist("agents")) if pk in by_pk]
    if "creneau" in data:
        choices = Choices(agents=requested, motifs=motifs)
    else:
        choices = filter_choices(
            organisation=organisation,
            motifs=motifs,
            requested=requested,
            selected_motif=data.get("motif", ""),
            # Agents in the link of an agenda, before any motif: a suggestion, not the agent's ticks.
            preselection="motif" not in data and not redraw,
            today=today,
        )
    form = CreneauxForm(
        data if bound else None,
        membership=membership,
        motifs=motifs,
        agents=agents,
        shown_motifs=choices.motifs,
        motif_help=choices.motif_help,
        initial={
            "motif": data.get("motif", ""),
            "a_partir_du": data.get("a_partir_du") or today,
            "agents": [str(agent.pk) for agent in choices.agents],
            "lieux": data.getlist("lieux"),
        },
    )
    base_url = request.path
    usagers = [] if "creneau" in data else _chosen_usagers(membership, data)
    context: dict[str, Any] = {
        "form": form,
        "organisation": organisation,
        "no_motif": not motifs,
        "choices": choices,
        "usagers": usagers,
    }
    if data.get("partie") == "motifs" and request.htmx:  # type: ignore[attr-defined]
        return render(request, "rendezvous/booking/_creneaux_motif.html", context)
    if not bound:
        return render(request, "rendezvous/booking/creneaux.html", context)
    if not form.is_valid():
        return render(request, "rendezvous/booking/creneaux.html", context, status=422)
    values = form.cleaned_data
    motif: Motif = values["motif"]
    lieux = {lieu.pk: lieu for lieu in form.active_lieux}
    list_url = with_params(base_url, _filter_params(values))

    if "creneau" in data:
        return _creneau(request, membership, values, motif, agents, lieux, list_url)

    first_day = values.get("a_partir_du") or today
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(first_day + WEEK, dt.time(), tzinfo=tz)
    engine_agents = _engine_agents(membership, values, agents)
    # A closed lieu takes no new RDV, even if a plage still points at it.
    engine_lieux: list[int] | None = [lieu.pk for lieu in values["lieux"]] or list(lieux)
    if motif.location_type != Motif.LocationType.PUBLIC_OFFICE:
        engine_lieux = None
    # « Prendre un RDV » from a fiche: its usager stays chosen, up to the slot's usagers step.
    filters = [*_filter_params(values), *[("usagers", usager.pk) for usager in usagers]]
    coverage = _coverage(
        motif=motif,
        offers=_plages_offering(motif, since=max(first_day, today)),
        # The form's agents, as loaded by the view with their services.
        chosen_agents=[by_pk[agent.pk] for agent in values.get("agents") or [] if agent.pk in by_pk],
        chosen_lieux={lieu.pk for lieu in values["lieux"]} if values["lieux"] and engine_lieux is not None else None,
        searched_agents=engine_agents,
        bookable_agents=agents,
        url_without=lambda name: with_params(base_url, [(k, v) for k, v in filters if k != name]),
    )
    # No plage offers the motif to those searched: the engine could find nothing, now or later.
    slots = (
        []
        if coverage.none
        else available_slots(motif=motif, start=start, end=end, agents=engine_agents, lieux=engine_lieux)
    )
    names = {agent.pk: agent.full_name for agent in agents}

    def slot_url(slot: Slot) -> str:
        return with_params(
            base_url,
            [*filters, ("creneau", local_input(slot.start, tz)), ("agent", slot.agent_id), ("lieu", slot.lieu_id)],
        )

    def week_url(day: dt.date) -> str:
        return with_params(base_url, [(k, v) for k, v in filters if k != "a_partir_du"] + [("a_partir_du", day)])

    days = [first_day + dt.timedelta(days=offset) for offset in range(7)]
    next_slot = None
    if not slots and not coverage.none:
        next_slot = next_availability(motif=motif, after=end, agents=engine_agents, lieux=engine_lieux)
    context.update(
        motif=motif,
        groups=_group_slots(slots, motif=motif, days=days, lieux=lieux, names=names, slot_url=slot_url, tz=tz),
        days=days,
        first_day=first_day,
        last_day=days[-1],
        previous_url=week_url(max(first_day - WEEK, today)) if first_day > today else "",
        next_url=week_url(first_day + WEEK),
        next_slot=next_slot,
        next_slot_url=week_url(next_slot.start.astimezone(tz).date()) if next_slot else "",
        next_slot_agent=names.get(next_slot.agent_id, "") if next_slot else "",
        coverage=coverage,
        searched=True,
    )
    return render(request, "rendezvous/booking/creneaux.html", context)


def _creneau(request: OrganisationRequest, membership, values, motif, agents, lieux, list_url) -> HttpResponse:
    """A slot chosen in the list: its usagers step, then its booking."""
    organisation = membership.organisation
    tz = organisation.tzinfo
    data = request.POST if request.method == "POST" else request.GET
    slot = _slot_from(data, motif=motif, agents=agents, lieux=lieux, tz=tz)
    if slot is None:
        messages.error(request, _("Ce créneau n'existe pas : choisissez-en un dans la liste."))
        return HttpResponseRedirect(list_url)
    action = data.get("action", "")
    if request.method == "GET" and slot.agent_id not in free_agents_at(
        motif=motif, start=slot.start, lieu_id=slot.lieu_id, online=False
    ):
        messages.error(request, _("Ce créneau n'est plus disponible : choisissez-en un autre."))
        return HttpResponseRedirect(list_url)
    slot_params = [
        *_filter_params(values),
        ("creneau", local_input(slot.start, tz)),
        ("agent", slot.agent_id),
        ("lieu", slot.lieu_id),
    ]
    home = motif.location_type == Motif.LocationType.HOME
    if request.method == "GET":
        typed = with_kept_notes(request, data)
        entering = any(key in typed for key in ("usagers", "nouvel_usager", "notes"))
        usagers = usagers_step(membership, typed if entering else None, with_address=home)
    else:
        usagers = usagers_step(membership, data, require=action == "continuer", with_address=home)
    if action == "creer_usager":
        draft = keep_notes(request, usagers.form.data)
        back = with_params(
            request.path,
            [*slot_params, *[("usagers", usager.pk) for usager in usagers.selected], (DRAFT_PARAM, draft)],
        )
        return redirect(usager_create_url(organisation.pk, back))
    if request.method == "POST" and action == "continuer" and usagers.form.is_valid():
        try:
            rdv = book_slot(
                organisation=organisation,
                motif=motif,
                slot=slot,
                usagers=usagers.selected,
                by=membership.agent,
                address=usagers.form.cleaned_data["address"] if home else "",
                notes=usagers.form.cleaned_data["notes"],
            )
        except SlotTaken:
            messages.error(
                request,
                _(
                    "Ce créneau vient d'être pris ou n'est plus disponible : aucun RDV n'a été créé, "
                    "choisissez-en un autre."
                ),
            )
            return HttpResponseRedirect(list_url)
        announce_created(request, rdv, tz)
        agent = next(agent for agent in agents if agent.pk == slot.agent_id)
        return redirect(agenda_url(organisation.pk, agent, rdv.starts_at, tz))
    status = 422 if (usagers.form.is_bound and not usagers.form.is_valid()) or action == "continuer" else 200
    agent = next(agent for agent in agents if agent.pk == slot.agent_id)
    return render(
        request,
        "rendezvous/booking/creneau.html",
        {
            "motif": motif,
            "motif_label": motif_label(motif),
            "slot": slot,
            "slot_agent": agent,
            "slot_lieu": lieux.get(slot.lieu_id) if slot.lieu_id else None,
            "slot_params": [(key, value) for key, value in slot_params if value not in (None, "")],
            "usagers": usagers,
            "list_url": list_url,
            "organisation": organisation,
        },
        status=status,
    )
