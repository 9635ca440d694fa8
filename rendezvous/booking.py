"""« Comment poser un rendez-vous ? », the two ways of the seed:

1. « Directement sur l'agenda de l'agent » (`rdv_create`): a time cell of the calendar links here
   with `agent` and `debut` (wall-clock time of the organisation). Step 1 chooses the motif (a GET
   form), step 2 the usagers and free notes, step 3 the date, time, duration, lieu and agents, then
   « Créer RDV » (POST forms). The state travels in the query string and hidden fields, never in
   the session; each step validates again everything chosen before it. The save
   (`rendezvous.services.create_rdv`) locks the agents and checks the conflicts again: one that
   appeared meanwhile brings step 3 back with the new warning, nothing created.
2. « Trouver un créneau » (`creneaux`): a motif, a date, agents and lieux → the week's slots of the
   créneaux engine, grouped by lieu; a slot → the usagers (and the address, à domicile) →
   « Continuer » books it (`rendezvous.services.book_slot`, which locks the agent and checks the
   slot again).

« Créer un usager » leaves the wizard for the usager form and comes back to it by a link (`next`):
that address carries the motif, the time, the agents and the usagers chosen, never the free notes,
which are private and may be long (a query string ends up in access logs and the browser history,
and a long one is refused by the server). The page says so next to the button.

Motifs, agents, usagers and lieux come from querysets restricted to what the membership may use
(agents.permissions, usagers.permissions): another organisation's id is an error on its field.
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from agents.models import Agent
from agents.permissions import (
    Membership,
    agents_with_visible_agenda,
    bookable_motifs,
    can_access_all_agendas,
    motifs_received_by,
    receives_motif,
)
from motifs.models import Motif
from notifications.presentation import announcement
from organisations.models import Lieu
from planning.creneaux import Slot, available_slots, free_agents_at, next_availability
from planning.models import PlageOuverture, Window
from rendezvous.booking_forms import BookingForm, CreneauxForm, MotifStepForm, UsagersStepForm, motif_label
from rendezvous.forms import MAX_AHEAD
from rendezvous.services import ConflictsChanged, SlotTaken, book_slot, create_rdv
from usagers.models import Usager
from usagers.permissions import usagers_visible_to
from usagers.views import LIVE_RESULTS, MAX_QUERY_LENGTH

START_FORMAT = "%Y-%m-%dT%H:%M"
WEEK = dt.timedelta(days=7)


# ---------------------------------------------------------------------------------------------
# Shared pieces


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """Dates and times read in the organisation's time zone."""
    with timezone.override(_membership(request).organisation.tzinfo):
        return render(request, template, context, status=status)


def _motifs(membership: Membership, agent: Agent | None = None) -> list[Motif]:
    """The active motifs the membership may book, those the clicked agent receives when there is
    one (all of them if it receives none), grouped by service."""
    motifs = (
        bookable_motifs(membership, Motif.objects.for_organisation(membership.organisation).active())
        .select_related("service")
        .order_by("service__name", "name", "location_type")
    )
    if agent is not None:
        received = list(motifs_received_by(agent, motifs))
        if received:
            return received
    return list(motifs)


def _parse_start(value: str, tz) -> dt.datetime | None:
    """A wall-clock time `AAAA-MM-JJTHH:MM` of the organisation, within reach (None otherwise)."""
    try:
        start = dt.datetime.strptime(value, START_FORMAT).replace(tzinfo=tz)
    except ValueError:
        return None
    now = timezone.now()
    if not (now - MAX_AHEAD <= start <= now + MAX_AHEAD):
        return None
    return start


def _parse_id(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def _local(value: dt.datetime, tz) -> str:
    return timezone.localtime(value, tz).strftime(START_FORMAT)


def _agenda_url(organisation_id: int, agent: Agent, starts_at: dt.datetime, tz) -> str:
    url = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation_id, "agent_id": agent.pk})
    return f"{url}?{urlencode({'date': timezone.localtime(starts_at, tz).date().isoformat()})}"


def _with_params(url: str, params: Sequence[tuple[str, Any]]) -> str:
    query = urlencode([(key, value) for key, value in params if value not in (None, "")])
    return f"{url}?{query}" if query else url


