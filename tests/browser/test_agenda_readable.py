"""« Vos agendas » and « Journée de l'équipe » walked in Chromium (issue 17): a busy week read at
1280 and 1024 px (short RDVs side by side, the motif in a tooltip on hover and on focus, an
absence over RDVs, « Toute la journée », the Saturday of today), a day reached by the keyboard,
« Statut des RDV », and the secrétariat booking from a free cell of a 30-agent team day. axe-core
finds no serious violation; screenshots to look at in $SCREENSHOTS_DIR (var/screenshots)."""

import datetime as dt
import os
import re
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.browser.axe import assert_accessible
from tests.browser.helpers import log_in
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.agenda_helpers import local
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "var" / "screenshots")
DESKTOP = {"width": 1280, "height": 1000}
SMALL_DESKTOP = {"width": 1024, "height": 900}
MONDAY = dt.date(2027, 6, 14)
SATURDAY = MONDAY + dt.timedelta(days=5)


def shoot(page, name: str, locator=None, *, viewport: bool = False) -> None:
    """A screenshot to look at: the whole page, an element, or what the window shows (a hover
    stays where it is: nothing scrolls)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"agenda-{name}.png"
    if locator is not None:
        locator.screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=not viewport)


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]} px wide in a {widths[1]} px window"


def week(organisation):
    """Claire Dubois's week of 14 June 2027, seen on Saturday 19 June at 10:00: short RDVs one
    after another on Monday, an absence over two RDVs on Tuesday, a day of leave over one on
    Wednesday, a plage and an RDV on Saturday."""
    claire = AgentFactory(
        organisation=organisation, admin=True, services=["PMI"], first_name="Claire", last_name="Dubois"
    )
    AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    mds = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    pesee = MotifFactory(organisation=organisation, name="Pesée", color="#ffe800", default_duration_in_min=15)
    consultation = MotifFactory(organisation=organisation, name="Consultation prénatale", color="#6a6af4")

    def usager(first, last):
        return UsagerFactory(organisation=organisation, first_name=first, last_name=last)

    def rdv(day, hour, minute, who, motif=pesee, minutes=15, **traits):
        return RdvFactory(
            organisation=organisation,
            agents=[claire],
            usagers=[who],
            motif=motif,
            lieu=mds,
            starts_at=local(day, hour, minute),
            duration_in_min=minutes,
            **traits,
        )

    tuesday, wednesday = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=2)
    PlageOuvertureFactory(
        organisation=organisation, agent=claire, lieu=mds, first_day=MONDAY, title="Consultation de PMI"
    )
    rdv(MONDAY, 9, 0, usager("Léon", "Angelo"), seen=True)
    rdv(MONDAY, 9, 15, usager("Zoé", "Dubois"), seen=True)
    rdv(MONDAY, 9, 30, usager("Inès", "Garrigue"))
    rdv(MONDAY, 10, 0, usager("Karim", "Benali"), motif=consultation, minutes=45, noshow=True)
    AbsenceFactory(
        organisation=organisation,
        agent=claire,
        title="Formation",
        first_day=tuesday,
        start_time=dt.time(14),
        end_time=dt.time(16),
    )
    rdv(tuesday, 14, 30, usager("Maëlle", "Bégué"), motif=consultation, minutes=30, seen=True)
    rdv(tuesday, 15, 0, usager("Lou", "Garrigue"), excused=True)
    AbsenceFactory(
        organisation=organisation,
        agent=claire,
        title="Congés",
        first_day=wednesday,
        start_time=dt.time(0),
        end_time=dt.time(23, 59),
    )
    rdv(wednesday, 10, 0, usager("Sarah", "Lefebvre"), motif=consultation, minutes=30)
    PlageOuvertureFactory(
        organisation=organisation,
        agent=claire,
        lieu=mds,
        first_day=SATURDAY,
        title="Permanence du samedi",
        start_time=dt.time(9),
        end_time=dt.time(12),
    )
    rdv(SATURDAY, 10, 30, usager("Manon", "Koné"), motif=consultation, minutes=30)
    return claire


@pytest.fixture
def saturday_morning():
    # The live server runs in this process and reads this clock; no page reads the browser's.
    with time_machine.travel(local(SATURDAY, 10), tick=False):
        yield


@pytest.mark.usefixtures("saturday_morning")
def test_a_busy_week_reads_at_1280_and_1024_px_and_the_keyboard_jumps_to_a_day(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    claire = week(organisation)
    page = live_page
    page.set_viewport_size(DESKTOP)
    log_in(page, claire.email)
    page.get_by_role("link", name="Vos agendas").click()

    # « Aujourd'hui » on a Saturday: the week shows that Saturday.
    expect(page.get_by_role("heading", name=re.compile("Votre agenda — Claire Dubois"))).to_be_visible()
    saturday = page.locator("#jour-2027-06-19")
    expect(saturday).to_contain_text("Aujourd'hui")
    expect(page.locator(".rdv-agenda__head[data-column='jour-2027-06-19']")).to_contain_text(
        "9h00 – 12h00 Permanence du samedi"
    )
    # Plage titles in words above the grid, the day of leave in « Toute la journée ».
    expect(page.locator(".rdv-agenda__head[data-column='jour-2027-06-14']")).to_contain_text(
        "9h00 – 12h00 Consultation de PMI"
    )
    expect(page.locator(".rdv-agenda__all-day-label")).to_have_text("Toute la journée")
    expect(page.locator(".rdv-agenda__all-day[data-column='jour-2027-06-16']")).to_have_text(
        "Toute la journée : Absence : Congés"
    )
    # Each RDV of Claire's absences is marked (the excused one holds no time).
    marked = page.get_by_role("link", name=re.compile("pendant l'absence"))
    expect(marked).to_have_count(2)
    expect(page.locator(".rdv-agenda-summary")).to_contain_text(
        "8 RDV cette semaine, dont 2 à renseigner et 2 pendant une absence"
    )

    # Short RDVs side by side, each at least two lines high.
    leon = page.get_by_role("link", name=re.compile(r"^9h00 à 9h15 Léon ANGELO"))
    zoe = page.get_by_role("link", name=re.compile(r"^9h15 à 9h30 Zoé DUBOIS"))
    leon_box, zoe_box = leon.bounding_box(), zoe.bounding_box()
    assert leon_box["height"] >= 30 and zoe_box["height"] >= 30
    assert zoe_box["x"] >= leon_box["x"] + leon_box["width"] - 1  # beside, not under
    shoot(page, "week-1280")
    assert_accessible(page)

    # The motif on hover, in a tooltip that screen readers get as the link's description.
    tooltip = page.locator(f"#{zoe.get_attribute('aria-describedby')}")
    expect(tooltip).to_be_hidden()
    zoe.hover()
    expect(tooltip).to_be_visible()
    expect(tooltip).to_contain_text("Pesée · MDS de Noisiel")
    expect(zoe).to_have_accessible_description(re.compile("Pesée · MDS de Noisiel"))
    shoot(page, "tooltip-hover", viewport=True)

    # The keyboard: the skip links appear on focus and lead to a day; Tab then reaches its day
    # view's link and its RDV, whose tooltip shows on focus.
    page.mouse.move(0, 0)
    page.get_by_role("link", name="Mercredi 16 juin 2027", exact=True).focus()
    expect(page.get_by_role("navigation", name="Aller à un jour")).to_be_visible()
    shoot(page, "skip-links", page.locator(".rdv-agenda-skip"))
    page.keyboard.press("Enter")
    expect(page.locator("#jour-2027-06-16")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="mercredi 16 juin 2027", exact=True)).to_be_focused()  # its day view
    page.keyboard.press("Tab")
    sarah = page.get_by_role("link", name=re.compile(r"^10h00 à 10h30 Sarah LEFEBVRE"))
    expect(sarah).to_be_focused()
    expect(page.locator(f"#{sarah.get_attribute('aria-describedby')}")).to_be_visible()
    shoot(page, "tooltip-focus", viewport=True)

    # 1024 px: the same week, no sideways scroll.
    page.set_viewport_size(SMALL_DESKTOP)
    page.reload()
    no_sideways_scroll(page)
    shoot(page, "week-1024")

    # The day, then the month: readable and accessible as well.
    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="Journée", exact=True).click()
    expect(page.get_by_role("link", name=re.compile(r"^10h30 à 11h00 Manon KONÉ"))).to_be_visible()
    no_sideways_scroll(page)
    assert_accessible(page)
    shoot(page, "day-1280")
    page.get_by_role("link", name="Mois", exact=True).click()
    expect(page.get_by_role("link", name=re.compile(r"^10h30 Manon KONÉ"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("pendant l'absence « Formation »"))).to_have_count(1)
    assert_accessible(page)
    page.set_viewport_size(SMALL_DESKTOP)
    no_sideways_scroll(page)
    shoot(page, "month-1024")


@pytest.mark.usefixtures("saturday_morning")
def test_filtering_the_agenda_by_status(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    claire = week(organisation)
    page = live_page
    page.set_viewport_size(DESKTOP)
    log_in(page, claire.email)
    page.get_by_role("link", name="Vos agendas").click()
    expect(page.get_by_label("Statut des RDV")).to_have_value("")
    expect(page.locator("#agenda-statut option").first).to_have_text("Tous les RDVs")

    # « Ne s'afficheront alors que les RDV ayant le statut sélectionné. » Chosen with the mouse,
    # the list filters at once (static/js/agenda.js, once loaded); « Filtrer » without script.
    page.wait_for_load_state("load")
    page.get_by_label("Statut des RDV").select_option(label="Vu")
    expect(page.get_by_text("3 RDV « Vu » cette semaine")).to_be_visible()
    expect(page.locator(".rdv-agenda__rdv")).to_have_count(3)
    expect(page.get_by_role("link", name=re.compile("Karim BENALI"))).to_have_count(0)
    shoot(page, "filtered-1280")
    assert_accessible(page)
    # Kept from week to week; « Afficher tous les RDVs » shows them all again.
    page.get_by_role("link", name="Semaine précédente").click()
    expect(page.get_by_label("Statut des RDV")).to_have_value(Rdv.Status.SEEN)
    page.get_by_role("link", name="Semaine suivante").click()
    page.get_by_role("link", name="Afficher tous les RDVs").click()
    expect(page.locator(".rdv-agenda__rdv")).to_have_count(8)


def test_the_secretariat_books_from_a_free_cell_of_a_30_agent_team_day(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    tuesday = MONDAY + dt.timedelta(days=1)
    secretariat = AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")
    mds = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    motif = MotifFactory(organisation=organisation, name="Consultation prénatale", color="#6a6af4")
    agents = [
        AgentFactory(organisation=organisation, services=["PMI"], first_name="Agent", last_name=f"N°{n:02d}")
        for n in range(1, 30)
    ]
    helene = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    for n, agent in enumerate([*agents, helene]):
        PlageOuvertureFactory(
            organisation=organisation, agent=agent, lieu=mds, first_day=tuesday, title="Consultations"
        )
        RdvFactory(
            organisation=organisation,
            agents=[agent],
            motif=motif,
            lieu=mds,
            usagers=[UsagerFactory(organisation=organisation, first_name="Usager", last_name=f"N°{n:02d}")],
            starts_at=local(tuesday, 9 + n % 3, 15 * (n % 4)),
        )
    AbsenceFactory(
        organisation=organisation,
        agent=helene,
        title="Réunion",
        first_day=tuesday,
        start_time=dt.time(9),
        end_time=dt.time(12),
    )
    page = live_page
    page.set_viewport_size(DESKTOP)
    with time_machine.travel(local(tuesday, 8), tick=False):
        log_in(page, secretariat.email)
        page.get_by_role("link", name="Vos agendas").click()
        page.get_by_role("link", name="Journée de l'équipe").click()
        expect(page.get_by_role("heading", name=re.compile("Journée de l'équipe"))).to_be_visible()
        # The filters say their names, without « (Optionnel) ».
        for label in ("Date", "Service", "Lieu"):
            expect(page.get_by_text(label, exact=True)).to_be_visible()
        expect(page.locator(".rdv-team-filters")).not_to_contain_text("Optionnel")

        # 30 columns: the grid scrolls sideways in its frame, the page does not, the hours stay.
        expect(page.locator(".rdv-agenda--equipe .rdv-agenda__day-title")).to_have_count(30)
        no_sideways_scroll(page)
        frame = page.locator(".rdv-agenda-frame--equipe")
        assert frame.evaluate("e => e.scrollWidth > e.clientWidth")
        hours = page.locator(".rdv-agenda--equipe .rdv-agenda__hours")
        left = hours.bounding_box()["x"]
        shoot(page, "team-1280")
        assert_accessible(page)
        frame.evaluate("e => e.scrollBy(1500, 0)")
        assert abs(hours.bounding_box()["x"] - left) <= 2  # sticky: the hours stay on the left
        shoot(page, "team-scrolled-1280")
        # Hélène's RDV during her meeting is marked, as on the agenda.
        expect(page.get_by_role("link", name=re.compile(r"Usager N°29.*pendant l'absence « Réunion »"))).to_be_visible()

        page.set_viewport_size(SMALL_DESKTOP)
        page.reload()
        no_sideways_scroll(page)
        shoot(page, "team-1024")

        # « Cliquez sur un créneau »: a free cell of Hélène's column books with her.
        page.get_by_role("link", name="15h00 : poser un RDV avec Hélène Martin").click()
        expect(page.get_by_text("Agenda de : Hélène Martin")).to_be_visible()
        expect(page.get_by_text("Commence le :")).to_contain_text("15h00")
