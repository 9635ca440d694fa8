"""Conflicts of an RDV being posed or changed: what keeps one of its agents from receiving at
that time. The forms warn with them (« Confirmer malgré le conflit »), the services check them
again under the agents' locks; both ask this module."""

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from planning.intervals import Window, covers, merge
from planning.models import Absence, PlageOuverture
from rdv import words
from rendezvous.models import Rdv


@dataclass(frozen=True)
class Conflict:
    agent: Agent
    text: str


def _day(value: dt.datetime, tz) -> str:
    return f"{timezone.localtime(value, tz):%d/%m/%Y}"


def _hour(value: dt.datetime, tz) -> str:
    return words.time_of_day(timezone.localtime(value, tz))


def conflicts_signature(conflicts: Sequence[Conflict]) -> str:
    """A digest of the conflicts an agent was warned of: « Confirmer malgré le conflit » holds
    for these only, not for one that appears afterwards."""
    texts = "\n".join(sorted(str(conflict.text) for conflict in conflicts))
    return hashlib.sha256(texts.encode()).hexdigest()[:16]


def find_conflicts(
    rdv: Rdv | None, organisation, agents, starts_at: dt.datetime, ends_at: dt.datetime
) -> list[Conflict]:
    """What keeps one of `agents` from receiving between `starts_at` and `ends_at`, agent by
    agent: another RDV that holds time (not cancelled), an absence, or time outside the agent's
    plages d'ouverture in this organisation. RDVs and absences count in every organisation (an
    agent is busy everywhere, as for the créneaux engine), but another organisation's RDV or
    absence is only dated, never described: its motif or title may be sensitive and belongs to
    that organisation. `rdv` is the RDV being changed (None when creating one).

    A bounded number of queries whatever the number of agents: one for the RDVs, at most three
    for the absences and three for the plages."""
    agents = list(agents)
    if not agents:
        return []
    ids = [agent.pk for agent in agents]
    tz = organisation.tzinfo
    window = Window(starts_at, ends_at)
    found: dict[int, list[str]] = {pk: [] for pk in ids}
    names = {agent.pk: agent.full_name for agent in agents}

    links = (
        Rdv.agents.through.objects.filter(
            agent_id__in=ids, rdv__in=Rdv.objects.holding_time().overlapping(starts_at, ends_at)
        )
        .select_related("rdv__motif")
        .order_by("rdv__starts_at", "rdv_id")
    )
    if rdv is not None and rdv.pk:
        links = links.exclude(rdv_id=rdv.pk)
    for link in links:
        other = link.rdv
        values = {
            "agent": names[link.agent_id],
            "day": _day(other.starts_at, tz),
            "start": _hour(other.starts_at, tz),
            "end": _hour(other.ends_at, tz),
        }
        if other.organisation_id == organisation.pk:
            values["motif"] = other.motif.name
            text = _("%(agent)s a déjà un RDV « %(motif)s » le %(day)s de %(start)s à %(end)s.") % values
        else:
            text = _("%(agent)s a déjà un RDV dans une autre organisation le %(day)s de %(start)s à %(end)s.") % values
        found[link.agent_id].append(text)

    for occurrence in Absence.objects.filter(agent_id__in=ids).occurrences(window):
        if not (occurrence.start < ends_at and occurrence.end > starts_at):
            continue
        absence = occurrence.event
        values = {
            "agent": names[absence.agent_id],
            "title": absence.title,
            "start": words.short_date_time(timezone.localtime(occurrence.start, tz)),
            "end": words.short_date_time(timezone.localtime(occurrence.end, tz)),
        }
        if absence.organisation_id == organisation.pk:
            text = _("%(agent)s est absent(e) (« %(title)s ») du %(start)s au %(end)s.") % values
        else:
            text = _("%(agent)s est absent(e) du %(start)s au %(end)s.") % values
        found[absence.agent_id].append(text)

    opened: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {pk: [] for pk in ids}
    plages = PlageOuverture.objects.for_organisation(organisation).filter(agent_id__in=ids)
    for plage in plages.occurrences(window):
        opened[plage.event.agent_id].append((plage.start, plage.end))
    for pk in ids:
        if not covers(*merge(opened[pk]), starts_at, ends_at):
            found[pk].append(
                _("Le %(day)s de %(start)s à %(end)s est en dehors des plages d'ouverture de %(agent)s.")
                % {
                    "agent": names[pk],
                    "day": _day(starts_at, tz),
                    "start": _hour(starts_at, tz),
                    "end": _hour(ends_at, tz),
                }
            )
    return [Conflict(agent, text) for agent in agents for text in found[agent.pk]]
