"""From the answers of the query string to the one créneau the usager chose: the motif (in the
organisation of the lieu chosen, or the organisation chosen for « par téléphone » and « à
domicile »), the lieu, the start as an aware datetime, and the agents the sectorisation allows.
Anything tampered with (another département's lieu, a motif not bookable online, an address the
motif is not offered to, a time never offered) resolves to None: the pages send the usager back
to an earlier question, nothing is booked."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.utils import timezone

from motifs.models import Motif
from organisations.models import Lieu, Organisation
from planning.creneaux import free_agents_at
from planning.intervals import Window, end_after
from planning.models import PlageOuverture, PlageOuvertureException
from reservation import catalogue
from reservation.choice import Choice
from sectorisation.models import Commune
from sectorisation.routing import Route
from usagers.models import Usager


@dataclass(frozen=True)
class Selection:
    motif: Motif
    organisation: Organisation
    lieu: Lieu | None
    start: dt.datetime
    commune: Commune
    route: Route
    version: int  # the catalogue's number it was resolved under

    @property
    def agent_ids(self) -> frozenset[int] | None:
        """The agents the sectorisation allows for this motif (None: any)."""
        return self.route.agent_ids(self.motif.sectorisation_level, self.organisation.pk)

    def possible_agents(self) -> frozenset[int]:
        """Every agent who could take this créneau, or more: those with a plage that may receive
        the motif (`PlageOuvertureQuerySet.offering`, where the engine starts) at its lieu, and
        whose occurrence that day covers it (its rule and its exceptions, as the engine expands
        them), that the sectorisation allows. What the engine checks besides (absences, closed
        days, référents, delays) only takes agents away. Plages and their exceptions follow the
        catalogue's number: kept under it, no query when the number has not changed."""
        lieu_id = self.lieu.pk if self.lieu else None
        plages: list[PlageOuverture] = catalogue.kept(
            self.version, ("plages", self.motif.pk, lieu_id), lambda: _plages_offering(self.motif, lieu_id)
        )
        window = Window(self.start, self.end)
        covering = frozenset(plage.agent_id for plage in plages if _covers(plage, window))
        allowed = self.agent_ids
        return covering if allowed is None else covering & allowed

    @property
    def end(self) -> dt.datetime:
        """In real time, as the engine counts (`planning.intervals.end_after`)."""
        return end_after(self.start, self.motif.default_duration_in_min)

    def free_agents(self, usager: Usager | None, now: dt.datetime | None = None) -> list[int]:
        """The agents free at that time for this usager: empty when the créneau is no longer
        offered (taken, closed, out of the delays, a « RDV de suivi » without a référent)."""
        agents = free_agents_at(
            motif=self.motif,
            start=self.start,
            lieu_id=self.lieu.pk if self.lieu else None,
            online=True,
            usager=usager,
            now=now,
        )
        allowed = self.agent_ids
        return [agent for agent in agents if allowed is None or agent in allowed]


def local_start(naive: dt.datetime, organisation: Organisation) -> dt.datetime | None:
    """The wall-clock time in the organisation's time zone, None when it does not exist (the hour
    skipped when clocks go forward)."""
    tz = organisation.tzinfo
    aware = naive.replace(tzinfo=tz)
    if aware.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def resolve(choice: Choice) -> Selection | None:
    if not choice.commune or choice.category_id is None or choice.creneau is None:
        return None
    at_a_lieu = choice.location_type == Motif.LocationType.PUBLIC_OFFICE
    place_id = choice.lieu if at_a_lieu else choice.organisation
    if place_id is None:
        return None
    # The commune, the lieu, its organisation and the motif read only what the catalogue's number
    # follows: kept under it, as the route is (no query on each page of the wizard).
    current = catalogue.version()
    commune = catalogue.commune(choice.commune, current=current)
    if commune is None:
        return None
    place = (commune.departement, choice.location_type, place_id, choice.category_id, choice.service)
    found = catalogue.kept(
        current, ("selection", *place), lambda: _place_and_motif(choice, commune.departement, place_id)
    )
    if found is None:
        return None
    lieu, organisation, motif = found
    if choice.org is not None and organisation.pk != choice.org:
        return None
    routed = catalogue.routed(commune, choice.rue, current=current)
    if not routed.allows(motif):
        return None
    start = local_start(choice.creneau, organisation)
    if start is None:
        return None
    return Selection(
        motif=motif, organisation=organisation, lieu=lieu, start=start, commune=commune, route=routed, version=current
    )


def _plages_offering(motif: Motif, lieu_id: int | None) -> list[PlageOuverture]:
    """The plages that may receive the motif at the lieu and are not finished, with their
    organisation (its time zone) and the exceptions that can still matter: of an occurrence from
    yesterday on, or moving one to a time still to come. What is left out can only cover a past
    créneau, which the engine never offers."""
    now = timezone.now()
    since = timezone.localdate(now) - dt.timedelta(days=1)
    exceptions = PlageOuvertureException.objects.filter(Q(original_date__gte=since) | Q(ends_at__gt=now))
    plages = (
        PlageOuverture.objects.offering(motif)
        .current(since)
        .select_related("organisation__territory")
        .prefetch_related(Prefetch("exceptions", queryset=exceptions))
    )
    if lieu_id is not None:
        plages = plages.filter(lieu=lieu_id)
    return list(plages.order_by("pk"))


def _covers(plage: PlageOuverture, window: Window) -> bool:
    """Whether one of the plage's occurrences holds the whole window, compared as instants (the
    engine places each slot inside one occurrence, in POSIX seconds)."""
    start, end = window.start.timestamp(), window.end.timestamp()
    occurrences = plage.expand(window, exceptions=plage.exceptions.all())
    return any(
        occurrence.start.timestamp() <= start and occurrence.end.timestamp() >= end for occurrence in occurrences
    )


def _place_and_motif(choice: Choice, departement: str, place_id: int) -> tuple[Lieu | None, Organisation, Motif] | None:
    """The lieu (`place_id`, at a lieu) or the organisation (`place_id`) chosen, in the address's
    département, and the motif of the card chosen there (the smallest id among the same category
    and kind)."""
    lieu = None
    if choice.location_type == Motif.LocationType.PUBLIC_OFFICE:
        lieu = (
            Lieu.objects.filter(pk=place_id, is_active=True, organisation__territory__departement_number=departement)
            .select_related("organisation__territory")
            .first()
        )
        organisation = lieu.organisation if lieu else None
    else:
        organisation = (
            Organisation.objects.filter(pk=place_id, territory__departement_number=departement)
            .select_related("territory")
            .first()
        )
    if organisation is None:
        return None
    motifs = (
        Motif.objects.active()
        .bookable_online()
        .filter(organisation=organisation, category_id=choice.category_id, location_type=choice.location_type)
    )
    if choice.service is not None:
        motifs = motifs.filter(service_id=choice.service)
    motif = motifs.select_related("organisation__territory", "service").order_by("pk").first()
    if motif is None:
        return None
    return lieu, organisation, motif
