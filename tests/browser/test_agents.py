import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from agents.models import AgentRole
from tests.agents.factories import PASSWORD, AgentFactory
from tests.browser.helpers import log_in, open_side_menu
from tests.organisations.factories import OrganisationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose(page, label):
    """DSFR radios are drawn by their label, which covers the input: click it, as a person does."""
    page.locator("label.fr-label", has_text=label).click()
    expect(page.get_by_label(label)).to_be_checked()


def open_vos_agents(page):
    open_side_menu(page, "Paramètres")
    page.get_by_role("link", name="Vos agents").click()
    expect(page.get_by_role("heading", name="Vos agents", level=1)).to_be_visible()


def invite(page, email, service, level):
    """« Cliquez sur « invitez un professionnel » ; renseignez son adresse email ; choisissez le
    service ; attribuez-lui un rôle. »"""
    page.get_by_role("link", name="Invitez un professionnel").click()
    page.get_by_label("Adresse e-mail").fill(email)
    choose(page, service)
    choose(page, level)
    page.get_by_role("button", name="Envoyer l'invitation").click()


def test_admin_invites_a_professional_then_changes_a_role(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    admin = AgentFactory(organisation=organisation, admin=True, services=["PMI"], email="claire@departement.fr")
    AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    page = live_page
    log_in(page, admin.email)
    open_vos_agents(page)

    invite(page, "lucie.garnier@departement.fr", "Service social", "Utilisateur")

    expect(page.get_by_text("Invitation envoyée à lucie.garnier@departement.fr.")).to_be_visible()
    pending = page.get_by_role("table", name=re.compile("Invitations en attente"))
    row = pending.get_by_role("row", name=re.compile("lucie.garnier@departement.fr"))
    expect(row).to_contain_text("Service social")
    expect(row).to_contain_text("Utilisateur")
    expect(row.get_by_role("button", name="Renvoyer")).to_be_visible()
    expect(row.get_by_role("button", name="Annuler")).to_be_visible()
    assert mail.outbox[-1].to == ["lucie.garnier@departement.fr"]

    # « Cliquez sur le nom de l'agent ; changez le rôle ; cliquez sur « modifier ». »
    page.get_by_role("link", name="Karim Benali").click()
    expect(page.get_by_role("heading", name="Karim Benali")).to_be_visible()
    choose(page, "Administrateur")
    page.get_by_role("button", name="Modifier").click()

    agents = page.get_by_role("table", name=re.compile("Agents de MDS de Noisiel"))
    expect(agents.get_by_role("row", name=re.compile("Karim Benali"))).to_contain_text("Administrateur")
    assert AgentRole.objects.get(agent__last_name="Benali").level == AgentRole.Level.ADMIN


def test_the_person_invited_creates_its_account_from_the_email_link(live_page):
    organisation = OrganisationFactory(name="MDS de Chelles")
    admin = AgentFactory(organisation=organisation, admin=True, services=["PMI"], email="nathalie@departement.fr")
    page = live_page
    log_in(page, admin.email)
    open_vos_agents(page)
    invite(page, "marc.petit@departement.fr", "PMI (Protection Maternelle Infantile)", "Administrateur")
    expect(page.get_by_text("Invitation envoyée à marc.petit@departement.fr.")).to_be_visible()

    link = re.search(r"/invitation/\S+/", mail.outbox[-1].body).group(0)
    page.context.clear_cookies()
    page.goto(page.base_url + link)
    expect(page.get_by_role("heading", name="Rejoindre MDS de Chelles")).to_be_visible()
    page.get_by_label("Prénom").fill("Marc")
    page.get_by_label("Nom", exact=True).fill("Petit")
    page.get_by_label(re.compile(r"^\s*Mot de passe")).fill("une-phrase-de-passe-solide")
    page.get_by_label("Confirmation du mot de passe").fill("une-phrase-de-passe-solide")
    page.get_by_role("button", name="Créer mon compte").click()

    expect(page.locator(".fr-header__service-tagline")).to_have_text("MDS de Chelles")
    expect(page.get_by_text("Bienvenue Marc")).to_be_visible()

    page.goto(page.base_url + link)
    expect(page.get_by_role("heading", name="Invitation déjà utilisée")).to_be_visible()


def test_an_agent_of_another_organisation_accepts_the_invitation_from_its_own_account(live_page):
    noisiel = OrganisationFactory(name="MDS de Noisiel")
    chelles = OrganisationFactory(name="MDS de Chelles")
    admin = AgentFactory(
        organisation=noisiel,
        admin=True,
        services=["PMI"],
        email="claire@departement.fr",
        first_name="Claire",
        last_name="Dubois",
    )
    julien = AgentFactory(
        organisation=chelles, services=["Social"], email="julien@departement.fr", first_name="Julien", last_name="Roux"
    )
    page = live_page
    log_in(page, admin.email)
    open_vos_agents(page)
    invite(page, "julien@departement.fr", "Service social", "Utilisateur")
    # The same words as for an unknown address: the admin learns neither a name nor an account.
    expect(page.get_by_text("Invitation envoyée à julien@departement.fr.")).to_be_visible()
    expect(page.get_by_text("Roux")).to_have_count(0)
    assert not AgentRole.objects.filter(agent=julien, organisation=noisiel).exists()

    link = re.search(r"/invitation/\S+/", mail.outbox[-1].body).group(0)
    page.context.clear_cookies()
    page.goto(page.base_url + link)
    expect(page.get_by_role("heading", name="Rejoindre MDS de Noisiel")).to_be_visible()
    page.get_by_role("link", name="Se connecter pour répondre").click()
    page.get_by_label("Adresse e-mail").fill(julien.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    expect(page.get_by_role("heading", name="Invitation à rejoindre MDS de Noisiel")).to_be_visible()
    expect(page.get_by_text("Service : Service social")).to_be_visible()
    page.get_by_role("button", name="Accepter l'invitation").click()
    expect(page.locator(".fr-header__service-tagline")).to_have_text("MDS de Noisiel")
    expect(page.get_by_text("Vous faites maintenant partie de MDS de Noisiel.")).to_be_visible()
    role = AgentRole.objects.get(agent=julien, organisation=noisiel)
    assert [service.short_name for service in role.services.all()] == ["Social"]
