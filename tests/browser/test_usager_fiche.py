"""The usager fiche that adds up, and « Trouver un créneau » for the secrétariat (issue 17): the
counts by status sum to the total and open the filtered list, the next and last RDVs are on the
fiche, « Prendre un RDV » books for the usager through « Trouver un créneau », « Ajouter un
proche » starts from the usager's name and address; from its own agenda the secrétariat (no
consultation of its own) is not preselected, the page names the agents searched, and ticking an
agent narrows the motifs in place. Screenshots in /tmp/h/fiche-*.png."""

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.agents.factories import AgentFactory
from tests.browser.axe import assert_accessible
from tests.browser.helpers import log_in
from tests.helpers import at, next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/h")


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"fiche-{name}.png"), full_page=True)


@pytest.fixture(autouse=True)
def _wednesday_morning():
    """The server's clock on an ordinary Wednesday: next Monday, the plage's day, is a working day."""
    with time_machine.travel(dt.datetime(2027, 6, 9, 10, 30, tzinfo=timezone.get_default_timezone()), tick=False):
        yield


@pytest.fixture
def setting(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel, Grande Allée")
    motif = MotifFactory(organisation=organisation, category__name="Consultation de puériculture")
    MotifFactory(organisation=organisation, category__name="Vaccination", for_secretariat=True)
    helene = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    sophie = AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Bernard")
    day = next_monday()
    PlageOuvertureFactory(organisation=organisation, agent=helene, lieu=lieu, motifs=[motif], first_day=day)
    ines = UsagerFactory(
        organisation=organisation, first_name="Inès", last_name="Moreau", address="3 rue des Lilas, 77186 Noisiel"
    )
    now = timezone.now()
    for days, traits in (
        (-30, {"seen": True}),
        (-20, {"noshow": True}),
        (-10, {"excused": True}),
        (-5, {}),
        (3, {"revoked": True}),
        (12, {}),
    ):
        RdvFactory(
            organisation=organisation,
            agents=[helene],
            usagers=[ines],
            motif=motif,
            lieu=lieu,
            starts_at=at(timezone.localdate(now) + dt.timedelta(days=days), 10),
            **traits,
        )
    return {"organisation": organisation, "helene": helene, "sophie": sophie, "ines": ines, "day": day}


def test_the_fiche_adds_up_and_books_for_its_usager(live_page, setting):
    page = live_page
    log_in(page, setting["sophie"].email)
    page.get_by_role("link", name="Vos usagers").first.click()
    page.get_by_role("link", name="Inès MOREAU").click()
    panel = page.locator("#rendez-vous")
    expect(panel).to_contain_text("Statuts sur 6 RDV")
    counts = panel.locator("a.fr-tag")
    expect(counts).to_have_text(
        [
            "À renseigner : 1",
            "Vu : 1",
            "À venir : 1",
            "Excusé : 1",
            "Non excusé : 1",
            "Annulé à l'initiative du service : 1",
        ]
    )
    expect(panel.locator("ul[aria-labelledby='rdv-prochains'] li")).to_have_count(2)
    expect(panel.locator("ul[aria-labelledby='rdv-passes'] li")).to_have_count(4)
    assert_accessible(page)
    shot(page, "counts")

    # Each count opens « Tous les RDVs » on the usager and that status.
    panel.get_by_role("link", name="Annulé à l'initiative du service : 1").click()
    expect(page.get_by_role("heading", name="Tous les RDVs")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.go_back()

    # « Ajouter un proche »: the name and the address of the usager en charge, ready.
    page.locator("#proches").get_by_role("link", name="Ajouter un proche").click()
    expect(page.get_by_label("Nom", exact=True)).to_have_value("Moreau")
    expect(page.get_by_label("Adresse")).to_have_value("3 rue des Lilas, 77186 Noisiel")
    shot(page, "proche")
    page.get_by_label("Prénom").fill("Léo")
    page.get_by_role("button", name="Créer", exact=True).click()
    expect(page.locator("#proches").get_by_role("link", name="Léo MOREAU")).to_be_visible()

    # « Prendre un RDV »: « Trouver un créneau » with Inès chosen, then her slot's usagers step.
    page.locator("#rendez-vous").get_by_role("link", name="Prendre un RDV").click()
    expect(page.get_by_role("heading", name="Trouver un créneau", exact=True)).to_be_visible()
    expect(page.locator("#creneaux-usagers")).to_contain_text("Rendez-vous pour Inès MOREAU")
    page.get_by_label("Motif").select_option(label="Consultation de puériculture (Sur place)")
    page.get_by_label("À partir du").fill(setting["day"].isoformat())
    page.get_by_role("button", name="Afficher les créneaux").click()
    expect(page.locator("#agents-recherches")).to_have_text(
        "Agents recherchés : tous ceux qui proposent ce motif (Hélène Martin)."
    )
    assert_accessible(page)
    shot(page, "creneaux")
    page.locator("a.rdv-slot").first.click()
    expect(page.get_by_role("button", name="Retirer Inès MOREAU")).to_be_visible()
    shot(page, "creneau-usager")


def test_the_secretariat_from_its_agenda_searches_the_agents_who_receive(live_page, setting):
    page = live_page
    log_in(page, setting["sophie"].email)
    page.get_by_role("link", name="Vos agendas").first.click()
    page.get_by_role("link", name="Trouver un créneau").click()
    expect(page.locator("#creneaux-preselection")).to_contain_text(
        "Sophie Bernard n'a pas de plage d'ouverture pour les motifs que vous pouvez réserver"
    )
    motif = page.get_by_label("Motif")
    expect(motif.locator("option")).to_have_count(3)  # the prompt and both motifs
    shot(page, "agenda-creneaux")

    # Ticking Hélène narrows the motifs to those of her plages, in place (htmx).
    page.locator("html[data-fr-js='true']").wait_for(state="attached")
    page.get_by_role("button", name=re.compile("^Agent")).click()
    page.get_by_role("group", name=re.compile("Agent")).get_by_text("Hélène Martin").first.click()
    expect(motif.locator("option")).to_have_count(2)
    expect(page.locator("#champ-motif")).to_contain_text("Décochez les agents pour voir tous les motifs.")
    motif.select_option(label="Consultation de puériculture (Sur place)")
    page.get_by_label("À partir du").fill(setting["day"].isoformat())
    page.get_by_role("button", name="Afficher les créneaux").click()
    expect(page.locator("#agents-recherches")).to_have_text("Agents recherchés : Hélène Martin.")
    expect(page.locator("a.rdv-slot").first).to_be_visible()
    assert_accessible(page)
    shot(page, "agents-narrowed")
