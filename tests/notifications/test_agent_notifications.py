"""The emails to an RDV's agents (notifications.to_agents), by each agent's choice in « Mon compte »:
every change, changes by others, changes by others within 24 hours (the default), none. Online
bookings and cancellations by usagers are the main case: they go through rendezvous.online, the
emails through the outbox and the real delivery (the email backend is Django's locmem)."""

import datetime as dt

import icalendar
import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from agents.models import Agent
from notifications.delivery import deliver_one
from notifications.models import Notification
from rendezvous import online
from rendezvous.conflicts import conflicts_signature, find_conflicts
from rendezvous.models import Rdv
from rendezvous.services import change_status, create_rdv, delete_rdv, update_rdv
from tests.agents.factories import AgentFactory
from tests.reservation.search_helpers import MONDAY, PARIS, at, lieu, online_motif, organisation, plage, seine_et_marne
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

Level = Agent.RdvNotifications
Status = Notification.Status
Event = Notification.Event

# The RDVs are on Tuesday at 9:30: Monday at 10:00 is 23 h 30 before (« les prochaines 24 heures »),
# Monday at 8:00 25 h 30 before.
SOON = dt.datetime.combine(MONDAY, dt.time(10), tzinfo=PARIS)
FAR = dt.datetime.combine(MONDAY, dt.time(8), tzinfo=PARIS)


@pytest.fixture
def world(db):
    mds = organisation(seine_et_marne(), "MDS de Noisiel")
    place = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
    motif = online_motif(mds, "Suivi de grossesse")
    marie = AgentFactory(organisation=mds, services=["PMI"], first_name="Marie", last_name="Dupont")
    plage(motif, place, agent=marie)
    paul = AgentFactory(organisation=mds, services=["PMI"], first_name="Paul", last_name="Martin")
    ines = UsagerFactory(organisation=mds, first_name="Inès", last_name="Garrigue", email="ines@example.fr")
    return {"organisation": mds, "lieu": place, "motif": motif, "marie": marie, "paul": paul, "ines": ines}


def choose(agent: Agent, level: str) -> None:
    agent.rdv_notifications = level
    agent.save(update_fields=["rdv_notifications"])


def booked_online(world, hour: int = 9, minute: int = 30) -> Rdv:
    return online.book(
        motif=world["motif"],
        start=at(hour, minute),
        lieu=world["lieu"],
        usagers=[world["ines"]],
        booking_token=f"token-{hour}-{minute}",
    )


def posed(world, *, by: Agent, agents=None, hour: int = 9, minute: int = 30) -> Rdv:
    agents = agents or [world["marie"]]
    starts_at = at(hour, minute)
    ends_at = starts_at + dt.timedelta(minutes=30)
    found = find_conflicts(None, world["organisation"], agents, starts_at, ends_at)
    return create_rdv(
        organisation=world["organisation"],
        motif=world["motif"],
        starts_at=starts_at,
        duration_in_min=30,
        agents=agents,
        usagers=[world["ines"]],
        lieu=world["lieu"],
        by=by,
        accepted_conflicts=conflicts_signature(found),
    )


def to_agent(agent: Agent, **filters) -> list[Notification]:
    return list(Notification.objects.filter(agent=agent, **filters).order_by("pk"))


def modify(rdv: Rdv, *, by: Agent, notify_usagers: bool = False, **changes) -> None:
    values = {
        "starts_at": rdv.starts_at,
        "duration_in_min": rdv.duration_in_min,
        "lieu": rdv.lieu,
        "agents": list(rdv.agents.all()),
        "usagers": [participation.usager for participation in rdv.participations.all()],
        "notes": rdv.notes,
        **changes,
    }
    ends_at = values["starts_at"] + dt.timedelta(minutes=values["duration_in_min"])
    found = find_conflicts(rdv, rdv.organisation, values["agents"], values["starts_at"], ends_at)
    update_rdv(rdv=rdv, by=by, accepted_conflicts=conflicts_signature(found), notify_usagers=notify_usagers, **values)


