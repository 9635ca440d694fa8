"""What the agendas read for a window, in a fixed number of SQL queries whatever the number of
RDVs or agents: the RDVs (with motif, lieu, agents, usagers), the plages and absences with their
occurrences, the times other organisations hold the agents, and the agents whose agenda may be
opened (`agents.permissions.agents_with_visible_agenda`)."""

from collections.abc import Collection, Sequence

from django.db import connection

from agents.models import Agent
from agents.permissions import Membership, agents_with_visible_agenda
from motifs.models import Motif
from organisations.models import Lieu, Organisation, Service
from planning.intervals import Window
from planning.models import Absence, EventOccurrence, PlageOuverture
from rdv.db import partial_model
from rendezvous.agenda.bands import BusyElsewhere, merge_busy
from rendezvous.models import Participation, Rdv
from usagers.models import Usager

RDVS = Rdv._meta.db_table
RDV_AGENTS = Rdv.agents.through._meta.db_table
AGENTS = Agent._meta.db_table
PARTICIPATIONS = Participation._meta.db_table
USAGERS = Usager._meta.db_table
SERVICES = Service._meta.db_table
MOTIFS = Motif._meta.db_table
LIEUX = Lieu._meta.db_table

# What the agendas print of an RDV, its motif and lieu: nothing else is loaded. In SQL: built by
# the ORM (a subquery, select_related, only), this query took 1.1 ms of CPU to compile on every
# agenda page, more than PostgreSQL takes to answer it.
RDV_COLUMNS = ("id", "organisation_id", "motif_id", "lieu_id", "starts_at", "ends_at", "duration_in_min", "status")
MOTIF_COLUMNS = ("id", "name", "color", "location_type")
LIEU_COLUMNS = ("id", "name")
RDVS_IN_WINDOW_SQL = f"""
SELECT {", ".join(f"rdv.{column}" for column in RDV_COLUMNS)},
       {", ".join(f"motif.{column}" for column in MOTIF_COLUMNS)},
       {", ".join(f"lieu.{column}" for column in LIEU_COLUMNS)}
FROM {RDVS} rdv
JOIN {MOTIFS} motif ON motif.id = rdv.motif_id
LEFT JOIN {LIEUX} lieu ON lieu.id = rdv.lieu_id
WHERE rdv.organisation_id = %s
  AND rdv.id IN (SELECT rdv_id FROM {RDV_AGENTS} WHERE agent_id = ANY(%s))
  AND rdv.starts_at < %s AND rdv.ends_at > %s
ORDER BY rdv.starts_at, rdv.id
"""


def rdvs_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[Rdv]:
    """The organisation's RDVs of these agents overlapping the window, with everything the
    agendas print, in 3 queries whatever their number: the RDVs with their motif and lieu, then
    their agents and their usagers, read as plain rows (`rdv.agent_rows`: (id, first name, last
    name); `rdv.usager_names`, in the order they were added). A busy week has hundreds of RDVs:
    model instances for each agent, participation and usager would cost more than the rest of
    the page."""
    if not agent_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(RDVS_IN_WINDOW_SQL, [organisation.pk, list(agent_ids), window.end, window.start])
        rows = cursor.fetchall()
    rdvs = []
    motifs: dict[int, Motif] = {}
    lieux: dict[int, Lieu] = {}
    first_motif, first_lieu = len(RDV_COLUMNS), len(RDV_COLUMNS) + len(MOTIF_COLUMNS)
    for row in rows:
        rdv = partial_model(Rdv, RDV_COLUMNS, row[:first_motif])
        motif_id, lieu_id = row[first_motif], row[first_lieu]
        if motif_id not in motifs:
            motifs[motif_id] = partial_model(Motif, MOTIF_COLUMNS, row[first_motif:first_lieu])
        rdv.motif = motifs[motif_id]
        if lieu_id is not None and lieu_id not in lieux:
            lieux[lieu_id] = partial_model(Lieu, LIEU_COLUMNS, row[first_lieu:])
        rdv.lieu = lieux.get(lieu_id)
        rdv.organisation = organisation  # status rules read its time zone: no query per RDV
        rdvs.append(rdv)
    agent_rows, usager_names = people_of([rdv.pk for rdv in rdvs])
    for rdv in rdvs:
        setattr(rdv, "agent_rows", agent_rows[rdv.pk])  # noqa: B010
        setattr(rdv, "usager_names", usager_names[rdv.pk])  # noqa: B010
    return rdvs


