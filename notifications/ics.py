"""One RDV as an iCalendar invitation (RFC 5545 / iTIP RFC 5546).

Emails about an RDV carry it (notifications.delivery) so that the recipient's mail client offers
« Ajouter à l'agenda » and later keeps that event up to date: METHOD:REQUEST for a confirmation,
a change or a reminder, METHOD:CANCEL for an annulation, all with the same UID, each message a
higher SEQUENCE than the one before. The usager's « Ajouter à mon agenda » of the online booking
(reservation.usager_rdvs.ics_for) is the same event under METHOD:PUBLISH: same UID, so a phone
that imported the file updates that event when the emails come.

A calendar is read by whoever holds the phone or shares the agenda: the summary names the
service (« RDV PMI »), never the motif unless the motif allows it (« Afficher le nom du motif
dans les messages »). An invitation sent to an agent (`with_usager_names=False`) leaves our
system for its mailbox: nothing in it identifies an usager, neither a name nor a home address,
as in the agents' calendar feed (planning.ics).
"""

import datetime as dt
import enum
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Max, Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from motifs.models import Motif
from notifications.links import usager_link
from notifications.messages import participations
from notifications.models import Notification
from rdv.phone import display_phone
from rendezvous.models import Participation, Rdv

# The RDV's participations with their usagers, in the order they were added, as the worker's claim
# reads them (notifications.claim_reads.prefetch_participations, under the same lookup:
# prefetch_related_objects then reads nothing again).
PARTICIPATIONS = Prefetch(
    "participations", queryset=Participation.objects.select_related("usager__responsible").order_by("pk")
)


class Method(enum.StrEnum):
    REQUEST = "REQUEST"  # a confirmation, a change, a reminder: add or update the event
    CANCEL = "CANCEL"  # an annulation: remove it
    PUBLISH = "PUBLISH"  # a file to import (the booking's « Ajouter à mon agenda »), no invitation


def uid(rdv: Rdv) -> str:
    """The event's identity, the same in every email and the booking's file: « rdv-42@host »,
    the host of SITE_URL (known to the workers, unlike a request's host)."""
    host = urlsplit(settings.SITE_URL).hostname or "rdv-solidarites"
    return f"rdv-{rdv.pk}@{host}"


def current_sequence(rdv: Rdv) -> int:
    """The SEQUENCE of a file built outside an email (the booking's download): the highest
    message written about the RDV so far, so that the file never reads as older than an email
    already received, and every later email reads as newer (`for_notification`)."""
    return rdv.notifications.aggregate(last=Max("pk"))["last"] or 0


def summary(rdv: Rdv) -> str:
    """« RDV PMI — MDS de Noisiel », with the motif (« RDV PMI : Vaccination — … ») only when
    the motif allows its name in messages."""
    title = _("RDV %(service)s") % {"service": rdv.motif.service.short_name}
    if rdv.motif.show_name_in_messages:
        title = f"{title} : {rdv.motif.name}"
    return f"{title} — {rdv.organisation.name}"


def location(rdv: Rdv, *, home_address: str = "") -> str:
    """Where: the lieu and its address, « Par téléphone », « À domicile : <address> », or
    « À domicile » when no address may be given (an agent's calendar)."""
    location_type = rdv.motif.location_type
    if location_type == Motif.LocationType.PHONE:
        return _("Par téléphone")
    if location_type == Motif.LocationType.HOME:
        if home_address:
            return _("À domicile : %(address)s") % {"address": home_address}
        return _("À domicile")
    if rdv.lieu is not None:
        return f"{rdv.lieu.name}, {rdv.lieu.address}"
    return ""


def _description(rdv: Rdv, *, link: str | None) -> str:
    lines = [rdv.organisation.name]
    phone = display_phone(rdv.organisation.phone)
    if phone:
        lines.append(_("Téléphone : %(phone)s") % {"phone": phone})
    if link:
        lines.append(_("Voir, annuler ou déplacer le rendez-vous : %(link)s") % {"link": link})
    return "\n".join(lines)


