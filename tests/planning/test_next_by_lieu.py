"""`next_availability_by_lieu`: « Prochaine disponibilité » of every lieu at once (the lieu step of
online booking), the same answer as `next_availability` asked lieu by lieu, in a number of queries
that does not depend on the number of lieux; `next_availabilities`: the same for the motifs of
several organisations read at once (a card of online booking), what each motif's own read answers,
in a number of queries that does not depend on the number of organisations."""

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import Agent
from motifs.models import Motif
from organisations.models import Lieu
from planning.creneaux import next_availabilities, next_availability, next_availability_by_lieu
from planning.slots import Slot
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.helpers import at
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

MONDAY = dt.date(2030, 6, 3)
NOW = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
HORIZON = at(MONDAY, 0) + dt.timedelta(weeks=10)
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
PENTECOST_MONDAY = MONDAY + dt.timedelta(weeks=1)  # 10 June 2030, a public holiday
Delay = Motif.BookingDelay


def loaded(motif: Motif) -> Motif:
    """As the pages load it: with its organisation and territory (no query for them)."""
    return Motif.objects.select_related("organisation__territory").get(pk=motif.pk)


def weekly(organisation, motif, lieu, *, weekday=0, hour=9, agent=None, first_day=MONDAY, **extra):
    return PlageOuvertureFactory(
        organisation=organisation,
        agent=agent or AgentFactory(organisation=organisation),
        motifs=[motif],
        lieu=lieu,
        first_day=first_day,
        weekly=True,
        weekdays=(weekday,),
        start_time=dt.time(hour),
        end_time=dt.time(hour + 2),
        **extra,
    )


@pytest.mark.parametrize("seed", range(4))
def test_each_lieu_gets_what_next_availability_answers_for_it_alone(organisation, seed):
    """Agents working at several lieux, weeks filled with RDVs, absences: wherever each lieu's
    first slot lies (this week, in a later window, nowhere), it is the one found lieu by lieu."""
    rng = random.Random(seed)
    motif = loaded(MotifFactory(organisation=organisation, default_duration_in_min=rng.choice([30, 45]), online=True))
    lieux = [LieuFactory(organisation=organisation) for _ in range(4)]
    agents = [AgentFactory(organisation=organisation) for _ in range(3)]
    for agent in agents:
        for lieu in rng.sample(lieux[:3], 2):  # the fourth lieu receives nobody
            weekly(organisation, motif, lieu, weekday=rng.randrange(5), hour=rng.choice([9, 14]), agent=agent)
        # Whole days taken, week after week, up to a random week.
        for week in range(rng.randrange(8)):
            for day in range(5):
                RdvFactory(
                    organisation=organisation,
                    motif=motif,
                    agents=[agent],
                    lieu=None,
                    starts_at=at(MONDAY + dt.timedelta(weeks=week, days=day), 8),
                    duration_in_min=10 * 60,
                )
        if rng.random() < 0.5:
            AbsenceFactory(organisation=organisation, agent=agent, first_day=MONDAY + dt.timedelta(weeks=8), days=7)
    for after in (at(MONDAY, 0), at(MONDAY, 0) + dt.timedelta(days=rng.randrange(30), hours=rng.randrange(24))):
        for online in (False, True):
            found = next_availability_by_lieu(motif=motif, after=after, now=NOW, horizon=HORIZON, online=online)
            expected = {}
            for lieu in lieux:
                alone = next_availability(
                    motif=motif, after=after, lieux=[lieu], now=NOW, horizon=HORIZON, online=online
                )
                if alone is not None:
                    expected[lieu.pk] = alone
            assert found == expected
            assert lieux[3].pk not in found


def test_lieux_with_nothing_are_left_out(organisation):
    motif = loaded(MotifFactory(organisation=organisation))
    open_lieu, later, archived = (LieuFactory(organisation=organisation) for _ in range(3))
    weekly(organisation, motif, open_lieu, weekday=1)
    weekly(organisation, motif, later, first_day=MONDAY + dt.timedelta(weeks=20))
    archived.is_active = False
    archived.save(update_fields=["is_active"])
    weekly(organisation, motif, archived)
    found = next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), now=NOW, horizon=HORIZON)
    assert list(found) == [open_lieu.pk]
    assert found[open_lieu.pk].start == at(MONDAY + dt.timedelta(days=1), 9)


