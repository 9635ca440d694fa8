"""Operations on RDVs that span several models: an RDV posed or changed by an agent (with its
agents and participations), its status changed or its deletion, and the booking of a créneau
found by the engine. Each locks what it changes, checks the rule, records who did it in the
history and writes the messages it owes, in one transaction.

An agent may knowingly book over a conflict (another RDV, an absence, outside the plages), after
a warning it confirms (rendezvous.forms.RdvScheduleForm). The form checks outside any transaction,
so two agents posing an RDV for the same colleague at the same time would each see a free time:
the save locks the agents' time (`planning.locks`) and checks again; conflicts other than those the agent accepted
create or change nothing (ConflictsChanged)."""

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from notifications.models import Notification
from notifications.services import RdvSnapshot, notify, notify_status_change, update_plan, write
from notifications.to_agents import Change, notify_agents, notify_agents_of_status
from planning.creneaux import free_agents_at, is_still_free
from planning.intervals import end_after
from planning.locks import hold_agents_time
from planning.slots import Slot
from rdv import historical
from rendezvous.conflicts import Conflict, conflicts_signature, find_conflicts
from rendezvous.models import BY_USAGER, Participation, Rdv

if TYPE_CHECKING:
    from motifs.models import Motif
    from organisations.models import Lieu, Organisation
    from usagers.models import Usager


class SlotTaken(Exception):
    """The créneau was booked (or closed) between the moment it was shown and the booking."""


class ConflictsChanged(Exception):
    """The conflicts found when saving differ from those the agent accepted (another RDV or an
    absence recorded after the form was checked): nothing was saved."""

    def __init__(self, conflicts: list[Conflict]):
        super().__init__(conflicts)
        self.conflicts = conflicts


def _lock_and_check_conflicts(
    *,
    rdv: Rdv | None,
    organisation: "Organisation",
    agents: Sequence[Agent],
    starts_at: dt.datetime,
    duration_in_min: int,
    accepted_conflicts: str,
) -> None:
    """Inside the caller's transaction: locks the agents' time (`hold_agents_time`), then finds
    the conflicts again in separate statements, which see what a booking that held the lock
    committed. Raises ConflictsChanged unless there is none or they are those the agent accepted
    (`accepted_conflicts`, a `conflicts_signature`)."""
    ends_at = end_after(starts_at, duration_in_min)
    hold_agents_time([agent.pk for agent in agents], (starts_at, ends_at))
    conflicts = find_conflicts(rdv, organisation, agents, starts_at, ends_at)
    if conflicts and conflicts_signature(conflicts) != accepted_conflicts:
        raise ConflictsChanged(conflicts)


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
    notes: str = "",
    by: "Agent",
    accepted_conflicts: str | None,
) -> Rdv:
    """An RDV posed by the agent `by`, its agents and its participations, in one transaction; the
    history names `by` as the author of each row.

    `accepted_conflicts`: the `conflicts_signature` of the conflicts the agent confirmed (of none
    when it saw none); the agents are locked and the conflicts checked again, ConflictsChanged
    creates nothing. None only for a caller that has checked the time itself under the same
    lock (book_slot)."""
    agents = list(agents)
    with transaction.atomic():
        if accepted_conflicts is not None:
            _lock_and_check_conflicts(
                rdv=None,
                organisation=organisation,
                agents=agents,
                starts_at=starts_at,
                duration_in_min=duration_in_min,
                accepted_conflicts=accepted_conflicts,
            )
        rdv = insert_rdv(
            organisation=organisation,
            motif=motif,
            starts_at=starts_at,
            duration_in_min=duration_in_min,
            agents=agents,
            usagers=usagers,
            lieu=lieu,
            address=address,
            notes=notes,
            by=by,
        )
    return rdv


