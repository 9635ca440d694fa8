"""agents/0003: services move from the account to each membership, faithfully, both ways."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from agents.models import AgentRole

# Run once in CI, not again at the DST instant (.ci/run): migrating forth and back reads no clock.
pytestmark = pytest.mark.once

BEFORE = [("agents", "0002_invitations")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    # The models as they are at `targets` for agents, and as migrated for every other app.
    others = [node for node in executor.loader.graph.leaf_nodes() if node[0] != "agents"]
    return executor.loader.project_state([*others, *targets]).apps


def migrate_to_latest() -> None:
    """Every app back to its last migration: going back to agents/0002 also unapplied what
    depends on agents since (the territory roles, the sectors)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


def memberships() -> dict[tuple[str, str], set[str]]:
    return {
        (role.agent.email, role.organisation.name): {service.short_name for service in role.services.all()}
        for role in AgentRole.objects.select_related("agent", "organisation").prefetch_related("services")
    }


@pytest.mark.django_db(transaction=True)
def test_the_demo_data_goes_back_and_forth_unchanged():
    """On a copy of the demo data: back to services on the account (each agent gets those of its
    memberships), then forward again (each membership gets the account's)."""
    call_command("demo", stdout=io.StringIO())
    demo = memberships()
    assert len(demo) >= 9
    try:
        old_apps = migrate(BEFORE)
        OldAgent = old_apps.get_model("agents", "Agent")
        for agent in OldAgent.objects.prefetch_related("services", "roles__organisation"):
            expected = set().union(*(demo[(agent.email, role.organisation.name)] for role in agent.roles.all()))
            assert {service.short_name for service in agent.services.all()} == expected, agent.email
    finally:
        migrate_to_latest()
    assert memberships() == demo


@pytest.mark.django_db(transaction=True)
def test_each_existing_membership_gets_the_services_the_agent_had():
    try:
        old_apps = migrate(BEFORE)
        Territory = old_apps.get_model("organisations", "Territory")
        Organisation = old_apps.get_model("organisations", "Organisation")
        Service = old_apps.get_model("organisations", "Service")
        Agent = old_apps.get_model("agents", "Agent")
        OldRole = old_apps.get_model("agents", "AgentRole")
        territory = Territory.objects.create(departement_number="77", name="Seine-et-Marne", time_zone="Europe/Paris")
        noisiel = Organisation.objects.create(territory=territory, name="MDS de Noisiel")
        chelles = Organisation.objects.create(territory=territory, name="MDS de Chelles")
        pmi = Service.objects.get_or_create(short_name="PMI", defaults={"name": "PMI"})[0]
        social = Service.objects.get_or_create(short_name="Social", defaults={"name": "Service social"})[0]
        both = Agent.objects.create(email="emilie@departement.fr", first_name="Émilie", last_name="Girard")
        both.services.set([pmi, social])
        OldRole.objects.create(agent=both, organisation=noisiel, level="basic")
        OldRole.objects.create(agent=both, organisation=chelles, level="admin")
        without = Agent.objects.create(email="sans@departement.fr", first_name="Sans", last_name="Service")
        OldRole.objects.create(agent=without, organisation=noisiel, level="basic")
    finally:
        migrate_to_latest()
    assert memberships() == {
        ("emilie@departement.fr", "MDS de Noisiel"): {"PMI", "Social"},
        ("emilie@departement.fr", "MDS de Chelles"): {"PMI", "Social"},
        ("sans@departement.fr", "MDS de Noisiel"): set(),
    }
    assert AgentRole.objects.get(agent__email="emilie@departement.fr", organisation__name="MDS de Chelles").is_admin