def test_plages_without_a_lieu_are_keyed_none(organisation):
    motif = loaded(MotifFactory(organisation=organisation, phone=True))
    weekly(organisation, motif, None, weekday=2)
    found = next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), now=NOW, horizon=HORIZON)
    assert list(found) == [None]
    assert found[None].start == at(MONDAY + dt.timedelta(days=2), 9)


def test_only_the_agents_asked(organisation):
    motif = loaded(MotifFactory(organisation=organisation))
    lieu, other_lieu = LieuFactory(organisation=organisation), LieuFactory(organisation=organisation)
    asked = weekly(organisation, motif, lieu, weekday=3).agent
    weekly(organisation, motif, lieu, weekday=0)
    weekly(organisation, motif, other_lieu, weekday=0)
    found = next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), agents=[asked], now=NOW, horizon=HORIZON)
    assert {lieu_id: slot.start for lieu_id, slot in found.items()} == {lieu.pk: at(MONDAY + dt.timedelta(days=3), 9)}
    assert next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), agents=[], now=NOW, horizon=HORIZON) == {}


def test_online_a_follow_up_offers_only_the_referents(organisation):
    motif = loaded(MotifFactory(organisation=organisation, online=True, follow_up=True))
    lieu = LieuFactory(organisation=organisation)
    referent = weekly(organisation, motif, lieu, weekday=4).agent
    weekly(organisation, motif, lieu, weekday=0)
    usager = UsagerFactory(organisation=organisation, referents=[referent])
    found = next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), online=True, usager=usager, now=NOW)
    assert found[lieu.pk].start == at(MONDAY + dt.timedelta(days=4), 9)
    assert next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), online=True, now=NOW) == {}
    stranger = UsagerFactory(organisation=organisation)
    assert next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), online=True, usager=stranger, now=NOW) == {}


@pytest.mark.parametrize("count", [2, 10])
def test_queries_depend_on_how_far_the_slots_are_not_on_the_number_of_lieux(organisation, count):
    motif = loaded(MotifFactory(organisation=organisation))
    lieux = [LieuFactory(organisation=organisation) for _ in range(count)]
    for index, lieu in enumerate(lieux):
        # The last lieu opens in three weeks: the second window (weeks 2 and 3) is read for it.
        first_day = MONDAY + dt.timedelta(weeks=2) if index == count - 1 else MONDAY
        weekly(organisation, motif, lieu, weekday=index % 5, first_day=first_day)
    with CaptureQueriesContext(connection) as queries:
        found = next_availability_by_lieu(motif=motif, after=at(MONDAY, 0), now=NOW, horizon=HORIZON)
    assert len(found) == count
    # Plages, their exceptions, the absences; the RDVs of the first week, then of the next two.
    assert len(queries) == 5
    assert [query["sql"].count("rendezvous_rdv_agents") for query in queries] == [0, 0, 0, 1, 1]


# Several motifs at once: the motifs of one card, one per organisation.


def one_by_one(motifs, *, per_lieu, agents=None, **asked):
    """What each motif's own read answers, as `next_availabilities` gives it."""
    found = {}
    for motif in motifs:
        agents_of_motif = (agents or {}).get(motif.pk)
        if per_lieu:
            found[motif.pk] = next_availability_by_lieu(motif=motif, agents=agents_of_motif, **asked)
        else:
            slot = next_availability(motif=motif, agents=agents_of_motif, **asked)
            found[motif.pk] = {} if slot is None else {slot.lieu_id: slot}
    return found


def card_motif(organisation, category, **fields):
    return loaded(MotifFactory(organisation=organisation, category=category, online=True, **fields))


def member_of_both(first, second):
    agent = AgentFactory(organisation=first)
    AgentRoleFactory(agent=agent, organisation=second)
    return agent


