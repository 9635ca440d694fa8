"""« Résumé d'un rendez-vous »: the notifications sent about it, as an agent sees them after
changing the RDV (tasks run at commit in tests; tests/notifications/test_worker.py covers a real
worker)."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from rdv import sms
from tests.agents.factories import AgentFactory
from tests.browser.helpers import log_in
from tests.organisations.factories import OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_moving_then_cancelling_an_rdv_notifies_the_usager_and_the_summary_says_so(live_page):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation, admin=True, services=["PMI"])
    usager = UsagerFactory(
        organisation=organisation, first_name="Inès", last_name="Moreau", email="ines@example.com", phone="0612345678"
    )
    day = timezone.localdate() + dt.timedelta(days=5)
    PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=day, start_time=dt.time(9))
    rdv = RdvFactory(
        organisation=organisation,
        agents=[agent],
        usagers=[usager],
        starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=organisation.tzinfo),
    )
    page = live_page
    log_in(page, agent.email)
    page.goto(f"{page.base_url}/organisations/{organisation.pk}/rdvs/{rdv.pk}/")
    notifications = page.locator("#notifications")
    expect(notifications.get_by_text("Aucune notification n'a été envoyée au sujet de ce RDV.")).to_be_visible()

    page.get_by_role("link", name="modifier").click()
    page.get_by_label("Heure").fill("11:00")
    # The seed: a modification is not notified automatically; the agent asks for it.
    page.get_by_text("Prévenir les usagers de la modification par email et SMS").click()
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_text("Le RDV a été modifié. Notification envoyée par email et SMS.")).to_be_visible()
    # The usager had not been told of this RDV yet: the change is its confirmation.
    expect(notifications.get_by_role("cell", name="Confirmation du RDV par email")).to_be_visible()
    expect(notifications.get_by_role("cell", name="Confirmation du RDV par SMS")).to_be_visible()
    expect(notifications.get_by_role("cell", name="Inès MOREAU 06 12 34 56 78")).to_be_visible()

    page.get_by_role("button", name="Annulé à l'initiative du service").click()
    # It would message the family: the page asks first, and says what would be sent to whom.
    question = page.locator("#confirmation-statut")
    expect(question.get_by_text("Passer le RDV à « Annulé à l'initiative du service » ?")).to_be_visible()
    expect(question.get_by_text("L'annulation du RDV par SMS à Inès MOREAU (06 12 34 56 78)")).to_be_visible()
    expect(question.get_by_label("Prévenir les usagers ?")).to_be_checked()
    page.screenshot(path="/tmp/h/statut-confirmation.png", full_page=True)
    question.get_by_role("button", name="Confirmer : Annulé à l'initiative du service").click()
    expect(
        page.get_by_text(
            "Le statut du RDV est maintenant « Annulé à l'initiative du service ». "
            "Notification envoyée par email et SMS."
        )
    ).to_be_visible()
    row = notifications.get_by_role("row").filter(has_text="Annulation du RDV par email")
    expect(row.get_by_text("Envoyée")).to_be_visible()
    row.get_by_text("Voir le message").click()
    expect(row.get_by_text("Votre rendez-vous est annulé à l'initiative du service.")).to_be_visible()

    assert [message.subject.split(" le ")[0] for message in mail.outbox] == [
        "RDV confirmé",
        "RDV annulé",
    ]
    assert [text.to for text in sms.LocmemSmsBackend.outbox] == ["+33612345678", "+33612345678"]
