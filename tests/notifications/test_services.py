"""Which messages an RDV owes (notifications.services), written with the change that owes them."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from notifications import gsm
from notifications.models import Notification
from notifications.presentation import reasons_not_sent
from notifications.reminders import enqueue_reminders
from planning.intervals import end_after
from rendezvous.conflicts import conflicts_signature, find_conflicts
from rendezvous.models import Rdv
from rendezvous.services import ConflictsChanged, change_status, create_rdv, update_rdv
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

Event = Notification.Event


def tomorrow_at(hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time(hour)))


def create(organisation, agent, usagers, **kwargs) -> Rdv:
    defaults = {
        "motif": MotifFactory(organisation=organisation, instructions_after="Apportez le carnet de santé."),
        "lieu": LieuFactory(organisation=organisation),
        "starts_at": tomorrow_at(10),
        "duration_in_min": 30,
    }
    values = {**defaults, **kwargs}
    return create_rdv(
        organisation=organisation,
        agents=[agent],
        usagers=usagers,
        by=agent,
        accepted_conflicts=accepted(None, organisation, [agent], values["starts_at"], values["duration_in_min"]),
        **values,
    )


def accepted(rdv, organisation, agents, starts_at, duration_in_min) -> str:
    """The signature of the conflicts an agent would confirm (outside the plages, mostly)."""
    ends_at = end_after(starts_at, duration_in_min)
    return conflicts_signature(find_conflicts(rdv, organisation, agents, starts_at, ends_at))


def sent(rdv, **filters):
    return list(Notification.objects.filter(rdv=rdv, **filters).order_by("pk"))


def test_a_new_rdv_owes_a_confirmation_by_email_and_sms(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, first_name="Amina", with_email=True, with_phone=True)
    lieu = LieuFactory(organisation=organisation, name="Maison des solidarités", address="1 rue Haute, Noisiel")
    rdv = create(organisation, basic_agent, [usager], lieu=lieu)
    rows = sent(rdv)
    assert [(row.event, row.channel, row.to) for row in rows] == [
        (Event.CREATED, "email", usager.email),
        (Event.CREATED, "sms", usager.phone.as_e164),
    ]
    email, sms = rows
    assert email.status == Notification.Status.PENDING
    assert email.subject.startswith("RDV confirmé le ")
    assert email.subject.endswith(" à 10h00")
    assert "Bonjour Amina," in email.body
    assert "Maison des solidarités, 1 rue Haute, Noisiel" in email.body
    assert "Apportez le carnet de santé." in email.body
    assert organisation.name in email.body
    assert sms.subject == ""
    assert sms.body.startswith("RDV PMI confirmé le ")
    assert "10h00" in sms.body
    assert gsm.segments(sms.body) == 1  # one SMS, in GSM-7, never a letter
    assert rdv.motif.name not in sms.body and rdv.motif.name not in email.subject  # discretion
    link = f"/r/{rdv.participations.get().link_token}"
    assert sms.body.endswith(link) and link in email.body


def test_a_proches_messages_go_to_its_responsible_once(organisation, basic_agent):
    proche = UsagerFactory(organisation=organisation, proche=True, first_name="Léa")
    responsible = proche.responsible
    responsible.email = "parent@example.com"
    responsible.save()
    rdv = create(organisation, basic_agent, [responsible, proche])
    (row,) = sent(rdv)
    assert row.to == "parent@example.com"
    assert row.usager == responsible
    assert f"Le rendez-vous pour vous et {proche.full_name} est confirmé." in row.body


def test_a_proche_alone_is_named_to_its_responsible(organisation, basic_agent):
    proche = UsagerFactory(organisation=organisation, proche=True, first_name="Léa")
    proche.responsible.phone = "0612345678"
    proche.responsible.save()
    rdv = create(organisation, basic_agent, [proche])
    (row,) = sent(rdv)
    assert row.body.startswith(f"RDV PMI pour {proche.first_name} confirmé le ")


def test_nothing_is_owed_when_the_motif_disables_notifications(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = create(
        organisation, basic_agent, [usager], motif=MotifFactory(organisation=organisation, notifications_disabled=True)
    )
    assert sent(rdv) == []
    assert reasons_not_sent(rdv, list(rdv.participations.all())) == [
        "Les notifications sont désactivées pour ce motif : les usagers ne reçoivent ni email ni SMS."
    ]


def test_nothing_is_owed_for_a_past_rdv(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager], starts_at=timezone.now() - dt.timedelta(hours=2))
    assert sent(rdv) == []


def test_the_usagers_choices_and_contacts_decide_the_channels(organisation, basic_agent):
    no_contact = UsagerFactory(organisation=organisation, last_name="Sanscontact")
    landline = UsagerFactory(
        organisation=organisation, last_name="Fixe", phone="+33145678901", email="fixe@example.com"
    )
    refuses = UsagerFactory(
        organisation=organisation, last_name="Refus", with_email=True, with_phone=True, notify_by_sms=False
    )
    rdv = create(organisation, basic_agent, [no_contact, landline, refuses])
    assert [(row.usager, row.channel) for row in sent(rdv)] == [(landline, "email"), (refuses, "email")]
    reasons = reasons_not_sent(rdv, list(rdv.participations.select_related("usager__responsible")))
    assert f"{no_contact.full_name} n'a pas d'adresse email : pas d'email." in reasons
    assert f"{no_contact.full_name} n'a pas de numéro de téléphone : pas de SMS." in reasons
    assert f"{landline.full_name} n'a pas de numéro de mobile : pas de SMS." in reasons
    assert f"{refuses.full_name} ne souhaite pas être prévenu par SMS." in reasons


def test_a_refused_booking_writes_no_message(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    motif = MotifFactory(organisation=organisation)
    signature = accepted(None, organisation, [basic_agent], tomorrow_at(10), 30)  # outside the plages only
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=tomorrow_at(10))
    with pytest.raises(ConflictsChanged):
        create_rdv(
            organisation=organisation,
            motif=motif,
            starts_at=tomorrow_at(10),
            duration_in_min=30,
            agents=[basic_agent],
            usagers=[usager],
            by=basic_agent,
            accepted_conflicts=signature,
        )
    assert not Notification.objects.exists()


def update(rdv, agent, notify_usagers=True, **changes) -> bool:
    values = {
        "starts_at": rdv.starts_at,
        "duration_in_min": rdv.duration_in_min,
        "lieu": rdv.lieu,
        "agents": [agent],
        "usagers": list(rdv.usagers.all()),
        "notes": rdv.notes,
        **changes,
    }
    signature = accepted(rdv, rdv.organisation, values["agents"], values["starts_at"], values["duration_in_min"])
    return update_rdv(rdv=rdv, by=agent, accepted_conflicts=signature, notify_usagers=notify_usagers, **values)


def mark_sent(rdv):
    Notification.objects.filter(rdv=rdv).update(status=Notification.Status.SENT, sent_at=timezone.now())


def test_moving_an_rdv_owes_a_modification(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    mark_sent(rdv)
    update(rdv, basic_agent, starts_at=tomorrow_at(15))
    row = sent(rdv)[-1]
    assert row.event == Event.UPDATED
    assert row.subject.startswith("RDV modifié : nouveau rendez-vous le ")
    assert row.subject.endswith("15h00")
    assert row.rdv_starts_at == tomorrow_at(15)


def test_changing_the_notes_or_agents_owes_nothing(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    mark_sent(rdv)
    assert update(rdv, basic_agent, notes="Apporter le dossier CAF.") is False
    assert len(sent(rdv)) == 1


# « La modification du rendez-vous n'est pas notifiée à l'usager de manière automatique »


def test_a_modification_is_not_notified_unless_the_agent_asks(organisation, basic_agent):
    staying = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    leaving = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [staying, leaving])
    mark_sent(rdv)
    joining = UsagerFactory(organisation=organisation, with_email=True)
    concerns = update(rdv, basic_agent, notify_usagers=False, usagers=[staying, joining], starts_at=tomorrow_at(15))
    assert concerns is True  # the agent is reminded to warn them
    assert not sent(rdv, status=Notification.Status.PENDING)
    assert len(sent(rdv)) == 3  # the confirmations, nothing more


def test_an_unannounced_change_of_a_past_rdv_does_not_ask_to_warn_anyone(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[basic_agent],
        usagers=[usager],
        starts_at=timezone.now() - dt.timedelta(hours=3),
    )
    assert update(rdv, basic_agent, notify_usagers=False, starts_at=rdv.starts_at - dt.timedelta(hours=1)) is False


def test_usagers_added_are_confirmed_and_removed_are_told(organisation, basic_agent):
    staying = UsagerFactory(organisation=organisation, with_email=True)
    leaving = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [staying, leaving])
    mark_sent(rdv)
    joining = UsagerFactory(organisation=organisation, with_email=True)
    update(rdv, basic_agent, usagers=[staying, joining], starts_at=tomorrow_at(11))
    new = sent(rdv, status=Notification.Status.PENDING)
    assert {(row.usager, row.event) for row in new} == {
        (leaving, Event.CANCELLED),
        (joining, Event.CREATED),
        (staying, Event.UPDATED),
    }
    cancellation = next(row for row in new if row.usager == leaving)
    assert cancellation.subject.endswith("à 10h00")  # the RDV as it was for them


def test_a_change_before_the_confirmation_left_is_the_confirmation(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    update(rdv, basic_agent, starts_at=tomorrow_at(16))
    first, second = sent(rdv)
    assert first.status == Notification.Status.DROPPED
    assert first.last_error == "Remplacée par un message plus récent."
    assert (second.event, second.status) == (Event.CREATED, Notification.Status.PENDING)
    assert "16h00" in second.subject


def test_cancelling_before_the_confirmation_left_sends_nothing(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    change_status(rdv=rdv, status=Rdv.Status.REVOKED, by=basic_agent)
    (row,) = sent(rdv)
    assert row.status == Notification.Status.DROPPED


@pytest.mark.parametrize("status", [Rdv.Status.EXCUSED, Rdv.Status.REVOKED])
def test_a_cancellation_owes_an_annulation_and_a_restoration_a_confirmation(organisation, basic_agent, status):
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = create(organisation, basic_agent, [usager])
    mark_sent(rdv)
    change_status(rdv=rdv, status=status, by=basic_agent)
    cancellations = sent(rdv, event=Event.CANCELLED)
    assert [row.channel for row in cancellations] == ["email", "sms"]
    assert cancellations[0].subject.startswith("RDV annulé le ")
    assert ("à l'initiative du service" in cancellations[0].body) == (status == Rdv.Status.REVOKED)
    mark_sent(rdv)
    change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=basic_agent)
    assert [row.event for row in sent(rdv)][-2:] == [Event.CREATED, Event.CREATED]


def test_statuses_of_how_it_went_owe_nothing(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(minutes=30))
    mark_sent(rdv)
    for status in (Rdv.Status.SEEN, Rdv.Status.NOSHOW, Rdv.Status.UNKNOWN):
        change_status(rdv=rdv, status=status, by=basic_agent)
    assert [row.event for row in sent(rdv)] == [Event.CREATED]


# Reminders, 48 hours ahead


def booked_long_ago(rdv, days=10):
    """Pretends the RDV was booked, and its confirmation sent, `days` ago."""
    long_ago = timezone.now() - dt.timedelta(days=days)
    Rdv.objects.filter(pk=rdv.pk).update(created_at=long_ago)
    Notification.objects.filter(rdv=rdv).update(created_at=long_ago)


def test_reminders_go_48_hours_ahead_once(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    soon = create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(hours=30))
    later = create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(days=3))
    booked_long_ago(soon)
    booked_long_ago(later)
    assert enqueue_reminders() == 1
    assert enqueue_reminders() == 0
    reminders = sent(soon, event=Event.REMINDER)
    assert [row.channel for row in reminders] == ["email", "sms"]
    assert reminders[0].subject.startswith("Rappel : RDV le ")
    assert sent(later, event=Event.REMINDER) == []


def test_no_reminder_for_an_rdv_booked_within_48_hours_or_cancelled(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(hours=30))
    cancelled = create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(hours=20))
    booked_long_ago(cancelled)
    Rdv.objects.filter(pk=cancelled.pk).update(status=Rdv.Status.EXCUSED)
    assert enqueue_reminders() == 0


def test_an_rdv_moved_after_its_reminder_is_not_reminded_again_right_after_its_modification(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(hours=30))
    booked_long_ago(rdv)
    assert enqueue_reminders() == 1
    mark_sent(rdv)
    rdv.refresh_from_db()
    update(rdv, basic_agent, starts_at=rdv.starts_at + dt.timedelta(hours=2))
    assert sent(rdv)[-1].event == Event.UPDATED
    assert enqueue_reminders() == 0
    assert len(sent(rdv, event=Event.REMINDER)) == 1


# What the recipient last heard decides what it reads


def test_a_change_while_the_confirmation_is_being_sent_is_a_modification(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    Notification.objects.filter(rdv=rdv).update(status=Notification.Status.SENDING)  # a worker has it
    update(rdv, basic_agent, starts_at=tomorrow_at(14))
    first, second = sent(rdv)
    assert first.status == Notification.Status.SENDING  # not taken back: it is on its way
    assert (second.event, second.status) == (Event.UPDATED, Notification.Status.PENDING)


def test_removing_a_proche_before_the_confirmation_left_confirms_the_responsibles_rdv(organisation, basic_agent):
    proche = UsagerFactory(organisation=organisation, proche=True, first_name="Léa")
    responsible = proche.responsible
    responsible.email = "parent@example.com"
    responsible.save()
    rdv = create(organisation, basic_agent, [responsible, proche])
    update(rdv, basic_agent, usagers=[responsible])
    first, second = sent(rdv)
    assert first.status == Notification.Status.DROPPED
    assert (second.event, second.status) == (Event.CREATED, Notification.Status.PENDING)
    assert "Votre rendez-vous est confirmé." in second.body
    assert proche.full_name not in second.body


def test_moving_an_rdv_and_adding_a_proche_is_one_message_naming_everyone(organisation, basic_agent):
    proche = UsagerFactory(organisation=organisation, proche=True, first_name="Léa")
    responsible = proche.responsible
    responsible.email = "parent@example.com"
    responsible.save()
    sibling = UsagerFactory(organisation=organisation, responsible=responsible, first_name="Noé")
    rdv = create(organisation, basic_agent, [responsible, proche])
    mark_sent(rdv)
    update(rdv, basic_agent, usagers=[responsible, proche, sibling], starts_at=tomorrow_at(15))
    (new,) = sent(rdv, status=Notification.Status.PENDING)
    assert new.event == Event.UPDATED
    assert f"Le rendez-vous pour vous et {proche.full_name}, {sibling.full_name} a été modifié." in new.body
    assert "15h00" in new.subject


def test_restoring_before_the_annulation_left_sends_nothing(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    mark_sent(rdv)
    change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=basic_agent)  # a slip of the mouse
    change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=basic_agent)
    _confirmation, annulation = sent(rdv)
    assert (annulation.event, annulation.status) == (Event.CANCELLED, Notification.Status.DROPPED)


def test_two_agents_cancelling_from_stale_pages_owe_one_annulation(organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager])
    mark_sent(rdv)
    stale = Rdv.objects.get(pk=rdv.pk)
    change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=basic_agent)
    change_status(rdv=stale, status=Rdv.Status.REVOKED, by=basic_agent)
    assert len(sent(rdv, event=Event.CANCELLED)) == 1
    assert Rdv.objects.get(pk=rdv.pk).status == Rdv.Status.REVOKED


def test_a_rolled_back_change_writes_and_queues_nothing(organisation, basic_agent, django_capture_on_commit_callbacks):
    usager = UsagerFactory(organisation=organisation, with_email=True)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        create(organisation, basic_agent, [usager])
        assert Notification.objects.count() == 1
        raise RuntimeError("the rest of the request failed")
    assert not Notification.objects.exists()
    assert callbacks == []


def test_rdvs_whose_usagers_cannot_be_reached_never_hide_later_reminders(organisation, basic_agent, monkeypatch):
    from notifications import reminders

    monkeypatch.setattr(reminders, "REMINDERS_CHUNK", 2)
    unreachable = UsagerFactory(organisation=organisation)
    for hours in (20, 21, 22):
        booked_long_ago(
            create(organisation, basic_agent, [unreachable], starts_at=timezone.now() + dt.timedelta(hours=hours))
        )
    reachable = create(
        organisation,
        basic_agent,
        [UsagerFactory(organisation=organisation, with_email=True)],
        starts_at=timezone.now() + dt.timedelta(hours=40),
    )
    booked_long_ago(reachable)
    assert enqueue_reminders() == 1
    assert sent(reachable, event=Event.REMINDER)


def test_a_message_to_one_usager_does_not_cancel_the_others_reminders(organisation, basic_agent):
    first = UsagerFactory(organisation=organisation, with_email=True)
    second = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [first, second], starts_at=timezone.now() + dt.timedelta(hours=30))
    booked_long_ago(rdv)
    mark_sent(rdv)
    rdv.refresh_from_db()
    joining = UsagerFactory(organisation=organisation, with_email=True)
    update(rdv, basic_agent, usagers=[first, second, joining])  # the newcomer's confirmation
    assert enqueue_reminders() == 1
    assert {row.usager for row in sent(rdv, event=Event.REMINDER)} == {first, second}


def test_a_failed_message_does_not_count_as_told(organisation, basic_agent):
    """Booked long ago, then told by SMS within the 48 hours, while the email failed: the
    reminder goes by email only."""
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = create(organisation, basic_agent, [usager], starts_at=timezone.now() + dt.timedelta(hours=30))
    Rdv.objects.filter(pk=rdv.pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    Notification.objects.filter(rdv=rdv, channel="email").update(status=Notification.Status.FAILED)
    Notification.objects.filter(rdv=rdv, channel="sms").update(status=Notification.Status.SENT)
    assert enqueue_reminders() == 1
    assert [row.channel for row in sent(rdv, event=Event.REMINDER)] == ["email"]
