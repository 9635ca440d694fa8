"""« Trouver un créneau »'s filters (rendezvous/views/creneaux_choices.py): an agenda's link
preselects its agent only if it has plages d'ouverture (the secrétariat gives no consultation),
the page says which agents it searched, the motif list narrows to the agents ticked (htmx in
place, a GET round trip without JavaScript), and « Prendre un RDV » from a fiche keeps its usager
chosen up to the slot."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.helpers import DAY, creneaux_url, dom, find, find_all, text
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]


@pytest.fixture
def secretariat(organisation):
    return AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Bernard")


def motif_options(response) -> list[str]:
    """The motifs the list offers (their labels), the prompt left out."""
    select = find(dom(response), "select", name="motif")
    return [text(option) for option in find_all(select, "option") if dict(option.attributes)["value"]]


def ticked_agents(response) -> list[str]:
    boxes = find_all(dom(response), "input", type="checkbox", name="agents")
    return [dict(box.attributes)["value"] for box in boxes if "checked" in dict(box.attributes)]


def test_the_secretariat_from_its_own_agenda_is_not_preselected_and_finds_the_others_slots(
    client, organisation, secretariat, motif, plage
):
    client.force_login(secretariat)
    agenda = client.get(reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk}), follow=True)
    link = find(dom(agenda), "a", href=f"{creneaux_url(organisation)}?agents={secretariat.pk}")
    assert text(link) == "Trouver un créneau"

    page = client.get(dict(link.attributes)["href"])
    assert page.status_code == 200
    assert ticked_agents(page) == []
    assert text(find(dom(page), id="creneaux-preselection")) == (
        "Sophie Bernard n'a pas de plage d'ouverture pour les motifs que vous pouvez réserver : l'agent n'est "
        "pas présélectionné, les créneaux de tous les agents qui proposent le motif choisi seront recherchés."
    )

    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
    assert response.status_code == 200
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]
    assert text(find(dom(response), "p", id="agents-recherches")) == (
        f"Agents recherchés : tous ceux qui proposent ce motif ({plage.agent.full_name})."
    )


def test_an_agent_with_plages_is_preselected_and_the_motifs_narrow_to_its_plages(
    client, organisation, basic_agent, motif, plage
):
    other = MotifFactory(organisation=organisation, category__name="Vaccination")
    client.force_login(basic_agent)
    page = client.get(creneaux_url(organisation), {"agents": basic_agent.pk})
    assert ticked_agents(page) == [str(basic_agent.pk)]
    assert motif_options(page) == ["Consultation de puériculture (Sur place)"]
    assert "Décochez les agents pour voir tous les motifs." in text(find(dom(page), id="champ-motif"))
    assert not find_all(dom(page), id="creneaux-preselection")

    # Unticked: every motif.
    assert motif_options(client.get(creneaux_url(organisation))) == [
        "Consultation de puériculture (Sur place)",
        "Vaccination (Sur place)",
    ]
    # A motif out of the list stays valid: the notice says the agent has no plage for it.
    response = client.get(
        creneaux_url(organisation), {"motif": other.pk, "agents": basic_agent.pk, "a_partir_du": DAY.isoformat()}
    )
    assert response.status_code == 200
    assert "Vaccination (Sur place)" in motif_options(response)
    assert text(find(dom(response), id="creneaux-sans-plage")).startswith("Aucun créneau ne peut être proposé")


def test_the_agents_searched_are_named(client, organisation, admin_agent, basic_agent, motif, plage):
    client.force_login(admin_agent)
    response = client.get(
        creneaux_url(organisation), {"motif": motif.pk, "agents": basic_agent.pk, "a_partir_du": DAY.isoformat()}
    )
    assert text(find(dom(response), "p", id="agents-recherches")) == f"Agents recherchés : {basic_agent.full_name}."


def test_without_javascript_the_motif_list_is_redrawn_for_the_agents_ticked(
    client, organisation, admin_agent, basic_agent, motif, plage
):
    MotifFactory(organisation=organisation, category__name="Vaccination")
    client.force_login(admin_agent)
    response = client.get(creneaux_url(organisation), {"motif": "", "agents": basic_agent.pk, "action": "motifs"})
    assert response.status_code == 200
    assert motif_options(response) == ["Consultation de puériculture (Sur place)"]
    assert ticked_agents(response) == [str(basic_agent.pk)]
    assert not response.context["form"].is_bound  # nothing refused, nothing searched
    assert "searched" not in response.context
    button = find(dom(response), "button", name="action", value="motifs")
    assert text(button) == "Mettre à jour la liste des motifs"


def test_with_htmx_the_motif_field_alone_is_redrawn(client, organisation, admin_agent, basic_agent, motif, plage):
    MotifFactory(organisation=organisation, category__name="Vaccination")
    client.force_login(admin_agent)
    page = dom(client.get(creneaux_url(organisation)))
    trigger = dict(find(page, "div", class_="rdv-filters__choices", hx_get=True).attributes)
    assert trigger["hx-target"] == "#champ-motif"
    assert trigger["hx-vals"] == '{"partie": "motifs"}'
    response = client.get(
        creneaux_url(organisation),
        {"partie": "motifs", "motif": "", "agents": basic_agent.pk},
        headers={"HX-Request": "true"},
    )
    fragment = dom(response)
    assert find(fragment, "div", id="champ-motif")
    assert not find_all(fragment, "form")
    assert motif_options(response) == ["Consultation de puériculture (Sur place)"]


def test_prendre_un_rdv_keeps_the_usager_chosen_up_to_the_slot(client, organisation, basic_agent, motif, plage):
    usager = UsagerFactory(organisation=organisation, first_name="Inès", last_name="Moreau")
    stranger = UsagerFactory(organisation=OrganisationFactory())
    client.force_login(basic_agent)
    page = client.get(creneaux_url(organisation), {"usagers": [usager.pk, stranger.pk]})
    assert text(find(dom(page), id="creneaux-usagers")).startswith("Rendez-vous pour Inès MOREAU")
    hidden = find_all(dom(page), "input", type="hidden", name="usagers")
    assert [dict(field.attributes)["value"] for field in hidden] == [str(usager.pk)]

    response = client.get(
        creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat(), "usagers": usager.pk}
    )
    slot = find_all(dom(response), "a", class_="rdv-slot")[0]
    href = dict(slot.attributes)["href"]
    assert parse_qs(urlsplit(href).query)["usagers"] == [str(usager.pk)]
    step = client.get(href)
    assert step.status_code == 200
    assert [chosen.pk for chosen in step.context["usagers"].selected] == [usager.pk]
    assert f'aria-label="Retirer {usager.full_name}"' in step.content.decode()


def test_the_filters_read_the_same_number_of_queries_for_one_or_many_agents(
    client, organisation, admin_agent, basic_agent, motif, lieu, plage, django_assert_num_queries
):
    """One query tells the motifs of the ticked agents' plages, whatever their number."""
    client.force_login(admin_agent)
    many = [AgentFactory(organisation=organisation, services=["PMI"]) for _ in range(6)]
    for agent in many:
        own = MotifFactory(organisation=organisation)
        PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[own, motif])
    client.get(creneaux_url(organisation))  # sessions and caches warmed
    for agents in ([basic_agent], [basic_agent, *many]):
        with django_assert_num_queries(8):
            client.get(creneaux_url(organisation), {"agents": [agent.pk for agent in agents]})
        # The fragment alone: no menu, no lieux.
        with django_assert_num_queries(7):
            client.get(
                creneaux_url(organisation),
                {"partie": "motifs", "motif": "", "agents": [agent.pk for agent in agents]},
                headers={"HX-Request": "true"},
            )
