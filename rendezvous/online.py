"""What an usager does to its RDVs online: book a créneau, cancel, move. The same engine as the
agents' (`planning.creneaux`, online rules: delays, référents for « RDV de suivi »), the same locks
(`planning.locks.hold_agents_time`, in key order: no deadlock), the same writes
(`services.insert_rdv`, `services.change_status`): one transaction each, and the messages they
owe in it.

No double booking, even when many usagers confirm the same time at once: the agents who may be free
at that time are tried in id order; for each, its time is locked (`planning.locks`) if no other
transaction holds it, then a second statement checks that no RDV holds it (`is_free`). The first
confirmation books it; the others, while it books or once it has, hear that the time is taken
(SlotTaken) or get the next agent: a confirmation never waits for another's, so that many at once
keep the web workers busy answering rather than waiting. An usager's confirmation holds the time
before it computes the créneaux (`claim_offered`): of many at once, those that find it taken or
being booked answer in a few queries, most in the one query that precedes any transaction
(`unbusy_agents`: the RDVs, and the agents' time held in pg_locks, read without taking it). A
transaction holding that time may yet roll back (rare: an agent's change refused, a move): the time
is then offered again on the créneaux page the usager is sent back to. A double click or a replayed
form carries the same `booking_token`: the twin waits for the first submission (an advisory lock on
the token), then gets its RDV (AlreadyBooked; the token's unique constraint lets one RDV through)."""

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from agents.models import Agent
from planning.calendars import HOLDING_SQL, holding_params
from planning.creneaux import free_agents_at, is_free
from planning.intervals import end_after
from planning.locks import HELD_SQL, held_params, hold_agents_time
from rendezvous.models import Participation, Rdv
from rendezvous.services import SlotTaken, change_status, insert_rdv

if TYPE_CHECKING:
    from motifs.models import Motif
    from organisations.models import Lieu
    from usagers.models import Usager


# A booking holds its form's token under an advisory lock of this class (two-key space:
# `planning.locks` uses the one-key space, `notifications.claim` another class).
TOKEN_LOCK = 16_002
TOKEN_TRY_SQL = "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))"
TOKEN_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"


class AlreadyBooked(Exception):
    """This booking form was already submitted: `rdv` is the RDV it made."""

    def __init__(self, rdv: Rdv):
        super().__init__(rdv)
        self.rdv = rdv


class TooLate(Exception):
    """Past the organisation's limit before the RDV: the usager must call."""


def bookable_agents(
    *,
    motif: "Motif",
    start: dt.datetime,
    lieu: "Lieu | None",
    usager: "Usager",
    agent_ids: Iterable[int] | None = None,
    booking_token: str,
    now: dt.datetime | None = None,
) -> list[int]:
    """The agents free at `start` among `agent_ids` (None: any), in id order, as `book` will try
    them: the engine's answer for this usager. Raises SlotTaken when nobody is free, or
    AlreadyBooked when this form already booked (the booking token is looked up only to refuse,
    after what decided it: a form submitted twice whose twin committed meanwhile gets the twin's
    RDV, not « taken »; a replay with an agent still free goes on to `book`, where the token's
    unique constraint answers the same)."""
    allowed = None if agent_ids is None else set(agent_ids)
    candidates = free_agents_at(
        motif=motif, start=start, lieu_id=lieu.pk if lieu is not None else None, online=True, usager=usager, now=now
    )
    found = [agent_id for agent_id in sorted(candidates) if allowed is None or agent_id in allowed]
    if not found:
        refuse(booking_token)
    return found


