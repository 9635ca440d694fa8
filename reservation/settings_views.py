"""« Réservation en ligne » on the agents' side (administrators): each motif of the organisation,
whether usagers can book it online and how many free créneaux it offers in the coming weeks, the
organisation's public link to give out, and what an usager reads when nothing is bookable."""

import datetime as dt

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from motifs.models import Motif
from organisations.decorators import settings_access_required
from organisations.middleware import OrganisationRequest
from organisations.models import opening_hours_lines
from planning.creneaux import available_slots

COMING_WEEKS = 4


@settings_access_required
@require_GET
def online_booking(request: OrganisationRequest, organisation_id: int) -> HttpResponse:
    organisation = request.organisation
    now = timezone.now()
    motifs = list(
        Motif.objects.active()
        .filter(organisation=organisation)
        .select_related("service", "organisation__territory")
        .order_by("service__name", "name", "location_type")
    )
    rows = []
    for motif in motifs:
        free = None
        # A « RDV de suivi » is offered to each usager on its référents' créneaux: no count here.
        if motif.bookable_online and not motif.follow_up:
            slots = available_slots(
                motif=motif, start=now, end=now + dt.timedelta(weeks=COMING_WEEKS), online=True, now=now
            )
            free = len({(slot.start, slot.lieu_id) for slot in slots})
        rows.append({"motif": motif, "free": free})
    public_path = reverse("reservation:organisation_link", kwargs={"pk": organisation.pk, "slug": organisation.slug})
    context = {
        "rows": rows,
        "bookable": sum(1 for row in rows if row["motif"].bookable_online),
        "weeks": COMING_WEEKS,
        "public_url": request.build_absolute_uri(public_path),
        "opening_hours": opening_hours_lines(organisation.opening_hours),
    }
    return render(request, "reservation/settings/online_booking.html", context)
