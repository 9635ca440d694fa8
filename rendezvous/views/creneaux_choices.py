"""« Trouver un créneau »'s choices before a search (rendezvous/views/creneaux.py): which agents
an agenda's link preselects, and which motifs the list offers for the agents chosen.

Both read the plages d'ouverture the créneaux engine would read (`PlageOuverture.offering`: not
finished, never at an archived lieu, at a lieu for a motif « sur place »): an agent without a plage
for a motif has no slot for it, so preselecting it (the secrétariat from its own agenda, which
gives no consultation) only leads to « Aucun créneau »."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from agents.models import Agent
from motifs.models import Motif
from planning.models import PlageOuverture

# « Agents recherchés : … » names this many agents, then says how many more.
NAMED_AGENTS = 12


def motifs_offered_by(organisation, agent_ids: Sequence[int], motifs: Sequence[Motif], today: dt.date):
    """Per agent of `agent_ids`, the ids of the `motifs` its plages d'ouverture offer from `today`
    on. One query, none without an agent."""
    if not agent_ids:
        return {}
    by_pk = {motif.pk: motif for motif in motifs}
    plages = (
        PlageOuverture.objects.filter(organisation=organisation, agent_id__in=list(agent_ids))
        .current(today)
        .exclude(lieu__is_active=False)
    )
    rows = (
        PlageOuverture.motifs.through.objects.filter(plageouverture__in=plages, motif_id__in=list(by_pk))
        .values_list("plageouverture__agent_id", "motif_id", "plageouverture__lieu_id")
        .distinct()
    )
    offers: dict[int, set[int]] = {}
    for agent_id, motif_id, lieu_id in rows:
        if lieu_id is None and by_pk[motif_id].location_type == Motif.LocationType.PUBLIC_OFFICE:
            continue
        offers.setdefault(agent_id, set()).add(motif_id)
    return offers


def agent_name(agent: Agent) -> str:
    return agent.full_name or agent.email


@dataclass
class Choices:
    """What the filters offer: the agents ticked, the motifs listed (`narrowed` when only those
    of the ticked agents' plages), and the notices that say why."""

    agents: list[Agent]
    motifs: list[Motif]
    narrowed: bool = False
    notices: list[str] = field(default_factory=list)
    motif_help: str = ""


def filter_choices(
    *,
    organisation,
    motifs: list[Motif],
    requested: list[Agent],
    selected_motif: str,
    preselection: bool,
    today: dt.date,
) -> Choices:
    """`requested`: the agents of the query string (the membership may book them); `preselection`:
    they come from an agenda's link (« Trouver un créneau » beside an agenda), not from the agent's
    own ticks, so those without any plage for the motifs it may book are left out, and said so.
    The motif list narrows to the motifs of the ticked agents' plages, keeping `selected_motif`
    (a choice never disappears); when they offer none, every motif stays."""
    offers = motifs_offered_by(organisation, [agent.pk for agent in requested], motifs, today)
    choices = Choices(agents=list(requested), motifs=motifs)
    if preselection:
        choices.agents = [agent for agent in requested if offers.get(agent.pk)]
        for agent in requested:
            if not offers.get(agent.pk):
                choices.notices.append(
                    _(
                        "%(agent)s n'a pas de plage d'ouverture pour les motifs que vous pouvez réserver : "
                        "l'agent n'est pas présélectionné, les créneaux de tous les agents qui proposent "
                        "le motif choisi seront recherchés."
                    )
                    % {"agent": agent_name(agent)}
                )
    if not choices.agents:
        return choices
    offered = set().union(*(offers.get(agent.pk, set()) for agent in choices.agents))
    if not offered:
        choices.motif_help = _("Les agents cochés n'ont aucune plage d'ouverture : tous les motifs sont proposés.")
        return choices
    choices.motifs = [motif for motif in motifs if motif.pk in offered or str(motif.pk) == selected_motif]
    choices.narrowed = len(choices.motifs) < len(motifs)
    if choices.narrowed:
        choices.motif_help = _(
            "Les motifs des plages d'ouverture des agents cochés. Décochez les agents pour voir tous les motifs."
        )
    return choices


def searched_agents_sentence(names: list[str], *, all_agents: bool) -> str:
    """« Agents recherchés : … », the agents whose slots the week shows (or would show)."""
    shown = ", ".join(names[:NAMED_AGENTS])
    if len(names) > NAMED_AGENTS:
        shown = _("%(names)s et %(count)d autres") % {"names": shown, "count": len(names) - NAMED_AGENTS}
    if all_agents:
        return _("Agents recherchés : tous ceux qui proposent ce motif (%(names)s).") % {"names": shown}
    return _("Agents recherchés : %(names)s.") % {"names": shown}