def unbusy_agents(possible: Collection[int], start: dt.datetime, end: dt.datetime, booking_token: str) -> list[int]:
    """Before any transaction, the agents among `possible` (every agent who could take the
    créneau, or more) who hold no RDV over [start, end) and whose time no other confirmation is
    booking, in id order: `claim_offered`'s candidates. One query, which reads the booking token
    as well: raises AlreadyBooked for a form that booked already (its RDV, whoever is free now),
    and SlotTaken when every one of them is busy or being booked, without a transaction nor
    computing the créneaux: most of the many usagers who confirm the same time at once, those
    that come while the first ones book included (about ten statements each before)."""
    read = busy_and_twin(possible, start, end, booking_token)
    if read.twin is not None:
        raise AlreadyBooked(Rdv.objects.get(pk=read.twin))
    # The agents another confirmation is booking at this time are taken too, as `claim` would
    # find them (its lock is held): answered here in this one query. Unless this form's twin (a
    # double click) is that confirmation: then `claim` waits for it and gives its RDV.
    taken = read.busy if read.twin_booking else read.busy | read.held
    candidates = sorted(set(possible) - taken)
    if not candidates:
        raise SlotTaken
    return candidates


def claim_offered(
    *,
    motif: "Motif",
    start: dt.datetime,
    lieu: "Lieu | None",
    usager: "Usager",
    agent_ids: Iterable[int] | None = None,
    candidates: Sequence[int],
    booking_token: str,
    now: dt.datetime | None = None,
) -> Agent:
    """Inside the caller's transaction, for an usager confirming a créneau: the agent who takes
    it, its time held (`claim` among `candidates`, from `unbusy_agents`), then the engine's check
    that the créneau is still offered to this usager with that agent (delays, absences, closed
    days). The time first: of many usagers confirming the same time at once, those that find it
    being booked by another confirmation answer « taken » in a few queries, without computing the
    créneaux (the engine, inside the transaction of the one that holds it). An agent the engine
    does not offer is released (a savepoint) and the engine's own agents are tried. Raises
    SlotTaken or AlreadyBooked; writes nothing.

    Outside a « RDV de suivi », what the engine checks besides the RDVs is the same for every
    usager: an agent held and not offered to this one is offered to nobody, and holding it first
    only decides who gets which agent. A « RDV de suivi » is offered with the usager's own
    référents only: held first, an agent who is not would make another usager, whose référent it
    is, hear « taken » while it is free. There, the engine first, then `claim` among its agents.

    A candidate is an agent holding no RDV when `unbusy_agents` read them: an RDV cancelled
    since (milliseconds) may answer « taken » where the engine would have offered its agent; the
    usager is sent back to the créneaux, which show it again."""
    end = end_after(start, motif.default_duration_in_min)

    def offered_agents() -> list[int]:
        return bookable_agents(
            motif=motif,
            start=start,
            lieu=lieu,
            usager=usager,
            agent_ids=agent_ids,
            booking_token=booking_token,
            now=now,
        )

    if motif.follow_up:
        return claim(start=start, end=end, candidates=offered_agents(), booking_token=booking_token)
    savepoint = transaction.savepoint()
    agent = claim(start=start, end=end, candidates=candidates, booking_token=booking_token)
    offered = offered_agents()
    if agent.pk in offered:
        transaction.savepoint_commit(savepoint)
        return agent
    transaction.savepoint_rollback(savepoint)
    return claim(start=start, end=end, candidates=offered, booking_token=booking_token)


def booked_by(booking_token: str) -> Rdv | None:
    """The RDV this booking form made, if it did (the token is unique)."""
    return Rdv.objects.filter(booking_token=booking_token).first()


def refuse(booking_token: str) -> NoReturn:
    """No agent free: AlreadyBooked when this form's token already booked (read after what found
    them busy, so a twin submission that committed meanwhile is seen), SlotTaken otherwise."""
    existing = booked_by(booking_token)
    if existing is not None:
        raise AlreadyBooked(existing)
    raise SlotTaken


