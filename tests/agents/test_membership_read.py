"""`get_membership` reads the role, its organisation and territory, the agent's services there and
the territories it administers in one SQL statement (agents.permissions.MEMBERSHIP_SQL), its
models built by rdv.db.model_from_row: what the ORM reads, value for value."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import AgentRole
from agents.permissions import get_membership
from organisations.models import Organisation
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.sectorisation.factories import TerritoryRoleFactory

pytestmark = pytest.mark.django_db


def values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.fixture
def organisation(db):
    return OrganisationFactory(
        phone="01 64 62 42 00", opening_hours={"monday": [["08:30", "12:00"], ["13:30", "17:00"]]}
    )


def test_the_organisation_is_the_orms(organisation):
    agent = AgentFactory(organisation=organisation)
    membership = get_membership(agent, organisation.pk)
    assert values(membership.organisation) == values(Organisation.objects.get(pk=organisation.pk))


def test_the_organisations_json_and_phone_are_converted(organisation):
    agent = AgentFactory(organisation=organisation)
    stored = get_membership(agent, organisation.pk).organisation
    assert (stored.opening_hours, stored.phone.as_e164) == (
        {"monday": [["08:30", "12:00"], ["13:30", "17:00"]]},
        "+33164624200",
    )


def test_the_role_is_the_orms(organisation):
    agent = AgentFactory(organisation=organisation, admin=True)
    membership = get_membership(agent, organisation.pk)
    assert values(membership.role) == values(AgentRole.objects.get(agent=agent, organisation=organisation))


def test_the_territory_is_read_with_it(organisation):
    agent = AgentFactory(organisation=organisation)
    membership = get_membership(agent, organisation.pk)
    with CaptureQueriesContext(connection) as queries:
        territory = membership.organisation.territory
    assert (territory.pk, territory.departement_number, len(queries)) == (
        organisation.territory_id,
        organisation.territory.departement_number,
        0,
    )


def test_the_services_are_those_of_this_organisation(organisation):
    agent = AgentFactory(organisation=organisation, services=["PMI", "Social"])
    AgentRoleFactory(agent=agent, organisation=OrganisationFactory(), services=["Secrétariat"])
    membership = get_membership(agent, organisation.pk)
    assert membership.service_ids == frozenset(
        AgentRole.objects.get(agent=agent, organisation=organisation).services.values_list("pk", flat=True)
    )


def test_the_secretariat_of_another_organisation_is_not_this_ones(organisation):
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    AgentRoleFactory(agent=agent, organisation=OrganisationFactory(), services=["Secrétariat"])
    assert get_membership(agent, organisation.pk).is_secretariat is False


def test_no_service_reads_no_secretariat(organisation):
    agent = AgentFactory(organisation=organisation, services=[])
    membership = get_membership(agent, organisation.pk)
    assert (membership.service_ids, membership.is_secretariat) == (frozenset(), False)


def test_the_territories_administered_in_the_order_of_their_numbers(organisation):
    agent = AgentFactory(organisation=organisation)
    far = TerritoryFactory(departement_number="93")
    near = TerritoryFactory(departement_number="75")
    for territory in (far, organisation.territory, near):
        TerritoryRoleFactory(agent=agent, territory=territory)
    expected = sorted(
        [(t.pk, t.departement_number) for t in (far, organisation.territory, near)], key=lambda item: item[1]
    )
    membership = get_membership(agent, organisation.pk)
    assert (membership.administered_territories, membership.administers_territory) == (tuple(expected), True)


def test_another_territory_administered_is_not_this_ones(organisation):
    agent = AgentFactory(organisation=organisation)
    TerritoryRoleFactory(agent=agent, territory=TerritoryFactory(departement_number="93"))
    assert get_membership(agent, organisation.pk).administers_territory is False


def test_no_role_no_membership(organisation):
    agent = AgentFactory(organisation=OrganisationFactory())
    assert get_membership(agent, organisation.pk) is None


def test_one_query(organisation, django_assert_num_queries):
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    with django_assert_num_queries(1):
        get_membership(agent, organisation.pk)
