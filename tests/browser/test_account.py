import pytest
from playwright.sync_api import expect

from agents.models import Agent
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.organisations.factories import OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_chooses_its_notifications_from_its_account_menu(live_page):
    """« Mon compte » from the header's menu, the choice among the four, saved."""
    page = live_page
    organisation = OrganisationFactory(name="MDS de Noisiel")
    agent = AgentFactory(organisation=organisation, services=["PMI"], first_name="Inès", email="ines@departement.fr")
    log_in(page, agent.email)
    page.locator("html[data-fr-js='true']").wait_for(state="attached")
    page.get_by_role("button", name="Inès").click()
    page.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", name="Mon compte", level=1)).to_be_visible()
    label = "Seulement les changements faits par d'autres (usagers ou autres agents)"
    page.locator("label.fr-label", has_text=label).click()
    page.get_by_role("button", name="Enregistrer mes notifications").click()
    expect(page.get_by_text("Vos notifications ont été modifiées.")).to_be_visible()
    expect(page.get_by_label(label)).to_be_checked()
    agent.refresh_from_db()
    assert agent.rdv_notifications == Agent.RdvNotifications.OTHERS
