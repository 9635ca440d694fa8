"""What the agendas read for a window, in a fixed number of SQL queries whatever the number of
RDVs or agents: the RDVs (with motif, lieu, agents, usagers), the plages and absences with their
occurrences, the times other organisations hold the agents, and the agents whose agenda may be
opened (`agents.permissions.agents_with_visible_agenda`)."""

from collections.abc import Collection, Sequence

from agents.models import Agent
from agents.permissions import Membership, agents_with_visible_agenda
from organisations.models import Organisation
from planning.intervals import Window
from planning.models import Absence, EventOccurrence, PlageOuverture
from rendezvous.agenda.bands import BusyElsewhere, merge_busy
from rendezvous.models import Participation, Rdv

# What the agendas print of an RDV, its motif and lieu: nothing else is loaded.
RDV_FIELDS = (
    "id",
    "organisation_id",
    "starts_at",
    "ends_at",
    "duration_in_min",
    "status",
    "motif__name",
    "motif__color",
    "motif__location_type",
    "lieu__name",
)


def rdvs_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[Rdv]:
    """The organisation's RDVs of these agents overlapping the window, with everything the
    agendas print, in 3 queries whatever their number: the RDVs with their motif and lieu
    (select_related), then their agents and their usagers, prefetched by hand as plain rows
    (`rdv.agent_rows`: (id, first name, last name); `rdv.usager_names`, in the order they were
    added). A busy week has hundreds of RDVs: model instances for each agent, participation and
    usager would cost more than the rest of the page."""
    rdvs = list(
        Rdv.objects.for_organisation(organisation)
        .filter(pk__in=Rdv.agents.through.objects.filter(agent_id__in=agent_ids).values("rdv_id"))
        .overlapping(window.start, window.end)
        .select_related("motif", "lieu")
        .only(*RDV_FIELDS)
        .order_by("starts_at", "pk")
    )
    agent_rows, usager_names = people_of([rdv.pk for rdv in rdvs])
    for rdv in rdvs:
        rdv.organisation = organisation  # status rules read its time zone: no query per RDV
        setattr(rdv, "agent_rows", agent_rows[rdv.pk])  # noqa: B010
        setattr(rdv, "usager_names", usager_names[rdv.pk])  # noqa: B010
    return rdvs


def people_of(rdv_ids: Collection[int]) -> tuple[dict[int, list[tuple[int, str, str]]], dict[int, list[str]]]:
    """The agents of these RDVs as (id, first name, last name), by last then first name, and the
    names of their usagers in the order they were added, by RDV id: two queries of bare rows
    (none for no RDV), as the agendas and « Tous les RDVs » print them."""
    agent_rows: dict[int, list[tuple[int, str, str]]] = {rdv_id: [] for rdv_id in rdv_ids}
    usager_names: dict[int, list[str]] = {rdv_id: [] for rdv_id in rdv_ids}
    if not agent_rows:
        return agent_rows, usager_names
    for rdv_id, agent_id, first_name, last_name in (
        Rdv.agents.through.objects.filter(rdv_id__in=agent_rows)
        .order_by("agent__last_name", "agent__first_name", "agent_id")
        .values_list("rdv_id", "agent_id", "agent__first_name", "agent__last_name")
    ):
        agent_rows[rdv_id].append((agent_id, first_name, last_name))
    for rdv_id, first_name, last_name in (
        Participation.objects.filter(rdv_id__in=usager_names)
        .order_by("pk")
        .values_list("rdv_id", "usager__first_name", "usager__last_name")
    ):
        # As `Usager.full_name` says it.
        usager_names[rdv_id].append(f"{first_name} {last_name.upper()}".strip())
    return agent_rows, usager_names


def plages_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[EventOccurrence]:
    """2 queries: the plages (with lieu) and their exceptions near the window."""
    return (
        PlageOuverture.objects.for_organisation(organisation)
        .filter(agent_id__in=agent_ids)
        .select_related("lieu")
        .occurrences(window)
    )


def absences_in_window(organisation: Organisation, agent_ids: Sequence[int], window: Window) -> list[EventOccurrence]:
    """2 queries: the absences and their exceptions near the window."""
    return Absence.objects.for_organisation(organisation).filter(agent_id__in=agent_ids).occurrences(window)


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
    elsewhere = Rdv.objects.holding_time().overlapping(window.start, window.end).exclude(organisation=organisation)
    for agent_id, starts_at, ends_at in Rdv.agents.through.objects.filter(
        agent_id__in=agent_ids, rdv__in=elsewhere
    ).values_list("agent_id", "rdv__starts_at", "rdv__ends_at"):
        busy.append(BusyElsewhere(agent_id=agent_id, start=starts_at, end=ends_at))
    return own, merge_busy(busy)


def visible_agents(membership: Membership) -> list[Agent]:
    return list(agents_with_visible_agenda(membership).order_by("last_name", "first_name", "pk"))
