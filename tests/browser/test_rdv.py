import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.organisations.factories import OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_sets_a_status_modifies_reads_the_history_and_deletes_an_rdv(live_page):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation, admin=True, services=["PMI"])
    usager = UsagerFactory(organisation=organisation, first_name="Maëlle", last_name="Bégué")
    last_week = timezone.localdate() - dt.timedelta(days=7)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[agent],
        usagers=[usager],
        starts_at=dt.datetime.combine(last_week, dt.time(10), tzinfo=organisation.tzinfo),
    )
    # Within the agent's plages: « modifier » warns of RDVs outside them.
    PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=last_week, start_time=dt.time(9))
    page = live_page
    log_in(page, agent.email)

    page.get_by_role("link", name="Tous les RDVs").click()
    expect(page.get_by_role("heading", name="Tous les RDVs")).to_be_visible()
    page.get_by_role("link", name="Passés", exact=True).click()  # the list opens on the coming days
    page.locator("#rdvs tbody a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Rendez-vous du"))).to_be_visible()
    expect(page.get_by_role("link", name="Maëlle BÉGUÉ").first).to_be_visible()

    page.get_by_role("button", name="Vu", exact=True).click()
    expect(page.get_by_text("Le statut du RDV est maintenant « Vu ».")).to_be_visible()
    expect(page.get_by_role("button", name="Vu", exact=True)).to_have_attribute("aria-current", "true")

    page.get_by_role("link", name="modifier").click()
    page.get_by_label("Durée en minutes").fill("45")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Le RDV a été modifié.")).to_be_visible()
    expect(page.get_by_text("45 minutes")).to_be_visible()

    page.get_by_role("link", name="Afficher l'historique des actions").click()
    history = page.locator("#historique table")
    expect(history.get_by_role("cell", name="Modification — Durée")).to_be_visible()
    expect(history.get_by_role("cell", name="45 min")).to_be_visible()
    expect(history.get_by_role("cell", name="Changement de statut — Statut")).to_be_visible()

    page.get_by_role("link", name="supprimer").click()
    expect(page.get_by_text("Le RDV disparait de l'agenda et des statistiques.", exact=False)).to_be_visible()
    page.get_by_role("button", name="Confirmer la suppression").click()
    expect(page.get_by_text("Le RDV a été supprimé.")).to_be_visible()
    expect(page.get_by_text("Aucun RDV ne correspond à ces critères.")).to_be_visible()
    assert not type(rdv).objects.filter(pk=rdv.pk).exists()


def test_agent_sets_each_status_of_todays_rdv(live_page):
    """« Comment attribuer un statut au rendez-vous ? »: each status of the seed, from the summary,
    on an RDV of today that has just started (every status is then allowed)."""
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    now = timezone.localtime(timezone.now(), organisation.tzinfo)
    starts_at = max(now - dt.timedelta(minutes=20), now.replace(hour=0, minute=1, second=0, microsecond=0))
    rdv = RdvFactory(organisation=organisation, agents=[agent], starts_at=starts_at)
    page = live_page
    log_in(page, agent.email)
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/")

    statuses = page.get_by_role("list", name="Changer le statut")
    for label, shown in (
        ("En salle d'attente", "En salle d'attente"),
        ("Vu", "Vu"),
        ("Absent excusé", "Absent excusé"),
        ("Absent non excusé", "Absent non excusé"),
        ("Annulé à l'initiative du service", "Annulé à l'initiative du service"),
        ("Indéterminé", "Indéterminé"),  # the button's words, not the list's « À renseigner »
    ):
        statuses.get_by_role("button", name=label, exact=True).click()
        expect(page.get_by_text(f"Le statut du RDV est maintenant « {shown} ».")).to_be_visible()
        expect(statuses.get_by_role("button", name=label, exact=True)).to_have_attribute("aria-current", "true")
    rdv.refresh_from_db()
    assert rdv.status == "unknown"
    recorded = list(rdv.history.order_by("history_date", "history_id").values_list("status", flat=True))
    assert recorded[-6:] == ["waiting", "seen", "excused", "noshow", "revoked", "unknown"]


def test_modifier_searches_the_agents_without_accents(live_page):
    """« modifier » offers the same searchable agents as the creation: the ticked agent stays
    shown, a colleague found by part of its name without its accent is ticked, and the RDV then
    has both agents."""
    organisation = OrganisationFactory()
    agent = AgentFactory(
        organisation=organisation, admin=True, services=["PMI"], first_name="Claire", last_name="Dubois"
    )
    colleague = AgentFactory(organisation=organisation, services=["Social"], first_name="Anaïs", last_name="Noël")
    AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")
    next_week = timezone.localdate() + dt.timedelta(days=7)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[agent],
        usagers=[UsagerFactory(organisation=organisation)],
        starts_at=dt.datetime.combine(next_week, dt.time(10), tzinfo=organisation.tzinfo),
    )
    for someone in (agent, colleague):
        PlageOuvertureFactory(organisation=organisation, agent=someone, first_day=next_week, lieu=rdv.lieu)
    page = live_page
    log_in(page, agent.email)
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/")
    page.get_by_role("link", name="modifier").click()

    agents = page.get_by_role("group", name=re.compile("^Agents"))
    count = agents.get_by_role("status")
    expect(count).to_have_text("4 agents affichés.")
    agents.get_by_label("Rechercher un agent").press_sequentially("noel", delay=50)
    expect(count).to_have_text("2 agents affichés.")
    expect(agents.get_by_role("checkbox", name="Claire Dubois")).to_be_checked()
    expect(agents.get_by_role("checkbox", name="Anaïs Noël")).to_be_visible()
    expect(agents.get_by_role("checkbox", name="Karim Benali")).to_be_hidden()
    expect(agents.get_by_role("checkbox", name="Sophie Lefèvre")).to_be_hidden()
    # Keyboard: down from the search bar to the agents shown, the ticked one first.
    page.keyboard.press("ArrowDown")
    expect(agents.get_by_role("checkbox", name="Claire Dubois")).to_be_focused()
    agents.get_by_role("checkbox", name="Anaïs Noël").check(force=True)
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_text("Le RDV a été modifié.")).to_be_visible()
    assert set(rdv.agents.all()) == {agent, colleague}


def test_modifier_adds_an_usager_by_typing_its_name_and_removes_another(live_page):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation, admin=True, services=["PMI"])
    leaving = UsagerFactory(organisation=organisation, first_name="Maëlle", last_name="Bégué")
    UsagerFactory(organisation=organisation, first_name="Yasmine", last_name="Cordier")
    day = timezone.localdate() + dt.timedelta(days=3)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[agent],
        usagers=[leaving],
        starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=organisation.tzinfo),
    )
    PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=day, start_time=dt.time(9))
    page = live_page
    log_in(page, agent.email)
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/")
    page.get_by_role("link", name="modifier").click()

    search = page.get_by_role("searchbox", name=re.compile("^Usagers"))
    search.fill("cord")
    search.press("Enter")  # searches, does not save
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile("Yasmine CORDIER")).click()
    expect(page.get_by_role("button", name="Retirer Yasmine CORDIER")).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Retirer Maëlle BÉGUÉ").click()
    expect(page.get_by_role("list", name="Usagers choisis").get_by_role("listitem")).to_have_count(1)
    page.get_by_role("button", name="Enregistrer").click()

    expect(page.get_by_text("Le RDV a été modifié.")).to_be_visible()
    expect(page.get_by_role("link", name="Yasmine CORDIER").first).to_be_visible()
    expect(page.get_by_role("link", name="Maëlle BÉGUÉ")).to_have_count(0)
