"""« Comment poser un rendez-vous ? » « Directement sur l'agenda de l'agent » (`rdv_create`): a time
cell of the calendar links here with `agent` and `debut` (wall-clock time of the organisation).
Step 1 chooses the motif (a GET form), step 2 the usagers and free notes, step 3 the date, time,
duration, lieu and agents, then « Créer RDV » (POST forms). The state travels in the query string
and hidden fields, never in the session; each step validates again everything chosen before it.
The save (`rendezvous.services.create_rdv`) locks the agents and checks the conflicts again: one
that appeared meanwhile brings step 3 back with the new warning, nothing created.

« Créer un usager » leaves the wizard for the usager form and comes back to it by a link (`next`):
that address carries the motif, the time, the agents and the usagers chosen, never the free notes,
which are private and may be long (a query string ends up in access logs and the browser history,
and a long one is refused by the server): they wait in the session, the address naming their
draft (rendezvous.views.usagers_step.keep_notes).

Motifs, agents, usagers and lieux come from querysets restricted to what the membership may use
(agents.permissions, usagers.permissions): another organisation's id is an error on its field.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from agents.models import Agent
from agents.permissions import (
    Membership,
    agents_with_visible_agenda,
)
from motifs.models import Motif
from organisations.middleware import OrganisationRequest
from organisations.models import Lieu
from planning.intervals import Window
from planning.models import PlageOuverture
from rendezvous.booking_forms import BookingForm, MotifStepForm, motif_label
from rendezvous.forms import MAX_DURATION_IN_MIN
from rendezvous.services import ConflictsChanged, create_rdv
from rendezvous.views.common import (
    agenda_url,
    announce_created,
    home_address,
    local_input,
    offered_motifs,
    parse_id,
    parse_start,
    with_params,
)
from rendezvous.views.usagers_step import (
    DRAFT_PARAM,
    UsagersStep,
    keep_notes,
    usager_create_url,
    usagers_step,
    with_kept_notes,
)
from usagers.models import Usager

# « Dupliquer »'s duration, in minutes (step 3's own field is `duration_in_min`).
DURATION_PARAM = "duree"


@dataclass
class WizardState:
    """What the calendar gave (agent, start) and the motif chosen, read from a GET or a POST;
    with « Dupliquer » (an RDV's page), the agents, the lieu and the duration of step 3,
    prefilled there."""

    agent: Agent | None = None
    starts_at: dt.datetime | None = None
    agents: list[Agent] = field(default_factory=list)
    lieu: Lieu | None = None
    # The duplicated RDV's duration, instead of the motif's default one.
    duration_in_min: int | None = None
    warnings: list[str] = field(default_factory=list)

    def params(self, tz) -> list[tuple[str, Any]]:
        return [
            ("agent", self.agent.pk if self.agent else None),
            ("debut", local_input(self.starts_at, tz) if self.starts_at else None),
            *[("agents", agent.pk) for agent in self.agents],
            ("lieu", self.lieu.pk if self.lieu else None),
            (DURATION_PARAM, self.duration_in_min),
        ]


def _wizard_state(membership: Membership, data: QueryDict) -> WizardState:
    """`agent` and `debut` as the calendar sends them; a wrong value is ignored with a warning."""
    state = WizardState()
    raw_agent = data.get("agent", "")
    if raw_agent:
        agent_id = parse_id(raw_agent)
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
        state.starts_at = parse_start(raw_start, membership.organisation.tzinfo)
        if state.starts_at is None:
            state.warnings.append(
                _(
                    "L'heure de début « %(value)s » n'est pas valide (format attendu AAAA-MM-JJTHH:MM) : "
                    "choisissez-la à l'étape 3."
                )
                % {"value": raw_start[:40]}
            )
    # Step 3 posts its own `agents`, `lieu` and duration (its fields, which check them): read as
    # the state only when it goes back to step 2, to come again prefilled (or when « Dupliquer »
    # opens it).
    if data.get("etape") != "rdv" or data.get("action", "") in ("", "retour"):
        _prefilled_for_step_3(membership, data, state)
    return state


def _prefilled_for_step_3(membership: Membership, data: QueryDict, state: WizardState) -> None:
    """`agents`, `lieu` and `duree` (« Dupliquer »), among those the membership may book with:
    any other (another organisation's, a closed lieu, a duration step 3 would refuse) is left out
    with a warning, never shown."""
    raw_agents = [value for value in data.getlist("agents") if value][:50]
    if raw_agents:
        ids = [parse_id(value) for value in raw_agents]
        found = {
            agent.pk: agent for agent in agents_with_visible_agenda(membership).filter(pk__in=[i for i in ids if i])
        }
        state.agents = [found[i] for i in dict.fromkeys(ids) if i in found]
        if len(state.agents) < len(set(raw_agents)):
            state.warnings.append(
                _(
                    "Un des agents demandés n'existe pas ou vous ne pouvez pas lui poser de RDV : "
                    "vérifiez les agents à l'étape 3."
                )
            )
    raw_lieu = data.get("lieu", "")
    if raw_lieu:
        lieu_id = parse_id(raw_lieu)
        lieux = Lieu.objects.for_organisation(membership.organisation).active()
        state.lieu = lieux.filter(pk=lieu_id).first() if lieu_id else None
        if state.lieu is None:
            state.warnings.append(
                _("Le lieu demandé n'existe pas ou n'est plus ouvert : choisissez le lieu à l'étape 3.")
            )
    # Back from step 3 (« retour »), the duration typed there comes again.
    raw_duration = data.get(DURATION_PARAM) or (data.get("duration_in_min", "") if data.get("etape") == "rdv" else "")
    if raw_duration:
        duration = parse_id(raw_duration)
        if duration is not None and 1 <= duration <= MAX_DURATION_IN_MIN:
            state.duration_in_min = duration
        else:
            state.warnings.append(
                _("La durée demandée « %(value)s » n'est pas valide : choisissez-la à l'étape 3.")
                % {"value": raw_duration[:10]}
            )


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
        "duration_in_min": state.duration_in_min or motif.default_duration_in_min,
        "agents": [agent.pk for agent in state.agents] or ([state.agent.pk] if state.agent else []),
    }
    if state.starts_at is not None:
        initial["date"] = state.starts_at.astimezone(tz).date()
        initial["time"] = state.starts_at.astimezone(tz).time()
    if motif.location_type == Motif.LocationType.PUBLIC_OFFICE:
        initial["lieu"] = (
            state.lieu.pk if state.lieu else _lieu_of_plage(membership.organisation, state.agent, state.starts_at)
        )
    if motif.location_type == Motif.LocationType.HOME:
        initial["address"] = home_address(membership, usagers)
    return initial


STEPS = {
    "motif": (1, _("Choisir le motif"), _("Choisir le ou les usagers")),
    "usagers": (2, _("Choisir le ou les usagers"), _("Choisir la durée et la date")),
    "rdv": (3, _("Choisir la durée et la date"), ""),
}


@require_http_methods(["GET", "POST"])
def rdv_create(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    membership = request.membership
    organisation = membership.organisation
    tz = organisation.tzinfo
    data = request.POST if request.method == "POST" else request.GET
    state = _wizard_state(membership, data)
    motifs = offered_motifs(membership, state.agent)
    context: dict[str, Any] = {"state": state, "organisation": organisation}
    if state.agent is not None and state.starts_at is not None:
        context["back_url"] = agenda_url(organisation.pk, state.agent, state.starts_at, tz)
    elif state.agent is not None:
        context["back_url"] = reverse(
            "rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": state.agent.pk}
        )
    else:
        context["back_url"] = reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})

    def step(name: str, status: int = 200, **extra) -> HttpResponse:
        number, title, next_title = STEPS[name]
        context.update(step=name, step_number=number, step_title=title, next_step_title=next_title, **extra)
        return render(request, "rendezvous/booking/wizard.html", context, status=status)

    # Step 1: the motif (GET, so that the calendar can link to any step).
    if request.method == "GET" and ("motif" not in data or data.get("etape") == "motif"):
        motif_choice = MotifStepForm(motifs=motifs, initial={"motif": data.get("motif", "")})
        return step("motif", motif_form=motif_choice, no_motif=not motifs)
    motif_form = MotifStepForm(data, motifs=motifs)
    if not motif_form.is_valid():
        return step("motif", status=422, motif_form=motif_form, no_motif=not motifs)
    motif: Motif = motif_form.cleaned_data["motif"]
    context["motif"] = motif
    context["motif_label"] = motif_label(motif)
    context["step1_url"] = with_params(request.path, [*state.params(tz), ("motif", motif.pk), ("etape", "motif")])

    def wizard_url(usagers: UsagersStep, draft: str | None = None) -> str:
        return with_params(
            request.path,
            [
                *state.params(tz),
                ("motif", motif.pk),
                *[("usagers", usager.pk) for usager in usagers.selected],
                (DRAFT_PARAM, draft),
            ],
        )

    # Step 2: the usagers and the notes.
    if request.method == "GET":
        typed = with_kept_notes(request, data)
        entering = any(key in typed for key in ("usagers", "nouvel_usager", "notes"))
        usagers = usagers_step(membership, typed if entering else None)
        status = 422 if entering and not usagers.form.is_valid() else 200
        if data.get("etape") == "rdv" and status == 200 and usagers.selected:
            # « Dupliquer » an RDV: straight to the date and time, the rest prefilled.
            initial = _booking_initial(membership, state, motif, usagers.selected)
            return step("rdv", usagers=usagers, form=BookingForm(membership=membership, motif=motif, initial=initial))
        return step("usagers", status=status, usagers=usagers)
    etape = data.get("etape")
    action = data.get("action", "")
    if etape == "usagers" or action == "retour":
        usagers = usagers_step(membership, data, require=action == "continuer")
        if action == "creer_usager":
            draft = keep_notes(request, usagers.form.data)
            return redirect(usager_create_url(organisation.pk, wizard_url(usagers, draft)))
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
            notes=usagers.form.cleaned_data["notes"],
            by=membership.agent,
            accepted_conflicts=form.current_signature,
        )
    except ConflictsChanged as changed:
        form.conflicts_changed(changed.conflicts)
        return step("rdv", status=422, usagers=usagers, form=form)
    announce_created(request, rdv, tz)
    first = state.agent if state.agent is not None and state.agent in agents else agents[0]
    return redirect(agenda_url(organisation.pk, first, rdv.starts_at, tz))


# ---------------------------------------------------------------------------------------------
# 2. « Trouver un créneau »