# In one statement: the agents among those asked holding an RDV that overlaps [start, end) (the
# engine's reading, `planning.calendars.HOLDING_SQL`, on the copies of each RDV's time and status
# kept on its agents' rows), the RDV the booking token made (one snapshot for both), the agents
# whose time another transaction is booking right now (`planning.locks.HELD_SQL`), and whether
# another request holds this booking token (its twin, booking).
BUSY_AND_TWIN_SQL = f"""
SELECT agent_id, 'busy' FROM rendezvous_rdv_agents WHERE {HOLDING_SQL}
UNION ALL
SELECT id, 'twin' FROM rendezvous_rdv WHERE booking_token = %(token)s
UNION ALL
SELECT held.classid, 'held' FROM ({HELD_SQL}) AS held (classid)
UNION ALL
SELECT 0, 'twin booking' WHERE EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND pid <> pg_backend_pid()
        AND classid::bigint = %(token_lock)s AND objid::bigint = hashtext(%(token)s)::bigint & 4294967295
)
"""


@dataclass(frozen=True)
class Reading:
    """What `busy_and_twin` read: see BUSY_AND_TWIN_SQL."""

    busy: set[int]
    held: set[int]
    twin: int | None
    twin_booking: bool


def busy_and_twin(agent_ids: Collection[int], start: dt.datetime, end: dt.datetime, booking_token: str) -> Reading:
    """The agents among `agent_ids` who hold an RDV overlapping [start, end) (busy then, whatever
    their plages: `is_free` decides the same way for one agent), those whose time over it another
    transaction holds to write it, the id of the RDV this booking token made, if any, and whether
    another request holds the token (this form's twin, booking). One statement, one snapshot, so
    a twin submission that committed before it is seen in both. Fixed SQL: what most of many
    usagers confirming the same time at once run, the ORM's union cost more to build than to
    answer."""
    parameters = {
        **holding_params(agent_ids, start, end),
        **held_params(agent_ids, start, end),
        "token": booking_token,
        "token_lock": TOKEN_LOCK,
    }
    with connection.cursor() as cursor:
        cursor.execute(BUSY_AND_TWIN_SQL, parameters)
        rows = cursor.fetchall()
    return Reading(
        busy={key for key, kind in rows if kind == "busy"},
        held={key for key, kind in rows if kind == "held"},
        twin=next((key for key, kind in rows if kind == "twin"), None),
        twin_booking=any(kind == "twin booking" for _key, kind in rows),
    )


def claim(*, start: dt.datetime, end: dt.datetime, candidates: Sequence[int], booking_token: str) -> Agent:
    """Inside the caller's transaction, before it writes anything else of the booking: the first
    agent among `candidates` whose time over [start, end) this transaction now holds and no RDV
    holds. Raises SlotTaken, or AlreadyBooked when this form's twin booked it: a confirmation
    that finds the time taken, or being booked, has written nothing (many at once each answer
    in a few queries)."""
    # This form's twin (a double click, a replay) still booking: waited for, then its RDV,
    # before this one holds another agent's time for nothing.
    with connection.cursor() as cursor:
        cursor.execute(TOKEN_TRY_SQL, [TOKEN_LOCK, booking_token])
        if not cursor.fetchone()[0]:
            cursor.execute(TOKEN_LOCK_SQL, [TOKEN_LOCK, booking_token])
            twin = booked_by(booking_token)
            if twin is not None:
                raise AlreadyBooked(twin)
    many = len(candidates) > 1
    for agent_id in candidates:
        # With other agents to try, in a savepoint: an agent found taken, or held, releases what
        # was locked of its time.
        with transaction.atomic(savepoint=many):
            # Under the lock, a later statement: what committed meanwhile is seen.
            if hold_agents_time([agent_id], (start, end), wait=False) and is_free(agent_id, start, end):
                return Agent.objects.get(pk=agent_id)
            if many:
                transaction.set_rollback(True)
    # Every candidate taken, or being booked by another confirmation.
    refuse(booking_token)


