import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.agents.factories import PASSWORD, AgentFactory
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
    page.goto(page.base_url + "/")
    page.get_by_label("Adresse e-mail").fill(agent.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    page.get_by_role("link", name="Tous les RDVs").click()
    expect(page.get_by_role("heading", name="Tous les RDVs")).to_be_visible()
    page.locator("#rdvs tbody a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Rendez-vous du"))).to_be_visible()
    expect(page.get_by_role("link", name="Maëlle BÉGUÉ")).to_be_visible()

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
    page.goto(page.base_url + "/")
    page.get_by_label("Adresse e-mail").fill(agent.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/")

    statuses = page.get_by_role("list", name="Changer le statut")
    for label, shown in (
        ("En salle d'attente", "En salle d'attente"),
        ("Vu", "Vu"),
        ("Absent excusé", "Absent excusé"),
        ("Absent non excusé", "Absent non excusé"),
        ("Annulé à l'initiative du service", "Annulé à l'initiative du service"),
        ("Indéterminé", "À renseigner"),
    ):
        statuses.get_by_role("button", name=label, exact=True).click()
        expect(page.get_by_text(f"Le statut du RDV est maintenant « {shown} ».")).to_be_visible()
        expect(statuses.get_by_role("button", name=label, exact=True)).to_have_attribute("aria-current", "true")
    rdv.refresh_from_db()
    assert rdv.status == "unknown"
    recorded = list(rdv.history.order_by("history_date", "history_id").values_list("status", flat=True))
    assert recorded[-6:] == ["waiting", "seen", "excused", "noshow", "revoked", "unknown"]
