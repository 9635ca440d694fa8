"""An usager's own operations (rendezvous.online): booking a créneau with a free agent, never
twice the same agent at the same time even under 20 simultaneous confirmations, a double click
booking once, cancelling and moving within the organisation's limit, the history naming the
usager."""

import datetime as dt
from functools import partial

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from planning.locks import hold_agents_time
from rendezvous.history import rdv_history
from rendezvous.models import Rdv
from rendezvous.online import (
    AlreadyBooked,
    TooLate,
    book,
    busy_and_twin,
    can_change,
    cancel,
    claim_offered,
    move,
    unbusy_agents,
)
from rendezvous.services import SlotTaken
from tests.agents.factories import AgentFactory
from tests.helpers import at_once, held_elsewhere
from tests.motifs.factories import MotifFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import DAY, at
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]


@pytest.fixture
def online_motif(organisation):
    return MotifFactory(organisation=organisation, online=True, category__name="Consultation de puériculture")


@pytest.fixture
def two_agents(organisation, online_motif, lieu):
    """Two agents with a plage on DAY, 9:00 to 12:00, at the same lieu."""
    agents = sorted((AgentFactory(organisation=organisation, services=["PMI"]) for _ in range(2)), key=lambda a: a.pk)
    for agent in agents:
        PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[online_motif], first_day=DAY)
    return agents


def test_book_takes_the_first_free_agent_then_the_next(organisation, online_motif, lieu, two_agents, usager):
    start = at(organisation, DAY, 9, 30)
    first = book(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token="a")
    second = book(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token="b")
    assert [list(rdv.agents.all()) for rdv in (first, second)] == [[two_agents[0]], [two_agents[1]]]
    assert (first.created_by, first.created_by_agent, first.booking_token) == (Rdv.CreatedBy.USAGER, None, "a")
    assert [p.usager for p in first.participations.all()] == [usager]
    with pytest.raises(SlotTaken):
        book(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token="c")
    assert Rdv.objects.count() == 2


def test_book_keeps_to_the_agents_the_sectorisation_allows(organisation, online_motif, lieu, two_agents, usager):
    start = at(organisation, DAY, 10)
    rdv = book(
        motif=online_motif, start=start, lieu=lieu, usagers=[usager], agent_ids=[two_agents[1].pk], booking_token="x"
    )
    assert list(rdv.agents.all()) == [two_agents[1]]
    with pytest.raises(SlotTaken):
        book(
            motif=online_motif,
            start=start,
            lieu=lieu,
            usagers=[usager],
            agent_ids=[two_agents[1].pk],
            booking_token="y",
        )


def test_a_time_never_offered_is_refused(organisation, online_motif, lieu, two_agents, usager):
    for start in (at(organisation, DAY, 9, 10), at(organisation, DAY, 13), at(organisation, DAY, 8, 30)):
        with pytest.raises(SlotTaken):
            book(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token=f"t{start:%H%M}")
    assert not Rdv.objects.exists()


def test_a_replayed_form_books_once(organisation, online_motif, lieu, two_agents, usager):
    rdv = book(motif=online_motif, start=at(organisation, DAY, 11), lieu=lieu, usagers=[usager], booking_token="same")
    with pytest.raises(AlreadyBooked) as raised:
        book(motif=online_motif, start=at(organisation, DAY, 11), lieu=lieu, usagers=[usager], booking_token="same")
    assert raised.value.rdv == rdv
    assert Rdv.objects.count() == 1


