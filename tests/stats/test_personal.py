"""« Vos statistiques » (issue 17, « Personal figures »): every agent's page, its own RDVs
(« Mes statistiques ») and those of the agendas it may open, read from the summary; the
« À renseigner » badge of the side menu."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.permissions import get_membership
from rendezvous.models import TO_FILL
from stats.personal import status_counts_by_agent, to_fill_count
from tests.agents.factories import AgentFactory
from tests.helpers import PARIS
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text

# A Wednesday, 15:00 in Paris.
NOW = dt.datetime(2026, 3, 11, 15, 0, tzinfo=PARIS)


def url(organisation, **query):
    return reverse("stats:mine", kwargs={"organisation_id": organisation.pk}, query=query or None)


def links_named(root, name: str) -> list:
    return [link for link in find_all(root, "a") if text(link) == name]


def tiles(response) -> dict[str, int]:
    return {
        item["tile"].key: item["count"] for item in response.context["main_tiles"] + response.context["other_tiles"]
    }


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def team(organisation, clock):
    """The basic PMI agent (« me »), a PMI colleague, a colleague of the social service, and
    RDVs: mine, the PMI colleague's, one shared by both, the social colleague's."""
    me = AgentFactory(organisation=organisation, services=["PMI"], first_name="Anne", last_name="AUBRY")
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Bruno", last_name="BLANC")
    social = AgentFactory(organisation=organisation, services=["Social"], first_name="Chloé", last_name="COLIN")
    motif = MotifFactory(organisation=organisation)
    lieu = LieuFactory(organisation=organisation)

    def rdv(agents, **kwargs):
        return RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=agents, **kwargs)

    rdv([me], starts_at=NOW - dt.timedelta(days=3))  # À renseigner, days ago
    rdv([me], starts_at=NOW - dt.timedelta(hours=2))  # À renseigner, this morning
    rdv([me], starts_at=NOW + dt.timedelta(hours=1))  # À venir, today
    rdv([me], starts_at=NOW + dt.timedelta(days=2))  # À venir
    rdv([me], past=True, seen=True)
    rdv([me, colleague], past=True, noshow=True)  # shared
    rdv([colleague], past=True, seen=True)
    rdv([colleague], starts_at=NOW - dt.timedelta(days=1))  # the colleague's À renseigner
    rdv([social], past=True, seen=True)
    rdv([social], starts_at=NOW - dt.timedelta(days=1))
    # Another organisation where « me » works too: nothing of it here.
    elsewhere = OrganisationFactory()
    RdvFactory(organisation=elsewhere, agents=[me], starts_at=NOW - dt.timedelta(days=1))
    return {"me": me, "colleague": colleague, "social": social}


def test_a_basic_agent_sees_its_own_figures_and_its_services_agendas(client, organisation, team):
    client.force_login(team["me"])
    response = client.get(url(organisation))

    assert response.status_code == 200
    assert tiles(response) == {
        "a_renseigner": 2,
        "seen": 1,
        "a_venir": 2,
        "excused": 0,
        "noshow": 1,
        "waiting": 0,
        "revoked": 0,
    }
    assert response.context["my_total"] == 6
    # One line per agent whose agenda it may open: itself and its PMI colleague, not the social
    # service's agent; no line for the whole organisation (it does not see every agenda).
    rows = {row["label"]: row for row in response.context["rows"]}
    assert list(rows) == ["Anne AUBRY", "Bruno BLANC"]
    assert rows["Bruno BLANC"]["total"] == 3
    assert response.context["everything"] is None
    page = dom(response)
    assert "Chloé COLIN" not in text(page)
    assert "Vos statistiques globales" not in text(find(page, "main"))


def test_each_figure_leads_to_the_same_rdvs_in_the_list(client, organisation, team):
    client.force_login(team["me"])
    response = client.get(url(organisation))
    links = [(item["url"], item["count"]) for item in response.context["main_tiles"] + response.context["other_tiles"]]
    links.append((response.context["my_total_url"], response.context["my_total"]))
    for row in response.context["rows"]:
        links += [(cell["url"], cell["count"]) for cell in row["cells"]]
        links.append((row["total_url"], row["total"]))
    for link, count in links:
        listed = client.get(link)
        assert listed.status_code == 200
        assert listed.context["page_obj"].paginator.count == count, link


def test_admins_and_the_secretariat_get_the_organisations_line(client, organisation, team):
    admin = AgentFactory(organisation=organisation, admin=True, services=["Social"])
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    for agent in (admin, secretariat):
        client.force_login(agent)
        response = client.get(url(organisation))
        assert response.status_code == 200
        everything = response.context["everything"]
        # Every RDV once: the shared one is on two agents' lines, once here.
        assert everything["total"] == 10
        assert sum(row["total"] for row in response.context["rows"]) == 11
        assert len(response.context["rows"]) == 5
    page = dom(response)
    assert links_named(page, "Vos statistiques globales") == []  # the secrétariat is no admin
    client.force_login(admin)
    page = dom(client.get(url(organisation)))
    assert dict(links_named(find(page, "main"), "Vos statistiques globales")[0].attributes)["href"] == reverse(
        "stats:organisation", kwargs={"organisation_id": organisation.pk}
    )


def test_status_counts_by_agent_count_a_shared_rdv_for_each_of_its_agents_asked_for(organisation, team):
    counts = status_counts_by_agent(organisation, [team["me"].pk], NOW)
    assert counts[team["me"].pk]["noshow"] == 1
    assert counts[team["me"].pk]["a_venir"] == 2
    assert list(counts) == [team["me"].pk]  # the colleague of the shared RDV is not asked for


def test_my_charts_count_the_rdvs_created_with_me(client, organisation, team):
    client.force_login(team["me"])
    response = client.get(url(organisation))
    blocks = {block.id: block for block in response.context["charts"]}
    assert set(blocks) == {"mes-rdvs-crees", "mes-rdvs-par-type"}
    assert blocks["mes-rdvs-crees"].figures.total == 6  # all created « now », in March 2026
    page = dom(response)
    # The organisation's table exports are the admins' page's: none here.
    assert "Télécharger ce tableau" not in text(page)


def test_a_wrong_period_is_said_on_its_field(client, organisation, team):
    client.force_login(team["me"])
    response = client.get(url(organisation, debut="2026-13"))
    assert response.status_code == 422
    assert "Saisissez un mois au format AAAA-MM" in text(dom(response))
    assert response.context["charts"] == []


def test_the_page_answers_the_agents_of_the_organisation_only(client, organisation, team):
    client.force_login(AgentFactory(organisation=OrganisationFactory(), admin=True))
    assert client.get(url(organisation)).status_code == 404
    client.logout()
    assert client.get(url(organisation)).status_code == 302


def test_the_page_reads_a_fixed_number_of_queries(client, organisation, team):
    client.force_login(team["me"])
    client.get(url(organisation))
    with CaptureQueriesContext(connection) as few:
        assert client.get(url(organisation)).status_code == 200
    for _ in range(3):
        RdvFactory(organisation=organisation, agents=[team["me"], team["colleague"]], past=True, seen=True)
        AgentFactory(organisation=organisation, services=["PMI"])
    with CaptureQueriesContext(connection) as more:
        assert client.get(url(organisation)).status_code == 200
    # session, agent, membership, my statuses, the agents, their statuses, my charts, the badge,
    # the other organisations of the header's selector
    assert len(few) == len(more) == 8, [query["sql"] for query in more.captured_queries]


# The badge


def test_the_badge_counts_my_rdvs_to_fill_and_leads_to_them(client, organisation, team):
    client.force_login(team["me"])
    page = dom(client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})))
    menu = find(page, "nav", id="menu-lateral")
    entry = next(link for link in find_all(menu, "a") if text(link).startswith("À renseigner"))
    badge = find(entry, "span", class_="fr-badge")
    assert text(badge) == "2 de vos RDV passés sans statut"
    href = dict(entry.attributes)["href"]
    assert href == reverse(
        "rendezvous:list",
        kwargs={"organisation_id": organisation.pk},
        query={"statut": TO_FILL, "agent": team["me"].pk},
    )
    listed = client.get(href)
    assert listed.context["page_obj"].paginator.count == 2


def test_no_badge_without_rdvs_to_fill(client, organisation, clock):
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    RdvFactory(organisation=organisation, agents=[agent], past=True, seen=True)
    client.force_login(agent)
    page = dom(client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})))
    menu = find(page, "nav", id="menu-lateral")
    assert not [link for link in find_all(menu, "a") if text(link).startswith("À renseigner")]
    assert len(links_named(menu, "Vos statistiques")) == 1


def test_the_count_follows_the_clock_and_the_statuses(organisation, team, django_assert_num_queries):
    membership = get_membership(team["me"], organisation.pk)
    with django_assert_num_queries(1):
        assert to_fill_count(membership, NOW) == 2
    # At 16:01 the RDV of 16:00 has started: one more; the next day, the same three.
    assert to_fill_count(membership, NOW + dt.timedelta(hours=1, minutes=1)) == 3
    assert to_fill_count(membership, NOW + dt.timedelta(days=1)) == 3
    # Before midnight in Paris, not in UTC: at 00:30 the next day, yesterday's are days ago.
    tomorrow = dt.datetime.combine(NOW.date() + dt.timedelta(days=1), dt.time(0, 30), tzinfo=PARIS)
    assert to_fill_count(membership, tomorrow) == 3
