"""Issue 17, « Personal figures », walked in Chromium: a basic PMI agent finds its « À renseigner »
badge in the side menu, sets two RDVs to « Vu » at once from the list it leads to, then opens
« Vos statistiques ». Screenshots to look at in $SCREENSHOTS_DIR (var/screenshots): mystats-*.png."""

import datetime as dt
import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.browser.axe import assert_accessible
from tests.browser.helpers import log_in
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "var" / "screenshots")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"mystats-{name}.png", full_page=True)


def test_a_basic_agent_fills_its_rdvs_in_bulk_and_reads_its_figures(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    me = AgentFactory(organisation=organisation, services=["PMI"], first_name="Anne", last_name="AUBRY")
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Bruno", last_name="BLANC")
    AgentFactory(organisation=organisation, services=["Social"], first_name="Chloé", last_name="COLIN")
    motif = MotifFactory(organisation=organisation, name="Consultation prénatale")
    lieu = LieuFactory(organisation=organisation)
    now = timezone.now()

    def rdv(agents, **kwargs):
        usager = UsagerFactory(organisation=organisation, with_email=True)
        return RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=agents, usagers=[usager], **kwargs)

    to_fill = [rdv([me], starts_at=now - dt.timedelta(days=days, hours=1)) for days in (1, 2, 3)]
    rdv([me], past=True, seen=True)
    rdv([me, colleague], past=True, noshow=True)
    rdv([me])  # « À venir »
    rdv([colleague], past=True, seen=True)

    page = live_page
    log_in(page, me.email)
    menu = page.get_by_role("navigation", name="MDS de Noisiel")
    badge_link = menu.get_by_role("link", name="À renseigner 3 de vos RDV passés sans statut")
    expect(badge_link).to_be_visible()
    shot(page, "menu")

    badge_link.click()
    expect(page.get_by_role("table", name="Rendez-vous (3)")).to_be_visible()
    boxes = page.get_by_role("checkbox", name=re.compile("^Choisir le RDV du"))
    expect(boxes).to_have_count(3)
    boxes.nth(0).check(force=True)  # DSFR draws the box on the label, over the input
    boxes.nth(1).check(force=True)
    page.get_by_label("Nouveau statut").select_option(label="Vu")
    shot(page, "bulk")
    assert_accessible(page)
    page.get_by_role("button", name="Changer le statut des RDV cochés").click()

    expect(page.get_by_text("2 RDV sont maintenant « Vu ».")).to_be_visible()
    expect(page.get_by_role("table", name="Rendez-vous (1)")).to_be_visible()
    expect(menu.get_by_role("link", name="À renseigner 1 de vos RDV passés sans statut")).to_be_visible()
    shot(page, "bulk-done")
    assert sorted(Rdv.objects.get(pk=r.pk).status for r in to_fill) == ["seen", "seen", "unknown"]

    menu.get_by_role("link", name="Vos statistiques", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Vos statistiques")).to_be_visible()
    expect(page.get_by_role("heading", name="Mes statistiques sur 6 RDV")).to_be_visible()
    for name in ("1 À renseigner", "3 Vus", "1 À venir", "1 Non-excusés"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    agents = page.get_by_role("table", name="RDV par agent et par statut")
    expect(agents.get_by_role("rowheader")).to_have_text(["Anne AUBRY", "Bruno BLANC"])
    expect(page.get_by_text("Chloé COLIN")).to_have_count(0)
    assert_accessible(page)
    shot(page, "page")

    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="1 À renseigner", exact=True).click()
    expect(page.get_by_role("table", name="Rendez-vous (1)")).to_be_visible()


def test_tout_cocher_ticks_the_page_s_rdvs_with_the_keyboard(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    me = AgentFactory(organisation=organisation, services=["PMI"], first_name="Anne", last_name="AUBRY")
    motif = MotifFactory(organisation=organisation, name="Consultation prénatale")
    now = timezone.now()
    to_fill = [
        RdvFactory(
            organisation=organisation,
            motif=motif,
            agents=[me],
            usagers=[UsagerFactory(organisation=organisation)],
            starts_at=now - dt.timedelta(days=days, hours=1),
        )
        for days in (1, 2, 3)
    ]
    page = live_page
    log_in(page, me.email)
    page.get_by_role("navigation", name="MDS de Noisiel").get_by_role("link", name=re.compile("^À renseigner")).click()
    boxes = page.get_by_role("checkbox", name=re.compile("^Choisir le RDV du"))
    expect(boxes).to_have_count(3)
    select_all = page.get_by_role("checkbox", name="Tout cocher (les RDV de cette page)")
    expect(select_all).to_be_visible()
    # The keyboard: Tab reaches it, Space ticks every row.
    select_all.focus()
    page.keyboard.press("Space")
    for n in range(3):
        expect(boxes.nth(n)).to_be_checked()
    # A row unticked: « Tout cocher » says « mixed » (neither ticked nor unticked).
    boxes.nth(1).uncheck(force=True)
    assert select_all.evaluate("box => box.indeterminate") is True
    expect(select_all).not_to_be_checked()
    select_all.focus()
    page.keyboard.press("Space")
    for n in range(3):
        expect(boxes.nth(n)).to_be_checked()
    page.get_by_label("Nouveau statut").select_option(label="Vu")
    shot(page, "tout-cocher")
    assert_accessible(page)
    page.get_by_role("button", name="Changer le statut des RDV cochés").click()
    expect(page.get_by_text("3 RDV sont maintenant « Vu ».")).to_be_visible()
    assert [Rdv.objects.get(pk=r.pk).status for r in to_fill] == ["seen"] * 3


def test_without_javascript_no_tout_cocher_and_each_row_s_box_works(live_server, browser, browser_context_args):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    me = AgentFactory(organisation=organisation, services=["PMI"])
    rdvs = [
        RdvFactory(organisation=organisation, agents=[me], starts_at=timezone.now() - dt.timedelta(days=days))
        for days in (1, 2)
    ]
    context = browser.new_context(**{**browser_context_args, "base_url": live_server.url, "java_script_enabled": False})
    page = context.new_page()
    page.base_url = live_server.url
    log_in(page, me.email)
    page.goto(f"{live_server.url}/organisations/{organisation.pk}/rdvs/?statut=a_renseigner")
    expect(page.get_by_role("checkbox", name="Tout cocher (les RDV de cette page)")).to_have_count(0)
    page.get_by_role("checkbox", name=re.compile("^Choisir le RDV du")).first.check(force=True)
    page.get_by_label("Nouveau statut").select_option(label="Vu")
    page.get_by_role("button", name="Changer le statut des RDV cochés").click()
    expect(page.get_by_text("1 RDV est maintenant « Vu ».")).to_be_visible()
    assert sorted(Rdv.objects.get(pk=r.pk).status for r in rdvs) == ["seen", "unknown"]
    context.close()
