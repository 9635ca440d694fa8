"""« Votre planning »: plages d'ouverture and absences of an agent, their single occurrences, the
public holidays switch and the private calendar feed.

Every page names the agent whose planning it shows; `_planning_agent` fetches it among the agents
the permission module lets the membership manage, so any other agent is a 404.
"""

import datetime as dt
from typing import Any, TypedDict

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from agents.models import Agent
from agents.permissions import agents_with_manageable_planning
from motifs.models import Motif
from organisations.decorators import settings_access_required
from organisations.middleware import OrganisationRequest
from planning import impact
from planning.calendar_views import feed_context
from planning.forms import (
    AbsenceForm,
    MoveOccurrenceForm,
    PlageOuvertureForm,
    PlanningFilterForm,
    describe_rule,
    local_date,
)
from planning.holidays import closed_days
from planning.models import Absence, PlageOuverture, RecurringEvent
from rendezvous.models import Participation, Rdv

PER_PAGE = 50
UPCOMING_DAYS = 91
UPCOMING_MAX = 15
# The RDVs a change just left outside availability, shown once on the page it redirects to.
RDVS_OUTSIDE_SESSION_KEY = "planning_rdvs_outside"
RDVS_OUTSIDE_SHOWN = 20


class Kind(TypedDict):
    """What the pages of one kind of event use: its model and form, the names of its URLs."""

    model: type[PlageOuverture] | type[Absence]
    form: type[PlageOuvertureForm] | type[AbsenceForm]
    list: str
    edit: str
    occurrence: str


KINDS: dict[str, Kind] = {
    "plage": {
        "model": PlageOuverture,
        "form": PlageOuvertureForm,
        "list": "planning:plage_list",
        "edit": "planning:plage_edit",
        "occurrence": "planning:plage_occurrence",
    },
    "absence": {
        "model": Absence,
        "form": AbsenceForm,
        "list": "planning:absence_list",
        "edit": "planning:absence_edit",
        "occurrence": "planning:absence_occurrence",
    },
}


def _planning_agent(request: OrganisationRequest, agent_id: int) -> Agent:
    """The agent whose planning the page shows, if the membership may manage it; 404 otherwise."""
    return get_object_or_404(agents_with_manageable_planning(request.membership), pk=agent_id)


def _today(request: OrganisationRequest) -> dt.date:
    return timezone.localdate(timezone=request.organisation.tzinfo)


def _events(request: OrganisationRequest, kind: str, agent: Agent):
    model = KINDS[kind]["model"]
    return model.objects.for_organisation(request.organisation).for_agent(agent)


def _get_event(request: OrganisationRequest, kind: str, agent: Agent, pk: int) -> RecurringEvent:
    return get_object_or_404(_events(request, kind, agent).select_related("organisation__territory"), pk=pk)


def _selectable_agents(request: OrganisationRequest) -> list[Agent]:
    return list(agents_with_manageable_planning(request.membership).order_by("last_name", "first_name", "pk"))


def _redirect_to_list(request: OrganisationRequest, kind: str, agent: Agent):
    return redirect(KINDS[kind]["list"], organisation_id=request.organisation.pk, agent_id=agent.pk)


def my_plages(request: OrganisationRequest, organisation_id):
    """« Plages d'ouverture » in the menu: the signed-in agent's, or the one chosen in the selector."""
    return _my_planning(request, "plage")


def my_absences(request: OrganisationRequest, organisation_id):
    return _my_planning(request, "absence")


def _my_planning(request: OrganisationRequest, kind: str):
    agent_id = request.GET.get("agent") or request.user.pk
    try:
        agent = _planning_agent(request, int(agent_id))
    except ValueError:
        raise Http404("Agent inconnu.") from None
    return _redirect_to_list(request, kind, agent)


def _list_context(request: OrganisationRequest, kind: str, agent: Agent, filter_form: PlanningFilterForm) -> dict:
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "period": filter_form.cleaned_data.get("period") or PlanningFilterForm.CURRENT,
        "query": query.urlencode() + "&" if query else "",
        "agent": agent,
        "is_own": agent.pk == request.user.pk,
        "agents": _selectable_agents(request),
        "kind": kind,
        "selector_url": reverse(
            "planning:my_plages" if kind == "plage" else "planning:my_absences",
            kwargs={"organisation_id": request.organisation.pk},
        ),
        "rdvs_outside": _rdvs_outside(request, agent),
    }