@pytest.mark.parametrize("seed", range(4))
def test_every_motif_read_at_once_finds_what_it_finds_alone(db, seed):
    """Three organisations (one in La Réunion, one open on public holidays), each its motif with
    its own duration and delays, agents of two organisations busy in the other one, plages half
    taken week after week, absences: read together, every motif's first slots (per lieu, or the
    first of all) are those its own read finds, online or not, whatever agents are asked."""
    rng = random.Random(seed)
    paris = OrganisationFactory()
    open_on_holidays = OrganisationFactory(close_on_public_holidays=False)
    reunion = OrganisationFactory(territory=TerritoryFactory(reunion=True), close_on_public_holidays=rng.random() < 0.5)
    organisations = [paris, open_on_holidays, reunion]
    category = MotifCategoryFactory()
    motifs = [
        card_motif(
            organisation,
            category,
            default_duration_in_min=rng.choice([20, 30, 45]),
            min_booking_delay=rng.choice([Delay.HALF_HOUR, Delay.TWO_DAYS, Delay.ONE_WEEK, Delay.TWO_WEEKS]),
            max_booking_delay=rng.choice([Delay.ONE_MONTH, Delay.THREE_MONTHS]),
        )
        for organisation in organisations
    ]
    motif_of = {motif.organisation_id: motif for motif in motifs}
    lieux = {
        organisation.pk: [LieuFactory(organisation=organisation) for _ in range(2)] for organisation in organisations
    }
    # (agent, its organisations): two of each, and one of Paris and La Réunion, one of Paris and the other.
    agents = [
        (AgentFactory(organisation=organisation), [organisation]) for organisation in organisations for _ in range(2)
    ]
    agents += [
        (member_of_both(paris, reunion), [paris, reunion]),
        (member_of_both(open_on_holidays, paris), [open_on_holidays, paris]),
    ]
    for agent, memberships in agents:
        for organisation in memberships:
            for _ in range(2):
                weekday, hour = rng.randrange(5), rng.choice([9, 14])
                motif = motif_of[organisation.pk]
                weekly(organisation, motif, rng.choice(lieux[organisation.pk]), weekday=weekday, hour=hour, agent=agent)
                # Part of the plage taken, up to a random week, by an RDV of any of its organisations.
                for week in range(rng.randrange(7)):
                    elsewhere = rng.choice(memberships)
                    RdvFactory(
                        organisation=elsewhere,
                        motif=motif_of[elsewhere.pk],
                        agents=[agent],
                        lieu=None,
                        starts_at=at(MONDAY + dt.timedelta(weeks=week, days=weekday), hour, tz=organisation.tzinfo),
                        duration_in_min=rng.choice([40, 60, 120]),
                    )
        if rng.random() < 0.5:
            first_day = MONDAY + dt.timedelta(weeks=rng.randrange(8))
            AbsenceFactory(organisation=memberships[0], agent=agent, first_day=first_day, days=7)
    some = {motifs[0].pk: [agent.pk for agent, memberships in agents if paris in memberships][::2]}
    after_some_days = at(MONDAY, 0) + dt.timedelta(days=rng.randrange(30), hours=rng.randrange(24))
    for after in (at(MONDAY, 0), after_some_days):
        for online, horizon in ((False, HORIZON), (True, None)):
            for per_lieu in (True, False):
                for asked_agents in (None, some):
                    asked = {"after": after, "online": online, "now": NOW, "horizon": horizon}
                    found = next_availabilities(motifs=motifs, agents=asked_agents, per_lieu=per_lieu, **asked)
                    assert found == one_by_one(motifs, per_lieu=per_lieu, agents=asked_agents, **asked)


@dataclass(frozen=True)
class TwoOrganisations:
    at_paris: Motif
    at_reunion: Motif
    agent: Agent
    paris_lieu: Lieu
    reunion_lieu: Lieu