# Each level, for a change by the agent itself, by another agent or by the usager, soon or later:
# how many emails the RDV's agent gets.
EXPECTED = {
    Level.ALL: {"self": (1, 1), "agent": (1, 1), "usager": (1, 1)},  # (within 24 hours, beyond)
    Level.OTHERS: {"self": (0, 0), "agent": (1, 1), "usager": (1, 1)},
    Level.OTHERS_SOON: {"self": (0, 0), "agent": (1, 0), "usager": (1, 0)},
    Level.NONE: {"self": (0, 0), "agent": (0, 0), "usager": (0, 0)},
}
CASES = [(level, author, soon) for level, cases in EXPECTED.items() for author in cases for soon in (True, False)]


def expected(level: str, author: str, soon: bool) -> int:
    return EXPECTED[level][author][0 if soon else 1]


@pytest.mark.parametrize(("level", "author", "soon"), CASES)
def test_a_new_rdv_is_told_by_each_level(world, level, author, soon):
    marie = world["marie"]
    choose(marie, level)
    with time_machine.travel(SOON if soon else FAR, tick=False):
        if author == "usager":
            rdv = booked_online(world)
        else:
            rdv = posed(world, by=marie if author == "self" else world["paul"])
    assert len(to_agent(marie, rdv=rdv)) == expected(level, author, soon)


@pytest.mark.parametrize(("level", "author", "soon"), CASES)
def test_a_cancellation_is_told_by_each_level(world, level, author, soon):
    marie = world["marie"]
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    choose(marie, level)
    with time_machine.travel(SOON if soon else FAR, tick=False):
        if author == "usager":
            online.cancel(rdv=rdv)
        else:
            change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=marie if author == "self" else world["paul"])
    assert len(to_agent(marie, rdv=rdv, event=Event.CANCELLED)) == expected(level, author, soon)


@pytest.mark.parametrize("level", [Level.ALL, Level.OTHERS, Level.OTHERS_SOON, Level.NONE])
@pytest.mark.parametrize("author", ["self", "agent"])
def test_a_move_is_told_by_each_level_soon_before_or_after(world, level, author):
    """Moved from Tuesday 9:30 (within 24 hours) to the Tuesday after: the day it leaves counts."""
    marie = world["marie"]
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    choose(marie, level)
    with time_machine.travel(SOON, tick=False):
        modify(rdv, by=marie if author == "self" else world["paul"], starts_at=at(9, 30) + dt.timedelta(days=7))
    assert len(to_agent(marie, rdv=rdv, event=Event.UPDATED)) == expected(level, author, True)


