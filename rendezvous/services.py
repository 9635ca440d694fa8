"""Operations on RDVs that span several models: an RDV posed by an agent (with its agents and
participations), and the booking of a créneau found by the engine."""

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction

from planning.creneaux import Slot, free_agents_at, is_still_free
from rendezvous.models import Participation, Rdv

if TYPE_CHECKING:
    from agents.models import Agent
    from motifs.models import Motif
    from organisations.models import Lieu, Organisation
    from usagers.models import Usager


class SlotTaken(Exception):
    """The créneau was booked (or closed) between the moment it was shown and the booking."""


def create_rdv(
    *,
    organisation: "Organisation",
    motif: "Motif",
    starts_at: dt.datetime,
    duration_in_min: int,
    agents: Iterable["Agent"],
    usagers: Iterable["Usager"],
    lieu: "Lieu | None" = None,
    address: str = "",
    context: str = "",
    by: "Agent",
) -> Rdv:
    """An RDV posed by the agent `by`, its agents and its participations, in one transaction; the
    history names `by` as the author of each row."""
    with transaction.atomic():
        rdv = Rdv(
            organisation=organisation,
            motif=motif,
            lieu=lieu,
            starts_at=starts_at,
            duration_in_min=duration_in_min,
            address=address,
            context=context,
            created_by=Rdv.CreatedBy.AGENT,
            created_by_agent=by,
        )
        rdv._history_user = by  # type: ignore[attr-defined]
        rdv.save()
        rdv.agents.set(list(agents))
        for usager in usagers:
            participation = Participation(rdv=rdv, usager=usager)
            participation._history_user = by  # type: ignore[attr-defined]
            participation.save()
    return rdv


def book_slot(
    *,
    organisation: "Organisation",
    motif: "Motif",
    slot: Slot,
    usagers: Iterable["Usager"],
    by: "Agent",
    address: str = "",
    context: str = "",
    now: dt.datetime | None = None,
) -> Rdv:
    """« Trouver un créneau »: books the slot for its agent, or raises SlotTaken and creates
    nothing. Inside one transaction, `is_still_free` locks the agent's row (two bookings of the
    same agent are serialised, the second sees the first's RDV), then the engine confirms that
    the slot is still offered (plage, absence, another RDV, with the agents' rules: no online
    delays)."""
    from agents.models import Agent

    with transaction.atomic():
        if not is_still_free(slot):
            raise SlotTaken
        offered = free_agents_at(motif=motif, start=slot.start, lieu_id=slot.lieu_id, online=False, now=now)
        if slot.agent_id not in offered:
            raise SlotTaken
        duration = int((slot.end - slot.start).total_seconds() // 60)
        return create_rdv(
            organisation=organisation,
            motif=motif,
            starts_at=slot.start,
            duration_in_min=duration,
            agents=[Agent.objects.get(pk=slot.agent_id)],
            usagers=usagers,
            lieu=None if slot.lieu_id is None else organisation.lieux.get(pk=slot.lieu_id),
            address=address,
            context=context,
            by=by,
        )
