"""The RDVs an usager may see online: its own and its proches' (never another family's), and one
RDV as a calendar file."""

import datetime as dt

from django.http import HttpRequest
from icalendar import Calendar, Event

from rendezvous.models import Participation, Rdv, RdvQuerySet
from usagers.models import Usager


def family_rdvs(usager: Usager) -> RdvQuerySet:
    family = Usager.objects.filter(pk=usager.pk) | Usager.objects.filter(responsible=usager)
    return Rdv.objects.filter(pk__in=Participation.objects.filter(usager__in=family).values("rdv_id"))


def place_of(rdv: Rdv) -> str:
    """Where: the lieu with its address, « Par téléphone », or the home address."""
    if rdv.lieu is not None:
        return f"{rdv.lieu.name}, {rdv.lieu.address}"
    if rdv.motif.location_type == rdv.motif.LocationType.HOME:
        return f"À domicile : {rdv.address}" if rdv.address else "À domicile"
    return "Par téléphone"


def ics_for(rdv: Rdv, request: HttpRequest) -> bytes:
    """One VEVENT. The summary names the organisation, not the motif: a phone's calendar is read
    by whoever holds the phone."""
    calendar = Calendar()
    calendar.add("prodid", "-//RDV Solidarités//Réservation en ligne//FR")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"rdv-{rdv.pk}@{request.get_host()}")
    event.add("dtstamp", dt.datetime.now(dt.UTC))
    event.add("dtstart", rdv.starts_at)
    event.add("dtend", rdv.ends_at)
    event.add("summary", f"Rendez-vous — {rdv.organisation.name}")
    event.add("location", place_of(rdv))
    if rdv.organisation.phone:
        event.add(
            "description", f"Pour annuler ou déplacer : {request.build_absolute_uri('/')} ou {rdv.organisation.phone}"
        )
    if rdv.status in Rdv.CANCELLED_STATUSES:
        event.add("status", "CANCELLED")
    calendar.add_component(event)
    return calendar.to_ical()