def _visible_responsibles(membership: Membership, usagers: Sequence[Usager]) -> dict[int, Usager]:
    """The responsibles of these proches that the organisation knows, by id: a proche known here
    may have its responsible known to another organisation only, whose name and address are not
    ours to show. One query, none without a proche."""
    ids = {usager.responsible_id for usager in usagers if usager.responsible_id}
    if not ids:
        return {}
    return {usager.pk: usager for usager in usagers_visible_to(membership).filter(pk__in=ids)}


def _home_address(membership: Membership, usagers: Sequence[Usager]) -> str:
    """The address an RDV « à domicile » is prefilled with: the first usager's, or its
    responsible's for a proche (if the organisation knows the responsible)."""
    responsibles = _visible_responsibles(membership, [usager for usager in usagers if not usager.address])
    for usager in usagers:
        if usager.address:
            return usager.address
        responsible = responsibles.get(usager.responsible_id) if usager.responsible_id else None
        if responsible is not None and responsible.address:
            return responsible.address
    return ""


def _success(request: HttpRequest, rdv, tz) -> None:
    created = _("Le RDV « %(motif)s » du %(day)s à %(time)s a été créé.") % {
        "motif": rdv.motif.name,
        "day": formats.date_format(timezone.localtime(rdv.starts_at, tz), "l j F Y"),
        "time": timezone.localtime(rdv.starts_at, tz).strftime("%H:%M"),
    }
    messages.success(request, f"{created} {announcement(rdv, since=rdv.created_at)}".strip())


@dataclass
class UsagersStep:
    """Step « usagers » of both ways: what the POST asked (add, remove, search, create an
    usager, continue) and the form that results."""

    form: UsagersStepForm
    selected: list[Usager]
    results: list[Usager] | None = None
    more: bool = False
    added: Usager | None = None
    focus_search: bool = False
    suggestions: list[Usager] = field(default_factory=list)
    # « Créer un usager » leaves the page and comes back to the wizard; « modifier » has no way back.
    can_create: bool = True
    picking: bool = False

    @property
    def query(self) -> str:
        return self.form.data.get("q", "").strip()[:MAX_QUERY_LENGTH] if self.form.is_bound else ""


def _search(membership: Membership, query: str, exclude: Sequence[int]) -> tuple[list[Usager], bool]:
    """The usagers matching `query`, each with `shown_responsible`: its responsible if the
    organisation knows it (« proche de … »), else None."""
    if len(query) < 2:
        return [], False
    found = list(usagers_visible_to(membership).search(query).exclude(pk__in=list(exclude))[: LIVE_RESULTS + 1])
    results = found[:LIVE_RESULTS]
    responsibles = _visible_responsibles(membership, results)
    for usager in results:
        usager.shown_responsible = responsibles.get(usager.responsible_id)  # type: ignore[attr-defined]
    return results, len(found) > LIVE_RESULTS


