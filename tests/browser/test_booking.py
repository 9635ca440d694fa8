"""« Comment poser un rendez-vous ? » walked in Chromium: from a time cell of the calendar, and
through « Trouver un créneau »."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.helpers import next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# The server's clock (the live server runs in this process) stands on an ordinary Wednesday
# morning: next Monday, the day of the plage, is a working day. From the real clock it was a
# public holiday when the suite ran on Easter Sunday (lundi de Pâques) or on 31 October
# (Toussaint), and « Trouver un créneau » had no slot. The browser keeps its own clock: no page
# here reads it.
@pytest.fixture(autouse=True)
def _wednesday_morning():
    with time_machine.travel(dt.datetime(2027, 6, 9, 10, 30, tzinfo=timezone.get_default_timezone()), tick=False):
        assert next_monday() == dt.date(2027, 6, 14)
        yield


@pytest.fixture
def setting(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel, Grande Allée")
    motif = MotifFactory(organisation=organisation, category__name="Consultation de puériculture")
    agent = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    day = next_monday()
    PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[motif], first_day=day)
    usager = UsagerFactory(organisation=organisation, first_name="Maëlle", last_name="Bégué")
    UsagerFactory(organisation=organisation, first_name="Marc", last_name="Dupont")
    page = live_page
    log_in(page, agent.email)
    expect(page.get_by_role("heading", name="Bonjour Hélène")).to_be_visible()
    return {"organisation": organisation, "agent": agent, "motif": motif, "usager": usager, "day": day, "lieu": lieu}


def agenda_path(setting) -> str:
    url = reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": setting["organisation"].pk, "agent_id": setting["agent"].pk},
    )
    return f"{url}?date={setting['day'].isoformat()}"


def test_book_directly_from_a_time_cell_of_the_agenda(live_page, setting):
    page = live_page
    organisation, agent, day = setting["organisation"], setting["agent"], setting["day"]
    # « Rendez-vous dans l'onglet « Vos agendas » », go to the week of the plage, « Cliquez sur un
    # créneau ».
    page.get_by_role("link", name="Vos agendas").click()
    expect(page.get_by_role("heading", name=re.compile("Hélène Martin"))).to_be_visible()
    while not page.get_by_role("link", name=re.compile(rf"^9h30 : poser un RDV le \w+ {day.day} ")).count():
        page.get_by_role("link", name="Semaine suivante").click()
    page.get_by_role("link", name=re.compile(rf"^9h30 : poser un RDV le \w+ {day.day} ")).click()
    expect(page.get_by_text("Commence le :")).to_contain_text("9h30")

    # « Choisissez le motif du rendez-vous », « Cliquez sur « continuer » »
    page.get_by_label("Motif").select_option(label="Consultation de puériculture (Sur place)")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", name="Choisir le ou les usagers")).to_be_visible()

    # Type part of the name: live results; click the usager, its name appears in « usagers ».
    page.get_by_placeholder("Sélectionner un usager").press_sequentially("bégu", delay=50)
    page.get_by_role("button", name=re.compile("Maëlle BÉGUÉ")).click()
    expect(page.get_by_role("button", name="Retirer Maëlle BÉGUÉ")).to_be_visible()
    expect(page.get_by_role("link", name="changer de motif")).to_be_visible()
    page.get_by_label("Notes libres").fill("Premier rendez-vous après la naissance")
    page.get_by_role("button", name="Continuer").click()

    # Date, time and duration prefilled; the lieu of the plage; the clicked agent.
    expect(page.get_by_role("heading", name="Choisir la durée et la date")).to_be_visible()
    expect(page.get_by_label("Heure")).to_have_value("09:30")
    expect(page.get_by_label("Durée en minutes")).to_have_value("30")
    expect(page.get_by_label("Lieu")).to_have_value(str(setting["lieu"].pk))
    expect(page.get_by_role("checkbox", name="Hélène Martin")).to_be_checked()
    page.get_by_role("button", name="Créer RDV").click()

    expect(page.get_by_text("Le RDV « Consultation de puériculture »")).to_be_visible()
    assert page.url.endswith(agenda_path(setting))
    rdv = Rdv.objects.get()
    assert timezone.localtime(rdv.starts_at, organisation.tzinfo) == dt.datetime.combine(
        day, dt.time(9, 30), tzinfo=organisation.tzinfo
    )
    assert list(rdv.usagers.all()) == [setting["usager"]]
    assert list(rdv.agents.all()) == [agent]
    assert rdv.notes == "Premier rendez-vous après la naissance"

    # « Le rendez-vous apparait désormais dans le calendrier »; clicking it opens its summary.
    page.get_by_role("link", name=re.compile("9h30.*Maëlle BÉGUÉ.*Consultation de puériculture")).click()
    expect(page.get_by_role("heading", name=re.compile("Rendez-vous du"))).to_be_visible()
    expect(page.get_by_text("Premier rendez-vous après la naissance")).to_be_visible()


def test_book_through_trouver_un_creneau(live_page, setting):
    page = live_page
    organisation, day = setting["organisation"], setting["day"]
    page.goto(page.base_url + agenda_path(setting))
    page.get_by_role("link", name="Trouver un créneau").click()
    expect(page.get_by_role("heading", name="Trouver un créneau", exact=True)).to_be_visible()

    page.get_by_label("Motif").select_option(label="Consultation de puériculture (Sur place)")
    page.get_by_label("À partir du").fill(day.isoformat())
    page.get_by_role("button", name="Afficher les créneaux").click()
    expect(page.get_by_role("heading", name="MDS de Noisiel, Grande Allée")).to_be_visible()

    page.get_by_role("link", name=re.compile(r"à 10h00 avec Hélène Martin")).click()
    expect(page.get_by_text("Commence le :")).to_contain_text("10h00")
    page.get_by_placeholder("Sélectionner un usager").press_sequentially("maël", delay=50)
    page.get_by_role("button", name=re.compile("Maëlle BÉGUÉ")).click()
    expect(page.get_by_role("button", name="Retirer Maëlle BÉGUÉ")).to_be_visible()
    page.get_by_role("button", name="Continuer").click()

    expect(page.get_by_text("Le RDV « Consultation de puériculture »")).to_be_visible()
    assert page.url.endswith(agenda_path(setting))
    rdv = Rdv.objects.get()
    assert timezone.localtime(rdv.starts_at, organisation.tzinfo).time() == dt.time(10)
    assert rdv.lieu == setting["lieu"]
    assert list(rdv.usagers.all()) == [setting["usager"]]


def test_step3_searches_the_agents_without_accents(live_page, setting):
    """« Cliquez dans la barre de recherche « agents » afin de sélectionner le ou les agents qui
    effectueront le rendez-vous. »: typing part of a colleague's name, accent left out, shows it
    and the agents already ticked only; both agents do the RDV."""
    page = live_page
    organisation, agent, day = setting["organisation"], setting["agent"], setting["day"]
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Frédéric", last_name="Lévêque")
    PlageOuvertureFactory(
        organisation=organisation, agent=colleague, lieu=setting["lieu"], motifs=[setting["motif"]], first_day=day
    )
    AgentFactory(organisation=organisation, services=["PMI", "Social"], first_name="Claire", last_name="Dubois")
    # Not offered: a basic agent books for agents of its own services only.
    AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")
    url = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    page.goto(f"{page.base_url}{url}?agent={agent.pk}&debut={day.isoformat()}T10:00&motif={setting['motif'].pk}")
    page.get_by_placeholder("Sélectionner un usager").press_sequentially("bégu", delay=50)
    page.get_by_role("button", name=re.compile("Maëlle BÉGUÉ")).click()
    expect(page.get_by_role("button", name="Retirer Maëlle BÉGUÉ")).to_be_visible()
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", name="Choisir la durée et la date")).to_be_visible()

    agents = page.get_by_role("group", name=re.compile("^Agents"))
    search = agents.get_by_label("Rechercher un agent")
    count = agents.get_by_role("status")
    expect(count).to_have_text("3 agents affichés.")
    expect(agents.get_by_role("checkbox", name="Sophie Lefèvre")).to_have_count(0)
    search.press_sequentially("leveq", delay=50)
    expect(count).to_have_text("2 agents affichés.")
    expect(agents.get_by_role("checkbox", name="Hélène Martin")).to_be_checked()
    expect(agents.get_by_role("checkbox", name="Frédéric Lévêque")).to_be_visible()
    expect(agents.get_by_role("checkbox", name="Claire Dubois")).to_be_hidden()
    # The service matches too, whatever the case.
    search.fill("SOCIAL")
    expect(count).to_have_text("2 agents affichés.")
    expect(agents.get_by_role("checkbox", name="Claire Dubois")).to_be_visible()
    expect(agents.get_by_role("checkbox", name="Frédéric Lévêque")).to_be_hidden()
    search.fill("")
    search.press_sequentially("Frederic L", delay=50)
    agents.get_by_role("checkbox", name="Frédéric Lévêque").check(force=True)
    # Enter in the search bar does not create the RDV; the ticked colleague goes first when the
    # search changes.
    search.press("Enter")
    expect(page.get_by_role("heading", name="Choisir la durée et la date")).to_be_visible()
    search.fill("zzz")
    expect(count).to_have_text("Aucun agent ne correspond à « zzz » ; les 2 agents cochés restent affichés.")
    ticked = agents.get_by_role("group", name="Agents cochés")
    expect(ticked.get_by_role("checkbox")).to_have_count(2)
    expect(ticked.get_by_role("checkbox", name="Frédéric Lévêque")).to_be_checked()
    page.get_by_role("button", name="Créer RDV").click()

    expect(page.get_by_text("Le RDV « Consultation de puériculture »")).to_be_visible()
    rdv = Rdv.objects.get()
    assert set(rdv.agents.all()) == {agent, colleague}
    assert list(rdv.usagers.all()) == [setting["usager"]]
