"""notifications.claim_reads: each fixed statement returns what the ORM query it replaced returned
(kept here as the reference), on rows of every kind a worker claims."""

import datetime as dt
import threading

import pytest
from django.db import connection, models, transaction
from django.db.models import Count, Prefetch, Q, prefetch_related_objects
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from notifications import claim_reads
from notifications.models import Notification
from rendezvous.models import Participation, Rdv
from tests.agents.factories import AgentFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager

pytestmark = pytest.mark.django_db

Status = Notification.Status
Event = Notification.Event
ROW_RELATIONS = ("rdv__motif__service", "rdv__organisation__territory", "rdv__lieu", "usager")


def values(instance: models.Model | None) -> dict | None:
    if instance is None:
        return None
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def graph(row: Notification) -> dict:
    """What the claim reads of a row, as values: itself, its RDV and the RDV's relations, its usager."""
    rdv = row.rdv
    return {
        "row": values(row),
        "usager": values(row.usager),
        "rdv": values(rdv),
        "motif": values(rdv.motif) if rdv else None,
        "service": values(rdv.motif.service) if rdv else None,
        "organisation": values(rdv.organisation) if rdv else None,
        "territory": values(rdv.organisation.territory) if rdv else None,
        "lieu": values(rdv.lieu) if rdv else None,
    }


def row(rdv: Rdv, **fields) -> int:
    fields.setdefault("event", Event.CREATED)
    return Notification.objects.create(organisation=rdv.organisation, rdv=rdv, body="…", **fields).pk


@pytest.fixture
def rows(organisation):
    """Messages of every kind, in this order: one sent already, one due later, then those due: to
    an usager about an RDV at a lieu, by email and by SMS, about an RDV at home, to an agent, an
    usager's code, one of an RDV deleted since, one whose worker died while sending it (its claim
    expired). And one due that is not asked for."""
    family = UsagerFactory(organisation=organisation, with_email=True)
    proche = UsagerFactory(organisation=organisation, proche=True, responsible=family)
    at_lieu = RdvFactory(organisation=organisation, usagers=[family, proche])
    at_home = RdvFactory(organisation=organisation, lieu=None, address="1 rue de la Paix", usagers=[family])
    deleted = RdvFactory(organisation=organisation, usagers=[family])
    agent = AgentFactory(organisation=organisation)
    later = timezone.now() + dt.timedelta(hours=1)
    ids = [
        row(at_lieu, usager=family, to=family.email, status=Status.SENT),
        row(at_lieu, usager=family, to=family.email, next_attempt_at=later),
        row(at_lieu, usager=family, to=family.email),
        row(at_lieu, usager=family, to=family.email, event=Event.UPDATED, channel=Notification.Channel.SMS),
        row(at_home, usager=family, to=family.email),
        row(at_lieu, agent=agent, to=agent.email),
        Notification.objects.create(event=Event.LOGIN_CODE, to="a@example.org", body="123456").pk,
        row(deleted, usager=family, to=family.email),
        row(at_home, usager=family, to=family.email, status=Status.SENDING, attempts=1),
    ]
    deleted.delete()
    row(at_home, usager=family, to=family.email)  # not asked for
    return ids


def test_lock_due_reads_what_the_orm_read(rows, django_assert_num_queries):
    now = timezone.now()
    with transaction.atomic():
        expected = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(*ROW_RELATIONS)
            .filter(pk__in=rows)
            .due(now)
            .order_by("pk")
        )
        with django_assert_num_queries(1):
            found = claim_reads.lock_due(rows, now)  # not the row due that was not asked for
            read = [graph(row) for row in found]  # nothing more read
    assert [row.pk for row in found] == [row.pk for row in expected] == rows[2:]
    assert read == [graph(row) for row in expected]
    assert read[-1]["row"]["status"] == Status.SENDING
    kinds = {(row["rdv"] is None, row["lieu"] is None, row["usager"] is None) for row in read}
    assert kinds == {
        (False, False, False),
        (False, True, False),
        (False, False, True),
        (True, True, True),
        (True, True, False),
    }


@pytest.mark.django_db(transaction=True)
def test_lock_due_skips_the_rows_another_transaction_holds(rows):
    held, ready, done = rows[2], threading.Event(), threading.Event()

    def hold():
        # As another worker claims: a lock that a second claim would share (FOR SHARE) would let
        # both send the same row.
        with transaction.atomic():
            assert [row.pk for row in claim_reads.lock_due([held], timezone.now())] == [held]
            ready.set()
            done.wait(10)
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert ready.wait(10)
        with transaction.atomic():
            found = [row.pk for row in claim_reads.lock_due(rows, timezone.now())]
    finally:
        done.set()
        thread.join()
    assert found == rows[3:]


@pytest.mark.django_db(transaction=True)
def test_lock_due_is_refused_outside_a_transaction(rows):
    with pytest.raises(TransactionManagementError):
        claim_reads.lock_due(rows, timezone.now())


