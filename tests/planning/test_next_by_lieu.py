"""`next_availability_by_lieu`: « Prochaine disponibilité » of every lieu at once (the lieu step of
online booking), the same answer as `next_availability` asked lieu by lieu, in a number of queries
that does not depend on the number of lieux."""

import datetime as dt
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from motifs.models import Motif
from planning.creneaux import next_availability, next_availability_by_lieu
from tests.agents.factories import AgentFactory
from tests.helpers import at
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

MONDAY = dt.date(2030, 6, 3)
NOW = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
HORIZON = at(MONDAY, 0) + dt.timedelta(weeks=10)


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
