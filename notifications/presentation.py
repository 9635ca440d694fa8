"""What the agent reads about messages: why an RDV's usagers receive none (its summary), and
what a change it just saved wrote (the confirmation after « Enregistrer »)."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.models import Notification
from notifications.services import by_recipient, contacts, is_mobile, knows_it_is_on, status_change_event

Channel = Notification.Channel
Status = Notification.Status


def reasons_not_sent(rdv, participations: list, now: dt.datetime | None = None) -> list[str]:
    """Why usagers of `rdv` receive no message, for its summary: the motif's setting, the RDV
    being past, or per recipient a missing address or number, or a refusal."""
    now = now or timezone.now()
    if rdv.motif.notifications_disabled:
        return [_("Les notifications sont désactivées pour ce motif : les usagers ne reçoivent ni email ni SMS.")]
    if rdv.starts_at <= now:
        return [_("Le RDV a commencé : plus aucune notification n'est envoyée à son sujet.")]
    reasons = []
    for recipient, concerned in by_recipient(participation.usager for participation in participations):
        who = recipient.full_name
        if any(usager.pk != recipient.pk for usager in concerned):
            who = _("%(name)s (usager en charge)") % {"name": recipient.full_name}
        if not recipient.email:
            reasons.append(_("%(who)s n'a pas d'adresse email : pas d'email.") % {"who": who})
        elif not recipient.notify_by_email:
            reasons.append(_("%(who)s ne souhaite pas être prévenu par email.") % {"who": who})
        if not recipient.phone:
            reasons.append(_("%(who)s n'a pas de numéro de téléphone : pas de SMS.") % {"who": who})
        elif not is_mobile(recipient.phone):
            reasons.append(_("%(who)s n'a pas de numéro de mobile : pas de SMS.") % {"who": who})
        elif not recipient.notify_by_sms:
            reasons.append(_("%(who)s ne souhaite pas être prévenu par SMS.") % {"who": who})
    return reasons


def announcement(rdv, since: dt.datetime) -> str:
    """What the agent's confirmation adds about the messages its change wrote (written at or
    after `since`): « Notification envoyée par email et SMS. », or "" for none."""
    channels = set(
        rdv.notifications.to_usagers()
        .filter(created_at__gte=since)
        .exclude(status=Status.DROPPED)
        .values_list("channel", flat=True)
    )
    if not channels:
        return ""
    words = [label for channel, label in Channel.choices if channel in channels]
    return _("Notification envoyée par %(channels)s.") % {"channels": " et ".join(words)}


@dataclass(frozen=True)
class Preview:
    """One message a status change would send, as the agent reads it before confirming."""

    recipient: str
    channel: str
    address: str
    what: str


WHAT = {
    Notification.Event.CANCELLED.value: gettext_lazy("l'annulation du RDV"),
    Notification.Event.CREATED.value: gettext_lazy("la confirmation du RDV"),
}


def status_change_preview(rdv, new_status: str, participations: list, now: dt.datetime | None = None) -> list[Preview]:
    """What setting `new_status` on `rdv` would send, by the rules of `services.write`: an
    annulation to whoever was told the RDV is on, a confirmation to whoever was told it was
    cancelled or never heard of it; nothing for an RDV past or whose motif sends nothing. A
    message still waiting its grace period counts as unheard: it would be dropped. One query."""
    now = now or timezone.now()
    event = status_change_event(rdv.status, new_status)
    if event is None or rdv.motif.notifications_disabled or rdv.starts_at <= now:
        return []
    heard: dict[tuple[int, str], list[str]] = {}
    for usager_id, channel, heard_event in (
        rdv.notifications.filter(usager__isnull=False, status__in=[Status.SENDING, Status.SENT])
        .order_by("pk")
        .values_list("usager_id", "channel", "event")
    ):
        heard.setdefault((usager_id, channel), []).append(heard_event)
    previews = []
    for recipient, _concerned in by_recipient(participation.usager for participation in participations):
        for channel, address in contacts(recipient):
            knows = knows_it_is_on(heard.get((recipient.pk, channel), []))
            if (event == Notification.Event.CANCELLED) != knows:
                continue
            shown = address if channel == Channel.EMAIL else Notification(channel=channel, to=address).display_to
            label = dict(Channel.choices)[channel]
            previews.append(Preview(recipient.full_name, str(label), shown, str(WHAT[event])))
    return previews


def grace_notice() -> str:
    """« Les messages partent dans 2 minutes. », or "" without a grace period."""
    seconds = settings.NOTIFICATIONS_GRACE_SECONDS
    if seconds <= 0:
        return ""
    minutes = max(1, round(seconds / 60))
    return _("Les messages partent dans %(delay)s : « Annuler » les retient.") % {
        "delay": formats.number_format(minutes) + (" minute" if minutes == 1 else " minutes")
    }