def test_participations_are_prefetched_as_the_orm_prefetched_them(organisation, django_assert_num_queries):
    family = UsagerFactory(organisation=organisation, with_email=True)
    proche = UsagerFactory(organisation=organisation, proche=True, responsible=family)
    rdvs = [RdvFactory(organisation=organisation, usagers=[family, proche]), RdvFactory(organisation=organisation)]
    rdvs.append(RdvFactory(organisation=organisation, usagers=[]))
    RdvFactory(organisation=organisation, usagers=[family])  # not asked for
    expected = list(Rdv.objects.filter(pk__in=[rdv.pk for rdv in rdvs]).order_by("pk"))
    prefetch_related_objects(
        expected,
        Prefetch("participations", queryset=Participation.objects.select_related("usager__responsible").order_by("pk")),
    )
    found = list(Rdv.objects.filter(pk__in=[rdv.pk for rdv in rdvs]).order_by("pk"))
    with django_assert_num_queries(1):
        claim_reads.prefetch_participations([*found, None])

    def read(rdv):
        return [
            (values(p), values(p.usager), values(p.usager.responsible), p.rdv is rdv) for p in rdv.participations.all()
        ]

    with django_assert_num_queries(0):
        got = [read(rdv) for rdv in found]
        assert [rdv.participations.first() for rdv in found] == [rdv.participations.first() for rdv in expected]
    assert got == [read(rdv) for rdv in expected]
    assert [len(participations) for participations in got] == [2, 1, 0]
    assert got[0][1][2] == values(Usager.objects.get(pk=family.pk))  # the proche's responsible


def test_known_about_reads_what_the_orm_read(rows):
    rdv_ids = set(Notification.objects.filter(pk__in=rows, rdv__isnull=False).values_list("rdv_id", flat=True))
    Notification.objects.filter(pk=rows[2]).update(status=Status.DROPPED)
    Notification.objects.filter(pk=rows[3]).update(status=Status.FAILED)
    expected = list(
        Notification.objects.filter(rdv_id__in=rdv_ids)
        .exclude(status__in=[Status.DROPPED, Status.FAILED])
        .order_by("pk")
        .values_list(*claim_reads.KNOWN_FIELDS)
    )
    assert claim_reads.known_about(rdv_ids) == expected
    not_asked = Notification.objects.latest("pk").pk
    assert [pk for pk, *_ in expected] == [rows[0], rows[1], rows[4], rows[5], rows[8], not_asked]
    assert claim_reads.known_about([]) == []


def test_sent_today_counts_what_the_orm_counted(organisation):
    now = timezone.now()
    agent = AgentFactory(organisation=organisation)
    mine = []
    for to, status, event, ago, for_agent in [
        ("a@example.org", Status.SENT, Event.CREATED, 1, False),
        ("a@example.org", Status.SENT, Event.REMINDER, 23, False),
        ("a@example.org", Status.SENT, Event.CREATED, 25, False),  # more than a day ago
        ("a@example.org", Status.SENDING, Event.UPDATED, 30, False),  # being sent, whenever claimed
        ("a@example.org", Status.SENT, Event.LOGIN_CODE, 1, False),  # not about an RDV
        ("a@example.org", Status.SENT, Event.CREATED, 1, True),  # to an agent
        ("a@example.org", Status.PENDING, Event.CREATED, 1, False),
        ("a@example.org", Status.DROPPED, Event.CREATED, 1, False),
        ("b@example.org", Status.SENT, Event.CANCELLED, 2, False),
        ("c@example.org", Status.SENT, Event.CREATED, 2, False),  # not asked
    ]:
        at = now - dt.timedelta(hours=ago)
        mine.append(
            Notification.objects.create(
                organisation=organisation,
                agent=agent if for_agent else None,
                to=to,
                status=status,
                event=event,
                sent_at=at if status == Status.SENT else None,
                body="…",
            ).pk
        )
    since = now - dt.timedelta(hours=24)
    for batch in ([], [mine[0]], mine[:2]):
        addresses = ["a@example.org", "b@example.org", "d@example.org"]
        expected = dict(
            Notification.objects.filter(to__in=addresses, agent__isnull=True)
            .exclude(event__in=Notification.NOT_ABOUT_AN_RDV)
            .exclude(pk__in=batch)
            .filter(Q(status=Status.SENDING) | Q(status=Status.SENT, sent_at__gt=since))
            .values_list("to")
            .annotate(count=Count("pk"))
            .order_by()
        )
        assert claim_reads.sent_today(addresses, batch, since) == expected
    assert claim_reads.sent_today(addresses, [], since) == {"a@example.org": 3, "b@example.org": 1}


def test_pending_first_tries_reads_what_the_orm_read(rows):
    rdv_ids = set(Notification.objects.filter(pk__in=rows, rdv__isnull=False).values_list("rdv_id", flat=True))
    Notification.objects.filter(pk=rows[3]).update(attempts=1)
    expected = Notification.objects.filter(
        rdv_id__in=rdv_ids, agent__isnull=True, status=Status.PENDING, attempts=0
    ).values_list("pk", "rdv_id", "usager_id", "channel")
    found = claim_reads.pending_first_tries(rdv_ids)
    assert sorted(found) == sorted(expected)
    assert rows[0] not in {pk for pk, *_ in found} and rows[3] not in {pk for pk, *_ in found}
