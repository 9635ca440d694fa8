"""The usagers step that posing an RDV, « Trouver un créneau » and « modifier » share: the live
search, « ajouter », « retirer », and the way to « Créer un usager » and back."""

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from agents.permissions import (
    Membership,
)
from organisations.middleware import OrganisationRequest
from rdv.words import de
from rendezvous.booking_forms import UsagersStepForm
from rendezvous.views.common import (
    home_address,
    visible_responsibles,
)
from usagers.models import Usager
from usagers.permissions import usagers_visible_to
from usagers.views import LIVE_RESULTS, MAX_QUERY_LENGTH


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
    organisation knows it (« proche d'Inès … »), else None."""
    if len(query) < 2:
        return [], False
    found = list(usagers_visible_to(membership).search(query).exclude(pk__in=list(exclude))[: LIVE_RESULTS + 1])
    results = found[:LIVE_RESULTS]
    responsibles = visible_responsibles(membership, results)
    for usager in results:
        responsible = responsibles.get(usager.responsible_id)
        usager.shown_responsible = responsible  # type: ignore[attr-defined]
        usager.shown_responsible_of = de(responsible.full_name) if responsible else ""  # type: ignore[attr-defined]
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
    responsibles = visible_responsibles(
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
        data["address"] = home_address(membership, selected)
    if action == "rechercher" or (not action and data.get("q") and not added_id and not removed_id):
        step.results, step.more = _search(membership, step.query, list(selected_ids))
        step.focus_search = True
    step.picking = bool(added_id or removed_id) or step.results is not None
    return step


def usager_create_url(organisation_id: int, back: str) -> str:
    return reverse("usagers:create", kwargs={"organisation_id": organisation_id}, query={"next": back})


# The notes typed before « Créer un usager », kept in the agent's session while it creates the
# usager, under a random key the way back names (`brouillon`): private and possibly long, they
# stay out of the URL (access logs, the browser's history, the server's limit on its length).
# The last few only: a draft abandoned is forgotten with the session, or pushed out.
DRAFTS_KEY = "rdv_notes_drafts"
MAX_DRAFTS = 5
DRAFT_PARAM = "brouillon"


def keep_notes(request: HttpRequest, data: Mapping[str, Any]) -> str | None:
    """The notes of the usagers step in `data` saved as a draft of the session; the key of the
    draft, to carry in the way back, or None without notes."""
    notes = data.get("notes", "")
    if not notes.strip():
        return None
    key = secrets.token_urlsafe(9)
    drafts = dict(list(request.session.get(DRAFTS_KEY, {}).items())[-(MAX_DRAFTS - 1) :])
    drafts[key] = notes
    request.session[DRAFTS_KEY] = drafts
    return key


def with_kept_notes(request: HttpRequest, data: QueryDict) -> QueryDict:
    """`data` with the notes of the draft it names (the way back from « Créer un usager »),
    unless it carries notes itself. An unknown or foreign key brings nothing back."""
    key = data.get(DRAFT_PARAM, "")
    notes = request.session.get(DRAFTS_KEY, {}).get(key) if key else None
    if notes is None or "notes" in data:
        return data
    data = data.copy()
    data["notes"] = notes
    return data


@require_GET
def usager_picker(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    """Live results of the « usagers » field (htmx): the first matches, each a button that adds
    the usager to the RDV being posed. The usagers already chosen are left out."""
    membership = request.membership
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
