"""Calendar invitations (notifications.ics): every email about an RDV carries it as an ICS event,
read back here with `icalendar` from the email as it left (the locmem backend's outbox): the same
UID from the confirmation to the annulation, a higher SEQUENCE at each message, times in UTC, no
motif unless the motif allows it, the usager's link, nothing about an usager for an agent."""

import datetime as dt
import email
import email.policy
import json
import zoneinfo
from email.message import EmailMessage

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from motifs.models import Motif
from notifications import ics
from notifications.claim import claim
from notifications.delivery import deliver_one
from notifications.links import usager_link
from notifications.models import Notification
from notifications.reminders import enqueue_reminders
from notifications.services import queue_code_email
from planning.intervals import end_after
from rendezvous.conflicts import conflicts_signature, find_conflicts
from rendezvous.models import Rdv
from rendezvous.services import change_status, create_rdv, update_rdv
from tests.motifs.factories import MotifFactory
from tests.notifications.helpers import brevo_answer
from tests.organisations.factories import LieuFactory
from tests.reservation.search_helpers import sign_in_usager
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)  # a Monday
THURSDAY_10 = dt.datetime(2026, 11, 26, 10, 0, tzinfo=PARIS)
Event = Notification.Event


def claim_one(pk, now):
    """One row claimed as a worker claims its batch (notifications.claim)."""
    (row,) = claim([pk], now)
    return row


@pytest.fixture(autouse=True)
def clock(settings):
    settings.SITE_URL = "https://rdv.example.fr"
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def usager(organisation):
    return UsagerFactory(
        organisation=organisation,
        first_name="Inès",
        last_name="Garrigue",
        email="ines@example.fr",
        address="8 rue Pierre Mendès France, 77200 Torcy",
    )


@pytest.fixture
def lieu(organisation):
    return LieuFactory(organisation=organisation, name="MDS de Torcy", address="1 rue Haute, 77200 Torcy")


@pytest.fixture
def motif(organisation):
    """A motif whose name stays out of messages (« Afficher le nom du motif dans les messages » off)."""
    return MotifFactory(organisation=organisation, name="Information préoccupante", show_name_in_messages=False)


def accepted(rdv, organisation, agents, starts_at, duration_in_min) -> str:
    ends_at = end_after(starts_at, duration_in_min)
    return conflicts_signature(find_conflicts(rdv, organisation, agents, starts_at, ends_at))


def create(organisation, agent, usagers, *, motif, lieu=None, starts_at=THURSDAY_10, address="") -> Rdv:
    return create_rdv(
        organisation=organisation,
        motif=motif,
        lieu=lieu,
        address=address,
        starts_at=starts_at,
        duration_in_min=45,
        agents=[agent],
        usagers=usagers,
        by=agent,
        accepted_conflicts=accepted(None, organisation, [agent], starts_at, 45),
    )


def update(rdv, agent, **changes) -> None:
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
    update_rdv(rdv=rdv, by=agent, accepted_conflicts=signature, notify_usagers=True, **values)


def deliver(rdv) -> list[EmailMessage]:
    """Sends the RDV's waiting emails; the messages that left, as a mail client reads them."""
    already = len(mail.outbox)
    for row in Notification.objects.filter(rdv=rdv, channel="email", status="pending").order_by("pk"):
        deliver_one(row.pk)
    return [
        email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
        for message in mail.outbox[already:]
    ]


