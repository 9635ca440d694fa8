"""Which messages an RDV owes, written in the caller's transaction, delivered after its commit.

- An RDV posed by an agent: a confirmation to each usager (a proche's goes to its responsible).
- « modifier », when the agent ticks « Prévenir les usagers » (the seed: a modification is not
  notified automatically): a new time, duration or lieu, or usagers added or removed → one
  message to each recipient concerned, describing the RDV as it now is for them; a recipient all
  of whose usagers were removed gets an annulation of the RDV as it was. Left unticked, nothing
  new is said; a message still waiting leaves with the new details (`final_wording`).
- A status that cancels it (« Absent excusé », « Annulé à l'initiative du service ») → an
  annulation; back from a cancellation → a confirmation.
- 48 hours before an RDV booked earlier than that: a reminder (notifications.reminders, run by
  beat), unless the recipient was told about it within those 48 hours.

What a recipient reads follows what it last heard on that channel: a change of an RDV it never
heard of (its confirmation is still waiting, or failed) is a confirmation, a change of one it was
told about is « RDV modifié », an annulation of one it never heard of is not sent, nor the
confirmation of a restored RDV whose annulation had not left yet. Each message
replaces those still waiting for the same RDV and address, which would otherwise arrive after it
with stale details.

Nothing is owed for an RDV in the past, a motif whose notifications are disabled, or an usager
whose recipient has no address (or no mobile number) or said no to the channel:
`notifications.presentation.reasons_not_sent` tells the RDV's summary why."""

import copy
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.messages import participations as prefetched_participations
from notifications.messages import render
from notifications.models import Notification
from notifications.queue import dispatch
from organisations.models import Lieu
from rendezvous.models import Rdv
from usagers.models import Usager

Event = Notification.Event
Channel = Notification.Channel
Status = Notification.Status

REMINDER_BEFORE = dt.timedelta(hours=48)
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def is_mobile(number) -> bool:
    return bool(number) and number.is_valid() and phonenumbers.number_type(number) in MOBILE_TYPES


def contacts(recipient: "Usager") -> list[tuple[str, str]]:
    """The (channel, address) pairs `recipient` can be reached at and accepts."""
    found: list[tuple[str, str]] = []
    if recipient.email and recipient.notify_by_email:
        found.append((Channel.EMAIL, recipient.email))
    if recipient.notify_by_sms and is_mobile(recipient.phone):
        found.append((Channel.SMS, recipient.phone.as_e164))  # what providers expect
    return found


def by_recipient(usagers: Iterable["Usager"]) -> list[tuple["Usager", list["Usager"]]]:
    """Usagers grouped by who receives their messages, in order of first appearance."""
    groups: dict[int, tuple[Usager, list[Usager]]] = {}
    for usager in usagers:
        recipient = usager.notification_recipient
        groups.setdefault(recipient.pk, (recipient, []))[1].append(usager)
    return list(groups.values())


def _participants(rdv) -> list["Usager"]:
    """The RDV's usagers, in the order they were added; from the participations prefetched with
    their usagers (notifications.claim) when they were."""
    if "participations" in getattr(rdv, "_prefetched_objects_cache", {}):
        participations = sorted(prefetched_participations(rdv), key=lambda participation: participation.pk)
    else:
        participations = list(rdv.participations.select_related("usager__responsible").order_by("pk"))
    return [participation.usager for participation in participations]


@dataclass(frozen=True)
class Owed:
    """One message to write: `event` about `about` (the RDV, or a copy as it was) to
    `recipient`, concerning the usagers `concerned`."""

    recipient: "Usager"
    concerned: list["Usager"]
    event: str
    about: "Rdv"


