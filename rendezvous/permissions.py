"""Which RDVs a membership may see and change: the one access function every RDV page asks, as
`usagers.permissions.access_usager` is for usagers. Any other RDV, another organisation's
included, answers 404: the same answer as a missing one."""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404

from agents.permissions import Membership, can_change_rdv
from rendezvous.models import Participation, Rdv, RdvQuerySet


def rdvs_visible_to(membership: Membership) -> RdvQuerySet:
    """The RDVs the membership may see, with what the RDV pages show of each (motif, lieu, author,
    agents, usagers, organisation) loaded in a fixed number of queries."""
    return (
        Rdv.objects.visible_to(membership)
        .select_related("motif__service", "lieu", "organisation__territory", "created_by_agent")
        .prefetch_related(
            "agents",
            Prefetch(
                "participations", queryset=Participation.objects.select_related("usager__responsible").order_by("pk")
            ),
        )
    )


def rdvs_listed(membership: Membership, agent_ids: list[int]) -> RdvQuerySet:
    """The RDVs the membership may see, with what « Tous les RDVs » shows of each row (motif,
    lieu; its agents and usagers: `rendezvous.agenda.queries.people_of`). Not the organisation
    (the membership's) nor the author: with three joins fewer, PostgreSQL plans the list's query
    in half the time, which was most of its cost. `agent_ids`: the agents whose agenda the
    membership may open, as the filters have read them (`RdvQuerySet.visible_to`)."""
    return Rdv.objects.visible_to(membership, agent_ids).select_related("motif__service", "lieu")


def access_rdv(membership: Membership, pk: int, *, to_change: bool = False, lock: bool = False) -> Rdv:
    """The RDV `pk` if the membership may see it, and with `to_change` change it (statuses,
    « modifier », « supprimer »: it may open the agenda of one of its agents); else 404.
    `lock` takes the RDV's row lock (FOR NO KEY UPDATE), inside the caller's transaction."""
    rdvs = rdvs_visible_to(membership)
    if lock:
        rdvs = rdvs.select_for_update(no_key=True, of=("self",))
    rdv = get_object_or_404(rdvs, pk=pk)
    if to_change and not can_change_rdv(membership, rdv):
        raise Http404
    return rdv