def test_an_online_booking_emails_the_agent_with_its_details_and_an_invitation(
    world, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://rdv.example.fr"
    marie = world["marie"]
    with time_machine.travel(SOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            rdv = booked_online(world)
        (row,) = to_agent(marie)
    assert (row.rdv, row.event, row.channel, row.to, row.usager) == (rdv, Event.CREATED, "email", marie.email, None)
    assert row.subject == "RDV réservé en ligne le mardi 5 mars 2030 à 9h30"
    url = "https://rdv.example.fr" + reverse(
        "rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk}
    )
    assert row.body.splitlines()[:10] == [
        "Bonjour Marie,",
        "",
        "Inès GARRIGUE a réservé en ligne ce RDV avec vous.",
        "",
        "Date : mardi 5 mars 2030 à 9h30 (30 min)",
        "Lieu : MDS de Noisiel, Grande Allée des Bois, 77186 Noisiel",
        "Motif : Suivi de grossesse (PMI)",
        "Usagers : Inès GARRIGUE",
        "Agents : Marie Dupont",
        "Organisation : MDS de Noisiel",
    ]
    assert f"Voir le RDV : {url}" in row.body.splitlines()
    assert "« Mon compte », https://rdv.example.fr/compte/" in row.body
    # Sent at once (the usager is waiting for nothing from it, but the agent's day changed).
    row.refresh_from_db()
    assert row.status == Status.SENT
    (message,) = [message for message in mail.outbox if message.to == [marie.email]]
    assert message.subject == row.subject
    (ics,) = [content for name, content, _mimetype in message.attachments if name == "invite.ics"]
    for name in ("GARRIGUE", "Garrigue", "Inès", "ines@example.fr"):
        assert name not in ics
    event = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert icalendar.Calendar.from_ical(ics)["METHOD"] == "REQUEST"
    assert event["ATTENDEE"] == f"mailto:{marie.email}"
    assert event.decoded("DTSTART") == at(9, 30)


def test_an_online_cancellation_emails_the_agent_and_cancels_the_event(world, django_capture_on_commit_callbacks):
    marie = world["marie"]
    with time_machine.travel(SOON, tick=False):
        rdv = booked_online(world)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            online.cancel(rdv=rdv)
    created, cancelled = to_agent(marie, rdv=rdv)
    assert (created.event, cancelled.event) == (Event.CREATED, Event.CANCELLED)
    assert cancelled.subject == "RDV annulé en ligne le mardi 5 mars 2030 à 9h30"
    assert "Inès GARRIGUE a annulé en ligne ce RDV." in cancelled.body.splitlines()
    cancelled.refresh_from_db()
    assert cancelled.status == Status.SENT
    (message,) = [message for message in mail.outbox if message.to == [marie.email]]
    (ics,) = [content for name, content, _mimetype in message.attachments if name == "invite.ics"]
    assert icalendar.Calendar.from_ical(ics)["METHOD"] == "CANCEL"


def test_the_usager_hears_exactly_what_it_heard_before(world, django_capture_on_commit_callbacks):
    """The agent's emails are not in the usager's thread: its confirmation and its annulation
    leave as they would without them."""
    ines = world["ines"]
    with time_machine.travel(SOON, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            rdv = booked_online(world)
        with django_capture_on_commit_callbacks(execute=True):
            online.cancel(rdv=rdv)
    rows = Notification.objects.filter(rdv=rdv, usager=ines).order_by("pk")
    assert [(row.event, row.status) for row in rows] == [(Event.CREATED, Status.SENT), (Event.CANCELLED, Status.SENT)]
    assert [message.to for message in mail.outbox] == [[ines.email], [world["marie"].email]] * 2


def test_a_status_by_a_colleague_names_it_and_the_status(world):
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    with time_machine.travel(SOON, tick=False):
        change_status(rdv=rdv, status=Rdv.Status.REVOKED, by=world["paul"])
        (row,) = to_agent(world["marie"], event=Event.CANCELLED)
    assert row.subject == "RDV annulé le mardi 5 mars 2030 à 9h30"
    assert "Paul Martin (agent) a annulé ce RDV (« Annulé à l'initiative du service »)." in row.body.splitlines()


def test_a_correction_within_the_grace_period_sends_nothing(world, settings):
    """« Absent excusé » clicked by mistake, then « Indéterminé »: neither email leaves."""
    settings.NOTIFICATIONS_GRACE_SECONDS = 120
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    with time_machine.travel(SOON, tick=False):
        change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=world["paul"])
        change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=world["paul"])
    (cancelled,) = to_agent(world["marie"])
    assert (cancelled.event, cancelled.status) == (Event.CANCELLED, Status.DROPPED)
    with time_machine.travel(SOON + dt.timedelta(minutes=3), tick=False):
        assert deliver_one(cancelled.pk) is None
    assert mail.outbox == []


def test_a_restoration_after_the_annulation_left_is_told(world, settings):
    settings.NOTIFICATIONS_GRACE_SECONDS = 120
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    with time_machine.travel(SOON, tick=False):
        change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=world["paul"])
    with time_machine.travel(SOON + dt.timedelta(minutes=3), tick=False):
        (cancelled,) = to_agent(world["marie"])
        assert deliver_one(cancelled.pk).status == Status.SENT
        change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=world["paul"])
        _cancelled, restored = to_agent(world["marie"])
    assert (restored.event, restored.status) == (Event.CREATED, Status.PENDING)
    assert restored.subject == "RDV rétabli le mardi 5 mars 2030 à 9h30"
    assert "Paul Martin (agent) a rétabli ce RDV (« Indéterminé »)." in restored.body.splitlines()


