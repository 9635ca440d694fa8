"""The agents of an RDV, at step 3 of « Poser un rendez-vous » and in « modifier »: one shared
field (rendezvous.forms.AgentsChoiceField), checkboxes grouped by service with the ticked agents
first, and the search bar « Rechercher un agent » that static/js/agents_search.js shows (walked in
Chromium in tests/browser/test_booking.py and tests/browser/test_rdv.py)."""

import re

import pytest
from django.urls import reverse

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

REFUSED = "Cet agent n&#x27;existe pas ou vous ne pouvez pas lui poser de RDV."


@pytest.fixture
def motif(organisation):
    return MotifFactory(organisation=organisation)


@pytest.fixture
def usager(organisation):
    return UsagerFactory(organisation=organisation)


def step3(client, organisation, motif, agent, usager, **posted):
    """Step 3 as « continuer » at step 2 shows it; with `posted`, « Créer RDV » with these values."""
    url = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    data = {"motif": motif.pk, "agent": agent.pk, "usagers": [usager.pk]}
    if not posted:
        return client.post(url, {**data, "etape": "usagers", "action": "continuer"})
    return client.post(url, {**data, "etape": "rdv", "action": "creer", "duration_in_min": 30, **posted})


def modifier(client, rdv, **posted):
    url = reverse("rendezvous:update", kwargs={"organisation_id": rdv.organisation.pk, "pk": rdv.pk})
    if not posted:
        return client.get(url)
    return client.post(url, {"duration_in_min": 30, "usagers": [u.pk for u in rdv.usagers.all()], **posted})


@pytest.fixture(params=["step3", "modifier"])
def open_agents_page(request, client, organisation, admin_agent, motif, usager):
    """Either page, opened by `admin_agent` with itself as the RDV's agent: `open_agents_page(**posted)`."""
    client.force_login(admin_agent)
    if request.param == "step3":
        return lambda **posted: step3(client, organisation, motif, admin_agent, usager, **posted)
    rdv = RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[usager], motif=motif)
    return lambda **posted: modifier(client, rdv, **posted)


def names_in_order(html: str) -> list[str]:
    """The legends and the agents' names of the field, in the order of the page."""
    return re.findall(r'<legend class="rdv-agents__legend">([^<]+)</legend>|for="id_agents_\d+">([^<]+)<', html)


def test_both_pages_show_the_agents_grouped_by_service_the_ticked_ones_first(
    open_agents_page, organisation, admin_agent
):
    admin_agent.first_name, admin_agent.last_name = "Claire", "Dubois"
    admin_agent.save(update_fields=["first_name", "last_name"])
    AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    AgentFactory(organisation=organisation, services=["PMI"], first_name="Anne", last_name="Bernard")
    AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")
    AgentFactory(organisation=organisation, services=["Social", "PMI"], first_name="Karim", last_name="Benali")
    AgentFactory(organisation=organisation, first_name="Jean", last_name="Sansservice")
    AgentFactory(organisation=OrganisationFactory(), services=["PMI"], first_name="Ailleurs", last_name="Autre")

    response = open_agents_page()
    assert response.status_code == 200
    html = response.content.decode()
    pairs = [legend or name for legend, name in names_in_order(html)]
    assert pairs == [
        "Agents cochés",
        "Claire Dubois",
        "PMI (Protection Maternelle Infantile)",
        "Anne Bernard",
        "Hélène Martin",
        "PMI (Protection Maternelle Infantile), Service social",
        "Karim Benali",
        "Secrétariat",
        "Sophie Lefèvre",
        "Sans service",
        "Jean Sansservice",
    ]
    assert 'type="checkbox" name="agents"' in html
    assert '<select name="agents"' not in html
    # The ticked agent keeps the name of its service beside its name; its name is searched with it.
    assert 'data-search="Claire Dubois PMI (Protection Maternelle Infantile)"' in html
    # The search bar, hidden until the script shows it: without JavaScript the list is complete.
    assert re.search(r'<div class="fr-fieldset__element rdv-agents__search" data-agents-search-bar hidden>', html)
    assert '<label class="fr-label" for="id_agents-recherche">' in html
    assert "Rechercher un agent" in html
    assert 'role="status" aria-live="polite"' in html
    assert "js/agents_search.js" in html
    assert "rendezvous/agents.css" in html


def test_the_script_is_on_these_pages_only(client, organisation, admin_agent, motif):
    client.force_login(admin_agent)
    url = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    for response in (client.get(url), client.get(url, {"motif": motif.pk})):
        assert response.status_code == 200
        assert "agents_search.js" not in response.content.decode()


@pytest.mark.parametrize("which", ["another organisation's", "another service's"])
def test_agents_the_membership_may_not_book_are_refused(client, organisation, basic_agent, motif, usager, which):
    """As before the search bar: ids posted for agents the membership may not book are a French
    error on the field, nothing changes, and the page shows the agents ticked first again."""
    if which == "another organisation's":
        refused = AgentFactory(organisation=OrganisationFactory(), services=["PMI"])
    else:
        refused = AgentFactory(organisation=organisation, services=["Social"])
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Zoé", last_name="Zola")
    client.force_login(basic_agent)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], motif=motif)
    posted = {"agents": [colleague.pk, refused.pk], "date": "2030-01-07", "time": "10:00", "lieu": rdv.lieu_id}
    for response in (
        step3(client, organisation, motif, basic_agent, usager, **posted),
        modifier(client, rdv, **posted),
    ):
        assert response.status_code == 422
        html = response.content.decode()
        assert REFUSED in html
        assert 'id="id_agents-desc-error"' in html
        assert "fr-fieldset--error" in html
        assert names_in_order(html)[:2] == [("Agents cochés", ""), ("", "Zoé Zola")]
    assert Rdv.objects.get() == rdv
    assert list(rdv.agents.all()) == [basic_agent]


def test_no_agent_ticked_is_refused_on_both_pages(open_agents_page):
    response = open_agents_page(agents=[], date="2030-01-07", time="10:00")
    assert response.status_code == 422
    assert "Choisissez au moins un agent." in response.content.decode()
    # No agent ticked: the group « Agents cochés » is there for the script, hidden.
    assert "data-agents-ticked hidden>" in response.content.decode()


def test_the_field_reads_a_bounded_number_of_queries(open_agents_page, organisation, django_assert_max_num_queries):
    """The services that group and label the agents are read in one query, whatever the number of
    agents."""

    def count() -> int:
        with django_assert_max_num_queries(40) as captured:
            assert open_agents_page().status_code == 200
        return len(captured.captured_queries)

    AgentFactory(organisation=organisation, services=["PMI"])
    few = count()
    for number in range(30):
        AgentFactory(organisation=organisation, services=[("PMI", "Social", "Secrétariat")[number % 3]])
    assert count() == few
