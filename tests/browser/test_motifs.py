import re

import pytest
from playwright.sync_api import expect

from motifs.models import Motif, MotifCategory
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in, open_side_menu
from tests.organisations.factories import OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(live_page):
    # Transactional tests flush the référentiel that the data migration loaded.
    MotifCategory.objects.ensure_referentiel()
    organisation = OrganisationFactory(name="MDS de Noisiel")
    agent = AgentFactory(organisation=organisation, admin=True, services=["PMI"], first_name="Claire")
    page = live_page
    log_in(page, agent.email)
    expect(page.get_by_role("heading", name="Bonjour Claire")).to_be_visible()
    return organisation


def tick(locator):
    # DSFR draws checkboxes and radios on their label, which receives the click.
    locator.check(force=True)


def open_vos_motifs(page):
    open_side_menu(page, "Paramètres")
    page.get_by_role("link", name="Vos motifs").click()
    expect(page.get_by_role("heading", name="Vos motifs")).to_be_visible()


def test_admin_creates_a_motif_bookable_online_and_sees_it_in_the_list(live_page, admin):
    page = live_page
    open_vos_motifs(page)
    page.get_by_role("link", name="Créer un motif").first.click()
    expect(page.get_by_role("heading", name="Créer un motif")).to_be_visible()

    page.get_by_role("combobox", name="Service").select_option(label="PMI (Protection Maternelle Infantile)")
    page.get_by_role("combobox", name="Nom").select_option(label="Consultation prénatale")
    page.get_by_label("Durée par défaut en minutes").fill("45")
    tick(page.get_by_role("radio", name="Sur place"))
    tick(page.get_by_role("checkbox", name=re.compile(r"^RDV en ligne")))
    page.get_by_label("Délai minimum de réservation").select_option(label="1 jour")
    page.get_by_label("Délai maximum de réservation").select_option(label="2 mois")
    page.get_by_label("Instructions à accepter avant la prise du rendez-vous").fill(
        "Merci d'apporter votre carnet de santé."
    )
    page.get_by_role("button", name="Créer", exact=True).click()

    expect(page.get_by_text("Le motif « Consultation prénatale » a été créé.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Consultation prénatale")
    expect(row).to_contain_text("PMI")
    expect(row).to_contain_text("Sur place")
    expect(row).to_contain_text("45 min")
    expect(row).to_contain_text("En ligne")
    motif = Motif.objects.get()
    assert (motif.bookable_online, motif.min_booking_delay, motif.max_booking_delay) == (
        True,
        Motif.BookingDelay.ONE_DAY,
        Motif.BookingDelay.TWO_MONTHS,
    )
    assert motif.instructions_before == "Merci d'apporter votre carnet de santé."


def test_choosing_a_domicile_disables_the_secretariat_checkbox(live_page, admin):
    page = live_page
    open_vos_motifs(page)
    page.get_by_role("link", name="Créer un motif").first.click()
    secretariat = page.get_by_role("checkbox", name="Le RDV pourra être effectué par le service secrétariat")
    expect(secretariat).to_be_enabled()
    tick(secretariat)

    tick(page.get_by_role("radio", name="À domicile"))
    expect(secretariat).to_be_disabled()
    expect(secretariat).not_to_be_checked()

    tick(page.get_by_role("radio", name="Par téléphone"))
    expect(secretariat).to_be_enabled()


def test_a_sensitive_name_unticks_and_greys_out_showing_it_in_messages(live_page, admin):
    page = live_page
    open_vos_motifs(page)
    page.get_by_role("link", name="Créer un motif").first.click()
    show_name = page.get_by_role("checkbox", name=re.compile(r"^Afficher le nom du motif dans les messages"))
    expect(show_name).to_be_checked()
    page.get_by_role("combobox", name="Service").select_option(label="PMI (Protection Maternelle Infantile)")
    page.get_by_role("combobox", name="Nom").select_option(label="Information préoccupante")
    expect(show_name).to_be_disabled()
    expect(show_name).not_to_be_checked()
    page.get_by_role("combobox", name="Nom").select_option(label="Pesée")
    expect(show_name).to_be_enabled()
    expect(show_name).to_be_checked()
    page.get_by_role("combobox", name="Nom").select_option(label="Information préoccupante")
    page.get_by_label("Durée par défaut en minutes").fill("30")
    tick(page.get_by_role("radio", name="Sur place"))
    page.get_by_role("button", name="Créer", exact=True).click()
    expect(page.get_by_text("Le motif « Information préoccupante » a été créé.")).to_be_visible()
    assert Motif.objects.get().show_name_in_messages is False