def test_the_possible_agents_all_busy_refuse_in_one_query_and_one_free_is_enough(
    organisation, online_motif, lieu, two_agents, usager, django_assert_num_queries
):
    """`unbusy_agents` answers « taken » without computing the créneaux only when every agent who
    could take it holds an RDV then; a cancelled RDV holds no one, a RDV ending at the start
    neither."""
    start, ids = at(organisation, DAY, 9, 30), [agent.pk for agent in two_agents]
    end = start + dt.timedelta(minutes=30)
    RdvFactory(organisation=organisation, agents=[two_agents[0]], starts_at=start - dt.timedelta(minutes=15))
    RdvFactory(organisation=organisation, agents=[two_agents[1]], starts_at=start - dt.timedelta(minutes=30))
    RdvFactory(organisation=organisation, agents=[two_agents[1]], starts_at=start, status=Rdv.Status.EXCUSED)
    read = busy_and_twin(ids, start, end, "one free")
    assert (read.busy, read.held, read.twin, read.twin_booking) == ({two_agents[0].pk}, set(), None, False)
    assert unbusy_agents(ids, start, end, "one free") == [two_agents[1].pk]
    RdvFactory(organisation=organisation, agents=[two_agents[1]], starts_at=start + dt.timedelta(minutes=20))
    with django_assert_num_queries(1), pytest.raises(SlotTaken):  # the agents' RDVs and the token
        unbusy_agents(ids, start, end, "none free")
    with pytest.raises(SlotTaken):
        unbusy_agents([], start, end, "nobody")
    # A replayed form is recognised before: its own RDV makes its agent busy.
    rdv = RdvFactory(organisation=organisation, agents=[two_agents[0]], starts_at=start, booking_token="mine")
    with pytest.raises(AlreadyBooked) as raised:
        unbusy_agents(ids, start, end, "mine")
    assert raised.value.rdv == rdv


def test_a_form_replayed_while_another_agent_is_free_gets_its_rdv_before_any_lock(
    organisation, online_motif, lieu, two_agents, usager, django_assert_num_queries
):
    """The form booked the first agent; replayed, the second is still free: its own RDV, in the
    one query that reads the token, neither a second RDV nor the second agent's time held."""
    start, ids = at(organisation, DAY, 9, 30), [agent.pk for agent in two_agents]
    rdv = book(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token="replayed")
    with django_assert_num_queries(2), pytest.raises(AlreadyBooked) as raised:  # the token, its RDV
        unbusy_agents(ids, start, start + dt.timedelta(minutes=30), "replayed")
    assert raised.value.rdv == rdv
    assert Rdv.objects.count() == 1


def free_now(ids, start, end, token="probe") -> list[int] | SlotTaken:
    try:
        return unbusy_agents(ids, start, end, token)
    except SlotTaken as taken:
        return taken


@pytest.mark.django_db(transaction=True)
def test_a_time_another_confirmation_is_booking_is_taken_in_the_one_query(
    organisation, online_motif, lieu, two_agents, usager
):
    """While another transaction holds an agent's time to book it, `unbusy_agents` counts that
    agent taken, as `claim` would, from pg_locks and without taking anything: « taken » in its one
    query when both agents are held. A time held next to the créneau, or only shared (the hour
    of a shorter time), holds nothing; a whole hour held (a long RDV) holds every créneau in it.
    Nothing is taken by reading: the other's time stays its own."""
    first, second = two_agents
    ids, start = [first.pk, second.pk], at(organisation, DAY, 9, 30)
    end = start + dt.timedelta(minutes=30)
    with held_elsewhere([first.pk], (start, end)):
        assert free_now(ids, start, end) == [second.pk]
    with held_elsewhere(ids, (start + dt.timedelta(minutes=25), end + dt.timedelta(minutes=25))):
        with CaptureQueriesContext(connection) as queries:
            assert isinstance(free_now(ids, start, end), SlotTaken)
        assert len(queries) == 1
        assert run_alone(lambda: hold_time_now([first.pk], start)) is False
    with held_elsewhere(ids, (end, end + dt.timedelta(minutes=30)), (start - dt.timedelta(minutes=30), start)):
        assert free_now(ids, start, end) == ids
    with held_elsewhere(ids, (at(organisation, DAY, 9), at(organisation, DAY, 9, 7))):
        assert free_now(ids, start, end) == ids  # 9:00–9:07: the hour shared, other minutes
    with held_elsewhere(ids, (at(organisation, DAY, 9), at(organisation, DAY, 11))):
        assert isinstance(free_now(ids, start, end), SlotTaken)
    assert free_now(ids, start, end) == ids


