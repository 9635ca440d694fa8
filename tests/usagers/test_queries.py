"""Pages read a bounded number of SQL queries whatever the size of the base."""

import pytest
from django.urls import reverse

from tests.agents.factories import AgentFactory
from tests.helpers import count_queries
from tests.usagers.factories import UsagerFactory


def add_usagers(organisation, agents, n):
    for _ in range(n):
        responsible = UsagerFactory(organisation=organisation, complete=True, referents=agents)
        # « Léa »: every page, searched for « a » or not, shows proches (whose responsible is read).
        UsagerFactory(organisation=organisation, responsible=responsible, first_name="Léa", referents=agents[:1])


@pytest.mark.parametrize("query", ["", "?q=a", "?mes_usagers=1"])
def test_list_queries_are_bounded(client, organisation, basic_agent, query):
    agents = [basic_agent, AgentFactory(organisation=organisation)]
    add_usagers(organisation, agents, 3)
    client.force_login(basic_agent)
    path = reverse("usagers:list", kwargs={"organisation_id": organisation.pk}) + query
    client.get(path)  # warm up the session
    before = count_queries(client, path)
    add_usagers(organisation, [*agents, AgentFactory(organisation=organisation)], 20)
    after = count_queries(client, path)
    assert after == before
    assert after == 9  # with the side menu's « À renseigner » badge


def test_fiche_queries_are_bounded(client, organisation, basic_agent):
    responsible = UsagerFactory(organisation=organisation, complete=True, referents=[basic_agent])
    client.force_login(basic_agent)
    path = reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": responsible.pk})
    update = reverse("usagers:update", kwargs={"organisation_id": organisation.pk, "pk": responsible.pk})
    client.get(path)
    before = count_queries(client, path)
    for i in range(20):
        UsagerFactory(organisation=organisation, responsible=responsible, referents=[basic_agent])
        AgentFactory(organisation=organisation)
        client.post(
            update,
            {
                "first_name": responsible.first_name,
                "last_name": f"Nom{i}",
                "notes": f"note {i}",
                "referents": [basic_agent.pk],
                "notify_by_email": "on",
            },
        )
    after = count_queries(client, path)
    assert after == before
    assert after == 14


def test_live_search_queries_are_bounded(client, organisation, basic_agent):
    add_usagers(organisation, [basic_agent], 2)
    client.force_login(basic_agent)
    path = reverse("usagers:search", kwargs={"organisation_id": organisation.pk}) + "?q=a"
    client.get(path)
    before = count_queries(client, path)
    add_usagers(organisation, [basic_agent], 15)
    assert count_queries(client, path) == before