def book(
    *,
    motif: "Motif",
    start: dt.datetime,
    lieu: "Lieu | None",
    usagers: Sequence["Usager"],
    agent_ids: Iterable[int] | None = None,
    address: str = "",
    booking_token: str,
    now: dt.datetime | None = None,
    claimed: Agent | None = None,
) -> Rdv:
    """Books the créneau starting at `start` for `usagers` (the first one's référents count for a
    « RDV de suivi »), with a free agent among `agent_ids` (None: any; the sectorisation's agents
    otherwise), or with the agent the caller's transaction `claimed` (`claim_offered`). Raises
    SlotTaken (nothing created) or AlreadyBooked."""
    end = end_after(start, motif.default_duration_in_min)
    candidates: list[int] = []
    if claimed is None:
        candidates = bookable_agents(
            motif=motif,
            start=start,
            lieu=lieu,
            usager=usagers[0],
            agent_ids=agent_ids,
            booking_token=booking_token,
            now=now,
        )
    try:
        with transaction.atomic():
            agent = claimed or claim(start=start, end=end, candidates=candidates, booking_token=booking_token)
            return insert_rdv(
                organisation=motif.organisation,
                motif=motif,
                starts_at=start,
                duration_in_min=motif.default_duration_in_min,
                agents=[agent],
                usagers=usagers,
                lieu=lieu,
                address=address,
                notes="",
                by=None,
                booking_token=booking_token,
            )
    except IntegrityError:
        # The same form submitted twice at once: the other submission committed this token.
        existing = booked_by(booking_token)
        if existing is None:
            raise
        raise AlreadyBooked(existing) from None


def can_change(rdv: Rdv, now: dt.datetime | None = None) -> bool:
    """Whether the usager may still cancel or move it online: « À venir », and before the
    organisation's limit (`usager_cancel_limit_hours`, 4 by default)."""
    now = now or timezone.now()
    return rdv.status == Rdv.Status.UNKNOWN and now < rdv.starts_at - dt.timedelta(
        hours=rdv.organisation.usager_cancel_limit_hours
    )


def cancel(*, rdv: Rdv, now: dt.datetime | None = None) -> None:
    """« Annuler »: « Absent excusé », recorded as done by the usager; the annulation is notified."""
    now = now or timezone.now()
    if not can_change(rdv, now):
        raise TooLate
    change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=None, now=now)


def move(
    *,
    rdv: Rdv,
    start: dt.datetime,
    agent_ids: Iterable[int] | None = None,
    booking_token: str,
    now: dt.datetime | None = None,
) -> Rdv:
    """« Déplacer »: one atomic replacement. The new créneau (same motif and lieu) is booked and
    the old RDV cancelled in one transaction: the old time is freed only if the new one is
    taken. Raises SlotTaken (nothing changed), TooLate or AlreadyBooked."""
    now = now or timezone.now()
    usagers = [p.usager for p in Participation.objects.filter(rdv=rdv).select_related("usager").order_by("pk")]
    with transaction.atomic():
        # The time of the RDV's agents first (where it is and where it goes), then its row: the
        # order the agents' side takes (update_rdv), so that an agent changing it at the same
        # time waits for the move or the move for it, never each for the other.
        hold_agents_time(
            rdv.agents.values_list("pk", flat=True),
            (rdv.starts_at, rdv.ends_at),
            (start, end_after(start, rdv.motif.default_duration_in_min)),
        )
        stored = Rdv.objects.select_for_update(no_key=True, of=("self",)).select_related("organisation").get(pk=rdv.pk)
        if not can_change(stored, now):
            raise TooLate
        # Cancelled first, so that its own time is free for the new créneau (a move by half an
        # hour with the same agent); SlotTaken below rolls the cancellation back with the rest.
        # The usager hears of the new RDV only (its confirmation), not of the old one's
        # cancellation as well: one message per move. A message still waiting about the old RDV
        # is dropped when a worker claims it (claim.obsolete: cancelled).
        change_status(rdv=stored, status=Rdv.Status.EXCUSED, by=None, notify_usagers=False, now=now)
        return book(
            motif=stored.motif,
            start=start,
            lieu=stored.lieu,
            usagers=usagers,
            agent_ids=agent_ids,
            address=stored.address,
            booking_token=booking_token,
            now=now,
        )
