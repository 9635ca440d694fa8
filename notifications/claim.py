"""Claiming outbox rows, many at a time: the first of delivery's three steps.

In one short transaction, `claim` locks the due rows among those asked (`SELECT … FOR UPDATE SKIP
LOCKED`: a row another worker holds is its own), reads at once everything their checks need (the
RDVs with their participations, the other messages of the same RDVs, the counts of the day per
address; in fixed SQL, `notifications.claim_reads`), then decides for each row, oldest first, as
if they were claimed one by one:

- dropped when it has become pointless (`obsolete`: the RDV deleted, started, cancelled, moved,
  its usager gone, a newer message for the same address), when its recipient can no longer be
  reached, or when its address already had its NOTIFICATIONS_DAILY_LIMIT messages of the day;
- held back while an earlier message of the same thread (same RDV, recipient and channel) is on
  its way: what the recipient reads depends on whether that one reaches it;
- else its text fixed from the RDV as it is and what the recipient heard
  (services.final_wording), and marked « sending » with a deadline (CLAIM_TIMEOUT), its attempt
  counted.

What one row's decision changes (a row claimed is « on its way » and « heard » for the next of its
thread, counts for its address's limit; a row dropped replaces nothing) is kept in memory for the
next rows of the batch. All rows are then written in one statement. Reading per batch rather
than per row is what lets one worker send hundreds of messages a second (bench_notifications)."""

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import claim_reads
from notifications.messages import participations
from notifications.models import CLAIM_TIMEOUT, Notification
from notifications.queue import dispatch
from notifications.services import final_wording
from rdv.db import commit_without_waiting_for_the_disk
from usagers.models import CODE_VALIDITY

Status = Notification.Status
Event = Notification.Event

# The daily limit per address counts over a sliding day, under an advisory lock of this class.
DAILY_LIMIT_WINDOW = dt.timedelta(hours=24)
DAILY_LIMIT_LOCK = 16_001

# The code an usager's email carries (usagers/templates/usagers/emails/code.txt).
CODE_IN_TEXT = re.compile(r"\b[0-9]{6}\b")
# The links of professionals' emails (invitation, new password): each carries a one-time token.
LINK_IN_TEXT = re.compile(r"https?://\S+")

# Every field a claim may change, with its SQL type: written for every row of the batch in one
# UPDATE (Django's bulk_update compiles a CASE per field and row: slower than the sends).
CLAIMED_FIELDS = {
    "status": "text",
    "last_error": "text",
    "attempts": "integer",
    "next_attempt_at": "timestamptz",
    "event": "text",
    "to": "text",
    "subject": "text",
    "body": "text",
    "rdv_starts_at": "timestamptz",
}


@dataclass
class Known:
    """What the claim knows of a message about one of the batch's RDVs (a row of the batch
    included: its state follows the decisions taken)."""

    pk: int
    rdv_id: int
    usager_id: int | None
    agent_id: int | None
    channel: str
    event: str
    status: str
    next_attempt_at: dt.datetime
    rdv_starts_at: dt.datetime | None

    def same_thread(self, notification: Notification) -> bool:
        return (self.rdv_id, self.usager_id, self.agent_id, self.channel) == (
            notification.rdv_id,
            notification.usager_id,
            notification.agent_id,
            notification.channel,
        )


