"""usagers.services.make_known_to: an usager who books online becomes known to the organisation,
in one statement, with its line of history; an usager known already costs one query and writes
nothing; one an agent had removed is given back; two bookings at once make one profile."""

import threading

import pytest
from django.db import connection, transaction

from tests.agents.factories import AgentFactory
from tests.helpers import wait_for_a_blocked_transaction
from tests.organisations.factories import OrganisationFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import UsagerProfile
from usagers.services import make_known_to

pytestmark = pytest.mark.django_db


def history(usager, organisation) -> list[tuple[str, object]]:
    return list(
        UsagerProfile.history.filter(usager=usager, organisation=organisation)
        .order_by("history_id")
        .values_list("history_type", "deleted_at")
    )


def test_a_new_usager_gets_a_profile_and_its_line_of_history(organisation, django_assert_num_queries):
    usager = UsagerFactory()
    with django_assert_num_queries(2):  # the profile, its history
        make_known_to(usager=usager, organisation=organisation)
    profile = UsagerProfile.objects.get(usager=usager)
    assert (profile.organisation, profile.notes, profile.deleted_at, list(profile.referents.all())) == (
        organisation,
        "",
        None,
        [],
    )
    assert history(usager, organisation) == [("+", None)]
    record = UsagerProfile.history.get(usager=usager)
    assert (record.id, record.history_user, list(record.referents.all())) == (profile.pk, None, [])


def test_an_usager_known_already_costs_one_query_and_changes_nothing(organisation, django_assert_num_queries):
    usager = UsagerFactory(organisation=organisation)
    profile = UsagerProfile.objects.get(usager=usager, organisation=organisation)
    profile.notes = "Suivi PMI"
    profile.save()
    before = history(usager, organisation)
    with django_assert_num_queries(1):
        make_known_to(usager=usager, organisation=organisation)
    assert UsagerProfile.objects.get(pk=profile.pk).notes == "Suivi PMI"
    assert history(usager, organisation) == before


def test_an_usager_an_agent_had_removed_is_given_back_with_its_referents(organisation):
    referent = AgentFactory(organisation=organisation)
    usager = UsagerFactory(organisation=organisation)
    profile = UsagerProfile.objects.get(usager=usager, organisation=organisation)
    profile.referents.set([referent])
    UsagerProfile.objects.filter(pk=profile.pk).update(deleted_at="2026-01-05T10:00:00+01:00", notes="Vu en 2025")
    make_known_to(usager=usager, organisation=organisation)
    profile = UsagerProfile.objects.get(pk=profile.pk)
    assert (profile.deleted_at, profile.notes, list(profile.referents.all())) == (None, "Vu en 2025", [referent])
    last = UsagerProfile.history.filter(id=profile.pk).latest("history_id")
    assert (last.history_type, last.deleted_at, [r.agent for r in last.referents.all()]) == ("~", None, [referent])


def test_each_organisation_has_its_own_profile(organisation):
    usager = UsagerFactory(organisation=organisation)
    other = OrganisationFactory()
    make_known_to(usager=usager, organisation=other)
    assert set(UsagerProfile.objects.filter(usager=usager).values_list("organisation", flat=True)) == {
        organisation.pk,
        other.pk,
    }


@pytest.mark.django_db(transaction=True)
def test_two_bookings_at_once_make_one_profile():
    """Two tabs of the same family book at the same time: the second waits for the first's new
    row, then finds it (no unique violation to break its booking's transaction)."""
    organisation = OrganisationFactory()
    usager = UsagerFactory()
    errors: list[BaseException] = []

    def second():
        try:
            with transaction.atomic():
                make_known_to(usager=usager, organisation=organisation)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    with transaction.atomic():
        make_known_to(usager=usager, organisation=organisation)
        thread = threading.Thread(target=second)
        thread.start()
        assert wait_for_a_blocked_transaction()
    thread.join(10)
    assert not thread.is_alive() and errors == []
    assert UsagerProfile.objects.filter(usager=usager, organisation=organisation).count() == 1
    assert history(usager, organisation) == [("+", None)]