def _check_rdvs(request: OrganisationRequest, agent: Agent, change, days):
    """Run the change (inside the caller's transaction) and remember the future RDVs it leaves
    outside the agent's availability, to warn about them on the next page. Never refuses."""
    result, rdvs = impact.change_and_check(change, agent=agent, organisation=request.organisation, days=days)
    if rdvs:
        tz = request.organisation.tzinfo
        request.session[RDVS_OUTSIDE_SESSION_KEY] = {
            "organisation": request.organisation.pk,
            "agent": agent.pk,
            "rdvs": [rdv.pk for rdv in rdvs],
            "first_day": rdvs[0].starts_at.astimezone(tz).date().isoformat(),
            "last_day": max(rdv.starts_at for rdv in rdvs).astimezone(tz).date().isoformat(),
        }
    return result


def _rdvs_outside(request: OrganisationRequest, agent: Agent) -> dict | None:
    """The warning `_check_rdvs` left for this agent's planning, once: the RDVs (as they are now,
    among those the membership may see) with their motif and usagers; two queries."""
    stored = request.session.get(RDVS_OUTSIDE_SESSION_KEY)
    if not stored or stored.get("organisation") != request.organisation.pk or stored.get("agent") != agent.pk:
        return None
    del request.session[RDVS_OUTSIDE_SESSION_KEY]
    rdvs = list(
        Rdv.objects.visible_to(request.membership)
        .filter(pk__in=stored["rdvs"])
        .select_related("motif")
        .prefetch_related(
            Prefetch("participations", queryset=Participation.objects.select_related("usager").order_by("pk"))
        )
        .order_by("starts_at", "pk")[:RDVS_OUTSIDE_SHOWN]
    )
    if not rdvs:
        return None
    count = len(stored["rdvs"])
    query = {"agent": agent.pk, "du": stored["first_day"], "au": stored["last_day"]}
    return {
        "rdvs": rdvs,
        "count": count,
        "more": count - len(rdvs),
        "list_url": reverse("rendezvous:list", kwargs={"organisation_id": request.organisation.pk})
        + "?"
        + urlencode(query),
        "is_own": agent.pk == request.user.pk,
        "agent": agent,
    }


def plage_list(request: OrganisationRequest, organisation_id, agent_id):
    agent = _planning_agent(request, agent_id)
    filter_form = PlanningFilterForm(request.GET, organisation=request.organisation, with_lieu=True)
    plages = filter_form.filter(_events(request, "plage", agent), _today(request))
    plages = plages.select_related("lieu").prefetch_related(
        Prefetch("motifs", queryset=Motif.objects.order_by("name", "pk"))
    )
    page_obj = Paginator(plages.order_by("first_day", "start_time", "pk"), PER_PAGE).get_page(request.GET.get("page"))
    rows = [(plage, describe_rule(plage.rule)) for plage in page_obj]
    context = {
        **_list_context(request, "plage", agent, filter_form),
        "filter_form": filter_form,
        "page_obj": page_obj,
        "rows": rows,
        "feed": feed_context(request, agent),
    }
    return render(request, "planning/plage_list.html", context, status=422 if filter_form.errors else 200)


def absence_list(request: OrganisationRequest, organisation_id, agent_id):
    agent = _planning_agent(request, agent_id)
    filter_form = PlanningFilterForm(request.GET, organisation=request.organisation, with_lieu=False)
    today = _today(request)
    absences = filter_form.filter(_events(request, "absence", agent), today)
    page_obj = Paginator(absences.order_by("first_day", "start_time", "pk"), PER_PAGE).get_page(request.GET.get("page"))
    rows = [(absence, describe_rule(absence.rule)) for absence in page_obj]
    organisation = request.organisation
    context = {
        **_list_context(request, "absence", agent, filter_form),
        "filter_form": filter_form,
        "page_obj": page_obj,
        "rows": rows,
        "holidays": sorted(closed_days(organisation, today, today + dt.timedelta(days=365)).items()),
        "close_on_public_holidays": organisation.close_on_public_holidays,
        "can_switch_holidays": request.membership.is_admin,
    }
    return render(request, "planning/absence_list.html", context, status=422 if filter_form.errors else 200)


@require_http_methods(["GET", "POST"])
def plage_create(request: OrganisationRequest, organisation_id, agent_id):
    return _create(request, "plage", agent_id)


@require_http_methods(["GET", "POST"])
def absence_create(request: OrganisationRequest, organisation_id, agent_id):
    return _create(request, "absence", agent_id)