def calendar_parts(message: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    """The text/calendar alternative and the invite.ics attachment, which say the same."""
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    (alternative,) = [part for part in parts if part.get_content_disposition() is None]
    (attachment,) = [part for part in parts if part.get_filename() == "invite.ics"]
    assert alternative.get_content() == attachment.get_content()
    return alternative, attachment


def invitation(message: EmailMessage):
    """The email's calendar and its one event."""
    alternative, _attachment = calendar_parts(message)
    calendar = Calendar.from_ical(alternative.get_content())
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_a_confirmation_carries_the_rdv_as_an_invitation(organisation, basic_agent, usager, motif, lieu):
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    (message,) = deliver(rdv)
    alternative, attachment = calendar_parts(message)
    for part in (alternative, attachment):
        assert (part.get_param("method"), part.get_content_charset()) == ("REQUEST", "utf-8")
    assert attachment.get_content_disposition() == "attachment"
    calendar, event = invitation(message)
    row = Notification.objects.get(rdv=rdv, channel="email")
    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == f"rdv-{rdv.pk}@rdv.example.fr"
    assert event["sequence"] == row.pk
    assert event.decoded("dtstart") == dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    assert event.decoded("dtend") == dt.datetime(2026, 11, 26, 9, 45, tzinfo=dt.UTC)
    assert (event["dtstart"].to_ical(), event["dtend"].to_ical()) == (b"20261126T090000Z", b"20261126T094500Z")
    assert str(event["summary"]) == f"RDV PMI — {organisation.name}"
    assert str(event["location"]) == "MDS de Torcy, 1 rue Haute, 77200 Torcy"
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == "mailto:ne-pas-repondre@rdv-solidarites.local"
    assert str(event["organizer"].params["cn"]) == organisation.name
    assert str(event["attendee"]) == "mailto:ines@example.fr"
    assert str(event["attendee"].params["cn"]) == "Inès GARRIGUE"
    link = usager_link(rdv.participations.get().link_token)
    assert str(event["url"]) == link
    assert str(event["description"]).split("\n") == [
        organisation.name,
        "Téléphone : 01 23 45 67 89",
        f"Voir, annuler ou déplacer le rendez-vous : {link}",
    ]
    assert "préoccupante" not in alternative.get_content()


def test_a_change_updates_the_same_event_with_a_higher_sequence(organisation, basic_agent, usager, motif, lieu):
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    _calendar, confirmed = invitation(deliver(rdv)[0])
    update(rdv, basic_agent, starts_at=THURSDAY_10 + dt.timedelta(hours=5))
    (message,) = deliver(rdv)
    assert message["Subject"].strip().startswith("RDV modifié")
    calendar, changed = invitation(message)
    assert str(calendar["method"]) == "REQUEST"
    assert str(changed["uid"]) == str(confirmed["uid"])
    assert changed["sequence"] > confirmed["sequence"]
    assert changed.decoded("dtstart") == dt.datetime(2026, 11, 26, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("status", [Rdv.Status.EXCUSED, Rdv.Status.REVOKED])
def test_a_cancellation_cancels_the_same_event(organisation, basic_agent, usager, motif, lieu, status):
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    _calendar, confirmed = invitation(deliver(rdv)[0])
    change_status(rdv=rdv, status=status, by=basic_agent)
    (message,) = deliver(rdv)
    alternative, attachment = calendar_parts(message)
    assert (alternative.get_param("method"), attachment.get_param("method")) == ("CANCEL", "CANCEL")
    calendar, cancelled = invitation(message)
    assert str(calendar["method"]) == "CANCEL"
    assert str(cancelled["status"]) == "CANCELLED"
    assert str(cancelled["uid"]) == str(confirmed["uid"])
    assert cancelled["sequence"] > confirmed["sequence"]
    assert cancelled.decoded("dtstart") == confirmed.decoded("dtstart")
    assert "url" not in cancelled  # an annulation offers no link


def test_a_recipient_removed_gets_the_annulation_of_the_rdv_as_it_was(organisation, basic_agent, usager, motif, lieu):
    staying = UsagerFactory(organisation=organisation, with_email=True)
    rdv = create(organisation, basic_agent, [usager, staying], motif=motif, lieu=lieu)
    deliver(rdv)
    update(rdv, basic_agent, usagers=[staying], starts_at=THURSDAY_10 + dt.timedelta(hours=2))
    messages = {message["To"]: message for message in deliver(rdv)}
    calendar, annulation = invitation(messages["ines@example.fr"])
    assert str(calendar["method"]) == "CANCEL"
    assert annulation.decoded("dtstart") == dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
    calendar, moved = invitation(messages[staying.email])
    assert str(calendar["method"]) == "REQUEST"
    assert moved.decoded("dtstart") == dt.datetime(2026, 11, 26, 11, 0, tzinfo=dt.UTC)


def test_a_reminder_is_the_same_event_again(organisation, basic_agent, usager, motif, lieu, clock):
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    _calendar, confirmed = invitation(deliver(rdv)[0])
    clock.move_to(THURSDAY_10 - dt.timedelta(hours=30))
    assert enqueue_reminders() == 1
    (message,) = deliver(rdv)
    assert message["Subject"].strip().startswith("Rappel")
    calendar, reminded = invitation(message)
    assert str(calendar["method"]) == "REQUEST"
    assert str(reminded["uid"]) == str(confirmed["uid"])
    assert reminded["sequence"] > confirmed["sequence"]
    assert reminded.decoded("dtstart") == confirmed.decoded("dtstart")
    assert str(reminded["url"]) == usager_link(rdv.participations.get().link_token)


def test_the_motif_is_named_only_when_the_motif_allows_it(organisation, basic_agent, usager, lieu):
    motif = MotifFactory(organisation=organisation, name="Vaccination", show_name_in_messages=True)
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    _calendar, event = invitation(deliver(rdv)[0])
    assert str(event["summary"]) == f"RDV PMI : Vaccination — {organisation.name}"


def test_an_rdv_by_phone_says_so(organisation, basic_agent, usager):
    motif = MotifFactory(organisation=organisation, location_type=Motif.LocationType.PHONE)
    rdv = create(organisation, basic_agent, [usager], motif=motif)
    _calendar, event = invitation(deliver(rdv)[0])
    assert str(event["location"]) == "Par téléphone"


def test_an_rdv_at_home_gives_the_usager_its_address(organisation, basic_agent, usager):
    motif = MotifFactory(organisation=organisation, location_type=Motif.LocationType.HOME)
    rdv = create(organisation, basic_agent, [usager], motif=motif)
    _calendar, event = invitation(deliver(rdv)[0])
    assert str(event["location"]) == "À domicile : 8 rue Pierre Mendès France, 77200 Torcy"


def test_an_agents_invitation_names_no_usager(organisation, basic_agent, usager):
    motif = MotifFactory(organisation=organisation, location_type=Motif.LocationType.HOME)
    rdv = create(organisation, basic_agent, [usager], motif=motif, address="3 allée des Lilas, 77200 Torcy")
    content = ics.invitation(
        rdv,
        method=ics.Method.REQUEST,
        sequence=1,
        attendee_email=basic_agent.email,
        with_usager_names=False,
        link=None,
        attendee_name=usager.full_name,
        home_address=usager.address,
    )
    text = content.decode()
    assert "Garrigue" not in text.replace("\r\n ", "")
    assert "GARRIGUE" not in text.replace("\r\n ", "")
    assert "Lilas" not in text.replace("\r\n ", "")
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert str(event["location"]) == "À domicile"
    assert str(event["attendee"]) == f"mailto:{basic_agent.email}"
    assert "cn" not in event["attendee"].params


@pytest.mark.parametrize(
    "fold, utc_hour",
    [(0, 0), (1, 1)],  # 02:30 summer time (UTC+2), then 02:30 winter time (UTC+1) once clocks go back
)
def test_an_rdv_in_the_hour_that_repeats_when_clocks_go_back(
    organisation, basic_agent, usager, lieu, clock, fold, utc_hour
):
    clock.move_to(dt.datetime(2027, 10, 25, 9, 0, tzinfo=PARIS))
    starts_at = dt.datetime(2027, 10, 31, 2, 30, tzinfo=PARIS, fold=fold)
    rdv = create(
        organisation,
        basic_agent,
        [usager],
        motif=MotifFactory(organisation=organisation),
        lieu=lieu,
        starts_at=starts_at,
    )
    _calendar, event = invitation(deliver(rdv)[0])
    assert event.decoded("dtstart") == dt.datetime(2027, 10, 31, utc_hour, 30, tzinfo=dt.UTC)
    assert event.decoded("dtend") == dt.datetime(2027, 10, 31, utc_hour + 1, 15, tzinfo=dt.UTC)


def test_a_provider_without_calendar_parts_gets_the_invitation_attached(
    organisation, basic_agent, usager, motif, lieu, settings
):
    """Brevo's API takes a text and an HTML body only: the email still leaves, once, with
    invite.ics attached."""
    settings.EMAIL_BACKEND = "anymail.backends.brevo.EmailBackend"
    settings.ANYMAIL = {"BREVO_API_KEY": "key"}
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    with brevo_answer(201, {"messageId": "<1@smtp-relay.mailin.fr>"}) as request:
        deliver(rdv)
    row = Notification.objects.get(rdv=rdv, channel="email")
    assert row.status == Notification.Status.SENT
    assert request.call_count == 1
    payload = json.loads(request.call_args.kwargs["data"])
    assert [attachment["name"] for attachment in payload["attachment"]] == ["invite.ics"]


def test_an_email_about_no_rdv_carries_no_invitation(organisation):
    row = queue_code_email(to="ines@example.fr", subject="Votre code", body="Votre code : 123456")
    deliver_one(row.pk)
    (message,) = mail.outbox
    assert [content_type for _content, content_type in message.alternatives] == ["text/html"]
    assert message.attachments == []


def test_the_bookings_calendar_file_is_the_same_event(client, organisation, basic_agent, usager, motif, lieu):
    """The usager who added the booking's file to its phone sees that event updated by the emails."""
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    _calendar, emailed = invitation(deliver(rdv)[0])
    sign_in_usager(client, usager)
    response = client.get(f"/rendez-vous/{rdv.pk}/calendrier.ics")
    calendar = Calendar.from_ical(response.content)
    (downloaded,) = calendar.walk("VEVENT")
    assert str(calendar["method"]) == "PUBLISH"
    assert str(downloaded["uid"]) == str(emailed["uid"])
    assert downloaded["sequence"] == emailed["sequence"]  # the highest message so far: not older
    assert str(downloaded["summary"]) == str(emailed["summary"]) == f"RDV PMI — {organisation.name}"
    assert downloaded.decoded("dtstart") == emailed.decoded("dtstart")


def test_an_email_to_an_agent_carries_the_invitation_without_the_usager(organisation, basic_agent, usager):
    """The emails that tell an RDV's agents of a change (notifications.to_agents) are rows with
    an agent and no usager: their invitation names no usager, gives no home address, no link."""
    motif = MotifFactory(organisation=organisation, location_type=Motif.LocationType.HOME)
    rdv = create(organisation, basic_agent, [usager], motif=motif, address="3 allée des Lilas, 77200 Torcy")
    Notification.objects.filter(rdv=rdv).delete()
    row = Notification.objects.create(
        organisation=organisation,
        rdv=rdv,
        rdv_starts_at=rdv.starts_at,
        agent=basic_agent,
        event=Event.CANCELLED,
        channel=Notification.Channel.EMAIL,
        to=basic_agent.email,
        subject="RDV annulé",
        body="Inès GARRIGUE a annulé en ligne ce RDV.",
    )
    deliver_one(row.pk)
    (message,) = [
        email.message_from_bytes(sent.message().as_bytes(), policy=email.policy.default) for sent in mail.outbox
    ]
    alternative, _attachment = calendar_parts(message)
    unfolded = alternative.get_content().replace("\r\n ", "")
    assert ("GARRIGUE" in unfolded, "Lilas" in unfolded) == (False, False)
    calendar, event = invitation(message)
    assert str(calendar["method"]) == "CANCEL"
    assert str(event["uid"]) == f"rdv-{rdv.pk}@rdv.example.fr"
    assert str(event["location"]) == "À domicile"
    assert str(event["attendee"]) == f"mailto:{basic_agent.email}"
    assert "url" not in event


def test_the_invitation_reads_nothing_more_than_the_claim(organisation, basic_agent, usager, motif, lieu):
    """`_send_email` runs outside any transaction, after the claim: the invitation and its link
    come from what the claim read."""
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    row = Notification.objects.get(rdv=rdv, channel="email")
    claimed = claim_one(row.pk, timezone.now())
    with CaptureQueriesContext(connection) as queries:
        method, content = ics.for_notification(claimed)
    assert len(queries) == 0
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert (method, str(event["url"])) == (ics.Method.REQUEST, usager_link(rdv.participations.get().link_token))


def test_long_lines_and_special_characters_survive_the_round_trip(organisation, basic_agent, usager, motif):
    """Written by hand (notifications.ics): text escaped, lines folded at 75 octets without cutting
    a character in two; `icalendar` reads back exactly what was meant."""
    name = 'Maison départementale des solidarités « Les Érables », bâtiment C; 2e étage \\ "porte" bleue'
    lieu = LieuFactory(organisation=organisation, name=name, address="12, rue de l'Église; 77200 Torcy")
    rdv = create(organisation, basic_agent, [usager], motif=motif, lieu=lieu)
    _method, content = ics.for_notification(Notification.objects.get(rdv=rdv, channel="email"))
    lines = content.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert all(line.decode() for line in lines[:-1])  # no character cut between two lines
    (event,) = Calendar.from_ical(content).walk("VEVENT")
    assert str(event["location"]) == f"{name}, 12, rue de l'Église; 77200 Torcy"
    assert str(event["organizer"].params["cn"]) == organisation.name