def test_a_change_of_agents_tells_the_one_added_and_the_one_removed(world):
    marie, paul = world["marie"], world["paul"]
    claire = AgentFactory(organisation=world["organisation"], services=["PMI"], first_name="Claire")
    with time_machine.travel(FAR, tick=False):
        rdv = posed(world, by=marie, agents=[marie, claire])
        choose(marie, Level.ALL)
        modify(rdv, by=paul, agents=[claire, paul])
    assert [(row.event, row.subject) for row in to_agent(marie)] == [
        (Event.CANCELLED, "RDV retiré de votre agenda : le mardi 5 mars 2030 à 9h30")
    ]
    assert "Paul Martin (agent) vous a retiré de ce RDV." in to_agent(marie)[0].body
    # Paul did it himself, Claire is told only of what happens within 24 hours (the default).
    assert to_agent(paul) == [] and to_agent(claire) == []
    choose(claire, Level.OTHERS)
    choose(paul, Level.ALL)
    with time_machine.travel(FAR, tick=False):
        modify(rdv, by=marie, agents=[claire, paul], starts_at=at(10))
    (claire_row,) = to_agent(claire)
    assert "Marie Dupont (agent) a modifié ce RDV." in claire_row.body
    assert "Auparavant : mardi 5 mars 2030 à 9h30, MDS de Noisiel, Grande Allée des Bois, 77186 Noisiel" in (
        claire_row.body
    )
    assert "Date : mardi 5 mars 2030 à 10h00 (30 min)" in claire_row.body
    (paul_row,) = to_agent(paul)
    assert paul_row.subject == "RDV modifié : le mardi 5 mars 2030 à 10h00"


def test_an_agent_added_is_told_of_the_rdv(world):
    marie, paul = world["marie"], world["paul"]
    with time_machine.travel(FAR, tick=False):
        rdv = posed(world, by=marie)
        choose(paul, Level.OTHERS)
        modify(rdv, by=marie, agents=[marie, paul])
    (row,) = to_agent(paul)
    assert (row.event, row.subject) == (Event.CREATED, "Nouveau RDV le mardi 5 mars 2030 à 9h30")
    assert "Marie Dupont (agent) vous a ajouté à ce RDV." in row.body
    assert "Agents : Marie Dupont, Paul Martin" in row.body


def test_each_agent_gets_one_email_per_change(world):
    marie, paul = world["marie"], world["paul"]
    claire = AgentFactory(organisation=world["organisation"], services=["PMI"], first_name="Claire")
    choose(marie, Level.ALL)
    choose(claire, Level.ALL)
    with time_machine.travel(FAR, tick=False):
        rdv = posed(world, by=paul, agents=[marie, claire])
        modify(
            rdv, by=paul, starts_at=at(10), usagers=[world["ines"], UsagerFactory(organisation=world["organisation"])]
        )
    for agent in (marie, claire):
        assert [row.event for row in to_agent(agent)] == [Event.CREATED, Event.UPDATED]
    assert "Paul Martin (agent) a créé ce RDV avec vous." in to_agent(marie)[0].body


def test_notes_alone_tell_no_agent(world):
    marie = world["marie"]
    choose(marie, Level.ALL)
    with time_machine.travel(FAR, tick=False):
        rdv = posed(world, by=world["paul"])
        modify(rdv, by=world["paul"], notes="Apporter le carnet.")
    assert [row.event for row in to_agent(marie)] == [Event.CREATED]


def test_the_usagers_untold_the_agents_told(world):
    """« Prévenir les usagers » unticked concerns the usagers; the agents' choice stands."""
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    with time_machine.travel(SOON, tick=False):
        change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=world["paul"], notify_usagers=False)
    assert [row.event for row in to_agent(world["marie"])] == [Event.CANCELLED]
    assert not Notification.objects.filter(rdv=rdv, usager__isnull=False, event=Event.CANCELLED).exists()