def invitation(
    rdv: Rdv,
    *,
    method: str,
    sequence: int,
    attendee_email: str | None,
    with_usager_names: bool,
    link: str | None,
    attendee_name: str = "",
    home_address: str = "",
    starts_at: dt.datetime | None = None,
) -> bytes:
    """The calendar (one VEVENT) of `rdv` for one recipient.

    - `method`: a `Method`; CANCEL also marks the event STATUS:CANCELLED.
    - `sequence`: higher in each later message about this RDV to this recipient; the caller
      knows what is monotonic for it (delivery: the outbox row's id).
    - `attendee_email`: the recipient (ATTENDEE, RSVP=FALSE: answers would go to a no-reply
      address); None for a file to import.
    - `with_usager_names`: False for an agent's mailbox: no name (`attendee_name`) and no home
      address (the RDV's, else `home_address`, the usager's own) in the event.
    - `link`: the usager's link to its RDV page (notifications.links), None for none.
    - `starts_at`: the time the message announces when it is not the RDV's current one (the
      annulation sent to a recipient removed from the RDV describes it as it was); the
      duration and the lieu are the current ones.
    """
    method = Method(method)
    starts_at = (starts_at or rdv.starts_at).astimezone(dt.UTC)
    cancelled = method == Method.CANCEL or rdv.is_cancelled
    lines = [
        "BEGIN:VCALENDAR",
        "PRODID:-//RDV Solidarités//Rendez-vous//FR",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{_text(uid(rdv))}",
        f"SEQUENCE:{int(sequence)}",
        f"DTSTAMP:{_utc(timezone.now())}",
        f"DTSTART:{_utc(starts_at)}",
        f"DTEND:{_utc(starts_at + dt.timedelta(minutes=rdv.duration_in_min))}",
        f"SUMMARY:{_text(summary(rdv))}",
        "LOCATION:" + _text(location(rdv, home_address=(rdv.address or home_address) if with_usager_names else "")),
        f"DESCRIPTION:{_text(_description(rdv, link=link))}",
    ]
    if link:
        lines.append(f"URL:{link}")
    lines.append("STATUS:" + ("CANCELLED" if cancelled else "CONFIRMED"))
    lines.append("TRANSP:" + ("TRANSPARENT" if cancelled else "OPAQUE"))
    if method != Method.PUBLISH:
        organizer = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
        lines.append(f"ORGANIZER;CN={_parameter(rdv.organisation.name)}:mailto:{organizer}")
    if attendee_email:
        name = f";CN={_parameter(attendee_name)}" if with_usager_names and attendee_name else ""
        lines.append(f"ATTENDEE{name};PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{attendee_email}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "".join(_fold(line) + "\r\n" for line in lines).encode()


# Written by hand (RFC 5545, 3.1 and 3.3.11) rather than with `icalendar`, which took a quarter of
# the cost of an email (bench_notifications); tests/notifications/test_ics.py reads every
# invitation back with `icalendar`.
TEXT_ESCAPES = str.maketrans({"\\": "\\\\", ";": "\\;", ",": "\\,", "\n": "\\n", "\r": ""})
LINE_OCTETS = 75


def _text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma and line breaks escaped."""
    return value.translate(TEXT_ESCAPES)


def _parameter(value: str) -> str:
    """A parameter value (CN), quoted: it may hold « : », « ; » or « , »; a double quote, which
    cannot appear in it, becomes a single one, and line breaks spaces."""
    return '"' + value.replace('"', "'").replace("\r", "").replace("\n", " ") + '"'


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, the next ones starting with a space, never splitting a
    character's UTF-8 bytes."""
    if len(line.encode()) <= LINE_OCTETS:
        return line
    parts, current, size = [], [], 0
    for character in line:
        width = len(character.encode())
        limit = LINE_OCTETS if not parts else LINE_OCTETS - 1
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(character)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def for_notification(notification: Notification) -> tuple[Method, bytes] | None:
    """The invitation an outbox email about an RDV carries (notifications.delivery), or None
    for an email about no RDV (an invitation to a professional, a code).

    It says what the row says: the time the row announces (`rdv_starts_at`: for the annulation
    sent to a recipient removed from the RDV, the time it had then; the duration and the lieu are
    the current ones, the row keeping no other trace of them), METHOD:CANCEL for an annulation.

    SEQUENCE is the row's id. The outbox sends the messages of a thread (an RDV, a recipient, a
    channel) in the order of their ids (notifications.claim holds a row back while an earlier one is
    on its way, and drops it once a newer one exists), so a later message always carries a
    higher SEQUENCE, with no clock (two rows of the same second, a correction right after a
    status, are still ordered) and no query; a row sent twice after a worker died keeps its
    SEQUENCE and its later DTSTAMP wins (RFC 5546). The booking's file takes the highest id
    (`current_sequence`).

    The recipient's link is the text's (messages: the token of the first participation of its
    family in the RDV), from the participations notifications.claim has read: no query here (one
    when they were not read), none for an annulation, which offers no link."""
    rdv = notification.rdv
    if rdv is None or not notification.is_about_an_rdv:
        return None
    method = Method.CANCEL if notification.event == Notification.Event.CANCELLED else Method.REQUEST
    recipient = notification.usager
    link = None
    if recipient is not None and method == Method.REQUEST:
        prefetch_related_objects([rdv], PARTICIPATIONS)  # done by notifications.claim: no query
        link = next(
            (
                usager_link(participation.link_token)
                for participation in participations(rdv)
                if participation.usager.notification_recipient.pk == recipient.pk
            ),
            None,
        )
    content = invitation(
        rdv,
        method=method,
        sequence=notification.pk,
        attendee_email=notification.to,
        with_usager_names=recipient is not None,
        link=link,
        attendee_name=recipient.full_name if recipient is not None else "",
        home_address=recipient.address if recipient is not None else "",
        starts_at=notification.rdv_starts_at,
    )
    return method, content
