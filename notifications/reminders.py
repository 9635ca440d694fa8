"""The reminders, 48 hours before an RDV booked earlier than that (run by beat every 5 minutes).

Written by batches of RDVs: one transaction locks a batch's RDVs, reads at once whom each was
told about lately, and writes all their rows in one statement; then their delivery is queued.
An RDV moved or cancelled since the batch was read is left to the next run; the unique
constraint keeps two overlapping runs from reminding twice (the batch is then written again RDV
by RDV, each skipping what the other run wrote). bench_notifications measures the whole."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Prefetch
from django.utils import timezone

from notifications.messages import participations
from notifications.models import Notification
from notifications.queue import dispatch
from notifications.services import REMINDER_BEFORE, Owed, by_recipient, contacts, outbox_row, write
from rdv.db import commit_without_waiting_for_the_disk
from rendezvous.models import TO_COME, Participation, Rdv

Event = Notification.Event
Status = Notification.Status

# RDVs read, locked and written together: a batch's lock lasts the time of rendering its texts
# (a few tens of milliseconds), during which agents cannot change these RDVs.
REMINDERS_CHUNK = 100


def enqueue_reminders(now: dt.datetime | None = None) -> int:
    """Writes the reminders of the RDVs starting within 48 hours that were booked earlier than
    that and are still « À venir », to each recipient and channel not told about the RDV within
    those 48 hours. Every such RDV is looked at, in chunks: RDVs whose usagers cannot be reached
    never hide later ones. Returns the RDVs reminded."""
    now = now or timezone.now()
    reminded_at_this_time = Notification.objects.filter(
        rdv=OuterRef("pk"), event=Event.REMINDER, rdv_starts_at=OuterRef("starts_at")
    )
    rdvs = (
        Rdv.objects.reading(TO_COME, now)
        .filter(
            starts_at__gt=now,
            starts_at__lte=now + REMINDER_BEFORE,
            created_at__lte=F("starts_at") - REMINDER_BEFORE,
            motif__notifications_disabled=False,
        )
        .exclude(Exists(reminded_at_this_time))
        .select_related("organisation__territory", "motif__service", "lieu")
        .prefetch_related(
            Prefetch("participations", queryset=Participation.objects.select_related("usager__responsible"))
        )
        .order_by("starts_at", "pk")
    )
    reminded, chunk = 0, []
    for rdv in rdvs.iterator(chunk_size=REMINDERS_CHUNK):
        chunk.append(rdv)
        if len(chunk) == REMINDERS_CHUNK:
            reminded += _remind(chunk, now)
            chunk = []
    return reminded + (_remind(chunk, now) if chunk else 0)


def _plan(rdv) -> list[Owed]:
    usagers = [participation.usager for participation in participations(rdv)]
    return [Owed(recipient, concerned, Event.REMINDER, rdv) for recipient, concerned in by_recipient(usagers)]


def _remind(chunk: list, now: dt.datetime) -> int:
    """Writes the reminders of `chunk`'s RDVs that can reach someone; returns how many RDVs."""
    plans = [(rdv, _plan(rdv)) for rdv in chunk]
    plans = [(rdv, plan) for rdv, plan in plans if any(contacts(owed.recipient) for owed in plan)]
    if not plans:
        return 0
    try:
        with transaction.atomic():
            # Lost in a crash of the database server, the reminders are written by the next run.
            commit_without_waiting_for_the_disk()
            stored = {
                pk: state
                for pk, *state in Rdv.objects.select_for_update(no_key=True)
                .filter(pk__in=[rdv.pk for rdv, _plan in plans])
                .order_by("pk")
                .values_list("pk", "starts_at", "status", "updated_at")
            }
            unchanged = [
                (rdv, plan) for rdv, plan in plans if stored.get(rdv.pk) == [rdv.starts_at, rdv.status, rdv.updated_at]
            ]
            told = _told_lately([rdv for rdv, _plan in unchanged])
            rows = [
                outbox_row(rdv, owed, Event.REMINDER, channel, address, now=now, leaves_at=now)
                for rdv, plan in unchanged
                for owed in plan
                for channel, address in contacts(owed.recipient)
                if (rdv.pk, owed.recipient.pk, channel) not in told
            ]
            Notification.objects.bulk_create(rows)
            ids = [row.pk for row in rows]
            transaction.on_commit(lambda: dispatch(ids), robust=True)
    except IntegrityError:  # another run wrote some of them meanwhile: each on its own
        return sum(_remind_one(rdv, plan, now) for rdv, plan in plans)
    return len({row.rdv_id for row in rows})


def _told_lately(rdvs: list) -> set[tuple[int, int, str]]:
    """(RDV, recipient, channel) told about the RDV within the 48 hours before it (a message
    that failed or was dropped tells nothing)."""
    reminder_from = {rdv.pk: rdv.starts_at - REMINDER_BEFORE for rdv in rdvs}
    return {
        (rdv_id, usager_id, channel)
        for rdv_id, usager_id, channel, created_at in Notification.objects.filter(rdv_id__in=reminder_from)
        .exclude(status__in=[Status.DROPPED, Status.FAILED])
        .values_list("rdv_id", "usager_id", "channel", "created_at")
        if created_at > reminder_from[rdv_id]
    }


def _remind_one(rdv, plan: list[Owed], now: dt.datetime) -> int:
    """One RDV's reminders in a transaction of their own, its row locked and read again."""
    try:
        with transaction.atomic():
            commit_without_waiting_for_the_disk()
            stored = (
                Rdv.objects.select_for_update(no_key=True)
                .filter(pk=rdv.pk)
                .values_list("starts_at", "status", "updated_at")
                .first()
            )
            if stored != (rdv.starts_at, rdv.status, rdv.updated_at):
                return 0
            return 1 if write(rdv, plan, now=now) else 0
    except IntegrityError:  # another run wrote them meanwhile
        return 0