def notify(
    rdv,
    event: str,
    *,
    now: dt.datetime | None = None,
    grace: bool = False,
    new: bool = False,
    participants: list["Usager"] | None = None,
) -> list[Notification]:
    """Writes the `event` messages about `rdv` to all its usagers' recipients, in the caller's
    transaction; a worker delivers them once it commits. Returns the rows written. `new`: the RDV
    was created in this transaction, no message about it exists yet. `participants`: its usagers
    in the order they were added, when the caller has them (with a proche's responsible loaded),
    else they are read."""
    if participants is None:
        participants = _participants(rdv)
    plan = [Owed(recipient, concerned, event, rdv) for recipient, concerned in by_recipient(participants)]
    return write(rdv, plan, now=now, grace=grace, new=new)


def grace_period() -> dt.timedelta:
    return dt.timedelta(seconds=settings.NOTIFICATIONS_GRACE_SECONDS)


def write(
    rdv, plan: list[Owed], *, now: dt.datetime | None = None, grace: bool = False, new: bool = False
) -> list[Notification]:
    """Writes `plan` (`notify`'s, `update_plan`'s, the reminders'), in the caller's transaction, on
    every channel of each recipient.

    `grace`: what an agent's action owes waits `NOTIFICATIONS_GRACE_SECONDS` before leaving. A
    correction meanwhile (« Absent excusé » clicked by mistake, then « Indéterminé ») writes its
    own message, which drops the waiting one; and as the family never heard of the cancellation,
    the restored RDV owes it nothing: nothing is sent at all. What the usager does itself
    (online) leaves at once: it is waiting for it.

    `new`: the RDV was created in this transaction; what its recipients heard of it, which the
    other events read, is nothing."""
    now = now or timezone.now()
    leaves_at = now + grace_period() if grace else now
    if rdv.motif.notifications_disabled or rdv.starts_at <= now or not plan:
        return []
    rows = []
    # In the caller's transaction when there is one, without a savepoint of its own: nothing here
    # is retried after an error.
    with transaction.atomic(savepoint=False):
        for owed in plan:
            for channel, address in contacts(owed.recipient):
                event = owed.event if new else _event_to_send(rdv, owed.recipient, channel, owed.event)
                if event is None:
                    continue
                rows.append(outbox_row(rdv, owed, event, channel, address, now=now, leaves_at=leaves_at))
        if rows:
            Notification.objects.bulk_create(rows)
            ids = [row.pk for row in rows]
            countdown = int((leaves_at - now).total_seconds())
            transaction.on_commit(lambda: dispatch(ids, countdown=countdown), robust=True)
    return rows


def outbox_row(
    rdv, owed: Owed, event: str, channel: str, address: str, *, now: dt.datetime, leaves_at: dt.datetime
) -> Notification:
    """The outbox row (not saved) of the `event` message `owed` about `rdv`, by `channel`."""
    message = render(owed.about, event, channel, owed.recipient, owed.concerned)
    return Notification(
        organisation_id=rdv.organisation_id,
        rdv=rdv,
        rdv_starts_at=owed.about.starts_at,
        usager=owed.recipient,
        event=event,
        channel=channel,
        to=address,
        subject=message.subject,
        body=message.body,
        created_at=now,
        next_attempt_at=leaves_at,
    )


def _event_to_send(rdv, recipient, channel: str, event: str) -> str | None:
    """Drops the messages about `rdv` still waiting for `recipient` on `channel` (the new one
    replaces them), and says what the new one announces given what the recipient last heard
    there; None: nothing to send. A reminder replaces nothing and is sent as such."""
    if event == Event.REMINDER:
        told_lately = (
            Notification.objects.filter(
                rdv=rdv, usager=recipient, channel=channel, created_at__gt=rdv.starts_at - REMINDER_BEFORE
            )
            .exclude(status__in=[Status.DROPPED, Status.FAILED])
            .exists()
        )
        return None if told_lately else event
    history = list(
        Notification.objects.filter(rdv=rdv, usager=recipient, channel=channel)
        .exclude(status__in=[Status.DROPPED, Status.FAILED])
        .order_by("pk")
        .values_list("pk", "event", "status")
    )
    waiting = [pk for pk, _event, status in history if status == Status.PENDING]
    # Locked, then checked again: a row a worker claimed meanwhile is « sending », hence heard.
    dropped = set(
        Notification.objects.select_for_update()
        .filter(pk__in=waiting, status=Status.PENDING)
        .order_by("pk")  # one lock order for every writer
        .values_list("pk", flat=True)
    )
    if dropped:
        Notification.objects.filter(pk__in=dropped).update(
            status=Status.DROPPED, last_error=_("Remplacée par un message plus récent.")
        )
    heard = [heard_event for pk, heard_event, _status in history if pk not in dropped]
    believes_on = knows_it_is_on(heard)
    if event == Event.CANCELLED:
        return event if believes_on else None
    if event == Event.CREATED:  # a new or restored RDV: nothing to say to who believes it on
        return None if believes_on else Event.CREATED
    return Event.UPDATED if believes_on else Event.CREATED


