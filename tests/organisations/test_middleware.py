from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from organisations.middleware import CurrentOrganisationMiddleware
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory


def test_the_organisations_time_zone_is_current_during_its_pages_only(db):
    """Templates and forms then show and read La Réunion's wall-clock times, not Paris's."""
    organisation = OrganisationFactory(territory__time_zone="Indian/Reunion")
    request = RequestFactory().get("/")
    request.user = AgentFactory(organisation=organisation)
    seen = []

    def view(request, organisation_id):
        seen.append(timezone.get_current_timezone_name())
        return HttpResponse()

    def get_response(request):
        # What Django's handler does between the middleware's __call__ and the view.
        middleware.process_view(request, view, (), {"organisation_id": organisation.pk})
        return view(request, organisation_id=organisation.pk)

    middleware = CurrentOrganisationMiddleware(get_response)
    middleware(request)
    assert seen == ["Indian/Reunion"]
    assert timezone.get_current_timezone_name() == "Europe/Paris"
