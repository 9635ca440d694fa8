"""Demo receipts: the messages the demo RDVs of the last weeks and the next ones were sent (a
confirmation after booking, the reminder 48 hours ahead, the annulation of the cancelled ones),
already delivered and their receipts in, with now and then an SMS the operator refused and an
email that bounced. Written as receipts, not queued:
`make run` must not send hundreds of messages to the console. Built once."""

import datetime as dt

from django.db.models import Prefetch
from django.utils import timezone

from notifications.messages import render
from notifications.models import Notification
from notifications.services import REMINDER_BEFORE, by_recipient, contacts
from rendezvous.models import Participation, Rdv

Event = Notification.Event
RECENT = dt.timedelta(weeks=3)


def build(ctx: dict) -> None:
    organisations = list(ctx["organisations"].values())
    if Notification.objects.filter(organisation__in=organisations).exists():
        return
    now = timezone.now()
    rdvs = (
        Rdv.objects.filter(
            organisation__in=organisations, starts_at__gte=now - RECENT, motif__notifications_disabled=False
        )
        .select_related("organisation__territory", "motif__service", "lieu")
        .prefetch_related(
            Prefetch(
                "participations", queryset=Participation.objects.select_related("usager__responsible").order_by("pk")
            )
        )
        .order_by("starts_at", "pk")
    )
    rows: list[Notification] = []
    for rdv in rdvs:
        rows += _receipts(rdv, now, len(rows))
    Notification.objects.bulk_create(rows, batch_size=500)


def _receipts(rdv: Rdv, now: dt.datetime, counter: int) -> list[Notification]:
    events = [(Event.CREATED, rdv.created_at + dt.timedelta(seconds=40))]
    reminder_at = rdv.starts_at - REMINDER_BEFORE
    if rdv.created_at < reminder_at < now:
        events.append((Event.REMINDER, reminder_at + dt.timedelta(minutes=3)))
    if rdv.is_cancelled:
        # Cancelled some time between the booking and the start (or now, for one still ahead).
        cancelled_at = rdv.created_at + (min(rdv.starts_at, now) - rdv.created_at) * 0.6
        events.append((Event.CANCELLED, cancelled_at))
    rows = []
    for recipient, concerned in by_recipient(participation.usager for participation in rdv.participations.all()):
        for channel, address in contacts(recipient):
            for event, at in events:
                if at > now:
                    continue
                message = render(rdv, event, channel, recipient, concerned)
                refused = channel == Notification.Channel.SMS and (counter + len(rows)) % 23 == 7
                bounced = channel == Notification.Channel.EMAIL and (counter + len(rows)) % 29 == 11
                rows.append(
                    Notification(
                        organisation=rdv.organisation,
                        rdv=rdv,
                        rdv_starts_at=rdv.starts_at,
                        usager=recipient,
                        event=event,
                        channel=channel,
                        to=address,
                        subject=message.subject,
                        body=message.body,
                        status=Notification.Status.FAILED if refused else Notification.Status.SENT,
                        attempts=1,
                        last_error="HTTP 400 : numéro refusé par l'opérateur (21610, destinataire désinscrit)"
                        if refused
                        else "",
                        provider_id="" if refused else f"demo-{rdv.pk}-{event}-{channel}",
                        created_at=at - dt.timedelta(seconds=2),
                        next_attempt_at=at,
                        sent_at=None if refused else at,
                        delivery=""
                        if refused
                        else (Notification.Delivery.UNDELIVERED if bounced else Notification.Delivery.DELIVERED),
                        delivery_error="Non distribué (Brevo) : 550 5.1.1 adresse inconnue du destinataire"
                        if bounced
                        else "",
                        delivery_at=None if refused else at + dt.timedelta(seconds=4),
                    )
                )
    return rows