class Batch:
    """The rows being claimed and what was read for their checks."""

    def __init__(self, rows: list[Notification], now: dt.datetime):
        self.rows, self.now = rows, now
        about_rdvs = [row for row in rows if row.rdv_id is not None]
        # One object per RDV, its participations read once for all its messages.
        rdvs = {row.rdv_id: row.rdv for row in about_rdvs}
        for row in about_rdvs:
            row.rdv = rdvs[row.rdv_id]
        claim_reads.prefetch_participations(rdvs.values())
        self.known: dict[int, list[Known]] = {}
        for values in claim_reads.known_about(rdvs):
            known = Known(*values)
            self.known.setdefault(known.rdv_id, []).append(known)
        self.mine = {known.pk: known for knowns in self.known.values() for known in knowns}
        self.sent_today: Counter[str] = Counter()
        self.counted: set[str] = set()
        self._count_addresses({row.to for row in rows if _counts(row)})

    def set_status(self, row: Notification, status: str) -> None:
        row.status = status
        known = self.mine.get(row.pk)
        if known is not None:
            known.status, known.next_attempt_at = status, row.next_attempt_at
            known.event, known.rdv_starts_at = row.event, row.rdv_starts_at

    def thread(self, notification: Notification) -> list[Known]:
        return [known for known in self.known.get(notification.rdv_id, []) if known.same_thread(notification)]

    def on_its_way_until(self, notification: Notification) -> dt.datetime | None:
        """The latest deadline of the earlier messages of its thread a worker is sending."""
        deadlines = [
            known.next_attempt_at
            for known in self.thread(notification)
            if known.pk < notification.pk and known.status == Status.SENDING and known.next_attempt_at > self.now
        ]
        return max(deadlines, default=None)

    def heard(self, notification: Notification) -> list[str]:
        """The events its recipient heard (or is hearing) in its thread, oldest first."""
        return [
            known.event
            for known in self.thread(notification)
            if known.pk < notification.pk and known.status in (Status.SENDING, Status.SENT)
        ]

    def has_newer(self, notification: Notification) -> bool:
        """A newer message to the same recipient and channel about the RDV replaces this one,
        unless it is a reminder written from a stale read of the RDV (it is itself dropped, and
        must not take this one along). The emails to the RDV's agents replace no usager's."""
        rdv = notification.rdv
        return any(
            known.pk > notification.pk
            and known.usager_id == notification.usager_id
            and known.channel == notification.channel
            and known.agent_id is None
            and known.status not in (Status.DROPPED, Status.FAILED)
            and not (known.event == Event.REMINDER and known.rdv_starts_at != rdv.starts_at)
            for known in self.known.get(notification.rdv_id, [])
        )

    def over_daily_limit(self, notification: Notification) -> str:
        """Why the message would be one too many for its address today (NOTIFICATIONS_DAILY_LIMIT
        messages about RDVs in the last 24 hours, those being sent included), or "". A family
        whose RDVs are moved all day long must not be flooded. Checked on the final address
        (final_wording may have changed it), under a lock on that address, so that two workers
        never both send the last one allowed. The usagers' codes and the professionals' emails are
        not counted, nor ever held back: an usager must be able to sign in, an agent chose what it
        receives."""
        self._count_addresses({notification.to})
        being_sent = sum(
            1 for row in self.rows if row.to == notification.to and row.status == Status.SENDING and _counts(row)
        )
        if self.sent_today[notification.to] + being_sent >= settings.NOTIFICATIONS_DAILY_LIMIT:
            return _("Non envoyée : limite quotidienne")
        return ""

    def _count_addresses(self, addresses: set[str]) -> None:
        """Locks the addresses not locked yet (in one order, whoever locks them) and counts what
        they were sent in the day, outside this batch (its rows are counted as they stand)."""
        new = sorted(addresses - self.counted)
        if not new:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(address))"
                " FROM (SELECT unnest(%s::text[]) AS address ORDER BY 1) AS addresses",
                [DAILY_LIMIT_LOCK, new],
            )
        counts = claim_reads.sent_today(new, [row.pk for row in self.rows], self.now - DAILY_LIMIT_WINDOW)
        self.sent_today.update(counts)
        self.counted.update(new)


def _counts(row: Notification) -> bool:
    """Whether a message counts for its address's daily limit: a message to an usager about an
    RDV."""
    return row.agent_id is None and row.event not in Notification.NOT_ABOUT_AN_RDV


def claim(pks: list[int], now: dt.datetime) -> list[Notification]:
    """Claims the rows `pks` that are due at `now` and that no one else holds; returns them with
    their new state: « sending » (to send now), dropped (with the reason in `last_error`), or
    still pending (held back behind an earlier message: not to send)."""
    with transaction.atomic():
        rows = claim_reads.lock_due(pks, now)
        if not rows:
            return []
        # Lost in a crash of the database server, the claim leaves the rows due: sent again, at
        # least once, as when a worker dies (rdv.db).
        commit_without_waiting_for_the_disk()
        batch = Batch(rows, now)
        held = [row for row in rows if not _decide(row, batch)]
        _write(rows)
    for row in held:
        # The earlier one may have finished while this row was locked here, its
        # _release_followers skipping it: then it is due now.
        if not _on_its_way(row, now).exists():
            Notification.objects.filter(pk=row.pk, status=Status.PENDING).update(next_attempt_at=timezone.now())
            dispatch([row.pk])
    return rows


def _write(rows: list[Notification]) -> None:
    """The rows as decided, in one statement."""
    columns = {Notification._meta.get_field(name).column: kind for name, kind in CLAIMED_FIELDS.items()}
    quoted = [connection.ops.quote_name(column) for column in columns]
    one_row = "(%s, " + ", ".join(f"%s::{kind}" for kind in columns.values()) + ")"
    parameters: list = []
    for row in rows:
        parameters += [row.pk, *(getattr(row, name) for name in CLAIMED_FIELDS)]
    assignments = ", ".join(f"{column} = claimed.{column}" for column in quoted)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Notification._meta.db_table} AS row SET {assignments}"
            f" FROM (VALUES {', '.join([one_row] * len(rows))}) AS claimed (id, {', '.join(quoted)})"
            " WHERE row.id = claimed.id",
            parameters,
        )