def people_of(rdv_ids: Collection[int]) -> tuple[dict[int, list[tuple[int, str, str]]], dict[int, list[str]]]:
    """The agents of these RDVs as (id, first name, last name), by last then first name, and the
    names of their usagers in the order they were added, by RDV id: two queries of bare rows
    (none for no RDV), as the agendas and « Tous les RDVs » print them. Written in SQL: built by
    the ORM, these two queries took 2.4 ms of CPU against 0.6, on every agenda and list page."""
    agent_rows: dict[int, list[tuple[int, str, str]]] = {rdv_id: [] for rdv_id in rdv_ids}
    usager_names: dict[int, list[str]] = {rdv_id: [] for rdv_id in rdv_ids}
    if not agent_rows:
        return agent_rows, usager_names
    ids = list(agent_rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT link.rdv_id, link.agent_id, agent.first_name, agent.last_name
                FROM {RDV_AGENTS} link JOIN {AGENTS} agent ON agent.id = link.agent_id
                WHERE link.rdv_id = ANY(%s)
                ORDER BY agent.last_name, agent.first_name, link.agent_id""",
            [ids],
        )
        for rdv_id, agent_id, first_name, last_name in cursor.fetchall():
            agent_rows[rdv_id].append((agent_id, first_name, last_name))
        cursor.execute(
            f"""SELECT participation.rdv_id, usager.first_name, usager.last_name
                FROM {PARTICIPATIONS} participation JOIN {USAGERS} usager ON usager.id = participation.usager_id
                WHERE participation.rdv_id = ANY(%s)
                ORDER BY participation.id""",
            [ids],
        )
        for rdv_id, first_name, last_name in cursor.fetchall():
            # As `Usager.full_name` says it.
            usager_names[rdv_id].append(f"{first_name} {last_name.upper()}".strip())
    return agent_rows, usager_names


def plages_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[EventOccurrence]:
    """2 queries: the plages (with lieu) and their exceptions near the window."""
    return (
        PlageOuverture.objects.for_organisation(organisation)
        .filter(agent_id__in=agent_ids)
        .select_related("lieu")
        .occurrences(window, organisation)
    )


def absences_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[EventOccurrence]:
    """2 queries: the absences and their exceptions near the window."""
    return (
        Absence.objects.for_organisation(organisation).filter(agent_id__in=agent_ids).occurrences(window, organisation)
    )


def absences_and_busy(
    organisation: Organisation, agent_ids: Sequence[int], window: Window
) -> tuple[list[EventOccurrence], list[BusyElsewhere]]:
    """3 queries whatever the number of agents, RDVs and organisations: the agents' absences in
    every organisation with their exceptions (2, as `absences_in_window`), and the links of the
    agents to the RDVs that hold time in other organisations, read as bare times (1). Returns the
    organisation's own absences, whole, and what other organisations hold, as spans only: an
    agent is busy everywhere (as for the créneaux engine and `find_conflicts`), but another
    organisation's motif, title, usagers or lieu never reach the page."""
    own: list[EventOccurrence] = []
    busy: list[BusyElsewhere] = []
    for occurrence in Absence.objects.filter(agent_id__in=agent_ids).occurrences(window):
        event = occurrence.event
        if event.organisation_id == organisation.pk:
            own.append(occurrence)
        else:
            busy.append(BusyElsewhere(agent_id=event.agent_id, start=occurrence.start, end=occurrence.end))
    # As Rdv.objects.holding_time().overlapping(…).exclude(organisation=…), in SQL (see people_of).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT link.agent_id, rdv.starts_at, rdv.ends_at
                FROM {RDV_AGENTS} link JOIN {RDVS} rdv ON rdv.id = link.rdv_id
                WHERE link.agent_id = ANY(%s) AND rdv.starts_at < %s AND rdv.ends_at > %s
                    AND rdv.organisation_id <> %s AND NOT (rdv.status = ANY(%s))""",
            [
                list(agent_ids),
                window.end,
                window.start,
                organisation.pk,
                [status.value for status in Rdv.CANCELLED_STATUSES],
            ],
        )
        for agent_id, starts_at, ends_at in cursor.fetchall():
            busy.append(BusyElsewhere(agent_id=agent_id, start=starts_at, end=ends_at))
    return own, merge_busy(busy)


def filter_choices(organisation: Organisation) -> dict[str, list[tuple]]:
    """The services of the organisation's motifs (id, name), its motifs (id, name, location
    type) and its lieux (id, name), each by name then id: the choices of the filters of « Tous
    les RDVs », in one query of bare rows (three built by the ORM took 2 ms of the page)."""
    found: dict[str, list[tuple]] = {"service": [], "motif": [], "lieu": []}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT kind, id, name, location_type FROM (
                    SELECT 1 AS rank, 'service' AS kind, service.id, service.name, NULL AS location_type
                    FROM {SERVICES} service
                    WHERE service.id IN (SELECT service_id FROM {MOTIFS} WHERE organisation_id = %s)
                    UNION ALL
                    SELECT 2, 'motif', motif.id, motif.name, motif.location_type
                    FROM {MOTIFS} motif WHERE motif.organisation_id = %s
                    UNION ALL
                    SELECT 3, 'lieu', lieu.id, lieu.name, NULL FROM {LIEUX} lieu WHERE lieu.organisation_id = %s
                ) choices
                ORDER BY rank, name, id""",
            [organisation.pk] * 3,
        )
        for kind, pk, name, location_type in cursor.fetchall():
            found[kind].append((pk, name, location_type) if kind == "motif" else (pk, name))
    return found


def visible_agents(membership: Membership) -> list[Agent]:
    return list(agents_with_visible_agenda(membership).order_by("last_name", "first_name", "pk"))
