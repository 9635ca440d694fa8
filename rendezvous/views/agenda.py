"""« Vos agendas »: an agent's calendar (jour, semaine, mois, `agenda_agent`, reached from the
side menu through `agenda`) and the secrétariat's « Journée de l'équipe » (one column per agent
for one day, `agenda_secretariat`).

The agents whose agenda may be opened come from `agents.permissions.agents_with_visible_agenda`:
any other agent answers 404. What the pages show is read by `rendezvous.agenda.queries`, laid
out by `rendezvous.agenda.layout` and its links written by `rendezvous.agenda.html`."""

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from agents.permissions import agents_with_visible_agenda
from organisations.middleware import OrganisationRequest
from organisations.models import Lieu, Organisation, Service
from planning.holidays import closed_days
from rdv.forms import DsfrForm
from rdv.links import url_for_pks
from rendezvous.agenda.blocks import Labels, rdv_block
from rendezvous.agenda.html import (
    WAITING_FORM_ID,
    grid_rdv_html,
    print_html,
    waiting_button_html,
    write_grid_html,
    write_month_html,
)
from rendezvous.agenda.layout import DayColumn, agent_columns, day_columns, month_weeks, time_grid, visible_week_days
from rendezvous.agenda.periods import Period, day_window, hour_label, long_date, weekday_names
from rendezvous.agenda.queries import absences_and_busy, plages_in_window, rdvs_in_window, visible_agents
from rendezvous.models import Rdv, displayed_statuses