def _decide(row: Notification, batch: Batch) -> bool:
    """Drops the row, or starts sending it, or holds it back (returns False)."""
    now = batch.now
    if not row.is_about_an_rdv:
        if _is_expired_code(row, now):
            row.last_error, row.body = _("Le code a expiré avant l'envoi."), without_secrets(row)
            batch.set_status(row, Status.DROPPED)
            return True
        _start_sending(row, batch)
        return True
    if row.is_for_an_agent:
        _decide_for_agent(row, batch)
        return True
    reason = obsolete(row, batch)
    # What the recipient reads depends on whether an earlier message reaches it: wait for it.
    held_until = None if reason else batch.on_its_way_until(row)
    if held_until:
        row.next_attempt_at = held_until  # or sooner: delivery._release_followers
        return False
    reason = reason or final_wording(row, heard=batch.heard(row)) or batch.over_daily_limit(row)
    if reason:
        row.last_error = reason
        batch.set_status(row, Status.DROPPED)
    else:
        _start_sending(row, batch)
    return True


def _decide_for_agent(row: Notification, batch: Batch) -> None:
    """An email to one of the RDV's agents (notifications.to_agents) is no part of an usager's
    thread: nothing to wait for, nothing to word again. It leaves as written, unless the RDV was
    deleted or has started (a change of it is told by its own email)."""
    rdv = row.rdv
    reason = ""
    if rdv is None:
        reason = _("Le RDV a été supprimé avant l'envoi.")
    elif rdv.starts_at <= batch.now:
        reason = _("Le RDV a commencé avant l'envoi.")
    if reason:
        row.last_error = reason
        batch.set_status(row, Status.DROPPED)
    else:
        _start_sending(row, batch)


def _start_sending(row: Notification, batch: Batch) -> None:
    """The claimed row is « sending » for CLAIM_TIMEOUT, its final wording kept."""
    row.attempts += 1
    row.next_attempt_at = batch.now + CLAIM_TIMEOUT
    batch.set_status(row, Status.SENDING)


def _is_expired_code(notification: Notification, now: dt.datetime) -> bool:
    """An usager's code is useless once expired: dropped rather than sent late."""
    return notification.event == Event.LOGIN_CODE and notification.created_at + CODE_VALIDITY <= now


def _on_its_way(notification: Notification, now: dt.datetime):
    """The earlier messages of the same thread a worker is sending."""
    return Notification.objects.same_thread(notification).filter(
        pk__lt=notification.pk, status=Status.SENDING, next_attempt_at__gt=now
    )


def obsolete(notification: Notification, batch: Batch) -> str:
    """Why the message should no longer be sent, or "". Messages are superseded when written
    (notifications.services); this catches what changed since, whatever the order of events."""
    rdv, now = notification.rdv, batch.now
    if rdv is None:
        return _("Le RDV a été supprimé avant l'envoi.")
    if rdv.starts_at <= now:
        return _("Le RDV a commencé avant l'envoi.")
    if rdv.motif.notifications_disabled:
        return _("Les notifications ont été désactivées pour ce motif avant l'envoi.")
    if batch.has_newer(notification):
        return _("Remplacée par un message plus récent.")
    concerned = any(
        notification.usager_id in (participation.usager_id, participation.usager.responsible_id)
        for participation in participations(rdv)  # prefetched by Batch
    )
    if notification.event == Event.CANCELLED:
        if not rdv.is_cancelled and concerned:
            return _("Le RDV n'est plus annulé.")
        return ""
    if not concerned:
        return _("L'usager ne participe plus au RDV.")
    if rdv.is_cancelled:
        return _("Le RDV a été annulé avant l'envoi.")
    if notification.event == Event.REMINDER and rdv.starts_at != notification.rdv_starts_at:
        return _("Le RDV a changé d'heure avant l'envoi.")  # the next run reminds of the new time
    return ""


def without_secrets(notification: Notification) -> str:
    """The text of the row once it has left (or expired, or failed for good): what would let
    whoever reads the outbox act as its recipient is taken out. An usager's code is blanked (the
    code itself is stored hashed); the one-time link of an invitation or of a new password
    (whose token grants the account until it is used or expires) is replaced by a mention."""
    if notification.event == Event.LOGIN_CODE:
        return CODE_IN_TEXT.sub("••••••", notification.body)
    if notification.event in (Event.INVITATION, Event.PASSWORD):
        return LINK_IN_TEXT.sub(_("[lien personnel retiré après l'envoi]"), notification.body)
    return notification.body
