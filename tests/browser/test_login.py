import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from agents.demo import DEMO_PASSWORD
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.browser.helpers import log_in, open_side_menu
from tests.organisations.factories import OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_demo_agent_logs_in_sees_its_organisation_and_logs_out(live_page):
    """With the demo's own login, as the manual's first step."""
    call_command("demo", stdout=io.StringIO())
    page = live_page
    log_in(page, "admin.noisiel@demo.rdv-solidarites.fr", DEMO_PASSWORD)

    expect(page.get_by_role("heading", name="Bonjour Claire")).to_be_visible()
    expect(page.locator(".fr-header__service-tagline")).to_have_text("MDS de Noisiel")
    open_side_menu(page, "Paramètres")
    expect(page.get_by_role("link", name="Votre organisation")).to_be_visible()

    # « Cliquez sur votre prénom tout en haut à droite de la page, cliquez sur « Se déconnecter ».
    page.get_by_role("button", name="Claire").click()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", name="Connexion à RDV Solidarités")).to_be_visible()
    page.goto(page.base_url + "/organisations/")
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible()


def test_wrong_password_shows_the_error_on_the_login_page(live_page):
    agent = AgentFactory(organisation=OrganisationFactory(), services=["PMI"])
    page = live_page
    log_in(page, agent.email, "pas-le-bon-mot-de-passe")
    expect(page.get_by_role("alert")).to_contain_text("Adresse e-mail ou mot de passe incorrect.")


def test_agent_of_two_organisations_switches_between_them(live_page):
    """Like the demo's PMI agent of Chelles, who also works at Noisiel."""
    agent = AgentFactory(organisation=OrganisationFactory(name="MDS de Noisiel"), services=["PMI"])
    AgentRoleFactory(agent=agent, organisation=OrganisationFactory(name="MDS de Chelles"), services=["PMI"])
    page = live_page
    log_in(page, agent.email)
    page.get_by_role("link", name="MDS de Chelles").click()
    expect(page.locator(".fr-header__service-tagline")).to_have_text("MDS de Chelles")
    page.get_by_role("button", name="Changer d'organisation").click()
    page.get_by_role("link", name="MDS de Noisiel").click()
    expect(page.locator(".fr-header__service-tagline")).to_have_text("MDS de Noisiel")