def usagers_step(
    membership: Membership, data: QueryDict | None, *, require: bool = False, with_address: bool = False
) -> UsagersStep:
    """The usagers step from `data` (None: a new, empty step). The buttons « ajouter » and
    « retirer » of the step change the list of usagers before it is validated (`picking` tells
    whether the POST was one of them, or « Rechercher »). `with_address`:
    the step also asks the address of an RDV « à domicile » (« Trouver un créneau », which has no
    step 3), prefilled from the usagers chosen while it is empty."""
    if data is None:
        form = UsagersStepForm(membership=membership, with_address=with_address)
        return UsagersStep(form=form, selected=[])
    data = data.copy()
    ids = [value for value in data.getlist("usagers") if value]
    added_id = data.get("ajouter") or data.get("nouvel_usager")
    focus = False
    if added_id and added_id not in ids:
        ids.append(added_id)
        data["q"] = ""
        focus = True
    removed_id = data.get("retirer")
    if removed_id:
        ids = [value for value in ids if value != removed_id]
        focus = True
    data.setlist("usagers", ids)
    form = UsagersStepForm(data, membership=membership, require_usagers=require, with_address=with_address)
    order = {value: index for index, value in enumerate(ids)}
    form.is_valid()
    # The usagers stay chosen when another field is at fault (the address, the notes).
    selected = sorted(form.cleaned_data.get("usagers", []), key=lambda u: order.get(str(u.pk), 0))
    step = UsagersStep(form=form, selected=selected, focus_search=focus)
    if added_id:
        step.added = next((usager for usager in selected if str(usager.pk) == added_id), None)
    selected_ids = {usager.pk for usager in selected}
    # A proche comes with its responsible, often: offer to add it in one click (if known here).
    responsibles = _visible_responsibles(
        membership, [usager for usager in selected if usager.responsible_id not in selected_ids]
    )
    step.suggestions = list(
        {
            usager.responsible_id: responsibles[usager.responsible_id]
            for usager in selected
            if usager.responsible_id in responsibles
        }.values()
    )
    action = data.get("action", "")
    if with_address and selected and action != "continuer" and not data.get("address", "").strip():
        # Shown, not validated: the agent checks it before « Continuer ».
        data["address"] = _home_address(membership, selected)
    if action == "rechercher" or (not action and data.get("q") and not added_id and not removed_id):
        step.results, step.more = _search(membership, step.query, list(selected_ids))
        step.focus_search = True
    step.picking = bool(added_id or removed_id) or step.results is not None
    return step


def _usager_create_url(organisation_id: int, back: str) -> str:
    url = reverse("usagers:create", kwargs={"organisation_id": organisation_id})
    return f"{url}?{urlencode({'next': back})}"


