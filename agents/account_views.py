"""« Mon compte »: what every signed-in agent sets for itself, whatever its role: its name, its
password, which changes of its RDVs it is told of by email, and its private calendar address.

Reached from the account menu of the header, within the organisation the agent is working in
(the side menu stays), or without one (/compte/: an agent of no organisation yet, the link of
the emails). One page, one form per section, each posted on its own (`formulaire`): a mistake in
one never loses what the others show."""

import copy

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from agents.forms import AccountNameForm, AccountPasswordForm, RdvNotificationsForm
from organisations.middleware import AgentRequest
from planning.calendar_views import NEW_FEED_SESSION_KEY, feed_context
from planning.models import CalendarFeed

FORMS = {"nom": AccountNameForm, "notifications": RdvNotificationsForm}


def _account_url(request: AgentRequest) -> str:
    organisation = getattr(request, "organisation", None)
    if organisation is None:
        return reverse("agents:account")
    return reverse("agents:account_in_organisation", kwargs={"organisation_id": organisation.pk})


@require_http_methods(["GET", "POST"])
def account(request: AgentRequest, organisation_id: int | None = None) -> HttpResponse:
    agent = request.user
    posted = request.POST.get("formulaire") if request.method == "POST" else None
    # The model forms change a copy: a name refused must not show in the header meanwhile.
    forms = {
        "name_form": AccountNameForm(request.POST if posted == "nom" else None, instance=copy.copy(agent)),
        "password_form": AccountPasswordForm(agent, request.POST if posted == "mot-de-passe" else None),
        "notifications_form": RdvNotificationsForm(
            request.POST if posted == "notifications" else None, instance=copy.copy(agent)
        ),
    }
    status = 200
    if posted in FORMS:
        form = forms["name_form" if posted == "nom" else "notifications_form"]
        if form.is_valid():
            form.save()
            done = _("Votre nom a été modifié.") if posted == "nom" else _("Vos notifications ont été modifiées.")
            messages.success(request, done)
            return redirect(_account_url(request))
        status = 422
    elif posted == "mot-de-passe":
        form = forms["password_form"]
        if form.is_valid():
            form.save()
            # The other sessions of the account end; this one goes on.
            update_session_auth_hash(request, form.user)
            messages.success(request, _("Votre mot de passe a été modifié."))
            return redirect(_account_url(request))
        status = 422
    elif posted == "calendrier":
        _change_calendar_feed(request)
        return redirect(_account_url(request))
    elif posted is not None:
        status = 400
    return render(
        request,
        "agents/account.html",
        {
            **forms,
            "agent": agent,
            "layout": "layouts/agent.html" if getattr(request, "organisation", None) else "base.html",
            "feed": feed_context(request, agent),  # type: ignore[arg-type]
        },
        status=status,
    )


def _change_calendar_feed(request: AgentRequest) -> None:
    """Make (or remake, revoking the previous one) or revoke the agent's private calendar
    address, as « Plages d'ouverture » does (planning.calendar_views.calendar_feed)."""
    if request.POST.get("action") == "revoke":
        CalendarFeed.objects.filter(agent=request.user).delete()
        messages.success(request, _("L'adresse de votre calendrier a été révoquée : elle ne fonctionne plus."))
        return
    request.session[NEW_FEED_SESSION_KEY] = CalendarFeed.regenerate(request.user)
    messages.success(
        request,
        _("Une nouvelle adresse de calendrier a été créée ; l'ancienne, s'il y en avait une, ne fonctionne plus."),
    )