def _create(request: OrganisationRequest, kind: str, agent_id: int):
    agent = _planning_agent(request, agent_id)
    form_class = KINDS[kind]["form"]
    form = form_class(request.POST or None, organisation=request.organisation, agent=agent)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with transaction.atomic():
                event = _check_rdvs(request, agent, form.save, [impact.series_days(form.instance)])
            if kind == "plage":
                message = _("La plage d'ouverture « %(title)s » a été créée.")
            else:
                message = _("L'absence « %(title)s » a été créée.")
            messages.success(request, message % {"title": event.title})
            return _redirect_to_list(request, kind, agent)
        status = 422
    context: dict[str, Any] = {
        "form": form,
        "agent": agent,
        "event": None,
        "kind": kind,
        "upcoming": [],
        "rdvs_outside": None,
    }
    return render(request, f"planning/{kind}_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def plage_edit(request: OrganisationRequest, organisation_id, agent_id, pk):
    return _edit(request, "plage", agent_id, pk)


@require_http_methods(["GET", "POST"])
def absence_edit(request: OrganisationRequest, organisation_id, agent_id, pk):
    return _edit(request, "absence", agent_id, pk)


def _edit(request: OrganisationRequest, kind: str, agent_id: int, pk: int):
    """The page of a plage or absence: its form (« Modifier »), its next occurrences, « Supprimer »."""
    agent = _planning_agent(request, agent_id)
    event = _get_event(request, kind, agent, pk)
    title = event.title  # as saved: validation writes the submitted values on the instance
    form = KINDS[kind]["form"](request.POST or None, instance=event, organisation=request.organisation, agent=agent)
    status = 200
    if request.method == "POST":
        # Before validation writes the submitted values on the instance: the days it covered.
        days = impact.event_days(event)
        if form.is_valid():
            with transaction.atomic():
                _check_rdvs(request, agent, form.save, [*days, impact.series_days(event)])
            if kind == "plage":
                message = _("La plage d'ouverture « %(title)s » a été modifiée.")
            else:
                message = _("L'absence « %(title)s » a été modifiée.")
            messages.success(request, message % {"title": event.title})
            return _redirect_to_list(request, kind, agent)
        status = 422
        event = _get_event(request, kind, agent, pk)
    context = {
        "form": form,
        "agent": agent,
        "event": event,
        "title": title,
        "kind": kind,
        "rule_text": describe_rule(event.rule),
        "upcoming": _upcoming(request, event),
        "rdvs_outside": _rdvs_outside(request, agent) if request.method == "GET" else None,
    }
    return render(request, f"planning/{kind}_form.html", context, status=status)


def _upcoming(request: OrganisationRequest, event: RecurringEvent) -> list[dict]:
    """The series' next occurrences as planned, each with its change if any (cancelled, moved)."""
    today = _today(request)
    window = event.local_window(today, today + dt.timedelta(days=UPCOMING_DAYS))
    exceptions = {exception.original_date: exception for exception in event.exceptions.all()}
    rows = []
    for occurrence in event.expand(window, exceptions=[])[:UPCOMING_MAX]:
        exception = exceptions.get(occurrence.original_date)
        rows.append(
            {
                "occurrence": occurrence,
                "cancelled": exception is not None and exception.is_cancelled,
                "moved": exception if exception is not None and not exception.is_cancelled else None,
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
def plage_delete(request: OrganisationRequest, organisation_id, agent_id, pk):
    return _delete(request, "plage", agent_id, pk)


@require_http_methods(["GET", "POST"])
def absence_delete(request: OrganisationRequest, organisation_id, agent_id, pk):
    return _delete(request, "absence", agent_id, pk)


def _delete(request: OrganisationRequest, kind: str, agent_id: int, pk: int):
    agent = _planning_agent(request, agent_id)
    event = _get_event(request, kind, agent, pk)
    if request.method == "POST":
        title = event.title
        with transaction.atomic():
            _check_rdvs(request, agent, event.delete, impact.event_days(event))
        if kind == "plage":
            message = _("La plage d'ouverture « %(title)s » a été supprimée.")
        else:
            message = _("L'absence « %(title)s » a été supprimée.")
        messages.success(request, message % {"title": title})
        return _redirect_to_list(request, kind, agent)
    context = {"agent": agent, "event": event, "kind": kind, "rule_text": describe_rule(event.rule)}
    return render(request, "planning/confirm_delete.html", context)


@require_http_methods(["GET", "POST"])
def plage_occurrence(request: OrganisationRequest, organisation_id, agent_id, pk, day):
    return _occurrence(request, "plage", agent_id, pk, day)


@require_http_methods(["GET", "POST"])
def absence_occurrence(request: OrganisationRequest, organisation_id, agent_id, pk, day):
    return _occurrence(request, "absence", agent_id, pk, day)


def _occurrence(request: OrganisationRequest, kind: str, agent_id: int, pk: int, original_date: dt.date):
    """One occurrence of a recurring plage or absence: cancel it, move it, or restore it, without
    touching the others (an exception on the series, not a copy). The URL's day is a date
    between 1900 and 2100 (planning.urls.IsoDateConverter)."""
    agent = _planning_agent(request, agent_id)
    event = _get_event(request, kind, agent, pk)
    if not event.is_recurring or not event.has_occurrence_on(original_date):
        raise Http404("Cette plage n'a pas d'occurrence ce jour-là.")
    exception = event.exceptions.filter(original_date=original_date).first()
    window = event.local_window(original_date, original_date + dt.timedelta(days=event.span_days))
    planned = next(o for o in event.expand(window, exceptions=[]) if o.original_date == original_date)
    tz = request.organisation.tzinfo
    current = exception.as_moved() if exception else planned
    initial = {}
    if current is not None:
        initial = {
            "start_day": current.start.astimezone(tz).date(),
            "start_time": current.start.astimezone(tz).time(),
            "end_day": current.end.astimezone(tz).date(),
            "end_time": current.end.astimezone(tz).time(),
        }
    action = request.POST.get("action") if request.method == "POST" else None
    move_form = MoveOccurrenceForm(
        request.POST if action == "move" else None, initial=initial, event=event, original_date=original_date
    )
    status = 200
    exception_model = type(event).exception_model
    parent = {"plage" if kind == "plage" else "absence": event}
    # The days this change touches: the occurrence as planned and where it is (or goes) if moved.
    days: list[impact.Days] = [(planned.start.astimezone(tz).date(), planned.end.astimezone(tz).date())]
    moved = exception.as_moved() if exception is not None else None
    if moved is not None:
        days.append((moved.start.astimezone(tz).date(), moved.end.astimezone(tz).date()))

    def save_exception(starts_at: dt.datetime | None, ends_at: dt.datetime | None) -> None:
        exception_model.objects.update_or_create(
            **parent, original_date=original_date, defaults={"starts_at": starts_at, "ends_at": ends_at}
        )

    def restore() -> None:
        exception_model.objects.filter(**parent, original_date=original_date).delete()

    if action == "cancel":
        with transaction.atomic():
            _check_rdvs(request, agent, lambda: save_exception(None, None), days)
        messages.success(request, _("L'occurrence du %(date)s a été annulée.") % {"date": local_date(original_date)})
        return redirect(KINDS[kind]["edit"], organisation_id=request.organisation.pk, agent_id=agent.pk, pk=event.pk)
    if action == "restore":
        with transaction.atomic():
            _check_rdvs(request, agent, restore, days)
        messages.success(request, _("L'occurrence du %(date)s a été rétablie.") % {"date": local_date(original_date)})
        return redirect(KINDS[kind]["edit"], organisation_id=request.organisation.pk, agent_id=agent.pk, pk=event.pk)
    if action == "move":
        if move_form.is_valid():
            starts_at, ends_at = move_form.starts_at, move_form.ends_at
            days.append((starts_at.astimezone(tz).date(), ends_at.astimezone(tz).date()))
            with transaction.atomic():
                _check_rdvs(request, agent, lambda: save_exception(starts_at, ends_at), days)
            messages.success(
                request, _("L'occurrence du %(date)s a été déplacée.") % {"date": local_date(original_date)}
            )
            return redirect(
                KINDS[kind]["edit"], organisation_id=request.organisation.pk, agent_id=agent.pk, pk=event.pk
            )
        status = 422
    elif request.method == "POST":
        status = 422
    context = {
        "agent": agent,
        "event": event,
        "kind": kind,
        "original_date": original_date,
        "planned": planned,
        "exception": exception,
        "move_form": move_form,
    }
    return render(request, "planning/occurrence.html", context, status=status)


@settings_access_required
@require_POST
def public_holidays_switch(request: OrganisationRequest, organisation_id):
    """One switch for the whole organisation: public holidays closed for everyone, or not."""
    organisation = request.organisation
    organisation.close_on_public_holidays = request.POST.get("close_on_public_holidays") == "on"
    organisation.save(update_fields=["close_on_public_holidays"])
    if organisation.close_on_public_holidays:
        messages.success(request, _("L'organisation est désormais fermée les jours fériés."))
    else:
        messages.success(request, _("L'organisation n'est plus fermée les jours fériés."))
    return redirect("planning:my_absences", organisation_id=organisation.pk)
