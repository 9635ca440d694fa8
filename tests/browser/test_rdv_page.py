"""The RDV page made for phone work (issue 17), walked in Chromium: the usagers' panels, « Voir
dans l'agenda » (the RDV marked and in view), « Dupliquer » (a follow-up booked at a time
chosen), « supprimer » back to the usager's fiche the agent came from, and the history's
creation naming the usagers. Screenshots: /tmp/h/rdvpage-*.png."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.browser.axe import assert_accessible
from tests.browser.helpers import log_in
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str) -> None:
    page.screenshot(path=f"/tmp/h/rdvpage-{name}.png", full_page=True)


def test_the_rdv_page_for_phone_work(live_page):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation, services=["PMI"], first_name="Claire", last_name="Dubois")
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Anaïs", last_name="Noël")
    parent = UsagerFactory(
        organisation=organisation,
        first_name="Inès",
        last_name="Moreau",
        phone="+33612345678",
        email="ines.moreau@example.com",
    )
    child = UsagerFactory(organisation=organisation, first_name="Léo", last_name="Moreau", responsible=parent)
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    tz = organisation.tzinfo
    today = timezone.localdate(timezone=tz)
    day = today + dt.timedelta(days=7)
    follow_up_day = today + dt.timedelta(days=21)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[agent, colleague],
        usagers=[child, parent],
        lieu=lieu,
        starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=tz),
        duration_in_min=45,  # the motif's default is 30: « Dupliquer » keeps 45
    )
    seen = RdvFactory(
        organisation=organisation,
        agents=[agent],
        usagers=[child],
        lieu=lieu,
        starts_at=dt.datetime.combine(today - dt.timedelta(days=30), dt.time(9), tzinfo=tz),
        seen=True,
    )
    for someone in (agent, colleague):
        for first_day in (day, follow_up_day):
            PlageOuvertureFactory(organisation=organisation, agent=someone, lieu=lieu, first_day=first_day)
    page = live_page
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, agent.email)

    # The RDV's page: a panel per usager.
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Rendez-vous du"))).to_be_visible()
    panels = page.locator(".rdv-usager-panel")
    expect(panels).to_have_count(2)
    child_panel = panels.filter(has=page.get_by_role("heading", name="Léo MOREAU"))
    expect(child_panel.get_by_text("Proche d'Inès MOREAU")).to_be_visible()
    expect(child_panel.get_by_role("link", name="Appeler Inès MOREAU au 06 12 34 56 78")).to_have_attribute(
        "href", "tel:+33612345678"
    )
    expect(child_panel.get_by_role("link", name=re.compile(seen.starts_at.strftime("%Y")))).to_have_attribute(
        "href", f"/organisations/{organisation.pk}/rdvs/{seen.pk}/"
    )
    expect(child_panel.get_by_text("Vu", exact=True)).to_be_visible()
    parent_panel = panels.filter(has=page.get_by_role("heading", name="Inès MOREAU"))
    expect(parent_panel.get_by_role("link", name="06 12 34 56 78")).to_have_attribute("href", "tel:+33612345678")
    expect(parent_panel.get_by_role("link", name="ines.moreau@example.com")).to_have_attribute(
        "href", "mailto:ines.moreau@example.com"
    )
    assert_accessible(page)
    shot(page, "detail")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "detail-mobile")
    page.set_viewport_size({"width": 1280, "height": 900})

    # « Voir dans l'agenda »: the week of the RDV, the RDV marked and in view.
    page.get_by_role("link", name="Voir dans l'agenda").click()
    marked = page.locator(f"#rdv-{rdv.pk} a")
    expect(marked).to_have_attribute("aria-current", "true")
    expect(marked).to_have_class(re.compile("rdv-agenda__rdv--highlighted"))
    expect(marked).to_be_in_viewport()
    assert page.url.endswith(f"#rdv-{rdv.pk}")
    page.screenshot(path="/tmp/h/rdvpage-agenda.png")
    page.go_back()

    # « Dupliquer »: step 3 prefilled, the date and time to choose.
    page.get_by_role("link", name="Dupliquer").click()
    expect(page.get_by_role("heading", name=re.compile("Choisir la durée et la date"))).to_be_visible()
    expect(page.get_by_text("Usager(s) : Léo MOREAU, Inès MOREAU")).to_be_visible()
    expect(page.get_by_label("Lieu")).to_have_value(str(lieu.pk))
    for someone in (agent, colleague):
        expect(page.get_by_role("checkbox", name=someone.full_name)).to_be_checked()
    expect(page.get_by_label("Date", exact=True)).to_have_value("")
    expect(page.get_by_label("Durée en minutes")).to_have_value("45")
    shot(page, "dupliquer")
    page.get_by_label("Date", exact=True).fill(follow_up_day.isoformat())
    page.get_by_label("Heure", exact=True).fill("11:00")
    page.get_by_role("button", name="Créer RDV").click()
    confirm = page.get_by_label("Confirmer malgré le conflit")
    if confirm.count():  # a public holiday: the organisation is closed that day
        confirm.check(force=True)
        page.get_by_role("button", name="Créer RDV").click()
    expect(page.get_by_text(re.compile("a été créé"))).to_be_visible()
    follow_up = Rdv.objects.exclude(pk__in=[rdv.pk, seen.pk]).get()
    assert set(follow_up.usagers.all()) == {child, parent}
    assert set(follow_up.agents.all()) == {agent, colleague}
    assert follow_up.lieu == lieu
    assert follow_up.duration_in_min == 45

    # The history's creation names the usagers.
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{follow_up.pk}/?historique=1#historique")
    history = page.locator("#historique table")
    expect(history.get_by_role("cell", name="Création — Usagers")).to_be_visible()
    expect(history.get_by_role("cell", name="Inès MOREAU, Léo MOREAU")).to_be_visible()
    shot(page, "historique")

    # « supprimer » from the fiche: back to the fiche.
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/usagers/{child.pk}/")
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/", referer=page.url)
    page.get_by_role("link", name="supprimer").click()
    page.get_by_role("button", name="Confirmer la suppression").click()
    expect(page.get_by_text("Le RDV a été supprimé.")).to_be_visible()
    assert page.url.endswith(f"/organisations/{organisation.pk}/usagers/{child.pk}/")
    shot(page, "supprime")
    assert not Rdv.objects.filter(pk=rdv.pk).exists()


def test_voir_dans_l_agenda_from_the_team_day_rings_the_rdv_there(live_page):
    organisation = OrganisationFactory()
    secretariat = AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")
    agents = [
        AgentFactory(organisation=organisation, services=["PMI"], first_name="Agent", last_name=f"N°{n:02d}")
        for n in range(12)
    ]
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    tz = organisation.tzinfo
    day = timezone.localdate(timezone=tz) + dt.timedelta(days=2)
    for someone in agents:
        PlageOuvertureFactory(organisation=organisation, agent=someone, lieu=lieu, first_day=day)
    # The last agent's column, far to the right of a grid that scrolls sideways, late in the day.
    rdv = RdvFactory(
        organisation=organisation,
        agents=[agents[-1]],
        usagers=[UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")],
        lieu=lieu,
        starts_at=dt.datetime.combine(day, dt.time(17), tzinfo=tz),
    )
    page = live_page
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, secretariat.email)
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/agendas/journee/?date={day.isoformat()}")
    page.locator(f"a[href='/organisations/{organisation.pk}/rdvs/{rdv.pk}/']").click()
    expect(page.get_by_role("heading", name=re.compile("Rendez-vous du"))).to_be_visible()
    page.get_by_role("link", name="Voir dans l'agenda").click()
    expect(page.get_by_role("heading", name=re.compile("Journée de l'équipe"))).to_be_visible()
    marked = page.locator(f"#rdv-{rdv.pk} a.rdv-agenda__rdv")
    expect(marked).to_have_attribute("aria-current", "true")
    expect(marked).to_have_class(re.compile("rdv-agenda__rdv--highlighted"))
    expect(marked).to_be_in_viewport()
    assert page.url.endswith(f"#rdv-{rdv.pk}")
    assert_accessible(page)
    page.screenshot(path="/tmp/h/rdvpage-equipe.png")
