import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_reads_its_agenda_switches_to_a_colleagues_and_back_and_opens_an_rdv(live_page):
    organisation = OrganisationFactory()
    claire = AgentFactory(
        organisation=organisation, admin=True, services=["PMI"], first_name="Claire", last_name="Dubois"
    )
    karim = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    tz = organisation.tzinfo
    today = timezone.localdate(timezone=tz)
    PlageOuvertureFactory(organisation=organisation, agent=claire, first_day=today, title="Consultation de PMI")
    motif = MotifFactory(organisation=organisation, color="#000091")
    RdvFactory(
        organisation=organisation,
        motif=motif,
        agents=[claire],
        usagers=[UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")],
        starts_at=dt.datetime.combine(today, dt.time(10, 30), tzinfo=tz),
    )
    RdvFactory(
        organisation=organisation,
        agents=[karim],
        usagers=[UsagerFactory(organisation=organisation, first_name="Zoé", last_name="Dubois")],
        starts_at=dt.datetime.combine(today, dt.time(14), tzinfo=tz),
    )
    page = live_page
    log_in(page, claire.email)

    page.get_by_role("link", name="Vos agendas").click()
    expect(page.get_by_role("heading", name=re.compile("Votre agenda — Claire Dubois"))).to_be_visible()
    expect(page.get_by_role("link", name="Trouver un créneau")).to_be_visible()
    expect(page.locator(".rdv-agenda__notes").get_by_text("Consultation de PMI")).to_be_visible()
    claire_rdv = page.get_by_role("link", name=re.compile(r"10h30 à 11h00 (À renseigner )?Léon ANGELO"))
    expect(claire_rdv).to_be_visible()

    # « Comment accéder au calendrier d'un autre agent ? »: the drop-down with one's own name.
    selector = page.get_by_label("Calendrier de")
    expect(selector).to_have_value(str(claire.pk))
    selector.select_option(label="Karim Benali")
    expect(page.get_by_role("heading", name=re.compile("Agenda de Karim Benali"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"14h00 à 14h30 (À renseigner )?Zoé DUBOIS"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Léon ANGELO"))).to_have_count(0)
    # Back by choosing one's own name (with the keyboard the button opens the calendar).
    page.get_by_label("Calendrier de").select_option(label="Claire Dubois")
    expect(page.get_by_role("heading", name=re.compile("Votre agenda — Claire Dubois"))).to_be_visible()

    # The day, then the month, then the RDV's summary from the calendar.
    page.get_by_role("link", name="Journée", exact=True).click()
    expect(page.get_by_role("link", name="Journée", exact=True)).to_have_attribute("aria-current", "page")
    page.get_by_role("link", name="Mois", exact=True).click()
    expect(page.get_by_role("link", name=re.compile(r"10h30 Léon ANGELO"))).to_be_visible()
    page.get_by_role("link", name="Semaine", exact=True).click()
    page.get_by_role("link", name=re.compile(r"10h30 à 11h00 (À renseigner )?Léon ANGELO")).click()
    expect(page.get_by_role("heading", name=re.compile("Rendez-vous du"))).to_be_visible()
    expect(page.get_by_role("link", name="Léon ANGELO").first).to_be_visible()


def test_the_secretariat_sets_en_salle_d_attente_in_one_click_on_the_team_day(live_page):
    organisation = OrganisationFactory()
    secretariat = AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")
    helene = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    karim = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    tz = organisation.tzinfo
    today = timezone.localdate(timezone=tz)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[helene],
        usagers=[UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")],
        starts_at=dt.datetime.combine(today, dt.time(11), tzinfo=tz),
    )
    RdvFactory(organisation=organisation, agents=[karim], starts_at=dt.datetime.combine(today, dt.time(9), tzinfo=tz))
    page = live_page
    log_in(page, secretariat.email)

    page.get_by_role("link", name="Vos agendas").click()
    page.get_by_role("link", name="Journée de l'équipe").click()
    expect(page.get_by_role("heading", name=re.compile("Journée de l'équipe"))).to_be_visible()
    expect(page.get_by_role("heading", name="Hélène Martin")).to_be_visible()
    expect(page.get_by_role("heading", name="Karim Benali")).to_be_visible()

    block = page.locator(".rdv-agenda__item").filter(has_text="Léon ANGELO")
    block.get_by_role("button", name="En salle d'attente").click()
    expect(page.get_by_text("Le statut du RDV est maintenant « En salle d'attente ».")).to_be_visible()
    block = page.locator(".rdv-agenda__item").filter(has_text="Léon ANGELO")
    expect(block.get_by_role("link")).to_contain_text("En salle d'attente")
    expect(block.get_by_role("button", name="En salle d'attente")).to_have_count(0)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.WAITING
