"""« Trouver un créneau » says why nothing shows: agents or lieux without a plage d'ouverture for
the motif, and the link that searches wider."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils.html import escape
from pytest_django.asserts import assertContains

from tests.agents.factories import AgentFactory
from tests.helpers import next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.helpers import DAY, creneaux_url, dom, find, find_all, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]


def search(client, organisation, motif, **params):
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat(), **params})
    assert response.status_code == 200
    return response, response.content.decode()


def alert(response, dom_id):
    """The text of the alert `dom_id` (a `div.fr-alert`), "" if the page has none."""
    found = find_all(dom(response), "div", id=dom_id, class_="fr-alert")
    assert len(found) <= 1
    return text(found[0]) if found else ""


def widen_link(response, label: str) -> str:
    """The link under the notice that searches again without the agents or the lieux chosen."""
    href = escape(response.context["coverage"].widen_url)
    return f'<p><a class="fr-link fr-icon-arrow-right-line fr-link--icon-right" href="{href}">{label}</a></p>'


def test_an_agent_chosen_without_plage_for_the_motif_is_named_beside_the_others_slots(
    client, organisation, admin_agent, motif, plage
):
    marie = AgentFactory(organisation=organisation, services=["PMI"], first_name="Marie", last_name="Dupont")
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif, agents=[marie.pk, plage.agent.pk])
    assert alert(response, "creneaux-agents-sans-plage") == "Marie Dupont n'a pas de plage d'ouverture pour ce motif."
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]
    assert "creneaux-sans-plage" not in page


def test_agents_chosen_without_plage_for_the_motif_get_a_notice_instead_of_an_empty_week(
    client, organisation, admin_agent, motif, plage
):
    marie = AgentFactory(organisation=organisation, services=["PMI"], first_name="Marie", last_name="Dupont")
    jean = AgentFactory(organisation=organisation, services=["Social"], first_name="Jean", last_name="Martin")
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif, agents=[marie.pk, jean.pk])
    assert alert(response, "creneaux-sans-plage") == (
        "Aucun créneau ne peut être proposé pour ce motif "
        "Marie Dupont n'a pas de plage d'ouverture pour ce motif. "
        "Jean Martin n'a pas de plage d'ouverture pour ce motif et n'appartient pas au service "
        "PMI (Protection Maternelle Infantile). "
        "D'autres agents proposent ce motif : afficher les créneaux de tous les agents"
    )
    notice = find(dom(response), "div", id="creneaux-sans-plage")
    assert dict(notice.attributes) == {
        "class": "fr-alert fr-alert--warning fr-mb-3w",
        "role": "status",
        "id": "creneaux-sans-plage",
    }
    assertContains(
        response,
        widen_link(response, "D'autres agents proposent ce motif : afficher les créneaux de tous les agents"),
        count=1,
        html=True,
    )
    # Neither an empty week, nor weeks to browse, nor « Prochaine disponibilité ».
    assert response.context["groups"] == [] and response.context["next_slot"] is None
    assert "Aucun créneau disponible du" not in page and "Semaine suivante" not in page
    # The link searches again for every agent, the rest kept.
    widen = response.context["coverage"].widen_url
    assert parse_qs(urlsplit(widen).query) == {"motif": [str(motif.pk)], "a_partir_du": [DAY.isoformat()]}
    response = client.get(widen)
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]
    assert "creneaux-sans-plage" not in response.content.decode()


def test_an_agent_with_a_plage_elsewhere_than_the_lieux_chosen(client, organisation, basic_agent, motif, plage):
    torcy = LieuFactory(organisation=organisation, name="Antenne de Torcy")
    client.force_login(basic_agent)
    response, _page = search(client, organisation, motif, agents=[basic_agent.pk], lieux=[torcy.pk])
    assert f"{basic_agent.full_name} n'a pas de plage d'ouverture pour ce motif dans les lieux choisis." in alert(
        response, "creneaux-sans-plage"
    )
    elsewhere = "Ce motif est proposé ailleurs : afficher les créneaux de tous les lieux"
    assertContains(response, widen_link(response, elsewhere), count=1, html=True)
    assert "lieux" not in parse_qs(urlsplit(response.context["coverage"].widen_url).query)
    # Without agents chosen, the lieux alone.
    response, _page = search(client, organisation, motif, lieux=[torcy.pk])
    assert alert(response, "creneaux-sans-plage").startswith(
        "Aucun créneau ne peut être proposé pour ce motif Aucune plage d'ouverture ne propose ce motif "
        "dans les lieux choisis : ajoutez-le"
    )
    assertContains(response, widen_link(response, elsewhere), count=1, html=True)


def test_no_plage_at_all_for_the_motif_says_so(client, organisation, admin_agent, motif, lieu):
    # A finished plage, one at a closed lieu and one of another motif offer nothing.
    PlageOuvertureFactory(
        organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=DAY - dt.timedelta(weeks=3)
    )
    closed = LieuFactory(organisation=organisation, archived=True)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=closed, motifs=[motif], first_day=DAY)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[MotifFactory()])
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif)
    assert alert(response, "creneaux-sans-plage") == (
        "Aucun créneau ne peut être proposé pour ce motif "
        "Aucune plage d'ouverture ne propose ce motif : ajoutez-le aux plages d'ouverture des agents qui le "
        "reçoivent (menu « Votre planning », « Plages d'ouverture »)."
    )
    assert response.context["coverage"].widen_url == ""
    # A plage later than the week searched is an offer: the week is empty, the next one found.
    PlageOuvertureFactory(
        organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=next_monday(weeks=3)
    )
    response, page = search(client, organisation, motif, agents=[admin_agent.pk])
    assert "creneaux-sans-plage" not in page and "creneaux-agents-sans-plage" not in page
    link = find(dom(response), "a", href=response.context["next_slot_url"])
    assert text(link) == f"Prochaine disponibilité : lundi 28 juin 2027 à 9h00 ({admin_agent.full_name})"


def test_a_secretariat_agent_receives_the_motifs_made_for_it(client, organisation, admin_agent):
    motif = MotifFactory(organisation=organisation, for_secretariat=True)
    secretariat = AgentFactory(organisation=organisation, secretariat=True, first_name="Léa", last_name="Roux")
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif, agents=[secretariat.pk])
    assert "Léa Roux n'a pas de plage d'ouverture pour ce motif." in alert(response, "creneaux-sans-plage")
    assert "n'appartient pas" not in page


def test_the_notice_reads_the_same_number_of_queries_for_one_or_many_agents(
    client, organisation, admin_agent, motif, lieu, django_assert_num_queries
):
    """One query tells which agents have a plage for the motif; when none searched has, the
    créneaux engine is not asked."""
    client.force_login(admin_agent)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=DAY)
    few = [AgentFactory(organisation=organisation, services=["PMI"])]
    # Some of another service: their sentence names the motif's service, already loaded.
    many = few + [AgentFactory(organisation=organisation, services=[("PMI", "Social")[n % 2]]) for n in range(6)]
    for agent in many:
        PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[MotifFactory()])
    search(client, organisation, motif)  # sessions and caches warmed
    # One more when agents are ticked: the motifs of their plages, which the motif list narrows to.
    with django_assert_num_queries(10):
        search(client, organisation, motif, agents=[agent.pk for agent in few])
    with django_assert_num_queries(10):
        search(client, organisation, motif, agents=[agent.pk for agent in many])
    # Slots beside the notice: the engine's queries on top.
    with django_assert_num_queries(15):
        search(client, organisation, motif, agents=[admin_agent.pk, *[agent.pk for agent in many]])
