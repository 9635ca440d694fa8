import pytest

from agents.models import Agent
from agents.permissions import (
    agents_with_visible_agenda,
    can_access_agenda_of,
    can_access_all_agendas,
    can_manage_settings,
    get_membership,
    motifs_received_by,
    receives_motif,
)
from motifs.models import Motif
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory, service


@pytest.fixture
def team(organisation):
    return {
        "admin": AgentFactory(organisation=organisation, admin=True, services=["Social"]),
        "pmi": AgentFactory(organisation=organisation, services=["PMI"]),
        "pmi_2": AgentFactory(organisation=organisation, services=["PMI"]),
        "social": AgentFactory(organisation=organisation, services=["Social"]),
        "secretariat": AgentFactory(organisation=organisation, secretariat=True),
        "pmi_and_social": AgentFactory(organisation=organisation, services=["PMI", "Social"]),
    }


@pytest.mark.parametrize(
    "who, manages_settings, all_agendas",
    [("admin", True, True), ("secretariat", False, True), ("pmi", False, False), ("social", False, False)],
)
def test_levels(organisation, team, who, manages_settings, all_agendas):
    membership = get_membership(team[who], organisation.pk)
    assert can_manage_settings(membership) is manages_settings
    assert can_access_all_agendas(membership) is all_agendas


@pytest.mark.parametrize(
    "who, visible",
    [
        ("admin", {"admin", "pmi", "pmi_2", "social", "secretariat", "pmi_and_social"}),
        ("secretariat", {"admin", "pmi", "pmi_2", "social", "secretariat", "pmi_and_social"}),
        ("pmi", {"pmi", "pmi_2", "pmi_and_social"}),
        ("social", {"admin", "social", "pmi_and_social"}),
        ("pmi_and_social", {"admin", "pmi", "pmi_2", "social", "pmi_and_social"}),
    ],
)
def test_agendas_a_membership_may_open(organisation, team, who, visible):
    membership = get_membership(team[who], organisation.pk)
    assert set(agents_with_visible_agenda(membership)) == {team[name] for name in visible}
    for name, agent in team.items():
        assert can_access_agenda_of(membership, agent) is (name in visible)


def test_agents_of_another_organisation_are_never_visible(organisation, team):
    stranger = AgentFactory(organisation=OrganisationFactory(), services=["PMI"])
    for who in ("admin", "secretariat", "pmi"):
        membership = get_membership(team[who], organisation.pk)
        assert stranger not in agents_with_visible_agenda(membership)
        assert not can_access_agenda_of(membership, stranger)


def test_an_agent_without_a_service_sees_its_own_agenda_only(organisation, team):
    loner = AgentFactory(organisation=organisation)
    membership = get_membership(loner, organisation.pk)
    assert list(agents_with_visible_agenda(membership)) == [loner]


def test_no_membership_outside_ones_organisations(team):
    assert get_membership(team["admin"], OrganisationFactory().pk) is None


def test_the_motifs_an_agent_receives_read_the_same_in_sql_and_in_python(organisation, team):
    motifs = [
        MotifFactory(organisation=organisation, service=service("PMI")),
        MotifFactory(organisation=organisation, service=service("Social")),
        MotifFactory(organisation=organisation, service=service("Social"), for_secretariat=True),
    ]
    for agent in Agent.objects.filter(pk__in=[a.pk for a in team.values()]).with_services_in(organisation):
        in_sql = set(motifs_received_by(agent, Motif.objects.all()))
        assert {motif for motif in motifs if receives_motif(agent, motif)} == in_sql
    assert set(motifs_received_by(team["secretariat"], Motif.objects.all())) == {motifs[2]}
