"""« the notifications sent about it » on an RDV's summary, and the demo's receipts."""

import datetime as dt

import pytest
from django.urls import reverse

from notifications.models import Notification
from notifications.services import notify
from tests.helpers import count_queries
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import form_data, open_day
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db


def detail(rdv):
    return reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})


def test_the_summary_lists_each_message_and_its_state(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    email, text = notify(rdv, Notification.Event.CREATED)
    Notification.objects.filter(pk=email.pk).update(status="sent", sent_at=email.created_at)
    Notification.objects.filter(pk=text.pk).update(status="failed", last_error="HTTP 400 : numéro invalide")
    client.force_login(basic_agent)
    page = client.get(detail(rdv)).content.decode()
    assert '<h2 class="fr-h4" id="notifications-titre">Notifications</h2>' in page
    assert "Confirmation du RDV par email" in page
    assert "Confirmation du RDV par SMS" in page
    assert usager.email in page and "Envoyée" in page
    assert text.to.startswith("+33") and usager.phone.as_national in page
    assert "Échec de l'envoi" in page and "HTTP 400 : numéro invalide" in page
    assert email.subject in page  # « Voir le message »


def test_the_summary_says_why_an_usager_gets_nothing(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, last_name="Sansmail")
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    client.force_login(basic_agent)
    page = client.get(detail(rdv)).content.decode()
    assert "Aucune notification n'a été envoyée au sujet de ce RDV." in page
    assert f"{usager.full_name} n&#x27;a pas d&#x27;adresse email : pas d&#x27;email." in page


def test_the_summary_queries_do_not_grow_with_messages_or_usagers(client, organisation, basic_agent):
    def add_a_proche(rdv):
        usager = UsagerFactory(organisation=organisation, proche=True, with_email=True, with_phone=True)
        usager.responsible.email = "parent@example.com"
        usager.responsible.save()
        rdv.participations.create(usager=usager)

    # One proche, no message: the usagers' panels (rendezvous.views.rdv_page) read their part.
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[])
    add_a_proche(rdv)
    client.force_login(basic_agent)
    client.get(detail(rdv))
    before = count_queries(client, detail(rdv))
    for _ in range(3):
        add_a_proche(rdv)
    notify(rdv, Notification.Event.CREATED)
    assert Notification.objects.filter(rdv=rdv).count() == 4
    assert count_queries(client, detail(rdv)) == before


def test_the_agent_is_told_which_channels_a_change_used(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    notify(rdv, Notification.Event.CREATED)
    Notification.objects.update(status="sent")  # the usager knows of the RDV
    client.force_login(basic_agent)
    status_url = reverse("rendezvous:status", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    response = client.post(status_url, {"status": "revoked", "confirme": "1", "prevenir": "on"}, follow=True)
    assert "« Annulé à l&#x27;initiative du service ». Notification envoyée par email." in response.content.decode()
    response = client.post(status_url, {"status": "excused"}, follow=True)  # still cancelled: nothing new
    assert "« Absent excusé ».</" in response.content.decode()


def modify_url(rdv):
    return reverse("rendezvous:update", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})


def told_usager(organisation, agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = RdvFactory(organisation=organisation, agents=[agent], usagers=[usager])
    open_day(rdv, agent)  # no « outside the plages » conflict
    notify(rdv, Notification.Event.CREATED)
    Notification.objects.update(status="sent")
    return rdv


def test_modifier_does_not_notify_by_default_and_says_so(client, organisation, basic_agent):
    rdv = told_usager(organisation, basic_agent)
    client.force_login(basic_agent)
    page = client.get(modify_url(rdv)).content.decode()
    assert "Prévenir les usagers de la modification par email et SMS" in page
    assert 'name="notify_usagers"' in page and "checked" not in page.split('name="notify_usagers"')[1].split(">")[0]
    response = client.post(modify_url(rdv), form_data(rdv, duration_in_min=45), follow=True)
    page = response.content.decode()
    assert "Le RDV a été modifié.</p>" in page
    assert "La modification n&#x27;a pas été notifiée aux usagers : pensez à les avertir." in page
    assert Notification.objects.count() == 1


def test_modifier_notifies_when_asked_even_through_a_conflict(client, organisation, basic_agent):
    rdv = told_usager(organisation, basic_agent)
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at + dt.timedelta(hours=1))
    client.force_login(basic_agent)
    data = form_data(rdv, duration_in_min=90, notify_usagers="on")
    response = client.post(modify_url(rdv), data)
    assert response.status_code == 422  # the conflict: the box stays ticked on the warning
    assert response.context["form"]["notify_usagers"].value() is True
    signature = response.context["form"].current_signature
    response = client.post(modify_url(rdv), {**data, "confirm": "on", "conflicts_signature": signature}, follow=True)
    page = response.content.decode()
    assert "Le RDV a été modifié. Notification envoyée par email." in page
    assert "pensez à les avertir" not in page
    assert Notification.objects.filter(event=Notification.Event.UPDATED).count() == 1


def test_modifier_of_the_notes_asks_nobody_to_be_warned(client, organisation, basic_agent):
    rdv = told_usager(organisation, basic_agent)
    client.force_login(basic_agent)
    response = client.post(modify_url(rdv), form_data(rdv, notes="Dossier CAF"), follow=True)
    assert "pensez à les avertir" not in response.content.decode()


def test_modifier_offers_no_notification_when_the_motif_disables_them(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], motif__notifications_disabled=True)
    client.force_login(basic_agent)
    assert "notify_usagers" not in client.get(modify_url(rdv)).content.decode()


def test_modifier_offers_no_notification_for_a_cancelled_rdv(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], excused=True)
    client.force_login(basic_agent)
    assert "notify_usagers" not in client.get(modify_url(rdv)).content.decode()
