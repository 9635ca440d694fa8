"""« Étape 3 : Créer votre base d'usagers », walked as the agents' manual tells it."""

import pytest
from playwright.sync_api import expect

from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_etape_3_create_an_usager_a_proche_and_find_them(live_page, organisation):
    agent = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    UsagerFactory(organisation=organisation, first_name="Aude", last_name="Laroche")
    page = live_page
    log_in(page, agent.email)
    page.get_by_role("link", name="Vos usagers").click()
    expect(page.get_by_role("heading", name="Vos usagers")).to_be_visible()

    # « Cliquez sur « créer un usager » en haut à droite de la page »
    page.get_by_role("link", name="Créer un usager").first.click()
    page.get_by_label("Prénom").fill("Hélène")
    page.get_by_label("Nom", exact=True).fill("Dupré")
    page.get_by_role("group", name="Agent(s) référent(s)").get_by_text("Karim Benali").click()
    page.get_by_role("button", name="Créer", exact=True).click()
    expect(page.get_by_role("heading", name="Hélène DUPRÉ")).to_be_visible()
    expect(page.locator("#referents ~ ul").get_by_text("Karim Benali")).to_be_visible()

    # « La fiche usager apparait désormais dans la liste. »
    page.get_by_role("link", name="Vos usagers").first.click()
    expect(page.get_by_role("link", name="Hélène DUPRÉ")).to_be_visible()

    # « Cliquez sur le nom du parent dans la base usager », then « Ajouter un proche » in « proches ».
    page.get_by_role("link", name="Hélène DUPRÉ").click()
    proches = page.locator("#proches")
    proches.get_by_role("link", name="Ajouter un proche").click()
    page.get_by_label("Prénom").fill("Zoé")
    page.get_by_label("Nom", exact=True).fill("Dupré")
    page.get_by_role("button", name="Créer", exact=True).click()

    # « Le proche apparait désormais dans la fiche de l'usager en charge. »
    expect(proches.get_by_role("link", name="Zoé DUPRÉ")).to_be_visible()
    # « Le proche possède désormais sa propre fiche qui apparait dans la base usager. »
    proches.get_by_role("link", name="Zoé DUPRÉ").click()
    expect(page.get_by_role("heading", name="Zoé DUPRÉ")).to_be_visible()
    expect(page.get_by_role("link", name="Hélène DUPRÉ").last).to_be_visible()
    page.get_by_role("link", name="Vos usagers").first.click()
    row = page.get_by_role("row", name="Zoé DUPRÉ")
    expect(row).to_contain_text("proche d'Hélène DUPRÉ")

    # « Recherche rapide … dans la barre de recherche en haut à droite », without accents.
    search = page.get_by_label("Rechercher un usager")
    search.fill("zoe dupre")
    expect(page.locator("#recherche-usager-resultats")).to_contain_text("Zoé DUPRÉ")
    search.press("Enter")
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name="Zoé DUPRÉ")).to_be_visible()
    expect(table.get_by_role("link", name="Hélène DUPRÉ")).to_have_count(0)

    search = page.get_by_label("Rechercher un usager")
    search.fill("helene")
    search.press("Enter")
    expect(table.get_by_role("link", name="Hélène DUPRÉ")).to_be_visible()
    expect(table).not_to_contain_text("Aude LAROCHE")


def test_etape_3_consult_the_rdv_history_of_an_usager(live_page, organisation):
    """« Comment consulter l'historique des rendez-vous d'un usager ? »: the counts by status on
    the fiche, then « voir tous les rendez-vous »."""
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    usager = UsagerFactory(organisation=organisation, first_name="Inès", last_name="Moreau")
    RdvFactory(organisation=organisation, agents=[agent], usagers=[usager])
    RdvFactory(organisation=organisation, agents=[agent], usagers=[usager], past=True, seen=True)
    RdvFactory(organisation=organisation, agents=[agent], usagers=[usager], past=True, noshow=True)
    RdvFactory(organisation=organisation, agents=[agent], usagers=[usager], past=True)
    page = live_page
    log_in(page, agent.email)
    page.get_by_role("link", name="Vos usagers").click()
    page.get_by_role("link", name="Inès MOREAU").click()
    panel = page.locator("#rendez-vous")
    expect(panel).to_contain_text("Statuts sur 4 RDV")
    for label in ("À renseigner : 1", "Vu : 1", "À venir : 1", "Excusé : 0", "Non excusé : 1"):
        expect(panel.get_by_role("link", name=label, exact=True)).to_be_visible()

    panel.get_by_role("link", name="Vu : 1").click()
    expect(page.get_by_role("heading", name="Tous les RDVs")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)

    page.go_back()
    page.locator("#rendez-vous").get_by_role("link", name="Voir tous les rendez-vous").click()
    expect(page.locator("tbody tr")).to_have_count(4)
