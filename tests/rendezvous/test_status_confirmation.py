"""A status that messages the usagers asks first, « Prévenir les usagers ? », with what would be
sent to whom; the others apply in one click; « Annuler » takes a change back while its messages
wait their grace period."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification
from rendezvous.models import Rdv
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _grace(settings):
    settings.NOTIFICATIONS_GRACE_SECONDS = 120


def status_url(rdv):
    return reverse("rendezvous:status", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})


def detail_url(rdv):
    return reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})


@pytest.fixture
def told(organisation, basic_agent):
    """An RDV whose usager (email and mobile) received its confirmation."""
    usager = UsagerFactory(
        organisation=organisation, first_name="Inès", last_name="Garrigue", with_email=True, with_phone=True
    )
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    for channel, to in (("email", usager.email), ("sms", usager.phone.as_e164)):
        Notification.objects.create(
            organisation=organisation, rdv=rdv, usager=usager, event="created", channel=channel, to=to,
            body="…", status="sent", rdv_starts_at=rdv.starts_at,
        )  # fmt: skip
    return rdv


def test_a_cancelling_status_asks_first_and_changes_nothing(client, basic_agent, told):
    client.force_login(basic_agent)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(status_url(told), {"status": "excused"})
    assert response.status_code == 200
    question = find(dom(response), "form", id="confirmation-statut")
    shown = text(question)
    assert "Passer le RDV à « Absent excusé » ?" in shown
    usager = told.participations.get().usager
    assert f"L'annulation du RDV par email à Inès GARRIGUE ({usager.email})" in shown
    assert f"L'annulation du RDV par SMS à Inès GARRIGUE ({usager.phone.as_national})" in shown
    assert "Prévenir les usagers ?" in shown
    checkbox = find(question, "input", name="prevenir")
    assert "checked" in dict(checkbox.attributes)
    told.refresh_from_db()
    assert told.status == Rdv.Status.UNKNOWN
    assert Notification.objects.filter(event="cancelled").count() == 0
    assert len(queries) == 11  # the RDV's summary, plus the one query of the preview


def test_confirmed_the_status_applies_and_its_messages_wait(client, basic_agent, told):
    client.force_login(basic_agent)
    response = client.post(status_url(told), {"status": "excused", "confirme": "1", "prevenir": "on"}, follow=True)
    told.refresh_from_db()
    assert told.status == Rdv.Status.EXCUSED
    assert Notification.objects.filter(event="cancelled", status="pending").count() == 2
    page = dom(response)
    alert = text(find(page, "div", class_="fr-alert--success"))
    assert "Le statut du RDV est maintenant « Absent excusé ». Notification envoyée par email et SMS." in alert
    assert "Les messages partent dans 2 minutes : « Annuler » les retient." in alert
    assert "Annuler : revenir à « Indéterminé »" in alert


def test_unticked_nobody_is_told(client, basic_agent, told):
    client.force_login(basic_agent)
    response = client.post(status_url(told), {"status": "revoked", "confirme": "1"})
    assert response.status_code == 302
    told.refresh_from_db()
    assert told.status == Rdv.Status.REVOKED
    assert not Notification.objects.filter(event="cancelled").exists()


def test_annuler_takes_it_back_and_nothing_is_sent(client, basic_agent, told):
    client.force_login(basic_agent)
    client.post(status_url(told), {"status": "excused", "confirme": "1", "prevenir": "on"})
    # What the « Annuler » form of the confirmation posts.
    response = client.post(
        status_url(told),
        {"status": "unknown", "confirme": "1", "prevenir": "on", "annulation": "1", "next": detail_url(told)},
        follow=True,
    )
    told.refresh_from_db()
    assert told.status == Rdv.Status.UNKNOWN
    assert set(Notification.objects.filter(event="cancelled").values_list("status", flat=True)) == {"dropped"}
    assert not Notification.objects.filter(status="pending").exists()
    alert = text(find_all(dom(response), "div", class_="fr-alert--success")[-1])
    # The button's words, not the list's « À venir »; no « Annuler » for the « Annuler » itself.
    assert alert == "Le statut du RDV est maintenant « Indéterminé »."


def test_a_status_that_messages_no_one_applies_in_one_click(client, basic_agent, told):
    told.starts_at = told.starts_at.replace(year=told.starts_at.year - 1)
    told.save(update_fields=["starts_at"])
    client.force_login(basic_agent)
    response = client.post(status_url(told), {"status": "noshow"})
    assert response.status_code == 302
    told.refresh_from_db()
    assert told.status == Rdv.Status.NOSHOW


def test_no_question_when_no_one_would_be_told(client, organisation, basic_agent):
    """An usager without email nor mobile: nothing to confirm."""
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    response = client.post(status_url(rdv), {"status": "excused"})
    assert response.status_code == 302
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED


def test_an_rdv_never_announced_is_cancelled_without_a_question(client, organisation, basic_agent):
    """Its confirmation still waits its grace period: cancelling drops it, nothing is sent."""
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    client.force_login(basic_agent)
    response = client.post(status_url(rdv), {"status": "revoked"})
    assert response.status_code == 302


def test_restoring_a_cancelled_rdv_asks_to_send_its_confirmation(client, basic_agent, told):
    Notification.objects.create(
        organisation=told.organisation, rdv=told, usager=told.participations.get().usager, event="cancelled",
        channel="email", to="x@example.org", body="…", status="sent", rdv_starts_at=told.starts_at,
    )  # fmt: skip
    Rdv.objects.filter(pk=told.pk).update(status=Rdv.Status.EXCUSED)
    client.force_login(basic_agent)
    response = client.post(status_url(told), {"status": "unknown"})
    assert response.status_code == 200
    shown = text(find(dom(response), "form", id="confirmation-statut"))
    assert "Passer le RDV à « Indéterminé » ?" in shown
    assert "La confirmation du RDV par email" in shown
    assert "par SMS" not in shown  # the SMS thread still believes it on: nothing to say there


def test_an_unknown_status_is_refused(client, basic_agent, told):
    client.force_login(basic_agent)
    response = client.post(status_url(told), {"status": "nimportequoi"})
    assert response.status_code == 422
    assert "Ce statut n&#x27;existe pas." in response.content.decode()
