"""Who may do what, in one place. Views and templates ask these functions; none repeats a rule.

- admin: the settings and every agenda of the organisation, read and write;
- secrétariat (an agent of a secrétariat service): every agenda, read and write, no settings;
- basic: no settings; its own agenda and those of the agents sharing one of its services;
- territory administrator (`TerritoryRole`, given in the Django admin, whatever its level in the
  organisation): « Paramètres du territoire », the sectorisation of the organisation's territory.

Services belong to the membership (`AgentRole.services`): every rule reads the agent's services in
the organisation at hand, never those it holds elsewhere.
"""

from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from agents.models import Agent, AgentQuerySet, AgentRole
from organisations.models import Organisation, Service, Territory
from rdv.db import columns, models_from_row


class OtherOrganisation(NamedTuple):
    """An organisation where the agent also holds a role: « Changer d'organisation » links to it."""

    pk: int
    name: str


@dataclass(frozen=True)
class Membership:
    """The signed-in agent in the organisation of the URL, resolved once per request."""

    agent: Agent
    organisation: Organisation
    role: AgentRole
    service_ids: frozenset[int]
    is_secretariat: bool
    administers_territory: bool = False
    # Every territory the agent administers, this organisation's or not, as (id, département
    # number): the side menu leads to their settings from any organisation.
    administered_territories: tuple[tuple[int, str], ...] = ()
    # The agent's other organisations, by name: the header's « Changer d'organisation ».
    other_organisations: tuple[OtherOrganisation, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role.is_admin


# The membership of every agent page, in one statement. Written in SQL: the ORM spent three times
# PostgreSQL's time building it (its GROUP BY over three tables' columns and two array
# subqueries), 4.6 ms of CPU against 0.8 ms on the machine at its slowest. The agent's services
# here, the territories it administers and its other organisations are each read once (a lateral
# aggregate), ids and what goes with them in the same order.
MEMBERSHIP_SQL = f"""
SELECT {columns(AgentRole, "role")}, {columns(Organisation, "organisation")},
    {columns(Territory, "territory")},
    services.ids, services.secretariat, administered.ids, administered.numbers, others.ids, others.names
FROM agents_agentrole role
JOIN organisations_organisation organisation ON organisation.id = role.organisation_id
JOIN organisations_territory territory ON territory.id = organisation.territory_id
CROSS JOIN LATERAL (
    SELECT COALESCE(array_agg(DISTINCT link.service_id), '{{}}') AS ids,
        COALESCE(bool_or(service.is_secretariat), false) AS secretariat
    FROM agents_agentrole_services link
    JOIN organisations_service service ON service.id = link.service_id
    WHERE link.agentrole_id = role.id
) services
CROSS JOIN LATERAL (
    SELECT COALESCE(array_agg(one.id ORDER BY one.departement_number, one.id), '{{}}') AS ids,
        COALESCE(array_agg(one.departement_number ORDER BY one.departement_number, one.id), '{{}}') AS numbers
    FROM agents_territoryrole territory_role
    JOIN organisations_territory one ON one.id = territory_role.territory_id
    WHERE territory_role.agent_id = role.agent_id
) administered
CROSS JOIN LATERAL (
    SELECT COALESCE(array_agg(other.id ORDER BY other.name, other.id), '{{}}') AS ids,
        COALESCE(array_agg(other.name ORDER BY other.name, other.id), '{{}}') AS names
    FROM agents_agentrole other_role
    JOIN organisations_organisation other ON other.id = other_role.organisation_id
    WHERE other_role.agent_id = role.agent_id AND other_role.organisation_id <> role.organisation_id
) others
WHERE role.agent_id = %(agent)s AND role.organisation_id = %(organisation)s
ORDER BY role.id
LIMIT 1
"""


def get_membership(agent: Agent, organisation_id: int) -> Membership | None:
    """One query: the role with its organisation, territory and the agent's services there, the
    territories the agent administers and its other organisations."""
    with connection.cursor() as cursor:
        cursor.execute(MEMBERSHIP_SQL, {"agent": agent.pk, "organisation": organisation_id})
        row = cursor.fetchone()
    if row is None:
        return None
    (role, organisation, territory), rest = models_from_row((AgentRole, Organisation, Territory), row)
    # Inner joins: each is found.
    assert isinstance(role, AgentRole) and isinstance(organisation, Organisation) and isinstance(territory, Territory)
    organisation.territory = territory
    role.organisation = organisation
    role.agent = agent
    service_ids, is_secretariat, territory_ids, territory_numbers, other_ids, other_names = rest
    return Membership(
        agent=agent,
        organisation=organisation,
        role=role,
        service_ids=frozenset(service_ids),
        is_secretariat=is_secretariat,
        administers_territory=organisation.territory_id in territory_ids,
        administered_territories=tuple(zip(territory_ids, territory_numbers, strict=True)),
        other_organisations=tuple(OtherOrganisation(*other) for other in zip(other_ids, other_names, strict=True)),
    )


def can_manage_settings(membership: Membership) -> bool:
    return membership.is_admin


def can_manage_territory(membership: Membership) -> bool:
    """« Paramètres du territoire »: the sectors of the organisation's territory."""
    return membership.administers_territory


def can_access_all_agendas(membership: Membership) -> bool:
    return membership.is_admin or membership.is_secretariat


def agents_with_visible_agenda(membership: Membership) -> AgentQuerySet:
    """The agents of the organisation whose agenda this membership may read and change."""
    agents = Agent.objects.for_organisation(membership.organisation)
    if can_access_all_agendas(membership):
        return agents
    # Colleagues are those sharing a service *in this organisation*: a service an agent holds
    # elsewhere opens nothing here.
    colleague_here = AgentRole.objects.filter(
        agent=OuterRef("pk"), organisation=membership.organisation, services__in=membership.service_ids
    )
    return agents.filter(Q(pk=membership.agent.pk) | Exists(colleague_here))


def can_access_agenda_of(membership: Membership, agent: Agent) -> bool:
    if agent.pk == membership.agent.pk:
        return True
    return agents_with_visible_agenda(membership).filter(pk=agent.pk).exists()


def can_manage_planning_of(membership: Membership, agent: Agent) -> bool:
    """Whether this membership may create, change and delete the agent's plages d'ouverture and
    absences. The same rule as agendas: its own planning always; admins and the secrétariat any
    agent's of the organisation; a basic agent those of the agents sharing one of its services."""
    return can_access_agenda_of(membership, agent)


def agents_with_manageable_planning(membership: Membership) -> AgentQuerySet:
    """The agents of the organisation whose planning `can_manage_planning_of` allows."""
    return agents_with_visible_agenda(membership)


def bookable_motifs(membership: Membership, motifs: QuerySet) -> QuerySet:
    """The motifs (among `motifs`) for which this membership may book RDVs: every motif for those
    who open every agenda (admin, secrétariat), the motifs of its own services for a basic agent."""
    if can_access_all_agendas(membership):
        return motifs
    return motifs.filter(service_id__in=membership.service_ids)


def receives_motif(agent: Agent, motif) -> bool:
    """Whether `agent` receives `motif`: the rule of `motifs_received_by`, read on the agent's
    services in the motif's organisation, as `AgentQuerySet.with_services_in` annotates them
    (`services_here`), rather than in SQL."""
    services = agent.services_here  # type: ignore[attr-defined]
    return any(service["id"] == motif.service_id for service in services) or (
        motif.for_secretariat and any(service["is_secretariat"] for service in services)
    )


def motifs_received_by(agent: Agent, motifs: QuerySet) -> QuerySet:
    """The motifs (among `motifs`) `agent` receives: those of its services in the motif's
    organisation, and for an agent of the secrétariat there those marked « Le RDV pourra être
    effectué par le service secrétariat » (the same rule as `receives_motif`). One query, when
    evaluated."""
    services = Service.objects.filter(agent_roles__agent=agent, agent_roles__organisation=OuterRef("organisation"))
    in_secretariat = Exists(services.filter(is_secretariat=True))
    of_its_service = Exists(services.filter(pk=OuterRef("service_id")))
    return motifs.filter(of_its_service | (in_secretariat & Q(for_secretariat=True)))


def can_change_rdv(membership: Membership, rdv) -> bool:
    """Whether this membership may change an RDV (statuses, « modifier », « supprimer »): it may
    open the agenda of at least one of its agents. Reads `rdv.agents.all()` (prefetch it)."""
    if rdv.organisation_id != membership.organisation.pk:
        return False
    agent_ids = {agent.pk for agent in rdv.agents.all()}
    if membership.agent.pk in agent_ids or (agent_ids and can_access_all_agendas(membership)):
        return True
    return agents_with_visible_agenda(membership).filter(pk__in=agent_ids).exists()