@require_GET
def usager_picker(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """Live results of the « usagers » field (htmx): the first matches, each a button that adds
    the usager to the RDV being posed. The usagers already chosen are left out."""
    membership = _membership(request)
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    exclude = [int(value) for value in request.GET.getlist("usagers") if value.isdigit() and len(value) < 12]
    usagers, more = _search(membership, query, exclude)
    return render(
        request,
        "rendezvous/booking/_usager_results.html",
        {"results": usagers, "more": more, "query": query},
    )


# ---------------------------------------------------------------------------------------------
# 1. « Directement sur l'agenda de l'agent »


@dataclass
class WizardState:
    """What the calendar gave (agent, start) and the motif chosen, read from a GET or a POST."""

    agent: Agent | None = None
    starts_at: dt.datetime | None = None
    warnings: list[str] = field(default_factory=list)

    def params(self, tz) -> list[tuple[str, Any]]:
        return [
            ("agent", self.agent.pk if self.agent else None),
            ("debut", _local(self.starts_at, tz) if self.starts_at else None),
        ]


def _wizard_state(membership: Membership, data: QueryDict) -> WizardState:
    """`agent` and `debut` as the calendar sends them; a wrong value is ignored with a warning."""
    state = WizardState()
    raw_agent = data.get("agent", "")
    if raw_agent:
        agent_id = _parse_id(raw_agent)
        agent = agents_with_visible_agenda(membership).filter(pk=agent_id).first() if agent_id else None
        if agent is None:
            state.warnings.append(
                _(
                    "L'agent demandé n'existe pas ou vous ne pouvez pas lui poser de RDV : "
                    "choisissez les agents à l'étape 3."
                )
            )
        state.agent = agent
    raw_start = data.get("debut", "")
    if raw_start:
        state.starts_at = _parse_start(raw_start, membership.organisation.tzinfo)
        if state.starts_at is None:
            state.warnings.append(
                _(
                    "L'heure de début « %(value)s » n'est pas valide (format attendu AAAA-MM-JJTHH:MM) : "
                    "choisissez-la à l'étape 3."
                )
                % {"value": raw_start[:40]}
            )
    return state


def _lieu_of_plage(organisation, agent: Agent | None, starts_at: dt.datetime | None) -> int | None:
    """The lieu of the agent's plage d'ouverture at that time, to prefill the lieu."""
    if agent is None or starts_at is None:
        return None
    window = Window(starts_at, starts_at + dt.timedelta(minutes=1))
    plages = PlageOuverture.objects.for_organisation(organisation).filter(agent=agent, lieu__isnull=False)
    for occurrence in plages.occurrences(window):
        return occurrence.event.lieu_id
    return None


def _booking_initial(membership: Membership, state: WizardState, motif: Motif, usagers: list[Usager]) -> dict:
    tz = membership.organisation.tzinfo
    initial: dict[str, Any] = {
        "duration_in_min": motif.default_duration_in_min,
        "agents": [state.agent.pk] if state.agent else [],
    }
    if state.starts_at is not None:
        initial["date"] = state.starts_at.astimezone(tz).date()
        initial["time"] = state.starts_at.astimezone(tz).time()
    if motif.location_type == Motif.LocationType.PUBLIC_OFFICE:
        initial["lieu"] = _lieu_of_plage(membership.organisation, state.agent, state.starts_at)
    if motif.location_type == Motif.LocationType.HOME:
        initial["address"] = _home_address(membership, usagers)
    return initial


STEPS = {
    "motif": (1, _("Choisir le motif"), _("Choisir le ou les usagers")),
    "usagers": (2, _("Choisir le ou les usagers"), _("Choisir la durée et la date")),
    "rdv": (3, _("Choisir la durée et la date"), ""),
}


@require_http_methods(["GET", "POST"])
def rdv_create(request: HttpRequest, organisation_id: int) -> HttpResponse:
    membership = _membership(request)
    organisation = membership.organisation
    tz = organisation.tzinfo
    data = request.POST if request.method == "POST" else request.GET
    state = _wizard_state(membership, data)
    motifs = _motifs(membership, state.agent)
    context: dict[str, Any] = {"state": state, "organisation": organisation}
    if state.agent is not None and state.starts_at is not None:
        context["back_url"] = _agenda_url(organisation.pk, state.agent, state.starts_at, tz)
    elif state.agent is not None:
        context["back_url"] = reverse(
            "rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": state.agent.pk}
        )
    else:
        context["back_url"] = reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})

    def step(name: str, status: int = 200, **extra) -> HttpResponse:
        number, title, next_title = STEPS[name]
        context.update(step=name, step_number=number, step_title=title, next_step_title=next_title, **extra)
        return _render(request, "rendezvous/booking/wizard.html", context, status=status)

    # Step 1: the motif (GET, so that the calendar can link to any step).
    if request.method == "GET" and ("motif" not in data or data.get("etape") == "motif"):
        form = MotifStepForm(motifs=motifs, initial={"motif": data.get("motif", "")})
        return step("motif", motif_form=form, no_motif=not motifs)
    motif_form = MotifStepForm(data, motifs=motifs)
    if not motif_form.is_valid():
        return step("motif", status=422, motif_form=motif_form, no_motif=not motifs)
    motif: Motif = motif_form.cleaned_data["motif"]
    context["motif"] = motif
    context["motif_label"] = motif_label(motif)
    context["step1_url"] = _with_params(request.path, [*state.params(tz), ("motif", motif.pk), ("etape", "motif")])

    def wizard_url(usagers: UsagersStep) -> str:
        return _with_params(
            request.path,
            [
                *state.params(tz),
                ("motif", motif.pk),
                *[("usagers", usager.pk) for usager in usagers.selected],
            ],
        )

    # Step 2: the usagers and the notes.
    if request.method == "GET":
        entering = any(key in data for key in ("usagers", "nouvel_usager", "notes"))
        usagers = usagers_step(membership, data if entering else None)
        status = 422 if entering and not usagers.form.is_valid() else 200
        return step("usagers", status=status, usagers=usagers)
    etape = data.get("etape")
    action = data.get("action", "")
    if etape == "usagers" or action == "retour":
        usagers = usagers_step(membership, data, require=action == "continuer")
        if action == "creer_usager":
            return redirect(_usager_create_url(organisation.pk, wizard_url(usagers)))
        if action != "continuer" or not usagers.form.is_valid():
            status = 422 if action == "continuer" or not usagers.form.is_valid() else 200
            return step("usagers", status=status, usagers=usagers)
        form = BookingForm(
            membership=membership,
            motif=motif,
            initial=_booking_initial(membership, state, motif, usagers.selected),
        )
        return step("rdv", usagers=usagers, form=form)

    # Step 3: « Créer RDV ».
    usagers = usagers_step(membership, data, require=True)
    if not usagers.form.is_valid():
        return step("usagers", status=422, usagers=usagers)
    form = BookingForm(data, membership=membership, motif=motif)
    if not form.is_valid():
        return step("rdv", status=422, usagers=usagers, form=form)
    values = form.cleaned_data
    agents = list(values["agents"])
    try:
        rdv = create_rdv(
            organisation=organisation,
            motif=motif,
            starts_at=values["starts_at"],
            duration_in_min=values["duration_in_min"],
            agents=agents,
            usagers=usagers.selected,
            lieu=values["lieu"],
            address=values["address"],
            context=usagers.form.cleaned_data["notes"],
            by=membership.agent,
            accepted_conflicts=form.current_signature,
        )
    except ConflictsChanged as changed:
        form.conflicts_changed(changed.conflicts)
        return step("rdv", status=422, usagers=usagers, form=form)
    _success(request, rdv, tz)
    first = state.agent if state.agent in agents else agents[0]
    return redirect(_agenda_url(organisation.pk, first, rdv.starts_at, tz))


