"""What an RDV's email and SMS say, in the organisation's time zone and the usager's words.

Each message is rendered when the outbox row is written, so that the row keeps exactly what was
sent, whatever happens to the RDV afterwards (a later change writes its own message); a worker
renders a confirmation, modification or reminder again when it claims it (services.final_wording).

Discretion: whoever glances at a phone's lock screen or a shared mailbox must not learn why a
family sees a social service. The motif's name never appears in an SMS or an email subject; an
email's text names the service and the kind of RDV, and the motif's name only when the motif
allows it (`Motif.show_name_in_messages`, off for the référentiel's sensitive names).

SMS are short and in GSM-7 (notifications.gsm): one segment for the ordinary case, two at most
with the longest names; tests/notifications/test_messages.py holds every text."""

import re
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from motifs.models import Motif
from notifications import gsm
from notifications.links import usager_link
from notifications.models import Notification
from rdv import words
from rdv.phone import display_phone

Event = Notification.Event

SUBJECTS = {
    Event.CREATED: gettext_lazy("RDV confirmé le %(date)s à %(time)s"),
    Event.UPDATED: gettext_lazy("RDV modifié : nouveau rendez-vous le %(date)s à %(time)s"),
    Event.CANCELLED: gettext_lazy("RDV annulé le %(date)s à %(time)s"),
    Event.REMINDER: gettext_lazy("Rappel : RDV le %(date)s à %(time)s"),
}

# What an email says of the kind of RDV (the motif's location type), in place of its name.
KINDS = {
    Motif.LocationType.PUBLIC_OFFICE: gettext_lazy("Consultation sur place"),
    Motif.LocationType.PHONE: gettext_lazy("RDV téléphonique"),
    Motif.LocationType.HOME: gettext_lazy("RDV à votre domicile"),
}

# SMS: « RDV <service><pour qui> … ». The place comes with its separator (« , Maison des
# solidarités », « par téléphone »); the link is the usager's page of its RDV.
SMS_TEXTS = {
    Event.CREATED: gettext_lazy("RDV %(service)s%(whose)s confirmé le %(when)s%(where)s."),
    Event.UPDATED: gettext_lazy("RDV %(service)s%(whose)s modifié : le %(when)s%(where)s."),
    Event.REMINDER: gettext_lazy("Rappel : RDV %(service)s%(whose)s le %(when)s%(where)s."),
}
SMS_LINK = gettext_lazy("Voir, annuler, déplacer : %(link)s")
# An annulation says what agents read on the RDV: « Absent excusé » or « Annulé à l'initiative du
# service »; an usager removed from an RDV that goes on reads it as annulled, without a reason.
SMS_CANCELLED = {
    "excused": gettext_lazy("RDV %(service)s%(whose)s du %(when)s annulé (absence excusée)."),
    "revoked": gettext_lazy("RDV %(service)s%(whose)s du %(when)s annulé à l'initiative du service."),
    "": gettext_lazy("RDV %(service)s%(whose)s du %(when)s annulé."),
}
SMS_NEW_RDV = gettext_lazy("Nouveau RDV : %(contact)s")


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


def _sms_where(rdv) -> str:
    """The place in short, with what introduces it: « , Maison des solidarités », « par
    téléphone », « à domicile »."""
    if rdv.motif.location_type == Motif.LocationType.PHONE:
        return " " + _("par téléphone")
    if rdv.motif.location_type == Motif.LocationType.HOME:
        return " " + _("à domicile")
    return f", {rdv.lieu.name}" if rdv.lieu is not None else f", {rdv.organisation.name}"


def _enumerate(names: list[str]) -> str:
    """« Léa », « Léa et Hugo », « vous, Léa et Hugo »."""
    if len(names) == 1:
        return names[0]
    return _("%(names)s et %(last)s") % {"names": ", ".join(names[:-1]), "last": names[-1]}


def _sms_whose(recipient, concerned: list, others: list) -> str:
    """« pour Léa », « pour vous et Léa », « pour vous et 3 proches »: first names only, and
    two at most, an SMS is short."""
    if not others:
        return ""
    if len(others) > 2:
        names = [_("%(count)s proches") % {"count": len(others)}]
    else:
        names = [usager.first_name for usager in others]
    if any(usager.pk == recipient.pk for usager in concerned):
        names = [_("vous"), *names]
    return " " + _("pour %(names)s") % {"names": _enumerate(names)}


def _the_rdv(recipient, concerned: list, others: list) -> str:
    """How the email names the RDV: « Votre rendez-vous », « Le rendez-vous de Léa DUPONT »,
    « Le rendez-vous pour vous et Léa DUPONT »."""
    if not others:
        return _("Votre rendez-vous")
    names = ", ".join(usager.full_name for usager in others)
    if any(usager.pk == recipient.pk for usager in concerned):
        return _("Le rendez-vous pour vous et %(names)s") % {"names": names}
    return _("Le rendez-vous de %(names)s") % {"names": names}


