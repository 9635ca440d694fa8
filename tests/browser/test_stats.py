import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in, open_side_menu
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_opens_vos_statistiques_and_sweeps_the_rdvs_a_renseigner(live_page):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    admin = AgentFactory(organisation=organisation, admin=True, services=["PMI"])
    motif, lieu = MotifFactory(organisation=organisation), LieuFactory(organisation=organisation)

    def rdv(**kwargs):
        return RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=[admin], **kwargs)

    now = timezone.now()
    for hours in (3, 5, 30):
        rdv(starts_at=now - dt.timedelta(hours=hours))  # « À renseigner »
    rdv(past=True, seen=True)
    rdv(past=True, seen=True)
    rdv()  # « À venir »
    rdv(past=True, excused=True)
    rdv(past=True, noshow=True)

    page = live_page
    log_in(page, admin.email)

    open_side_menu(page, "Paramètres")
    page.get_by_role("link", name="Vos statistiques globales").click()
    expect(page.get_by_role("heading", level=1, name="Vos statistiques globales")).to_be_visible()
    expect(page.get_by_role("heading", name="Statuts sur 8 RDV")).to_be_visible()
    for name in ("3 À renseigner", "2 Vus", "1 À venir", "1 Excusés", "1 Non-excusés"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    # The charts' figures, in tables.
    expect(page.get_by_role("table", name="RDV créés par mois, selon qui les a créés")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile(r"^Agents( 0)* 8 8$"))).to_be_visible()

    page.get_by_role("link", name="3 À renseigner", exact=True).click()
    expect(page.get_by_role("heading", name="Tous les RDVs")).to_be_visible()
    expect(page.get_by_label("Statut", exact=True)).to_have_value("a_renseigner")
    expect(page.get_by_role("table", name="Rendez-vous (3)")).to_be_visible()
