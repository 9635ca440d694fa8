"""What the booking pages share: the organisation's time on every page, the motifs offered, the
parsing of times and ids from the query string, and the success message of a booking."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from agents.models import Agent
from agents.permissions import (
    Membership,
    bookable_motifs,
    motifs_received_by,
)
from motifs.models import Motif
from notifications.presentation import announcement
from organisations.middleware import OrganisationRequest
from rdv import words
from rendezvous.forms import MAX_AHEAD
from usagers.models import Usager
from usagers.permissions import usagers_visible_to

START_FORMAT = "%Y-%m-%dT%H:%M"


def offered_motifs(membership: Membership, agent: Agent | None = None) -> list[Motif]:
    """The active motifs the membership may book, those the clicked agent receives when there is
    one (all of them if it receives none), grouped by service."""
    motifs = (
        bookable_motifs(membership, Motif.objects.for_organisation(membership.organisation).active())
        .select_related("service")
        .order_by("service__name", "name", "location_type")
    )
    if agent is not None:
        received = list(motifs_received_by(agent, motifs))
        if received:
            return received
    return list(motifs)


def parse_start(value: str, tz) -> dt.datetime | None:
    """A wall-clock time `AAAA-MM-JJTHH:MM` of the organisation, within reach (None otherwise)."""
    try:
        start = dt.datetime.strptime(value, START_FORMAT).replace(tzinfo=tz)
    except ValueError:
        return None
    now = timezone.now()
    if not (now - MAX_AHEAD <= start <= now + MAX_AHEAD):
        return None
    return start


def parse_id(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


def local_input(value: dt.datetime, tz) -> str:
    return timezone.localtime(value, tz).strftime(START_FORMAT)


def agenda_url(organisation_id: int, agent: Agent, starts_at: dt.datetime, tz) -> str:
    return reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": organisation_id, "agent_id": agent.pk},
        query={"date": timezone.localtime(starts_at, tz).date().isoformat()},
    )


def with_params(url: str, params: Sequence[tuple[str, Any]]) -> str:
    """The current page's `url` (a path, not a URL name: reverse cannot build it) with the
    non-empty `params`, in their order (repeated keys kept)."""
    query = urlencode([(key, value) for key, value in params if value not in (None, "")])
    return f"{url}?{query}" if query else url


def visible_responsibles(membership: Membership, usagers: Sequence[Usager]) -> dict[int, Usager]:
    """The responsibles of these proches that the organisation knows, by id: a proche known here
    may have its responsible known to another organisation only, whose name and address are not
    ours to show. One query, none without a proche."""
    ids = {usager.responsible_id for usager in usagers if usager.responsible_id}
    if not ids:
        return {}
    return {usager.pk: usager for usager in usagers_visible_to(membership).filter(pk__in=ids)}


def home_address(membership: Membership, usagers: Sequence[Usager]) -> str:
    """The address an RDV « à domicile » is prefilled with: the first usager's, or its
    responsible's for a proche (if the organisation knows the responsible)."""
    responsibles = visible_responsibles(membership, [usager for usager in usagers if not usager.address])
    for usager in usagers:
        if usager.address:
            return usager.address
        responsible = responsibles.get(usager.responsible_id) if usager.responsible_id else None
        if responsible is not None and responsible.address:
            return responsible.address
    return ""


def announce_created(request: OrganisationRequest, rdv, tz) -> None:
    created = _("Le RDV « %(motif)s » du %(day)s à %(time)s a été créé.") % {
        "motif": rdv.motif.name,
        "day": words.date_format(timezone.localtime(rdv.starts_at, tz), "l j F Y"),
        "time": words.time_of_day(timezone.localtime(rdv.starts_at, tz)),
    }
    messages.success(request, f"{created} {announcement(rdv, since=rdv.created_at)}".strip())