@pytest.mark.django_db(transaction=True)
def test_the_agent_this_forms_twin_is_booking_is_left_to_claim(organisation, online_motif, lieu, two_agents, usager):
    """A double click: the first request holds the token and its agent's time. For the second,
    that agent is not « taken »: `claim` waits for the twin and gives its RDV. For another form,
    it is."""
    first, second = two_agents
    ids, start = [first.pk, second.pk], at(organisation, DAY, 9, 30)
    end = start + dt.timedelta(minutes=30)
    with held_elsewhere([first.pk], (start, end), booking_token="click"):
        assert busy_and_twin(ids, start, end, "click").twin_booking
        assert free_now(ids, start, end, "click") == ids
        assert free_now(ids, start, end, "another form") == [second.pk]
        assert not busy_and_twin(ids, start, end, "another form").twin_booking


def claimed_for(usager, online_motif, lieu, start, candidates, token) -> tuple[object, list[str]]:
    """`claim_offered` in a transaction of its own (rolled back: nothing booked), in a thread of
    its own (never waiting: `run_alone`): the agent it held or what it raised, and its queries."""

    def call():
        with CaptureQueriesContext(connection) as queries:
            try:
                with transaction.atomic():
                    outcome: object = claim_offered(
                        motif=online_motif,
                        start=start,
                        lieu=lieu,
                        usager=usager,
                        candidates=candidates,
                        booking_token=token,
                    )
                    transaction.set_rollback(True)
            except (SlotTaken, AlreadyBooked) as error:
                outcome = error
        return outcome, [query["sql"] for query in queries]

    return run_alone(call)


@pytest.mark.django_db(transaction=True)
def test_a_time_being_booked_is_refused_before_the_creneaux_are_computed(
    organisation, online_motif, lieu, two_agents, usager
):
    """Both agents' time held by other confirmations (their RDVs not committed yet): « taken » at
    once, from the locks alone, without the engine's queries (plages, absences, RDVs)."""
    start, ids = at(organisation, DAY, 9, 30), [agent.pk for agent in two_agents]
    with held_elsewhere(ids, (start, start + dt.timedelta(minutes=30))):
        outcome, queries = claimed_for(usager, online_motif, lieu, start, ids, "racing")
    assert isinstance(outcome, SlotTaken)
    assert not any("planning_" in sql for sql in queries)
    # BEGIN; a savepoint (to release an agent the engine does not offer); the token's lock; for
    # each agent, a savepoint, its time tried, rolled back to and released; the token's RDV;
    # ROLLBACK.
    assert len(queries) == 13


@pytest.mark.parametrize("only_first", [False, True], ids=["both candidates", "the first alone"])
@pytest.mark.django_db(transaction=True)
def test_an_agent_not_offered_is_released_for_one_who_is(
    organisation, online_motif, lieu, two_agents, usager, only_first
):
    """The first agent holds no RDV then but is absent: held first, the engine does not offer it,
    its time is released (another confirmation may hold it at once) and the second agent taken;
    also when the second was not a candidate (busy when they were read, its RDV cancelled since)."""
    first, second = two_agents
    start = at(organisation, DAY, 9, 30)
    candidates = [first.pk] if only_first else [first.pk, second.pk]
    AbsenceFactory(organisation=organisation, agent=first, first_day=DAY, start_time=dt.time(9), end_time=dt.time(12))
    outcome, _queries = claimed_for(usager, online_motif, lieu, start, candidates, "absent")
    assert outcome == second
    with transaction.atomic():
        claim_offered(
            motif=online_motif, start=start, lieu=lieu, usager=usager, candidates=candidates, booking_token="t"
        )
        assert run_alone(lambda: hold_time_now([first.pk], start)) is True
        assert run_alone(lambda: hold_time_now([second.pk], start)) is False
    assert not Rdv.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_follow_up_holds_only_the_usagers_referent(organisation, lieu, two_agents, usager):
    """« RDV de suivi »: each usager has its own référents. The usager whose référent is the
    second agent never tries the first one's time, not even while the engine checks (the engine
    first there): another usager, whose référent the first is, would hear « taken » while it is
    free. Both book at the same time."""
    first, second = two_agents
    motif = MotifFactory(organisation=organisation, online=True, follow_up=True)
    for agent in two_agents:
        PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[motif], first_day=DAY)
    mine = UsagerFactory(organisation=organisation, referents=[second])
    theirs = UsagerFactory(organisation=organisation, referents=[first])
    start, candidates = at(organisation, DAY, 9, 30), [first.pk, second.pk]
    held, queries = claimed_for(mine, motif, lieu, start, candidates, "mine")
    assert held == second
    tried = [n for n, sql in enumerate(queries) if "pg_try_advisory_xact_lock_shared" in sql]
    engine = [n for n, sql in enumerate(queries) if "planning_plageouverture" in sql]
    assert len(tried) == 1 and engine and engine[0] < tried[0]
    with transaction.atomic():
        claim_offered(motif=motif, start=start, lieu=lieu, usager=mine, candidates=candidates, booking_token="mine")
        other, _queries = claimed_for(theirs, motif, lieu, start, candidates, "theirs")
        assert other == first


