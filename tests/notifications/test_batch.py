"""A worker delivers its rows by batches (notifications.claim, notifications.delivery.deliver): one
claim, one record, whatever the number of rows; each row decided as if claimed alone."""

import datetime as dt
import itertools

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import delivery
from notifications.delivery import deliver
from notifications.models import Notification
from notifications.services import notify
from rdv import sms
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

Status = Notification.Status
Event = Notification.Event


def confirmed_rdvs(organisation, count: int) -> list[int]:
    """`count` RDVs, each with its usager's confirmation by email and by SMS; their rows' ids."""
    ids = []
    for _ in range(count):
        usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
        ids += [row.pk for row in notify(RdvFactory(organisation=organisation, usagers=[usager]), Event.CREATED)]
    return ids


def queries_to_deliver(ids: list[int]) -> int:
    with CaptureQueriesContext(connection) as queries:
        handled = deliver(ids)
    assert [row.status for row in handled] == [Status.SENT] * len(ids)
    return len(queries)


def test_a_batch_costs_the_same_queries_for_4_rows_or_24(organisation):
    few = confirmed_rdvs(organisation, 2)
    many = confirmed_rdvs(organisation, 12)
    assert queries_to_deliver(few) == queries_to_deliver(many) == 14
    assert len(mail.outbox) == 14 and len(sms.LocmemSmsBackend.outbox) == 14


def test_rows_of_one_thread_in_one_batch_are_decided_as_if_claimed_one_by_one(organisation):
    """The confirmation and then the modification of the same RDV, both waiting: the
    modification replaces the confirmation, and as the family never heard of the RDV it
    leaves as its confirmation, with the new time."""
    usager = UsagerFactory(organisation=organisation, with_email=True)
    rdv = RdvFactory(organisation=organisation, usagers=[usager])
    (confirmation,) = notify(rdv, Event.CREATED)
    rdv.starts_at += dt.timedelta(hours=2)
    rdv.save()
    (change,) = Notification.objects.filter(pk__in=[row.pk for row in notify(rdv, Event.UPDATED)])
    # Written as a modification: the confirmation, waiting, was replaced (dropped) at once. Put
    # it back as waiting, as if both had been written by two agents at the same instant.
    Notification.objects.filter(pk=confirmation.pk).update(status=Status.PENDING, last_error="")
    deliver([change.pk, confirmation.pk])
    confirmation.refresh_from_db()
    change.refresh_from_db()
    assert (confirmation.status, confirmation.last_error) == (Status.DROPPED, "Remplacée par un message plus récent.")
    assert (change.status, change.event, change.rdv_starts_at) == (Status.SENT, Event.CREATED, rdv.starts_at)
    (message,) = mail.outbox
    assert message.subject.startswith("RDV confirmé")


def test_the_daily_limit_counts_the_rows_of_the_same_batch(settings, organisation):
    settings.NOTIFICATIONS_DAILY_LIMIT = 2
    usager = UsagerFactory(organisation=organisation, with_email=True)
    ids = [
        row.pk for _ in range(3) for row in notify(RdvFactory(organisation=organisation, usagers=[usager]), "created")
    ]
    deliver(ids)
    rows = Notification.objects.filter(pk__in=ids).order_by("pk")
    assert [(row.status, row.last_error) for row in rows] == [
        (Status.SENT, ""),
        (Status.SENT, ""),
        (Status.DROPPED, "Non envoyée : limite quotidienne"),
    ]


def test_rows_not_sent_before_their_claim_runs_out_are_given_back(organisation, monkeypatch):
    """A provider so slow that the batch's claim would expire: the rows not sent yet are pending
    again, their attempt not counted, queued anew; never sent after their claim expired (the
    sweep would send them too)."""
    ids = confirmed_rdvs(organisation, 2)
    # The claim, the first record's start, the first send's check; then late.
    clock = itertools.chain([0.0, 0.0, 0.0], itertools.repeat(1000.0))
    monkeypatch.setattr(delivery.time, "monotonic", lambda: next(clock))
    queued = []
    monkeypatch.setattr(delivery, "dispatch", queued.append)
    handled = deliver(ids)
    rows = {row.pk: row for row in Notification.objects.filter(pk__in=ids)}
    first, *rest = sorted(ids)
    assert rows[first].status == Status.SENT
    assert [(rows[pk].status, rows[pk].attempts) for pk in rest] == [(Status.PENDING, 0)] * 3
    assert queued == [rest]
    assert len(handled) == 4
