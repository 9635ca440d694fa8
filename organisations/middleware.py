from django.http import Http404, HttpRequest
from django.utils import timezone

from agents.models import Agent
from agents.permissions import Membership, get_membership
from organisations.models import Organisation


class AgentRequest(HttpRequest):
    """The request of a page for signed-in agents (LoginRequiredMiddleware sees to it)."""

    user: Agent  # type: ignore[assignment]


class OrganisationRequest(AgentRequest):
    """The request of a page under /organisations/<organisation_id>/, as the middleware below
    leaves it: views of those pages take it, so their access to `membership` is typed."""

    membership: Membership
    organisation: Organisation


class CurrentOrganisationMiddleware:
    """Every agent page lives under /organisations/<organisation_id>/: resolve the agent's
    membership there once, as `request.membership` and `request.organisation`.

    An agent with no role in that organisation gets 404, the same answer as for an organisation
    that does not exist, so URLs reveal nothing. Runs after LoginRequiredMiddleware, which has
    already sent anonymous visitors to the login page.

    The organisation's time zone becomes the current one for the request, so that templates and
    forms show and read wall-clock times of the organisation (La Réunion is not on Paris time).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = None
        request.organisation = None
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request, view_func, view_args, view_kwargs):
        organisation_id = view_kwargs.get("organisation_id")
        if organisation_id is None or not request.user.is_authenticated:
            return None
        membership = get_membership(request.user, organisation_id)
        if membership is None:
            raise Http404("Organisation inconnue.")
        request.membership = membership
        request.organisation = membership.organisation
        timezone.activate(membership.organisation.tzinfo)
        return None