def hold_time_now(agent_ids, start):
    """Whether another transaction could hold the agents' time at `start` at once."""
    with transaction.atomic():
        return hold_agents_time(agent_ids, (start, start + dt.timedelta(minutes=30)), wait=False)


def test_a_motif_not_bookable_online_books_nothing(organisation, lieu, basic_agent, usager):
    motif = MotifFactory(organisation=organisation)
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu, motifs=[motif], first_day=DAY)
    with pytest.raises(SlotTaken):
        book(motif=motif, start=at(organisation, DAY, 9, 30), lieu=lieu, usagers=[usager], booking_token="z")


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_confirmations_of_one_slot_book_one_rdv_per_agent(organisation, online_motif, lieu, usager):
    """20 usagers confirm 9:30 at the same instant, with one agent free: exactly one RDV, every
    other confirmation SlotTaken, no deadlock, no other error."""
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[online_motif], first_day=DAY)
    usagers = [UsagerFactory(organisation=organisation) for _ in range(20)]
    start = at(organisation, DAY, 9, 30)

    def confirm(index: int) -> str:
        book(motif=online_motif, start=start, lieu=lieu, usagers=[usagers[index]], booking_token=f"t{index}")
        return "booked"

    outcomes = [
        "taken" if isinstance(outcome, SlotTaken) else repr(outcome) if isinstance(outcome, Exception) else outcome
        for outcome in at_once(*(partial(confirm, index) for index in range(len(usagers))))
    ]
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    assert Rdv.objects.count() == 1
    assert list(Rdv.objects.get().agents.all()) == [agent]


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_never_waits_for_another_booking_the_time(organisation, online_motif, lieu, two_agents, usager):
    """Another transaction holds the first agent's time (booking it, not committed yet): the
    confirmation takes the second agent at once; with both held, « taken » at once. Nothing
    waits: a thread that waited would still be running when the other transaction ends."""
    first, second = two_agents
    start = at(organisation, DAY, 9, 30)
    later = start + dt.timedelta(minutes=30)
    booked = {"motif": online_motif, "lieu": lieu, "usagers": [usager]}
    with held_elsewhere([first.pk], (start, later)):
        rdv = run_alone(lambda: book(**booked, start=start, booking_token="a"))
        assert list(rdv.agents.all()) == [second]
    with held_elsewhere([first.pk, second.pk], (later, later + dt.timedelta(minutes=30))), pytest.raises(SlotTaken):
        run_alone(lambda: book(**booked, start=later, booking_token="b"))
    assert Rdv.objects.count() == 1


def run_alone(call):
    """`call()` in a thread of its own, given 10 s: what it returned, or raised."""
    (outcome,) = at_once(call, timeout=10)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def two_clicks_at_once(**booked) -> list[object]:
    """`book(**booked)` from two threads released together: what each got (the RDV booked or
    already booked, or the error)."""
    return [
        outcome.rdv
        if isinstance(outcome, AlreadyBooked)
        else repr(outcome)
        if isinstance(outcome, Exception)
        else outcome
        for outcome in at_once(lambda: book(**booked), lambda: book(**booked))
    ]


@pytest.mark.django_db(transaction=True)
def test_a_double_click_at_the_same_instant_books_once(organisation, online_motif, lieu, two_agents, usager):
    start = at(organisation, DAY, 9)
    outcomes = two_clicks_at_once(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token="click")
    assert Rdv.objects.count() == 1
    assert outcomes == [Rdv.objects.get()] * 2


