"""The agent's private calendar address (an ICS feed of its plages, absences and RDVs): made,
shown once, revoked from « Plages d'ouverture »; read by calendar applications with its token."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agents.models import Agent
from organisations.middleware import OrganisationRequest
from planning import ics
from planning.models import CalendarFeed

NEW_FEED_SESSION_KEY = "planning_new_calendar_token"


def feed_context(request: OrganisationRequest, agent: Agent) -> dict | None:
    """The private calendar address, on the agent's own planning only. The token is shown once,
    right after it was made: only its hash is kept."""
    if agent.pk != request.user.pk:
        return None
    feed = CalendarFeed.objects.filter(agent=agent).first()
    token = request.session.pop(NEW_FEED_SESSION_KEY, None)
    url = request.build_absolute_uri(reverse("planning:calendar", kwargs={"token": token})) if token else ""
    return {
        "exists": feed is not None,
        "created_at": feed.created_at if feed else None,
        "url": url,
        "webcal_url": "webcal://" + url.split("://", 1)[1] if url else "",
    }


@require_POST
def calendar_feed(request: OrganisationRequest, organisation_id):
    """Make (or remake, revoking the previous one) or revoke the signed-in agent's private
    calendar address. Only one's own: the address reveals one's whole planning."""
    if request.POST.get("action") == "revoke":
        CalendarFeed.objects.filter(agent=request.user).delete()
        messages.success(request, _("L'adresse de votre calendrier a été révoquée : elle ne fonctionne plus."))
    else:
        request.session[NEW_FEED_SESSION_KEY] = CalendarFeed.regenerate(request.user)
        messages.success(
            request,
            _("Une nouvelle adresse de calendrier a été créée ; l'ancienne, s'il y en avait une, ne fonctionne plus."),
        )
    return redirect("planning:plage_list", organisation_id=organisation_id, agent_id=request.user.pk)


@login_not_required
def calendar(request: HttpRequest, token):
    """The agent's plages, absences and RDVs as an RFC 5545 calendar, for Thunderbird, Google
    Calendar or Outlook (what an RDV shows there, and why: `planning.ics`). Public by design
    (calendar apps send no cookie): the long random token is the key."""
    feed = CalendarFeed.objects.for_token(token).select_related("agent").first()
    if feed is None or not feed.agent.is_active:
        raise Http404("Calendrier inconnu.")
    response = HttpResponse(ics.agent_calendar(feed.agent), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="planning.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