def insert_rdv(
    *,
    organisation: "Organisation",
    motif: "Motif",
    starts_at: dt.datetime,
    duration_in_min: int,
    agents: Iterable["Agent"],
    usagers: Iterable["Usager"],
    lieu: "Lieu | None",
    address: str,
    notes: str,
    by: "Agent | None",
    booking_token: str | None = None,
) -> Rdv:
    """Writes a new RDV, its agents, its participations and the messages it owes, in the
    caller's transaction, once the caller has locked the agents and checked the time. `by` is
    the agent who posed it; None when the usager booked it online (`rendezvous.online`)."""
    rdv = Rdv(
        organisation=organisation,
        motif=motif,
        lieu=lieu,
        starts_at=starts_at,
        duration_in_min=duration_in_min,
        address=address,
        notes=notes,
        created_by=Rdv.CreatedBy.AGENT if by is not None else Rdv.CreatedBy.USAGER,
        created_by_agent=by,
        booking_token=booking_token,
    )
    rdv._history_user = by  # type: ignore[attr-defined]
    # One history record for the RDV and its agents: written after both, rather than a « + »
    # without agents then a « ~ » for them (`rendezvous.history` reads either). Its agent links
    # are inserted directly: `add` would first read which links exist, for an RDV that has none.
    rdv.skip_history_when_saving = True  # type: ignore[attr-defined]
    rdv.save()
    distinct = {agent.pk: agent for agent in agents}.values()
    links = Rdv.agents.through.objects.bulk_create(Rdv.agents.through(rdv=rdv, agent=agent) for agent in distinct)
    del rdv.skip_history_when_saving  # type: ignore[attr-defined]
    historical.record(rdv, "+", m2m_rows={"agents": links})
    participants = list(usagers)
    for usager in participants:
        participation = Participation(rdv=rdv, usager=usager)
        participation._history_user = by  # type: ignore[attr-defined]
        participation.save()
    # Who receives each one's messages is known without reading them again (the agent's time is
    # locked meanwhile), unless a proche's responsible was not loaded with it.
    known = all(usager.responsible_id is None or type(usager).responsible.is_cached(usager) for usager in participants)
    # What an agent posed waits the grace period: posed by mistake and deleted or cancelled at
    # once, it is never announced.
    notify(
        rdv, Notification.Event.CREATED, grace=by is not None, new=True, participants=participants if known else None
    )
    notify_agents(rdv, Change.CREATED, by=by, agents=list(distinct))
    return rdv


def update_rdv(
    *,
    rdv: Rdv,
    starts_at: dt.datetime,
    duration_in_min: int,
    lieu: "Lieu | None",
    agents: Iterable[Agent],
    usagers: Iterable["Usager"],
    notes: str,
    by: Agent,
    accepted_conflicts: str,
    notify_usagers: bool,
    address: str = "",
) -> bool:
    """« modifier »: the new time, lieu (or address, at home), agents, usagers and notes of `rdv`, in one transaction,
    after the same check as create_rdv (ConflictsChanged changes nothing). Raises
    Rdv.DoesNotExist when the RDV was deleted meanwhile.

    The usagers are told only when `notify_usagers` (the seed: a modification is not notified
    automatically). Returns whether the change concerns them (a new time or place, usagers added
    or removed), so that the agent is reminded to warn them when they were not told."""
    agents = list(agents)
    with transaction.atomic():
        _lock_and_check_conflicts(
            rdv=rdv,
            organisation=rdv.organisation,
            agents=agents,
            starts_at=starts_at,
            duration_in_min=duration_in_min,
            accepted_conflicts=accepted_conflicts,
        )
        # Another agent may have changed this RDV since the form was read: lock its row (after the
        # agents' time, the order every writer takes) and work from what is stored now.
        stored = Rdv.objects.select_for_update(no_key=True).get(pk=rdv.pk)
        before = RdvSnapshot.of(stored)
        # The status is not the form's: one set meanwhile must survive this save.
        rdv.status, rdv.status_changed_at = stored.status, stored.status_changed_at
        rdv._history_user = by  # type: ignore[attr-defined]
        rdv.starts_at = starts_at
        rdv.duration_in_min = duration_in_min
        rdv.lieu = lieu
        rdv.address = address
        rdv.notes = notes
        rdv.save()
        current_agents = set(rdv.agents.through.objects.filter(rdv_id=rdv.pk).values_list("agent_id", flat=True))
        if {agent.pk for agent in agents} != current_agents:
            rdv.agents.set(agents)
        wanted = {usager.pk for usager in usagers}
        current = set(Participation.objects.filter(rdv=rdv).values_list("usager_id", flat=True))
        Participation.objects.filter(rdv=rdv, usager_id__in=current - wanted).delete()
        for usager_id in sorted(wanted - current):
            Participation.objects.create(rdv=rdv, usager_id=usager_id)
        plan = update_plan(rdv, before)
        if notify_usagers:
            write(rdv, plan, grace=True)
        notify_agents(rdv, Change.UPDATED, by=by, before=before, agent_ids_before=current_agents)
    return bool(plan) and rdv.starts_at > timezone.now()


