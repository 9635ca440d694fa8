import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in, open_side_menu
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def tick(locator):
    # DSFR draws checkboxes on their label, which receives the click.
    locator.check(force=True)


@pytest.fixture
def agent(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    LieuFactory(organisation=organisation, name="MDS de Noisiel, Grande Allée")
    MotifFactory(organisation=organisation, category__name="Consultation prénatale")
    MotifFactory(organisation=organisation, category__name="Pesée")
    agent = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène")
    page = live_page
    log_in(page, agent.email)
    expect(page.get_by_role("heading", name="Bonjour Hélène")).to_be_visible()
    return agent


def test_agent_creates_a_recurring_plage_and_an_absence_and_sees_both_in_the_lists(live_page, agent):
    page = live_page
    open_side_menu(page, "Votre planning")
    page.get_by_role("link", name="Plages d'ouverture").click()
    expect(page.get_by_role("heading", name="Vos plages d'ouverture")).to_be_visible()

    # « Cliquez sur « Créer une plage d'ouverture » »
    page.get_by_role("link", name="Créer une plage d'ouverture").click()
    expect(page.get_by_role("heading", name="Créer une plage d'ouverture")).to_be_visible()
    page.get_by_label("Nom").fill("consultation de PMI")
    page.get_by_label("Lieu").select_option(label="MDS de Noisiel, Grande Allée")
    page.get_by_label("Premier jour").fill("2030-03-04")
    page.get_by_label("Commence à").fill("09:00")
    page.get_by_label("Termine à").fill("12:00")
    tick(page.get_by_role("checkbox", name="Consultation prénatale (Sur place)"))
    tick(page.get_by_role("checkbox", name="Pesée (Sur place)"))
    # The recurrence fields show once « Répéter la plage d'ouverture… » is ticked.
    expect(page.get_by_role("checkbox", name="Mardi")).to_be_hidden()
    tick(page.get_by_role("checkbox", name="Répéter la plage d'ouverture…"))
    expect(page.get_by_role("checkbox", name="Lundi")).to_be_checked()  # the first day's weekday
    tick(page.get_by_role("checkbox", name="Jeudi"))
    page.get_by_role("button", name="Créer", exact=True).click()

    expect(page.get_by_text("La plage d'ouverture « consultation de PMI » a été créée.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="consultation de PMI")
    expect(row).to_contain_text("MDS de Noisiel, Grande Allée")
    expect(row).to_contain_text("9h00 – 12h00")
    expect(row).to_contain_text("Chaque semaine, les lundis et jeudis")

    # « Cliquez sur « créer une absence » »
    page.get_by_role("link", name="Absences", exact=True).first.click()
    expect(page.get_by_role("heading", name="Vos absences")).to_be_visible()
    page.get_by_role("link", name="Créer une absence").click()
    page.get_by_label("Nom").fill("Formation premiers secours")
    page.get_by_label("Commence le").fill("2030-03-12")
    page.get_by_label("Commence à").fill("09:00")
    page.get_by_label("Termine le").fill("2030-03-13")
    page.get_by_label("Termine à").fill("17:00")
    page.get_by_role("button", name="Créer", exact=True).click()

    expect(page.get_by_text("L'absence « Formation premiers secours » a été créée.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Formation premiers secours")
    expect(row).to_contain_text("mardi 12 mars 2030 à 9h00")
    expect(row).to_contain_text("mercredi 13 mars 2030 à 17h00")

    # « Cliquez sur le nom de l'absence dans la liste », « supprimer », confirmez.
    row.get_by_role("link", name="Formation premiers secours").click()
    page.get_by_role("link", name="Supprimer").click()
    page.get_by_role("button", name="Confirmer la suppression").click()
    expect(page.get_by_text("L'absence « Formation premiers secours » a été supprimée.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Formation premiers secours")).to_have_count(0)


def test_an_absence_over_a_booked_rdv_is_saved_with_a_warning_listing_it(live_page, agent):
    """« Warn (do not refuse) when a new plage or absence makes existing future RDVs fall outside
    availability, listing them. »"""
    organisation = agent.roles.get().organisation
    usager = UsagerFactory(organisation=organisation, first_name="Maëlle", last_name="Bégué")
    day = timezone.localdate() + dt.timedelta(days=30)
    starts_at = dt.datetime.combine(day, dt.time(10), tzinfo=organisation.tzinfo)
    rdv = RdvFactory(organisation=organisation, agents=[agent], usagers=[usager], starts_at=starts_at)
    page = live_page
    open_side_menu(page, "Votre planning")
    page.get_by_role("link", name="Absences", exact=True).click()
    page.get_by_role("link", name="Créer une absence").click()
    page.get_by_label("Nom").fill("Formation premiers secours")
    page.get_by_label("Commence le").fill(day.isoformat())
    page.get_by_label("Commence à").fill("09:00")
    page.get_by_label("Termine le").fill(day.isoformat())
    page.get_by_label("Termine à").fill("17:00")
    page.get_by_role("button", name="Créer", exact=True).click()

    expect(page.get_by_text("L'absence « Formation premiers secours » a été créée.")).to_be_visible()
    warning = page.locator("#rdvs-hors-disponibilites")
    expect(warning).to_contain_text("Un RDV à venir est désormais en dehors de vos disponibilités")
    expect(warning).to_contain_text("Maëlle BÉGUÉ")
    warning.get_by_role("link", name=re.compile(rf" {day.day} .* {day.year} à 10h00$")).click()
    assert page.url.endswith(f"/rdvs/{rdv.pk}/")
