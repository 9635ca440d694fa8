"""The copy of each RDV's start, end and status on its agent links (migration rendezvous 0002),
which the créneaux engine reads: PostgreSQL's triggers keep it exact whatever changes the RDV or
its agents, while `Rdv.agents` stays Django's plain many-to-many."""

import datetime as dt

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from rendezvous.models import Rdv
from rendezvous.services import change_status
from tests.agents.factories import AgentFactory
from tests.rendezvous.factories import RdvFactory

PARIS = timezone.get_default_timezone()
DAY = dt.date(2030, 6, 3)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def copies() -> dict[tuple[int, int], tuple]:
    """(rdv id, agent id) → the link's copy of (start, end, status)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rdv_id, agent_id, rdv_starts_at, rdv_ends_at, rdv_status FROM rendezvous_rdv_agents")
        return {(rdv_id, agent_id): tuple(copy) for rdv_id, agent_id, *copy in cursor.fetchall()}


def assert_exact() -> None:
    """Every link holds its RDV's current values, and only the RDV's agents have links."""
    expected = {
        (rdv.pk, agent_id): (rdv.starts_at, rdv.ends_at, rdv.status)
        for rdv in Rdv.objects.all()
        for agent_id in rdv.agents.values_list("pk", flat=True)
    }
    assert copies() == expected


@pytest.fixture
def agents(organisation):
    return [AgentFactory(organisation=organisation) for _ in range(3)]


@pytest.fixture
def rdv(organisation, agents):
    return RdvFactory(organisation=organisation, agents=agents[:2], starts_at=at(9), duration_in_min=30)


def test_created_rdv_copies_onto_its_links(rdv, agents):
    assert copies() == {
        (rdv.pk, agents[0].pk): (at(9), at(9, 30), "unknown"),
        (rdv.pk, agents[1].pk): (at(9), at(9, 30), "unknown"),
    }


def test_moved_rdv_and_new_duration(rdv):
    rdv.starts_at = at(14)
    rdv.save()
    assert_exact()
    rdv.duration_in_min = 45
    rdv.save(update_fields=["duration_in_min"])
    assert {copy[1] for copy in copies().values()} == {at(14, 45)}
    assert_exact()


def test_queryset_update_of_the_time(rdv):
    Rdv.objects.filter(pk=rdv.pk).update(starts_at=at(10), ends_at=at(11))
    assert {copy[:2] for copy in copies().values()} == {(at(10), at(11))}


@pytest.mark.parametrize("status", [Rdv.Status.EXCUSED, Rdv.Status.REVOKED, Rdv.Status.SEEN])
def test_status_change(rdv, admin_agent, status):
    change_status(rdv=rdv, status=status, by=admin_agent, now=at(9))
    assert {copy[2] for copy in copies().values()} == {status}
    change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=admin_agent, now=at(9))
    assert_exact()


def test_agents_changed_through_the_many_to_many(rdv, agents):
    rdv.agents.set([agents[1], agents[2]])
    assert set(copies()) == {(rdv.pk, agents[1].pk), (rdv.pk, agents[2].pk)}
    assert_exact()
    rdv.agents.add(agents[0])
    rdv.agents.remove(agents[1])
    assert_exact()
    rdv.agents.clear()
    assert copies() == {}
    # The rest of the many-to-many API is Django's own, untouched.
    rdv.agents.add(agents[0])
    assert list(Rdv.objects.filter(agents=agents[0])) == [rdv]
    assert list(rdv.agents.all()) == [agents[0]]
    assert rdv.history.first().agents.count() == 1


def test_links_bulk_created(rdv, agents):
    other = RdvFactory(organisation=rdv.organisation, agents=[], starts_at=at(16), excused=True)
    through = Rdv.agents.through
    through.objects.bulk_create([through(rdv_id=other.pk, agent_id=agent.pk) for agent in agents])
    assert_exact()
    assert {copy for key, copy in copies().items() if key[0] == other.pk} == {(at(16), at(16, 30), "excused")}


def test_deleted_rdv_and_agent_take_their_links(rdv, agents):
    kept = RdvFactory(organisation=rdv.organisation, agents=[agents[2]], starts_at=at(11))
    rdv.delete()
    assert set(copies()) == {(kept.pk, agents[2].pk)}
    agents[2].delete()
    assert copies() == {}


def test_link_written_before_its_rdv_row(organisation, agents):
    """Foreign keys are deferred: a link may come first in a transaction, the RDV's insert
    fills its copy."""
    template = RdvFactory(organisation=organisation, agents=[], starts_at=at(8))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('rendezvous_rdv', 'id'))")
        (rdv_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO rendezvous_rdv_agents (rdv_id, agent_id) VALUES (%s, %s)",
            [rdv_id, agents[0].pk],
        )
        assert copies()[(rdv_id, agents[0].pk)] == (None, None, None)
        Rdv.objects.create(
            pk=rdv_id,
            organisation=organisation,
            motif=template.motif,
            lieu=template.lieu,
            starts_at=at(12),
            duration_in_min=20,
        )
    assert copies()[(rdv_id, agents[0].pk)] == (at(12), at(12, 20), "unknown")
    assert_exact()


def test_a_link_cannot_be_given_another_copy(rdv, agents):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rendezvous_rdv_agents SET rdv_starts_at = %s, rdv_status = 'seen'", [at(20)])
    assert_exact()


@pytest.mark.django_db(transaction=True)
def test_a_new_link_holds_its_rdv_until_it_commits(organisation, agents):
    """The link's trigger reads its RDV FOR SHARE: a concurrent change of that RDV waits for
    the link's transaction, then updates the committed link; it never leaves a stale copy."""
    rdv = RdvFactory(organisation=organisation, agents=[], starts_at=at(9))
    with transaction.atomic():
        rdv.agents.add(agents[0])
        with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("UPDATE rendezvous_rdv SET status = 'revoked' WHERE id = %s", [rdv.pk])
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as other:
        other.execute("UPDATE rendezvous_rdv SET status = 'revoked' WHERE id = %s", [rdv.pk])
    assert copies() == {(rdv.pk, agents[0].pk): (at(9), at(9, 30), "revoked")}
