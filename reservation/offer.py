"""What online booking offers to an address (steps 2 and 3 of « Prendre rendez-vous »): the
organisations it is routed to, the motifs they offer it online, merged into one card per name and
type, and for a card the lieux (or, by phone and at home, the organisations) with their next
availability. The pages of `reservation.search_views` read only this; slots come from
`planning.creneaux`, routing from `sectorisation.routing`.

A motif is offered to an address when it is bookable online, not archived, has a plage that may
still receive it, and its organisation is routed to the address for the motif's own
sectorisation level. A « RDV de suivi » is offered only to an identified usager who has a
référent in that organisation."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Collate
from django.utils import formats

from motifs.models import Motif
from organisations.models import Lieu, Organisation, Service, opening_hours_lines
from planning.creneaux import next_availabilities
from planning.models import PlageOuverture
from planning.slots import Slot
from rdv import words
from sectorisation.routing import Route
from usagers.models import Usager, UsagerProfile

Level = Motif.SectorisationLevel
LocationType = Motif.LocationType
TIME_FORMAT = "G\\hi"  # 9h30
TYPE_ORDER = {value: index for index, value in enumerate(LocationType.values)}
TYPE_ICONS = {
    LocationType.PUBLIC_OFFICE: "fr-icon-map-pin-2-line",
    LocationType.PHONE: "fr-icon-phone-line",
    LocationType.HOME: "fr-icon-home-4-line",
}


@dataclass(frozen=True)
class MotifCard:
    """One choice of step 2: the motifs of one name (référentiel category) and one type, one per
    organisation offering it (`motif=<category id>-<location type>` in the query string)."""

    key: str
    name: str
    location_type: str
    motifs: tuple[Motif, ...]  # one per organisation, by organisation name

    @property
    def type_label(self) -> str:
        return str(LocationType(self.location_type).label)

    @property
    def icon(self) -> str:
        return TYPE_ICONS[LocationType(self.location_type)]

    @property
    def on_site(self) -> bool:
        return self.location_type == LocationType.PUBLIC_OFFICE

    @property
    def organisation_ids(self) -> frozenset[int]:
        return frozenset(motif.organisation_id for motif in self.motifs)

    def motif_of(self, organisation_id: int) -> Motif | None:
        return next((motif for motif in self.motifs if motif.organisation_id == organisation_id), None)


@dataclass(frozen=True)
class Offer:
    route: Route
    motifs: tuple[Motif, ...]  # with organisation (and territory), service and category

    def services(self) -> list[Service]:
        """The services that have a motif to offer, by name."""
        found = {motif.service_id: motif.service for motif in self.motifs}
        return sorted(found.values(), key=lambda service: service.name)

    def cards(self, service_id: int | None = None) -> list[MotifCard]:
        """The cards of the service (of every service when None), by name then type. Within an
        organisation, the motif with the smallest id stands for the card, as the booking takes it."""
        groups: dict[str, dict[int, Motif]] = {}
        for motif in self.motifs:
            if service_id is not None and motif.service_id != service_id:
                continue
            key = f"{motif.category_id}-{motif.location_type}"
            current = groups.setdefault(key, {}).get(motif.organisation_id)
            if current is None or motif.pk < current.pk:
                groups[key][motif.organisation_id] = motif
        # The motifs come sorted by name: the first appearance of a name gives its rank.
        rank: dict[int, int] = {}
        for motif in self.motifs:
            rank.setdefault(motif.category_id, len(rank))
        cards = [
            MotifCard(
                key=key,
                name=next(iter(by_organisation.values())).category.name,
                location_type=next(iter(by_organisation.values())).location_type,
                motifs=tuple(sorted(by_organisation.values(), key=lambda motif: (motif.organisation.name, motif.pk))),
            )
            for key, by_organisation in groups.items()
        ]
        return sorted(cards, key=lambda card: (rank[card.motifs[0].category_id], TYPE_ORDER[card.location_type]))

    def card(self, key: str, service_id: int | None = None) -> MotifCard | None:
        return next((card for card in self.cards(service_id) if card.key == key), None)


def routed_organisation_ids(route: Route) -> frozenset[int]:
    """The organisations that serve the address, whose contacts the usager reads when nothing is
    bookable: those of its sectors (by organisation or by agent), else the whole département."""
    sectors = route.organisation_ids(Level.ORGANISATION) | route.organisation_ids(Level.AGENT)
    return sectors or route.organisation_ids(Level.DEPARTEMENT)


def offer_for(route: Route, *, usager: Usager | None, today: dt.date, organisation_id: int | None = None) -> Offer:
    """Every motif the address may book online (one or two queries, none when nothing is routed);
    `organisation_id` narrows it to one organisation (its public link). The pages read it through
    reservation.catalogue, which keeps `offered_motifs` in memory."""
    offer = Offer(route=route, motifs=offered_motifs(route, today=today, organisation_id=organisation_id))
    return for_usager(offer, usager)


def offered_motifs(route: Route, *, today: dt.date, organisation_id: int | None = None) -> tuple[Motif, ...]:
    """The motifs bookable online by the address, whoever asks: « RDV de suivi » included (one
    query, none when nothing is routed). `for_usager` keeps those the usager may book."""
    routed = Q()
    for level in Level:
        organisation_ids = route.organisation_ids(level)
        if organisation_id is not None:
            organisation_ids &= {organisation_id}
        if organisation_ids:
            routed |= Q(sectorisation_level=level, organisation_id__in=sorted(organisation_ids))
    if not routed:
        return ()
    # A plage that may still receive the motif (at an open lieu; sur place, at a lieu).
    plages = (
        PlageOuverture.objects.filter(motifs=OuterRef("pk"))
        .current(today - dt.timedelta(days=1))
        .exclude(lieu__is_active=False)
    )
    has_plage = Exists(plages.filter(lieu__isnull=False)) | (
        ~Q(location_type=LocationType.PUBLIC_OFFICE) & Exists(plages)
    )
    motifs = (
        Motif.objects.active()
        .bookable_online()
        .filter(routed, has_plage)
        .select_related("organisation__territory", "service", "category")
        .order_by(Collate("category__name", "fr-x-icu"), "category_id", "location_type", "pk")
    )
    return tuple(motifs)


def for_usager(offer: Offer, usager: Usager | None) -> Offer:
    """The offer less the « RDV de suivi » the usager may not book: all of them for a visitor
    not identified, those of organisations where it has no référent otherwise (one query, none
    when the offer has no such motif)."""
    follow_up_organisations = {motif.organisation_id for motif in offer.motifs if motif.follow_up}
    if not follow_up_organisations:
        return offer
    followed: set[int] = set()
    if usager is not None:
        followed = set(
            UsagerProfile.objects.filter(
                usager=usager,
                organisation_id__in=sorted(follow_up_organisations),
                deleted_at__isnull=True,
                referents__isnull=False,
            ).values_list("organisation_id", flat=True)
        )
    kept = tuple(motif for motif in offer.motifs if not motif.follow_up or motif.organisation_id in followed)
    return replace(offer, motifs=kept)


@dataclass(frozen=True)
class Contact:
    """How to reach an organisation when nothing is bookable online."""

    organisation: Organisation
    opening_hours: list[tuple[str, str]]


def contacts(organisation_ids: Iterable[int]) -> list[Contact]:
    """One query (none for no organisation)."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return []
    organisations = Organisation.objects.filter(pk__in=ids).order_by(Collate("name", "fr-x-icu"), "pk")
    return [Contact(organisation, opening_hours_lines(organisation.opening_hours)) for organisation in organisations]