@pytest.fixture
def card(db) -> TwoOrganisations:
    """One agent working for an organisation of Paris and one of La Réunion (open on public
    holidays), on Mondays from 9:00 to 11:00, each in its own time zone (7:00 to 9:00 in Paris
    for La Réunion's); each organisation its motif of the same category, with its own duration
    and minimum delay."""
    paris = OrganisationFactory()
    reunion = OrganisationFactory(territory=TerritoryFactory(reunion=True), close_on_public_holidays=False)
    category = MotifCategoryFactory()
    at_paris = card_motif(paris, category, default_duration_in_min=45, min_booking_delay=Delay.ONE_WEEK)
    at_reunion = card_motif(reunion, category, default_duration_in_min=20, min_booking_delay=Delay.ONE_HOUR)
    agent = member_of_both(paris, reunion)
    paris_lieu, reunion_lieu = LieuFactory(organisation=paris), LieuFactory(organisation=reunion)
    weekly(paris, at_paris, paris_lieu, agent=agent)
    weekly(reunion, at_reunion, reunion_lieu, agent=agent)
    return TwoOrganisations(at_paris, at_reunion, agent, paris_lieu, reunion_lieu)


def test_each_organisation_keeps_its_time_zone_closed_days_duration_and_delays(card):
    # The agent is busy for Paris's motif the first Monday in La Réunion (an RDV of the Paris
    # organisation), and for La Réunion's motif the third Monday in Paris.
    RdvFactory(
        organisation=card.at_paris.organisation,
        motif=card.at_paris,
        agents=[card.agent],
        lieu=None,
        starts_at=at(MONDAY, 9, tz=REUNION),
        duration_in_min=120,
    )
    third_monday = MONDAY + dt.timedelta(weeks=2)
    RdvFactory(
        organisation=card.at_reunion.organisation,
        motif=card.at_reunion,
        agents=[card.agent],
        lieu=None,
        starts_at=at(third_monday, 9),
        duration_in_min=30,
    )
    motifs = [card.at_paris, card.at_reunion]
    found = next_availabilities(motifs=motifs, after=NOW, online=True, now=NOW)
    paris_slot = Slot(at(third_monday, 9, 30), at(third_monday, 10, 15), card.agent.pk, card.paris_lieu.pk)
    reunion_slot = Slot(
        at(PENTECOST_MONDAY, 9, tz=REUNION),
        at(PENTECOST_MONDAY, 9, 20, tz=REUNION),
        card.agent.pk,
        card.reunion_lieu.pk,
    )
    assert found == {
        # Paris: not before a week, closed on Pentecost Monday; 45 minutes from the RDV's end.
        card.at_paris.pk: {card.paris_lieu.pk: paris_slot},
        # La Réunion: the first Monday taken; open on Pentecost Monday, at 9:00 there.
        card.at_reunion.pk: {card.reunion_lieu.pk: reunion_slot},
    }
    assert found[card.at_reunion.pk][card.reunion_lieu.pk].start.isoformat() == "2030-06-10T09:00:00+04:00"
    assert found == one_by_one(motifs, per_lieu=True, after=NOW, online=True, now=NOW)
    assert next_availabilities(motifs=motifs, after=NOW, per_lieu=False, online=True, now=NOW) == found


def test_an_agent_busy_in_any_organisation_is_busy_for_every_motif(card):
    # In a third organisation: the second Monday (before Paris's minimum delay, so only La
    # Réunion's motif reads it) from 9:00 in La Réunion, the third from 9:00 in Paris.
    RdvFactory(agents=[card.agent], lieu=None, starts_at=at(PENTECOST_MONDAY, 9, tz=REUNION), duration_in_min=60)
    third_monday = MONDAY + dt.timedelta(weeks=2)
    RdvFactory(agents=[card.agent], lieu=None, starts_at=at(third_monday, 9), duration_in_min=60)
    found = next_availabilities(motifs=[card.at_paris, card.at_reunion], after=at(MONDAY, 12), online=True, now=NOW)
    assert {motif_id: [slot.start for slot in slots.values()] for motif_id, slots in found.items()} == {
        card.at_paris.pk: [at(third_monday, 10)],
        card.at_reunion.pk: [at(PENTECOST_MONDAY, 10, tz=REUNION)],
    }