def knows_it_is_on(heard: list[str]) -> bool:
    """Whether a recipient who heard `heard` (events, oldest first) believes the RDV on."""
    return bool(heard) and heard[-1] != Event.CANCELLED


def final_wording(notification: Notification, *, heard: list[str] | None = None) -> str:
    """When a worker claims `notification` (notifications.claim, row locked): what it says, from what
    its recipient has heard by then and the RDV as it now is, to the recipient's current address
    (one who gave the channel up since gets nothing, not even an annulation). Written earlier, a message may have
    counted as heard one still on its way that then failed, or describe a time or a lieu changed
    since without telling the usagers (« modifier » left unticked). A confirmation, a modification
    or a reminder is thus rendered again, to the recipient's current address; a modification of
    an RDV the recipient never heard of becomes its confirmation. An annulation keeps its text
    (the RDV as it was) and is not sent to one who never heard of the RDV. `heard`: the events of
    its thread the recipient heard, oldest first, when the caller read them (notifications.claim).
    Returns why the message is not to be sent, or ""."""
    recipient, rdv = notification.usager, notification.rdv
    if recipient is None or rdv is None:
        return _("L'usager ne participe plus au RDV.")
    address = dict(contacts(recipient)).get(notification.channel)
    if not address:
        return _("L'usager ne peut plus être prévenu par ce moyen.")
    notification.to = address
    if heard is None:
        heard = list(
            Notification.objects.same_thread(notification)
            .filter(pk__lt=notification.pk, status__in=[Status.SENDING, Status.SENT])
            .order_by("pk")
            .values_list("event", flat=True)
        )
    believes_on = knows_it_is_on(heard)
    if notification.event == Event.CANCELLED:
        return "" if believes_on else _("L'usager n'avait pas été prévenu de ce RDV.")
    concerned = [usager for usager in _participants(rdv) if usager.notification_recipient.pk == recipient.pk]
    if not concerned:
        return _("L'usager ne participe plus au RDV.")
    event = notification.event
    if event == Event.UPDATED and not believes_on:
        event = Event.CREATED
    message = render(rdv, event, notification.channel, recipient, concerned)
    notification.event, notification.subject, notification.body = event, message.subject, message.body
    if event != Event.REMINDER:  # a reminder for another time is dropped (claim.obsolete)
        notification.rdv_starts_at = rdv.starts_at
    return ""


@dataclass(frozen=True)
class RdvSnapshot:
    """What a change of an RDV is compared with to know which messages it owes."""

    starts_at: dt.datetime
    duration_in_min: int
    lieu_id: int | None
    address: str
    usager_ids: frozenset[int]

    @classmethod
    def of(cls, rdv) -> "RdvSnapshot":
        return cls(
            starts_at=rdv.starts_at,
            duration_in_min=rdv.duration_in_min,
            lieu_id=rdv.lieu_id,
            address=rdv.address,
            usager_ids=frozenset(rdv.participations.values_list("usager_id", flat=True)),
        )

    def moved(self, rdv) -> bool:
        return (self.starts_at, self.duration_in_min, self.lieu_id, self.address) != (
            rdv.starts_at,
            rdv.duration_in_min,
            rdv.lieu_id,
            rdv.address,
        )


