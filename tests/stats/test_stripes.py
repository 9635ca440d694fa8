"""The summary's stripes (stats.models): two transactions counting into the same figures at once
do not wait for each other, and the figures are the sums of their stripes."""

import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from stats import summary
from stats.figures import status_counts
from stats.models import RdvStatusCount
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory


def stripe() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT stats_stripe()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_bookings_counted_at_once_into_the_same_figures_do_not_wait_for_each_other():
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    motif = MotifFactory(organisation=organisation)
    # Created beforehand: a new lieu changes the online catalogue's number (a row of its own).
    lieu = LieuFactory(organisation=organisation)
    ours = stripe()
    counted, done, errors = threading.Event(), threading.Event(), []

    def other() -> None:
        try:
            for _attempt in range(50):  # a connection of another stripe (server processes differ)
                if stripe() != ours:
                    break
                connection.close()
            with transaction.atomic():
                RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=[agent], usagers=[])
                counted.set()
                done.wait(timeout=20)
        except Exception as error:
            errors.append(error)
        finally:
            counted.set()
            connection.close()

    thread = threading.Thread(target=other)
    thread.start()
    assert counted.wait(timeout=10)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Waiting for the other transaction's rows would fail here instead of hanging.
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=[agent], usagers=[])
    finally:
        done.set()
        thread.join()
    assert errors == []
    rows = RdvStatusCount.objects.filter(organisation=organisation, agent__isnull=True, status="unknown")
    assert sorted(rows.values_list("count", flat=True)) == [1, 1]
    assert summary.check(organisation_ids=[organisation.pk]) == []
    assert status_counts(organisation, timezone.now())["total"] == 2