def test_cancel_within_the_limit_is_recorded_as_the_usagers(organisation, online_motif, lieu, two_agents, usager):
    rdv = book(motif=online_motif, start=at(organisation, DAY, 9), lieu=lieu, usagers=[usager], booking_token="c")
    cancel(rdv=rdv)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED
    assert [entry.author for entry in rdv_history(rdv)] == ["l'usager", "l'usager"]


def test_cancel_past_the_limit_is_refused(organisation, online_motif, lieu, two_agents, usager):
    rdv = book(motif=online_motif, start=at(organisation, DAY, 9), lieu=lieu, usagers=[usager], booking_token="c")
    with time_machine.travel(at(organisation, DAY, 5, 1), tick=False):
        assert not can_change(rdv)
        with pytest.raises(TooLate):
            cancel(rdv=rdv)
    with time_machine.travel(at(organisation, DAY, 4, 59), tick=False):
        assert can_change(rdv)
    organisation.usager_cancel_limit_hours = 240  # ten days: already past
    organisation.save()
    assert not can_change(Rdv.objects.select_related("organisation").get(pk=rdv.pk))
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN


def test_move_replaces_atomically(organisation, online_motif, lieu, usager):
    """One agent: moving 9:00 to 9:15 (overlapping its own time) works; moving to a time taken
    meanwhile changes nothing."""
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[online_motif], first_day=DAY)
    rdv = book(motif=online_motif, start=at(organisation, DAY, 9), lieu=lieu, usagers=[usager], booking_token="m1")
    RdvFactory(organisation=organisation, agents=[agent], starts_at=at(organisation, DAY, 11))
    with pytest.raises(SlotTaken):
        move(rdv=rdv, start=at(organisation, DAY, 11), booking_token="m2")
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN
    assert Rdv.objects.count() == 2

    moved = move(rdv=rdv, start=at(organisation, DAY, 9, 30), booking_token="m3")
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED
    assert (moved.starts_at, list(moved.agents.all()), moved.lieu) == (at(organisation, DAY, 9, 30), [agent], lieu)
    assert [p.usager for p in moved.participations.all()] == [usager]


def test_move_past_the_limit_is_refused(organisation, online_motif, lieu, two_agents, usager):
    rdv = book(motif=online_motif, start=at(organisation, DAY, 9), lieu=lieu, usagers=[usager], booking_token="l1")
    with time_machine.travel(at(organisation, DAY, 6), tick=False), pytest.raises(TooLate):
        move(rdv=rdv, start=at(organisation, DAY, 10), booking_token="l2")
    assert Rdv.objects.count() == 1


def test_the_limit_is_in_hours_before_the_start(organisation, online_motif, lieu, two_agents, usager):
    rdv = book(motif=online_motif, start=at(organisation, DAY, 9), lieu=lieu, usagers=[usager], booking_token="h")
    assert rdv.starts_at - dt.timedelta(hours=organisation.usager_cancel_limit_hours) == at(organisation, DAY, 5)


def test_a_move_sends_one_message_per_channel(organisation, online_motif, lieu, two_agents):
    """The new RDV's confirmation, not also the old one's annulation (the seed's complaint: a move
    reached a family as a flurry of messages)."""
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = book(motif=online_motif, start=at(organisation, DAY, 9), lieu=lieu, usagers=[usager], booking_token="n1")
    rdv.notifications.update(status="sent")  # the family knows of it
    moved = move(rdv=rdv, start=at(organisation, DAY, 10), booking_token="n2")
    assert not rdv.notifications.filter(usager=usager).exclude(status="sent").exists()
    to_usager = moved.notifications.filter(usager=usager)
    assert sorted(to_usager.values_list("event", "channel")) == [("created", "email"), ("created", "sms")]


@pytest.mark.django_db(transaction=True)
def test_a_double_click_on_the_only_agent_gives_both_clicks_the_rdv(organisation, online_motif, lieu, usager):
    """One agent: the second click waits for the first (the lock on their token), then finds the
    agent busy, with its own RDV: it answers that RDV, never « taken »."""
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[online_motif], first_day=DAY)
    start = at(organisation, DAY, 10)
    outcomes = two_clicks_at_once(motif=online_motif, start=start, lieu=lieu, usagers=[usager], booking_token="one")
    assert outcomes == [Rdv.objects.get()] * 2