# ---------------------------------------------------------------------------------------------
# 2. « Trouver un créneau »


@dataclass
class DayColumn:
    day: dt.date
    slots: list[dict]


@dataclass
class LieuGroup:
    title: str
    address: str
    days: list[DayColumn]
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
    plages = (
        PlageOuverture.objects.filter(organisation_id=motif.organisation_id, motifs=motif.pk)
        .current(since)
        .exclude(lieu__is_active=False)
    )
    if motif.location_type == Motif.LocationType.PUBLIC_OFFICE:
        plages = plages.filter(lieu__isnull=False)
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
            {"time": local.strftime("%H:%M"), "agent": name, "url": slot_url(slot)}
        )
    groups = []
    for lieu_id, by_day in by_lieu.items():
        lieu = lieux.get(lieu_id) if lieu_id is not None else None
        if lieu is not None:
            title, address = lieu.name, lieu.address
        else:
            title, address = str(motif.get_location_type_display()), ""
        columns = [DayColumn(day, by_day.get(day, [])) for day in days]
        groups.append(LieuGroup(title, address, columns, sum(len(column.slots) for column in columns)))
    groups.sort(key=lambda group: group.title.lower())
    return groups


def _slot_from(data: QueryDict, *, motif: Motif, agents: list[Agent], lieux: dict[int, Lieu], tz) -> Slot | None:
    """The slot a link of the list designates (`creneau`, `agent`, `lieu`), if it is well formed
    and names an agent and a lieu the membership may use."""
    start = _parse_start(data.get("creneau", ""), tz)
    agent_id = _parse_id(data.get("agent"))
    if start is None or agent_id not in {agent.pk for agent in agents}:
        return None
    raw_lieu = data.get("lieu", "")
    if motif.location_type == Motif.LocationType.PUBLIC_OFFICE:
        lieu_id = _parse_id(raw_lieu)
        if lieu_id not in lieux:
            return None
    elif raw_lieu:
        return None
    else:
        lieu_id = None
    return Slot(
        start=start,
        end=start + dt.timedelta(minutes=motif.default_duration_in_min),
        agent_id=agent_id,
        lieu_id=lieu_id,
    )


