import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sectorisation.models import Sector
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.sectorisation.factories import TerritoryRoleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("communes")]

# The label holds its hint, and the street's hint names « toute la commune ».
COMMUNE = re.compile(r"^Commune")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def test_a_territory_admin_sectorises_a_commune_then_tests_it(live_page, password):
    territory = TerritoryFactory(departement_number="77", name="Seine-et-Marne")
    organisation = OrganisationFactory(territory=territory, name="MDS de Noisiel")
    OrganisationFactory(territory=territory, name="MDS de Chelles")
    agent = AgentFactory(organisation=organisation, admin=True, services=["PMI"], email="claire@departement.fr")
    TerritoryRoleFactory(agent=agent, territory=territory)
    page = live_page
    log_in(page, "claire@departement.fr", password)

    page.get_by_role("link", name="Paramètres du territoire").click()
    expect(page.get_by_role("heading", name="Paramètres du territoire")).to_be_visible()
    expect(page.get_by_text("Aucun secteur n'est défini")).to_be_visible()

    page.get_by_role("link", name="Ajouter un secteur").click()
    page.get_by_label("Nom du secteur").fill("Noisiel Centre")
    page.get_by_role("button", name="Créer").click()
    expect(page.get_by_text("Le secteur « Noisiel Centre » a été créé.")).to_be_visible()
    expect(page.get_by_role("heading", name="Secteur « Noisiel Centre »")).to_be_visible()

    page.get_by_role("textbox", name=COMMUNE).fill("noisiel")
    page.get_by_role("button", name="Ajouter au secteur").click()
    expect(page.get_by_text("« Noisiel » a été ajouté au secteur.")).to_be_visible()
    expect(page.locator("#zones")).to_contain_text("Noisiel (77337) (toute la commune)")

    page.get_by_label("Attribuer à").select_option(label="MDS de Noisiel")
    page.get_by_role("button", name="Attribuer", exact=True).click()
    expect(page.get_by_text("L'attribution a été ajoutée.")).to_be_visible()
    expect(page.locator("#attributions")).to_contain_text("MDS de Noisiel (organisation)")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "sectorisation-secteur.png", full_page=True)
    page.get_by_role("link", name="Paramètres du territoire").first.click()
    expect(page.get_by_role("row").filter(has_text="Noisiel Centre")).to_contain_text("1")
    page.get_by_role("link", name="Tester la sectorisation").click()
    page.get_by_role("textbox", name=COMMUNE).fill("Noisiel")
    page.get_by_role("button", name="Tester").click()

    result = page.locator("#resultat")
    expect(result.get_by_role("heading", name="Noisiel (77337)")).to_be_visible()
    expect(result.get_by_role("link", name="Noisiel Centre")).to_be_visible()
    expect(result).to_contain_text("Noisiel Centre : toute la commune fait partie du secteur")
    by_organisation = result.get_by_role("row").filter(has_text="Les organisations du secteur de l'usager")
    expect(by_organisation).to_contain_text("MDS de Noisiel")
    expect(by_organisation).not_to_contain_text("MDS de Chelles")
    expect(result.get_by_role("row").filter(has_text="Tout le département")).to_contain_text("MDS de Chelles")
    assert Sector.objects.get().areas.get().commune_id == "77337"

    page.screenshot(path=SCREENSHOTS / "sectorisation-tester.png", full_page=True)
