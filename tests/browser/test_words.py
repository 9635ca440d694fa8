"""Issue 17's « Forms » and « Words » walked in Chromium: the plage form refuses a past first day
and offers the agent's services' motifs only, the motif form's « Nom » follows the service,
« Tous les RDVs » opens on today, the notes survive « Créer un usager », « Se déconnecter » says
it is done. Screenshots in /tmp/h/words-*.png."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, service
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setting(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel, Grande Allée")
    motif = MotifFactory(organisation=organisation, category__name="Consultation prénatale")
    MotifFactory(organisation=organisation, service=service("Social"), category__name="Accompagnement social")
    agent = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    log_in(live_page, agent.email)
    expect(live_page.get_by_role("heading", name="Bonjour Hélène")).to_be_visible()
    return {"organisation": organisation, "agent": agent, "motif": motif, "lieu": lieu}


def test_the_plage_form_refuses_a_past_first_day_and_offers_the_agent_s_motifs(live_page, setting):
    page = live_page
    organisation, agent = setting["organisation"], setting["agent"]
    page.goto(
        page.base_url
        + reverse("planning:plage_create", kwargs={"organisation_id": organisation.pk, "agent_id": agent.pk})
    )
    expect(page.get_by_role("checkbox", name="Consultation prénatale (Sur place)")).to_have_count(1)
    expect(page.get_by_role("checkbox", name="Accompagnement social (Sur place)")).to_have_count(0)
    page.get_by_label("Nom").fill("Consultation")
    page.get_by_label("Lieu").select_option(label="MDS de Noisiel, Grande Allée")
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    page.get_by_label("Premier jour").fill(yesterday.isoformat())
    page.get_by_label("Commence à").fill("09:00")
    page.get_by_label("Termine à").fill("12:00")
    page.get_by_role("checkbox", name="Consultation prénatale (Sur place)").check(force=True)
    page.get_by_role("button", name="Créer", exact=True).click()
    expect(page.get_by_text("Le premier jour ne peut pas être passé")).to_be_visible()
    page.get_by_text("Le premier jour ne peut pas être passé").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/h/words-plage-past.png", full_page=True)


def test_the_motif_form_names_follow_the_service(live_page):
    organisation = OrganisationFactory(name="MDS de Torcy")
    admin = AgentFactory(organisation=organisation, admin=True, services=["PMI"], first_name="Inès")
    MotifCategoryFactory(name="Consultation prénatale", service=service("PMI"))
    MotifCategoryFactory(name="Accompagnement social", service=service("Social"))
    MotifCategoryFactory(name="Entretien", service=None)
    log_in(live_page, admin.email)
    page = live_page
    page.goto(page.base_url + reverse("motifs:create", kwargs={"organisation_id": organisation.pk}))
    pmi_names = page.locator('select[name="category"] optgroup[label="PMI (Protection Maternelle Infantile)"]')
    expect(pmi_names).to_have_count(1)
    expect(page.locator('select[name="category"] option', has_text="---------")).to_have_count(0)
    page.get_by_role("combobox", name="Service").select_option(label="Service social")
    expect(pmi_names).to_have_attribute("hidden", "")
    expect(page.locator('select[name="category"] optgroup[label="Service social"]')).not_to_have_attribute("hidden", "")
    page.screenshot(path="/tmp/h/words-motif-form.png", full_page=True)


def test_tous_les_rdvs_opens_on_today(live_page, setting):
    page = live_page
    organisation, agent, motif = setting["organisation"], setting["agent"], setting["motif"]
    now = timezone.now()
    for days in (-3, 0, 1, 200):
        RdvFactory(organisation=organisation, agents=[agent], motif=motif, starts_at=now + dt.timedelta(days=days))
    page.goto(page.base_url + reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk}))
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(1 + 3)
    expect(page.locator("#aujourdhui")).to_have_count(1)
    page.screenshot(path="/tmp/h/words-rdv-list.png", full_page=True)
    page.get_by_role("link", name="Passés", exact=True).click()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(1 + 1)


def test_notes_survive_creer_un_usager(live_page, setting):
    page = live_page
    organisation, agent, motif, lieu = setting["organisation"], setting["agent"], setting["motif"], setting["lieu"]
    day = timezone.localdate() + dt.timedelta(days=7)
    PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[motif], first_day=day)
    UsagerFactory(organisation=organisation, first_name="Maëlle", last_name="Bégué")
    url = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    page.goto(f"{page.base_url}{url}?agent={agent.pk}&debut={day.isoformat()}T09:30&motif={motif.pk}")
    page.get_by_label("Notes libres").fill("Premier rendez-vous après la naissance")
    page.get_by_role("button", name="Créer un usager").click()
    page.get_by_label("Prénom").fill("Nour")
    page.get_by_label("Nom", exact=True).fill("Haddad")
    page.get_by_role("button", name="Créer", exact=True).click()
    expect(page.get_by_role("button", name="Retirer Nour HADDAD")).to_be_visible()
    expect(page.get_by_label("Notes libres")).to_have_value("Premier rendez-vous après la naissance")
    assert "naissance" not in page.url
    page.screenshot(path="/tmp/h/words-wizard-notes.png", full_page=True)
    page.get_by_role("button", name="Continuer").click()
    page.get_by_role("button", name="Créer RDV").click()
    expect(page.get_by_text(re.compile(r"Le RDV « Consultation prénatale » du .* à 9h30 a été créé"))).to_be_visible()
    assert Rdv.objects.get().notes == "Premier rendez-vous après la naissance"


def test_se_deconnecter_says_it_is_done(live_page, setting):
    page = live_page
    page.get_by_role("button", name="Hélène").click()
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté(e).")).to_be_visible()
    page.screenshot(path="/tmp/h/words-logout.png", full_page=True)