def participations(rdv) -> list:
    """The RDV's participations, from what was prefetched when it was (the workers and the
    reminders read thousands of messages: `rdv.participations.all()` would copy a query each
    time), else read."""
    prefetched = getattr(rdv, "_prefetched_objects_cache", {}).get("participations")
    return list(prefetched if prefetched is not None else rdv.participations.all())


def _link(rdv, concerned: list) -> str:
    """The link to the RDV's page of the first usager concerned (its participation's token);
    "" if it no longer takes part. Reads the RDV's participations once, or none when they were
    prefetched (the reminders)."""
    first = concerned[0].pk
    for participation in participations(rdv):
        if participation.usager_id == first:
            return usager_link(participation.link_token)
    return ""


def _cancellation(rdv) -> str:
    """Which annulation: the status agents read (« Absent excusé », « Annulé à l'initiative du
    service »), or "" for an usager removed from an RDV that goes on."""
    if rdv.status == rdv.Status.EXCUSED:
        return "excused"
    if rdv.status == rdv.Status.REVOKED:
        return "revoked"
    return ""


def render(rdv, event: str, channel: str, recipient, concerned: list) -> Message:
    """The subject and text of the `event` message about `rdv` for `recipient`, about the usagers
    `concerned` (the recipient itself, its proches, or both). A confirmation, modification or
    reminder carries the link to the RDV's page of the first usager concerned."""
    starts_at = timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo)
    others = [usager for usager in concerned if usager.pk != recipient.pk]
    link = _link(rdv, concerned) if event != Event.CANCELLED else ""
    if channel == Notification.Channel.SMS:
        return Message(subject="", body=_sms(rdv, event, starts_at, recipient, concerned, others, link))
    date = words.date_format(starts_at, "l j F Y")
    time = _time(starts_at)
    context = {
        "event": event,
        "cancellation": _cancellation(rdv),
        "organisation": rdv.organisation,
        "service": rdv.motif.service.name,
        "kind": KINDS[Motif.LocationType(rdv.motif.location_type)],
        "motif_name": rdv.motif.name if rdv.motif.show_name_in_messages else "",
        "date": date,
        "time": time,
        "where": _where(rdv, recipient),
        # « Lieu : » names a lieu only: « Par téléphone : … » and « À domicile : … » say it themselves.
        "at_lieu": rdv.motif.location_type == Motif.LocationType.PUBLIC_OFFICE,
        "the_rdv": _the_rdv(recipient, concerned, others),
        "recipient": recipient,
        "organisation_phone": display_phone(rdv.organisation.phone),
        "instructions": rdv.motif.instructions_after if event != Event.CANCELLED else "",
        "link": link,
    }
    body = render_to_string("notifications/email.txt", context).strip()
    subject = str(SUBJECTS[Event(event)]) % {"date": date, "time": time}
    return Message(subject=subject, body=body)


def _time(starts_at) -> str:
    return words.time_of_day(starts_at)


def _sms(rdv, event: str, starts_at, recipient, concerned: list, others: list, link: str) -> str:
    """« RDV PMI confirmé le 09/12 à 15h00, Maison des solidarités. Voir, annuler, déplacer :
    <link> », in GSM-7: the service's short name, never the motif's."""
    when = _("%(day)s à %(time)s") % {"day": formats.date_format(starts_at, "d/m"), "time": _time(starts_at)}
    parts = {"service": rdv.motif.service.short_name, "whose": _sms_whose(recipient, concerned, others)}
    if event == Event.CANCELLED:
        organisation = rdv.organisation
        contact = ", ".join(filter(None, [organisation.name, display_phone(organisation.phone)]))
        text = str(SMS_CANCELLED[_cancellation(rdv)]) % {**parts, "when": when}
        text += " " + str(SMS_NEW_RDV) % {"contact": contact}
    else:
        text = str(SMS_TEXTS[Event(event)]) % {**parts, "when": when, "where": _sms_where(rdv)}
        if link:
            text += " " + str(SMS_LINK) % {"link": link}
    return gsm.to_gsm7(text)


# A link in a text: what the messages write (notifications.links, the professionals' one-time
# links), ending at a space; a final period or comma is the sentence's.
LINK = re.compile(r"(https?://[^\s<>\"]+?)(?=[.,;:!?)]?(?:\s|$))")
BLANK_LINE = re.compile(r"\n\s*\n")


def html_body(notification: Notification) -> str:
    """The HTML alternative of an email: its text, in a plain accessible layout, its paragraphs
    kept and its links clickable. What `urlize|linebreaks` would do for the texts we write, at a
    tenth of its cost (a worker sends hundreds of emails a second: bench_notifications)."""
    return render_to_string(
        "notifications/email.html", {"notification": notification, "paragraphs": paragraphs(notification.body)}
    )


def paragraphs(text: str) -> list[list[list[tuple[str, bool]]]]:
    """`text` as paragraphs (split at blank lines) of lines of pieces: (text, whether a link).
    The template escapes and writes them (notifications/email.html)."""
    return [
        [
            [(piece, index % 2 == 1) for index, piece in enumerate(LINK.split(line)) if piece]
            for line in block.split("\n")
        ]
        for block in BLANK_LINE.split(text.replace("\r\n", "\n").strip())
    ]