DEFAULT_VIEW = "semaine"
SLOT_MINUTES = {"jour": 15, "semaine": 30}
# Dates the pages accept: far enough for any history, and no overflow when moving by a month.
MIN_DATE = dt.date(1970, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


class AgendaParamsForm(DsfrForm):
    vue = forms.ChoiceField(
        label=gettext_lazy("Vue"),
        choices=[
            ("jour", gettext_lazy("Journée")),
            ("semaine", gettext_lazy("Semaine")),
            ("mois", gettext_lazy("Mois")),
        ],
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choisissez la vue Journée, Semaine ou Mois.")},
    )
    date = forms.DateField(
        label=gettext_lazy("Date"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": gettext_lazy("Saisissez une date au format AAAA-MM-JJ.")},
    )

    # « Filtrer les RDV par statut » (the manual: « Tous les RDVs » first, then each status as
    # « Tous les RDVs » lists them).
    statut = forms.ChoiceField(
        label=gettext_lazy("Statut des RDV"),
        required=False,
        error_messages={"invalid_choice": gettext_lazy("Choisissez un statut de la liste.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "statut" in self.fields:
            statut = cast(forms.ChoiceField, self.fields["statut"])
            statut.choices = [("", _("Tous les RDVs")), *displayed_statuses().items()]

    def clean_date(self) -> dt.date | None:
        day = self.cleaned_data.get("date")
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise forms.ValidationError(_("Choisissez une date entre 1970 et 2100."))
        return day


def _params(
    request: OrganisationRequest, form_class: type[AgendaParamsForm], **kwargs: Any
) -> tuple[AgendaParamsForm, dict]:
    """The valid parameters, each wrong one replaced by its default (the form keeps the error)."""
    data = request.GET.copy()
    if not data.get("date"):
        data["date"] = _today(request.organisation).isoformat()
    form = form_class(data, **kwargs)
    form.is_valid()
    values = {name: form.cleaned_data.get(name) for name in form.fields}
    return form, values


def _today(organisation: Organisation) -> dt.date:
    return timezone.localdate(timezone=organisation.tzinfo)


def _agent_day_url(organisation_id: int, agent_id: int, view: str, day: dt.date, *, statut: str = "") -> str:
    query = {"vue": view, "date": day.isoformat()}
    if statut:
        query["statut"] = statut
    return reverse(
        "rendezvous:agenda_agent", kwargs={"organisation_id": organisation_id, "agent_id": agent_id}, query=query
    )


@require_GET
def agenda(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    """« Vos agendas »: the signed-in agent's calendar, or the one chosen in the side menu's
    drop-down (`?agent=`), keeping the view and the date."""
    membership = request.membership
    agent_id = membership.agent.pk
    chosen = request.GET.get("agent", "")
    if chosen.isdigit() and len(chosen) < 12:
        agent_id = int(chosen)
    query = {key: request.GET[key] for key in ("vue", "date", "statut") if request.GET.get(key)}
    return redirect(
        reverse(
            "rendezvous:agenda_agent", kwargs={"organisation_id": organisation_id, "agent_id": agent_id}, query=query
        )
    )


@require_GET
def agenda_agent(request: OrganisationRequest, organisation_id: int, agent_id: int) -> HttpResponse:
    membership = request.membership
    organisation = membership.organisation
    agents = visible_agents(membership)
    agent = next((candidate for candidate in agents if candidate.pk == agent_id), None)
    if agent is None:
        raise Http404(_("Agenda inconnu."))
    tz = organisation.tzinfo
    now = timezone.now()
    today = _today(organisation)
    form, values = _params(request, AgendaParamsForm)
    view = values["vue"] or DEFAULT_VIEW
    statut = values["statut"] or ""
    period = Period.around(view, values["date"] or today)
    window = period.window(tz)

    def page_url(view: str, day: dt.date) -> str:
        return _agent_day_url(organisation.pk, agent.pk, view, day, statut=statut)

    detail_url = url_for_pks("rendezvous:detail", organisation_id=organisation.pk)
    labels = Labels.current()
    absences, busy = absences_and_busy(organisation, [agent.pk], window)
    blocks = [
        rdv_block(rdv, tz=tz, now=now, url=detail_url(rdv.pk), labels=labels)
        for rdv in rdvs_in_window(organisation, [agent.pk], window)
    ]
    if statut:
        # « Ne s'afficheront alors que les RDV ayant le statut sélectionné. »
        blocks = [block for block in blocks if block.displayed_status == statut]
    # « Voir dans l'agenda » from an RDV's page (`?rdv=`): that RDV marked, if it is on this page.
    highlighted = request.GET.get("rdv", "")
    for block in blocks:
        block.highlighted = str(block.pk) == highlighted
    columns = day_columns(
        days=period.days,
        tz=tz,
        now=now,
        rdvs=blocks,
        plages=plages_in_window(organisation, [agent.pk], window),
        absences=absences,
        closed=closed_days(organisation, period.first, period.last),
        busy=busy,
    )
    for column in columns:
        column.url = page_url("jour", column.date)
    # « Cliquez sur un créneau » and « Trouver un créneau »: the booking pages
    # (rendezvous/views/booking.py, creneaux.py).
    slot_link = _slot_link_maker(organisation.pk, lambda column: agent.pk)

    # The summary counts the period's RDVs once each: the month's own days, not its neighbours'.
    counted = {
        block.pk: block
        for column in columns
        if period.view != "mois" or column.date.month == period.day.month
        for block in column.rdvs
    }
    grid = None
    weeks = None
    if period.view == "mois":
        day_urls = {column.date: column.url for column in columns}
        weeks = month_weeks(period, columns, day_url=day_urls.__getitem__)
        write_month_html(weeks)
    else:
        shown = columns if period.view == "jour" else visible_week_days(columns)
        grid = time_grid(
            shown, tz=tz, now=now, slot_minutes=SLOT_MINUTES[period.view], slot_link=slot_link, kind=period.view
        )
        write_grid_html(grid)
    context = {
        "agent": agent,
        "is_own": agent.pk == membership.agent.pk,
        "agents": agents,
        "period": period,
        "grid": grid,
        "weeks": weeks,
        "weekday_names": weekday_names(),
        "form": form,
        "statut": statut,
        "statut_label": displayed_statuses().get(statut, ""),
        "views": [
            {"label": label, "url": page_url(value, period.day), "current": value == period.view}
            for value, label in (("mois", _("Mois")), ("semaine", _("Semaine")), ("jour", _("Journée")))
        ],
        "all_statuses_url": _agent_day_url(organisation.pk, agent.pk, period.view, period.day),
        "today_url": page_url(period.view, today),
        "previous_url": page_url(period.view, period.previous),
        "next_url": page_url(period.view, period.next),
        "creneaux_url": reverse(
            "rendezvous:creneaux", kwargs={"organisation_id": organisation.pk}, query={"agents": agent.pk}
        ),
        "team_url": _team_url(organisation.pk, {"date": period.day.isoformat()}) if len(agents) > 1 else "",
        "rdv_count": len(counted),
        "to_fill_count": sum(1 for block in counted.values() if block.to_fill),
        "in_absence_count": sum(1 for block in counted.values() if block.in_absence),
    }
    return render(request, "rendezvous/agenda/agent.html", context, status=400 if form.errors else 200)


def _slot_link_maker(organisation_id: int, agent_of: Callable[[DayColumn], int]) -> Callable[[DayColumn], str]:
    """The link of a column's time cells up to their time (`layout.time_grid` ends it): « poser
    un RDV » with the column's agent, `debut` written as the booking page reads it, its colon
    unescaped. One reverse() for the page."""
    create_url = reverse("rendezvous:create", kwargs={"organisation_id": organisation_id})
    return lambda column: f"{create_url}?agent={agent_of(column)}&debut={column.date.isoformat()}T"


def _team_url(organisation_id: int, query: dict[str, str]) -> str:
    return reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": organisation_id}, query=query)


class TeamDayForm(AgendaParamsForm):
    service = forms.ModelChoiceField(
        label=gettext_lazy("Service"),
        queryset=Service.objects.none(),
        required=False,
        empty_label=gettext_lazy("Tous les services"),
        error_messages={"invalid_choice": gettext_lazy("Choisissez un service de la liste.")},
    )
    lieu = forms.ModelChoiceField(
        label=gettext_lazy("Lieu"),
        queryset=Lieu.objects.none(),
        required=False,
        empty_label=gettext_lazy("Tous les lieux"),
        error_messages={"invalid_choice": gettext_lazy("Choisissez un lieu de la liste.")},
    )

    field_order = ["date", "service", "lieu"]

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["vue"]
        del self.fields["statut"]
        service_field = cast(forms.ModelChoiceField, self.fields["service"])
        service_field.queryset = Service.objects.filter(agent_roles__organisation=organisation).distinct()
        lieu_field = cast(forms.ModelChoiceField, self.fields["lieu"])
        lieu_field.queryset = Lieu.objects.for_organisation(organisation).active().by_name()


@require_GET
def agenda_secretariat(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    """« Journée de l'équipe »: a time grid of one day with one column per agent whose agenda the
    membership may open and who has a plage or an RDV that day, filtered by service and lieu; a
    free cell books with that agent as the agenda does; `?rdv=` marks an RDV as the agenda does
    (« Voir dans l'agenda » from an RDV reached from here). Polled by htmx every 30 seconds (the
    grid only)."""
    membership = request.membership
    organisation = membership.organisation
    tz = organisation.tzinfo
    now = timezone.now()
    today = _today(organisation)
    form, values = _params(request, TeamDayForm, organisation=organisation)
    day = values["date"] or today
    service, lieu = values["service"], values["lieu"]
    window = day_window(day, day, tz)

    agents_qs = agents_with_visible_agenda(membership)
    if service is not None:
        agents_qs = agents_qs.in_service(service, organisation)
    agents = list(agents_qs.order_by("last_name", "first_name", "pk"))
    agent_ids = [agent.pk for agent in agents]
    rdvs = rdvs_in_window(organisation, agent_ids, window)
    plages = plages_in_window(organisation, agent_ids, window)
    absences, busy = absences_and_busy(organisation, agent_ids, window)
    if lieu is not None:
        rdvs = [rdv for rdv in rdvs if rdv.lieu_id == lieu.pk]
        plages = [occurrence for occurrence in plages if occurrence.event.lieu_id == lieu.pk]
    detail_url = url_for_pks("rendezvous:detail", organisation_id=organisation.pk)
    status_url = url_for_pks("rendezvous:status", organisation_id=organisation.pk)
    labels = Labels.current()
    highlighted = request.GET.get("rdv", "")
    blocks = []
    for rdv in rdvs:
        block = rdv_block(rdv, tz=tz, now=now, url=detail_url(rdv.pk), labels=labels)
        block.highlighted = str(rdv.pk) == highlighted
        block.status_url = status_url(rdv.pk)
        # Every RDV here has an agent whose agenda the membership may open: it may change it.
        block.can_set_waiting = rdv.status == Rdv.Status.UNKNOWN and rdv.status_refusal(Rdv.Status.WAITING, now) is None
        blocks.append(block)
    closed = closed_days(organisation, day, day).get(day, "")
    columns = agent_columns(
        day=day,
        agents=[(agent.pk, agent.full_name) for agent in agents],
        tz=tz,
        now=now,
        rdvs=blocks,
        plages=plages,
        absences=absences,
        closed=closed,
        busy=busy,
    )
    shown = [column for column in columns if column.rdvs or column.plage_bands]
    others = [column for column in columns if not (column.rdvs or column.plage_bands)]
    for column in columns:
        column.url = _agent_day_url(organisation.pk, cast(int, column.agent_id), "jour", day)
    grid = None
    if shown:
        grid = time_grid(
            shown,
            tz=tz,
            now=now,
            slot_minutes=SLOT_MINUTES["semaine"],
            slot_link=_slot_link_maker(organisation.pk, lambda column: cast(int, column.agent_id)),
            kind="equipe",
        )
        anchored = False  # an RDV of several agents shows in each one's column: one anchor
        for column in grid.columns:
            for block in column.rdvs:
                dom_id = f"equipe-rdv-{column.agent_id}-{block.pk}"
                action = waiting_button_html(block, dom_id) if block.can_set_waiting else ""
                block.html = grid_rdv_html(block, dom_id, action=action, anchor=not anchored)
                anchored = anchored or block.highlighted
            column.print_html = print_html(column)
        write_grid_html(grid)
    context = {
        "form": form,
        "day": day,
        "day_label": long_date(day),
        "closed": closed,
        "is_today": day == today,
        "grid": grid,
        "others": others,
        "updated_at": hour_label(now.astimezone(tz).hour * 60 + now.astimezone(tz).minute),
        "previous_url": _team_url_with(request, day - dt.timedelta(days=1)),
        "next_url": _team_url_with(request, day + dt.timedelta(days=1)),
        "today_url": _team_url_with(request, today),
        "page_url": request.get_full_path(),
        "waiting_form_id": WAITING_FORM_ID,
        "waiting_status": Rdv.Status.WAITING.value,
        "own_agenda_url": reverse(
            "rendezvous:agenda",
            kwargs={"organisation_id": organisation.pk},
            query={"vue": "jour", "date": day.isoformat()},
        ),
    }
    status = 400 if form.errors else 200
    if getattr(request, "htmx", False):
        return render(request, "rendezvous/agenda/_team_grid.html", context, status=status)
    return render(request, "rendezvous/agenda/team.html", context, status=status)


def _team_url_with(request: OrganisationRequest, day: dt.date) -> str:
    """The team's day `day`, keeping the service and lieu chosen."""
    query = {key: request.GET.get(key, "") for key in ("service", "lieu") if request.GET.get(key)}
    query["date"] = day.isoformat()
    return _team_url(request.organisation.pk, query)