def test_an_inactive_agent_gets_nothing(world):
    marie = world["marie"]
    marie.is_active = False
    marie.save(update_fields=["is_active"])
    with time_machine.travel(SOON, tick=False):
        booked_online(world)
    assert to_agent(marie) == []


def test_nothing_about_an_rdv_past(world):
    marie = world["marie"]
    with time_machine.travel(FAR, tick=False):
        rdv = booked_online(world)
    choose(marie, Level.ALL)
    with time_machine.travel(at(11), tick=False):
        change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=world["paul"])
    assert to_agent(marie) == []  # booked two days ahead: told of nothing by default


@pytest.mark.parametrize("what", ["started", "deleted"])
def test_an_email_to_an_agent_is_dropped_once_the_rdv_started_or_was_deleted(world, what):
    marie = world["marie"]
    with time_machine.travel(SOON, tick=False):
        rdv = booked_online(world)
        (row,) = to_agent(marie)
        if what == "deleted":
            delete_rdv(rdv=rdv, by=world["paul"])
    with time_machine.travel(at(9, 30) if what == "started" else SOON, tick=False):
        row = deliver_one(row.pk)
    assert row.status == Status.DROPPED
    expected = "Le RDV a commencé avant l'envoi." if what == "started" else "Le RDV a été supprimé avant l'envoi."
    assert row.last_error == expected


def test_an_email_to_an_agent_leaves_as_written_even_if_the_rdv_changed(world):
    marie = world["marie"]
    choose(marie, Level.ALL)
    with time_machine.travel(FAR, tick=False):
        rdv = posed(world, by=world["paul"])
        (row,) = to_agent(marie)
        modify(rdv, by=world["paul"], starts_at=at(11))
    with time_machine.travel(FAR + dt.timedelta(minutes=3), tick=False):
        sent = deliver_one(row.pk)
    assert (sent.status, sent.subject, sent.body) == (Status.SENT, row.subject, row.body)


def test_an_agents_email_waiting_its_grace_period_is_not_released_by_another(world, settings):
    settings.NOTIFICATIONS_GRACE_SECONDS = 120
    marie = world["marie"]
    choose(marie, Level.ALL)
    with time_machine.travel(FAR, tick=False):
        rdv = posed(world, by=world["paul"])
    with time_machine.travel(FAR + dt.timedelta(minutes=1), tick=False):
        modify(rdv, by=world["paul"], starts_at=at(11))
    created, updated = to_agent(marie)
    with time_machine.travel(FAR + dt.timedelta(minutes=2, seconds=1), tick=False):
        assert deliver_one(created.pk).status == Status.SENT
    updated.refresh_from_db()
    assert (updated.status, updated.next_attempt_at) == (Status.PENDING, FAR + dt.timedelta(minutes=3))


def test_the_usagers_threads_never_count_the_agents_emails(world):
    with time_machine.travel(SOON, tick=False):
        rdv = booked_online(world)
    usager_row = Notification.objects.get(rdv=rdv, usager=world["ines"])
    (agent_row,) = to_agent(world["marie"])
    assert list(Notification.objects.same_thread(usager_row)) == [usager_row]
    assert list(Notification.objects.same_thread(agent_row)) == [agent_row]
    # An usager's row whose usager was since deleted (its `usager` emptied) is no agent's either.
    Notification.objects.filter(pk=usager_row.pk).update(usager=None)
    usager_row.refresh_from_db()
    assert list(Notification.objects.same_thread(usager_row)) == [usager_row]


def test_the_rdvs_page_lists_the_agents_emails_with_their_names(client, world):
    with time_machine.travel(SOON, tick=False):
        rdv = booked_online(world)
        client.force_login(world["paul"])
        response = client.get(
            reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})
        )
    html = response.content.decode()
    assert "Marie Dupont (agent)" in html
    assert "Notifications envoyées aux usagers et aux agents au sujet de ce RDV" in html