@require_http_methods(["GET", "POST"])
def creneaux(request: HttpRequest, organisation_id: int) -> HttpResponse:
    """« Trouver un créneau »: the search and the week of slots (GET), a slot's usagers step (GET
    with `creneau`) and its booking (POST)."""
    membership = _membership(request)
    organisation = membership.organisation
    tz = organisation.tzinfo
    data = request.POST if request.method == "POST" else request.GET
    # Their services here label and group the choices of the « Agent(s) » filter: one query for all.
    agents = list(
        agents_with_visible_agenda(membership).with_services_in(organisation).order_by("last_name", "first_name")
    )
    motifs = _motifs(membership)
    bound = "motif" in data
    today = timezone.localtime(timezone.now(), tz).date()
    form = CreneauxForm(
        data if bound else None,
        membership=membership,
        motifs=motifs,
        agents=agents,
        initial={"a_partir_du": today, "agents": data.getlist("agents")},
    )
    base_url = request.path
    context: dict[str, Any] = {"form": form, "organisation": organisation, "no_motif": not motifs}
    if not bound:
        return _render(request, "rendezvous/booking/creneaux.html", context)
    if not form.is_valid():
        return _render(request, "rendezvous/booking/creneaux.html", context, status=422)
    values = form.cleaned_data
    motif: Motif = values["motif"]
    lieux = {lieu.pk: lieu for lieu in form.lieux}
    list_url = _with_params(base_url, _filter_params(values))

    if "creneau" in data:
        return _creneau(request, membership, values, motif, agents, lieux, list_url)

    first_day = values.get("a_partir_du") or today
    start = dt.datetime.combine(first_day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(first_day + WEEK, dt.time(), tzinfo=tz)
    engine_agents = _engine_agents(membership, values, agents)
    # A closed lieu takes no new RDV, even if a plage still points at it.
    engine_lieux = [lieu.pk for lieu in values["lieux"]] or list(lieux)
    if motif.location_type != Motif.LocationType.PUBLIC_OFFICE:
        engine_lieux = None
    filters = _filter_params(values)
    by_pk = {agent.pk: agent for agent in agents}
    coverage = _coverage(
        motif=motif,
        offers=_plages_offering(motif, since=max(first_day, today)),
        # The form's agents, as loaded by the view with their services.
        chosen_agents=[by_pk[agent.pk] for agent in values.get("agents") or [] if agent.pk in by_pk],
        chosen_lieux={lieu.pk for lieu in values["lieux"]} if values["lieux"] and engine_lieux is not None else None,
        searched_agents=engine_agents,
        bookable_agents=agents,
        url_without=lambda name: _with_params(base_url, [(k, v) for k, v in filters if k != name]),
    )
    # No plage offers the motif to those searched: the engine could find nothing, now or later.
    slots = (
        []
        if coverage.none
        else available_slots(motif=motif, start=start, end=end, agents=engine_agents, lieux=engine_lieux)
    )
    names = {agent.pk: agent.full_name for agent in agents}

    def slot_url(slot: Slot) -> str:
        return _with_params(
            base_url,
            [*filters, ("creneau", _local(slot.start, tz)), ("agent", slot.agent_id), ("lieu", slot.lieu_id)],
        )

    def week_url(day: dt.date) -> str:
        return _with_params(base_url, [(k, v) for k, v in filters if k != "a_partir_du"] + [("a_partir_du", day)])

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
    return _render(request, "rendezvous/booking/creneaux.html", context)


def _creneau(request, membership, values, motif, agents, lieux, list_url) -> HttpResponse:
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
        ("creneau", _local(slot.start, tz)),
        ("agent", slot.agent_id),
        ("lieu", slot.lieu_id),
    ]
    home = motif.location_type == Motif.LocationType.HOME
    if request.method == "GET":
        entering = any(key in data for key in ("usagers", "nouvel_usager", "notes"))
        usagers = usagers_step(membership, data if entering else None, with_address=home)
    else:
        usagers = usagers_step(membership, data, require=action == "continuer", with_address=home)
    if action == "creer_usager":
        back = _with_params(request.path, [*slot_params, *[("usagers", usager.pk) for usager in usagers.selected]])
        return redirect(_usager_create_url(organisation.pk, back))
    if request.method == "POST" and action == "continuer" and usagers.form.is_valid():
        try:
            rdv = book_slot(
                organisation=organisation,
                motif=motif,
                slot=slot,
                usagers=usagers.selected,
                by=membership.agent,
                address=usagers.form.cleaned_data["address"] if home else "",
                context=usagers.form.cleaned_data["notes"],
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
        _success(request, rdv, tz)
        agent = next(agent for agent in agents if agent.pk == slot.agent_id)
        return redirect(_agenda_url(organisation.pk, agent, rdv.starts_at, tz))
    status = 422 if (usagers.form.is_bound and not usagers.form.is_valid()) or action == "continuer" else 200
    agent = next(agent for agent in agents if agent.pk == slot.agent_id)
    return _render(
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