def book_slot(
    *,
    organisation: "Organisation",
    motif: "Motif",
    slot: Slot,
    usagers: Iterable["Usager"],
    by: "Agent",
    address: str = "",
    notes: str = "",
    now: dt.datetime | None = None,
) -> Rdv:
    """« Trouver un créneau »: books the slot for its agent, or raises SlotTaken and creates
    nothing. Inside one transaction, `is_still_free` locks the agent's time (two bookings of the
    same agent at overlapping times are serialised, the second sees the first's RDV), then the
    engine confirms that the slot is still offered (plage, absence, another RDV, with the
    agents' rules: no online delays)."""
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
            notes=notes,
            by=by,
            # The engine has just checked the slot, the agent locked: an agent booking a free
            # créneau accepts no conflict, and the engine refuses any (SlotTaken).
            accepted_conflicts=None,
        )


def change_status(
    *, rdv: Rdv, status: str, by: Agent | None, notify_usagers: bool = True, now: dt.datetime | None = None
) -> None:
    """The only way to change a status: checks the rule (`Rdv.status_refusal`), records who did it
    in the history (`by`, or the usager itself when None: `rendezvous.online.cancel`), writes the
    notifications it owes (unless the agent unticked « Prévenir les usagers » : `notify_usagers`;
    an agent's wait the grace period, an usager's own leave at once). Works from the stored RDV, its row locked
    (the order every writer takes: the RDV's row, then its notifications): two agents on stale
    pages cancelling it owe one annulation, and the rule and the messages see its current time.
    `rdv` is then updated from it. Raises ValidationError (on `status`) for a refused change,
    Rdv.DoesNotExist if the RDV was deleted meanwhile."""
    now = now or timezone.now()
    with transaction.atomic():
        stored = (
            Rdv.objects.select_for_update(no_key=True, of=("self",))
            .select_related("organisation__territory", "motif__service", "lieu")
            .get(pk=rdv.pk)
        )
        refusal = stored.status_refusal(status, now)
        if refusal:
            raise ValidationError({"status": refusal})
        if status != stored.status:
            old_status = stored.status
            stored.status = status
            stored.status_changed_at = now
            stored._history_user = by  # type: ignore[attr-defined]
            if by is None:
                stored._change_reason = BY_USAGER  # type: ignore[attr-defined]
            stored.save(update_fields=["status", "status_changed_at", "updated_at"])
            if notify_usagers:
                notify_status_change(stored, old_status, now=now, grace=by is not None)
            notify_agents_of_status(stored, old_status, by=by, now=now)
    for field in Rdv._meta.concrete_fields:
        setattr(rdv, field.attname, getattr(stored, field.attname))


def delete_rdv(*, rdv: Rdv, by: Agent) -> None:
    """« supprimer »: not notified to the usagers (the seed says so); the history keeps the RDV
    and names `by`. The RDV's row is locked before its notifications' (set to NULL by the
    delete): the order every writer takes, so a status change at the same time cannot deadlock
    with it."""
    with transaction.atomic():
        Rdv.objects.select_for_update().filter(pk=rdv.pk).values_list("pk", flat=True).first()
        rdv._history_user = by  # type: ignore[attr-defined]
        rdv.delete()