def update_plan(rdv, before: RdvSnapshot) -> list[Owed]:
    """What « modifier » owes: one message per recipient whose RDV changed (its time or place, or
    which of its usagers take part), describing it as it now is; an annulation of the RDV as it
    was to a recipient none of whose usagers take part any more. Empty: the change concerns no
    usager (notes, agents), or the RDV is cancelled."""
    if rdv.is_cancelled:
        return []
    participants = _participants(rdv)
    current_ids = {usager.pk for usager in participants}
    removed_ids = before.usager_ids - current_ids
    removed = []
    if removed_ids:
        removed = list(Usager.objects.filter(pk__in=removed_ids).select_related("responsible").order_by("pk"))
    moved = before.moved(rdv)
    # Which usagers took part before, per recipient (an usager removed included).
    before_ids: dict[int, set[int]] = {}
    for usager in [*[u for u in participants if u.pk in before.usager_ids], *removed]:
        before_ids.setdefault(usager.notification_recipient.pk, set()).add(usager.pk)
    current = {recipient.pk: (recipient, concerned) for recipient, concerned in by_recipient(participants)}
    plan = [
        Owed(recipient, concerned, Event.UPDATED, rdv)
        for recipient, concerned in current.values()
        if moved or {usager.pk for usager in concerned} != before_ids.get(recipient.pk, set())
    ]
    as_it_was = None
    for recipient, gone in by_recipient(removed):
        if recipient.pk not in current:
            as_it_was = as_it_was or _as_it_was(rdv, before)
            plan.append(Owed(recipient, gone, Event.CANCELLED, as_it_was))
    return plan


def _as_it_was(rdv, before: RdvSnapshot):
    """A copy of `rdv` (same row) with the time and place of `before`, for the annulation sent to
    a recipient removed from it."""
    old = copy.copy(rdv)
    old.starts_at = before.starts_at
    old.duration_in_min = before.duration_in_min
    old.address = before.address
    if before.lieu_id != rdv.lieu_id:
        old.lieu = Lieu.objects.filter(pk=before.lieu_id).first() if before.lieu_id else None
    return old


def status_change_event(old_status: str, new_status: str) -> str | None:
    """What a status change owes the usagers: a cancellation an annulation, a return from one a
    confirmation; other statuses say how the RDV went and owe nothing (None)."""
    was_cancelled = old_status in Rdv.CANCELLED_STATUSES
    is_cancelled = new_status in Rdv.CANCELLED_STATUSES
    if is_cancelled and not was_cancelled:
        return Event.CANCELLED
    if was_cancelled and not is_cancelled:
        return Event.CREATED
    return None


def notify_status_change(
    rdv, old_status: str, *, now: dt.datetime | None = None, grace: bool = False
) -> list[Notification]:
    event = status_change_event(old_status, rdv.status)
    return notify(rdv, event, now=now, grace=grace) if event else []


def queue_email(
    *, organisation_id: int | None, to: str, subject: str, body: str, event: str = Event.INVITATION
) -> Notification:
    """An email that is not about an RDV (an invitation to a professional, an usager's code),
    written in the caller's transaction and delivered after its commit like every message:
    recorded, retried on a provider's outage, its outcome on its row."""
    now = timezone.now()
    notification = Notification.objects.create(
        organisation_id=organisation_id,
        event=event,
        channel=Channel.EMAIL,
        to=to,
        subject=subject[:200],
        body=body,
        created_at=now,
        next_attempt_at=now,
    )
    transaction.on_commit(lambda: dispatch([notification.pk]), robust=True)
    return notification


def queue_code_email(*, to: str, subject: str, body: str) -> Notification:
    """The code that identifies an usager who books online (usagers.identity.send_code), sent
    through the outbox. Its delivery drops it once the code has expired and blanks the code out
    of the row once it is sent (notifications.delivery)."""
    return queue_email(organisation_id=None, to=to, subject=subject, body=body, event=Event.LOGIN_CODE)