def test_the_agents_asked_for_each_motif(card):
    """By motif: the agents the address is routed to (sectorisation by agent); a motif left out
    is any agent's."""
    other = weekly(card.at_paris.organisation, card.at_paris, card.paris_lieu, weekday=2).agent
    motifs = [card.at_paris, card.at_reunion]
    found = next_availabilities(
        motifs=motifs, after=at(MONDAY, 0), agents={card.at_paris.pk: [other.pk]}, now=NOW, horizon=HORIZON
    )
    assert [slot.agent_id for slot in found[card.at_paris.pk].values()] == [other.pk]
    assert [slot.agent_id for slot in found[card.at_reunion.pk].values()] == [card.agent.pk]
    nobody = next_availabilities(motifs=motifs, after=at(MONDAY, 0), agents={card.at_paris.pk: []}, now=NOW)
    assert (nobody[card.at_paris.pk], list(nobody[card.at_reunion.pk])) == ({}, [card.reunion_lieu.pk])


def test_online_each_motif_its_own_referents_rule(card):
    """A « RDV de suivi » offers only the usager's référents in its organisation; the other
    motifs of the card are any agent's; a motif no longer bookable online offers nothing."""
    follow_up = card_motif(OrganisationFactory(), card.at_paris.category, follow_up=True)
    referent = weekly(follow_up.organisation, follow_up, LieuFactory(organisation=follow_up.organisation)).agent
    weekly(follow_up.organisation, follow_up, LieuFactory(organisation=follow_up.organisation), weekday=1)
    usager = UsagerFactory(organisation=follow_up.organisation, referents=[referent])
    card.at_reunion.bookable_online = False
    motifs = [card.at_paris, card.at_reunion, follow_up]
    found = next_availabilities(motifs=motifs, after=at(MONDAY, 0), online=True, usager=usager, now=NOW)
    assert {motif_id: [slot.agent_id for slot in slots.values()] for motif_id, slots in found.items()} == {
        card.at_paris.pk: [card.agent.pk],
        card.at_reunion.pk: [],
        follow_up.pk: [referent.pk],
    }
    anonymous = next_availabilities(motifs=motifs, after=at(MONDAY, 0), online=True, now=NOW)
    assert (list(anonymous[card.at_paris.pk]), anonymous[follow_up.pk]) == ([card.paris_lieu.pk], {})


@pytest.mark.parametrize("count", [2, 10])
def test_queries_depend_on_how_far_the_slots_are_not_on_the_number_of_organisations(db, count):
    category = MotifCategoryFactory()
    motifs = []
    for index in range(count):
        organisation = OrganisationFactory(territory=TerritoryFactory(reunion=index % 2 == 1))
        motif = card_motif(organisation, category)
        lieu = LieuFactory(organisation=organisation)
        # The last organisation opens in three weeks: the second window (weeks 2 and 3) is read for it.
        first_day = MONDAY + dt.timedelta(weeks=2) if index == count - 1 else MONDAY
        weekly(organisation, motif, lieu, weekday=index % 5, first_day=first_day)
        busy = weekly(organisation, motif, lieu, weekday=index % 5, hour=14, first_day=first_day).agent
        AbsenceFactory(organisation=organisation, agent=busy, first_day=MONDAY, days=2)
        RdvFactory(organisation=organisation, motif=motif, agents=[busy], lieu=None, starts_at=at(MONDAY, 14))
        motifs.append(motif)
    with CaptureQueriesContext(connection) as queries:
        found = next_availabilities(motifs=motifs, after=at(MONDAY, 0), now=NOW, horizon=HORIZON)
    assert [len(found[motif.pk]) for motif in motifs] == [1] * count
    # Plages, their exceptions, the absences; the RDVs of the first week, then of the next two.
    assert len(queries) == 5
    assert [query["sql"].count("rendezvous_rdv_agents") for query in queries] == [0, 0, 0, 1, 1]
