import pytest
from playwright.sync_api import expect

from organisations.models import Lieu
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in, open_side_menu
from tests.organisations.factories import LieuFactory, OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_adds_a_lieu_from_the_side_menu(live_page, password):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    LieuFactory(organisation=organisation, name="Centre Socio-Culturel Georges Brassens")
    AgentFactory(organisation=organisation, admin=True, services=["PMI"], email="claire@departement.fr")
    page = live_page
    log_in(page, "claire@departement.fr", password)

    # « Paramètres » folds its entries away on pages outside the settings.
    vos_lieux = page.get_by_role("link", name="Vos lieux")
    if not vos_lieux.is_visible():
        open_side_menu(page, "Paramètres")
    vos_lieux.click()
    expect(page.get_by_role("heading", name="Vos lieux de consultation")).to_be_visible()
    expect(page.get_by_role("link", name="Centre Socio-Culturel Georges Brassens", exact=True)).to_be_visible()

    page.get_by_role("link", name="Ajouter un lieu").click()
    page.get_by_label("Nom").fill("Maison de la Petite Enfance (MPE)")
    page.get_by_label("Adresse").fill("8 Rue Pierre Mendès France, 77200 Torcy")
    page.get_by_role("button", name="Créer").click()

    expect(page.get_by_text("Le lieu « Maison de la Petite Enfance (MPE) » a été créé.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Maison de la Petite Enfance (MPE)")
    expect(row).to_contain_text("8 Rue Pierre Mendès France, 77200 Torcy")
    expect(row).to_contain_text("Actif")
    assert Lieu.objects.filter(organisation=organisation, name="Maison de la Petite Enfance (MPE)").exists()


def test_admin_archives_then_reactivates_a_lieu(live_page, password):
    organisation = OrganisationFactory()
    LieuFactory(organisation=organisation, name="Pôle Familles")
    AgentFactory(organisation=organisation, admin=True, email="admin@departement.fr")
    page = live_page
    log_in(page, "admin@departement.fr", password)
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/parametres/lieux/")

    page.get_by_role("link", name="Archiver le lieu « Pôle Familles »").click()
    page.get_by_role("button", name="Archiver").click()
    archived = page.locator("#lieux-archives")
    expect(archived.get_by_role("row").filter(has_text="Pôle Familles")).to_contain_text("Archivé")

    page.get_by_role("link", name="Réactiver le lieu « Pôle Familles »").click()
    page.get_by_role("button", name="Réactiver").click()
    expect(page.locator("#lieux-actifs").get_by_role("row").filter(has_text="Pôle Familles")).to_contain_text("Actif")
    expect(page.locator("#lieux-archives")).to_have_count(0)
