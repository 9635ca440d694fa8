"""What an RDV's email and SMS say, in the organisation's time zone and the usager's words.

Each message is rendered when the outbox row is written, so that the row keeps exactly what was
sent, whatever happens to the RDV afterwards (a later change writes its own message)."""

from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from motifs.models import Motif
from notifications.models import Notification
from rdv.phone import display_phone

SUBJECTS = {
    Notification.Event.CREATED: gettext_lazy("RDV confirmé le %(date)s à %(time)s"),
    Notification.Event.UPDATED: gettext_lazy("RDV modifié : nouveau rendez-vous le %(date)s à %(time)s"),
    Notification.Event.CANCELLED: gettext_lazy("RDV annulé le %(date)s à %(time)s"),
    Notification.Event.REMINDER: gettext_lazy("Rappel : RDV le %(date)s à %(time)s"),
}


@dataclass(frozen=True)
class Message:
    subject: str
    body: str


def _where(rdv, recipient) -> str:
    if rdv.motif.location_type == Motif.LocationType.PHONE:
        phone = display_phone(recipient.phone)
        if phone:
            return _("Par téléphone : un agent vous appellera au %(phone)s.") % {"phone": phone}
        return _("Par téléphone : un agent vous appellera.")
    if rdv.motif.location_type == Motif.LocationType.HOME:
        address = rdv.address or recipient.address
        return _("À domicile : %(address)s.") % {"address": address} if address else _("À domicile.")
    if rdv.lieu is not None:
        return f"{rdv.lieu.name}, {rdv.lieu.address}"
    return ""


def _for_names(recipient, concerned: list, others: list) -> str:
    """« Léa DUPONT », « vous et Léa DUPONT », or "" when the RDV is the recipient's alone."""
    names = ", ".join(usager.full_name for usager in others)
    if not others:
        return ""
    if any(usager.pk == recipient.pk for usager in concerned):
        return _("vous et %(names)s") % {"names": names}
    return names


def _the_rdv(recipient, concerned: list, others: list) -> str:
    """How the email names the RDV: « Votre rendez-vous », « Le rendez-vous de Léa DUPONT »,
    « Le rendez-vous pour vous et Léa DUPONT »."""
    if not others:
        return _("Votre rendez-vous")
    names = ", ".join(usager.full_name for usager in others)
    if any(usager.pk == recipient.pk for usager in concerned):
        return _("Le rendez-vous pour vous et %(names)s") % {"names": names}
    return _("Le rendez-vous de %(names)s") % {"names": names}


def render(rdv, event: str, channel: str, recipient, concerned: list) -> Message:
    """The subject and text of the `event` message about `rdv` for `recipient`, about the usagers
    `concerned` (the recipient itself, its proches, or both)."""
    organisation = rdv.organisation
    starts_at = timezone.localtime(rdv.starts_at, organisation.tzinfo)
    date = formats.date_format(starts_at, "l j F Y")
    time = f"{starts_at:%H}h{starts_at:%M}"
    others = [usager for usager in concerned if usager.pk != recipient.pk]
    context = {
        "event": event,
        "rdv": rdv,
        "organisation": organisation,
        "motif": rdv.motif,
        "date": date,
        "short_date": f"{formats.date_format(starts_at, 'l')} {starts_at:%d/%m}",
        "time": time,
        "where": _where(rdv, recipient),
        "for_names": _for_names(recipient, concerned, others),
        "the_rdv": _the_rdv(recipient, concerned, others),
        "recipient": recipient,
        "organisation_phone": display_phone(organisation.phone),
        "revoked": rdv.status == rdv.Status.REVOKED,
        "instructions": rdv.motif.instructions_after if event != Notification.Event.CANCELLED else "",
    }
    body = render_to_string(f"notifications/{channel}.txt", context).strip()
    subject = str(SUBJECTS[Notification.Event(event)]) % {"date": date, "time": time} if channel == "email" else ""
    return Message(subject=subject, body=body)


def html_body(notification: Notification) -> str:
    """The HTML alternative of an email: its text, in a plain accessible layout."""
    return render_to_string("notifications/email.html", {"notification": notification})