def when(start: dt.datetime, today: dt.date) -> str:
    """« mardi 15 décembre à 9h30 » in the slot's time zone, the year added when it is not this one."""
    local = start.replace(tzinfo=None)  # slots come in their organisation's time zone
    day = words.date_format(local, "l j F" if local.year == today.year else "l j F Y")
    return f"{day} à {formats.time_format(local, TIME_FORMAT)}"


@dataclass(frozen=True)
class Availability:
    """A lieu (sur place) or an organisation (by phone, at home) and its first free slot."""

    motif: Motif
    slot: Slot
    lieu: Lieu | None = None

    @property
    def organisation(self) -> Organisation:
        return self.motif.organisation


def _first_slots(
    card: MotifCard, route: Route, *, usager: Usager | None, now: dt.datetime, per_lieu: bool
) -> list[tuple[Motif, Slot]]:
    """The first free slots of every motif of the card (of each lieu when `per_lieu`), each
    organisation's agents narrowed to those the address is routed to: the calendars of all the
    card's motifs read at once (three queries, then the RDVs of the weeks read), whatever the
    number of organisations and lieux."""
    firsts = next_availabilities(
        motifs=card.motifs,
        after=now,
        agents={motif.pk: route.agent_ids(motif.sectorisation_level, motif.organisation_id) for motif in card.motifs},
        per_lieu=per_lieu,
        online=True,
        usager=usager,
        now=now,
    )
    return [(motif, slot) for motif in card.motifs for slot in firsts[motif.pk].values()]


def lieu_availabilities(
    card: MotifCard, route: Route, *, usager: Usager | None, now: dt.datetime
) -> list[Availability]:
    """The lieux of the card's organisations that have a free slot, soonest first: the engine's
    queries for all the card's motifs at once, then one query for the lieux."""
    found = [
        (motif, slot)
        for motif, slot in _first_slots(card, route, usager=usager, now=now, per_lieu=True)
        if slot.lieu_id is not None
    ]
    if not found:
        return []
    lieux = Lieu.objects.active().in_bulk([slot.lieu_id for _motif, slot in found])
    offered = [
        Availability(motif=motif, slot=slot, lieu=lieux[slot.lieu_id])
        for motif, slot in found
        if slot.lieu_id in lieux and lieux[slot.lieu_id].organisation_id == motif.organisation_id
    ]
    return sorted(offered, key=lambda item: (item.slot.start, item.lieu.name if item.lieu else "", item.slot.lieu_id))


def organisation_availabilities(
    card: MotifCard, route: Route, *, usager: Usager | None, now: dt.datetime
) -> list[Availability]:
    """By phone or at home: the card's organisations that have a free slot, soonest first (the
    engine's queries for all the card's motifs at once)."""
    offered = [
        Availability(motif=motif, slot=slot)
        for motif, slot in _first_slots(card, route, usager=usager, now=now, per_lieu=False)
    ]
    return sorted(offered, key=lambda item: (item.slot.start, item.organisation.name))
