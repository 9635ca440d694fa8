"""What the agent reads about messages: why an RDV's usagers receive none (its summary), and
what a change it just saved wrote (the confirmation after « Enregistrer »)."""

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Notification
from notifications.services import by_recipient, is_mobile

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
        rdv.notifications.filter(created_at__gte=since).exclude(status=Status.DROPPED).values_list("channel", flat=True)
    )
    if not channels:
        return ""
    words = [label for channel, label in Channel.choices if channel in channels]
    return _("Notification envoyée par %(channels)s.") % {"channels": " et ".join(words)}
