"""An address to those who serve it: the sectors that contain it, the organisations and agents
they are attributed to, and the organisations of the département when the territory has no sector.

A motif's `sectorisation_level` decides which attributions apply to it (as in the original):
« département » ignores sectors, « organisation » keeps the organisations a sector of the address
is attributed to, « agent » keeps the agents a sector of the address is attributed to. Lieux follow
their organisation. Three queries whatever the number of sectors (pinned in tests).

The most precise areas win, level by level (`Route.deciding`): a street of the commune over the
whole commune, the whole commune (or arrondissement) over the whole city of an arrondissement
(Paris, Lyon, Marseille), among the sectors attributed at that level."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from agents.models import AgentRole
from motifs.models import Motif
from organisations.models import Territory
from sectorisation.models import Commune, Sector, SectorArea, SectorAttribution
from sectorisation.streets import street_key

Level = Motif.SectorisationLevel

# How precise an area is for an address: higher wins.
STREET, COMMUNE, CITY = 2, 1, 0


@dataclass(frozen=True)
class MatchedSector:
    id: int
    name: str
    precision: int  # STREET, COMMUNE or CITY
    organisation_ids: frozenset[int]  # attributed as an organisation
    agent_ids: dict[int, frozenset[int]]  # organisation → agents attributed by name

    @property
    def why(self) -> str:
        if self.precision == STREET:
            return _("la rue fait partie du secteur (elle prime sur la commune entière)")
        if self.precision == COMMUNE:
            return _("toute la commune fait partie du secteur")
        return _("toute la ville (tous ses arrondissements) fait partie du secteur")


@dataclass(frozen=True)
class Route:
    commune: Commune
    street: str
    territory: Territory | None
    sectorised: bool  # the territory defines sectors: they decide
    sectors: tuple[MatchedSector, ...] = ()
    departement_organisation_ids: frozenset[int] = field(default_factory=frozenset)

    def deciding(self, level: str) -> tuple[MatchedSector, ...]:
        """The sectors that decide for a motif of this level: among those attributed at that level
        (to organisations, or to agents), the most precise. A street attributed to agents only does
        not hide its commune's sector from the motifs sectorised by organisation."""
        if level == Level.DEPARTEMENT or not self.sectorised:
            return ()
        attributed = [
            sector for sector in self.sectors if (sector.agent_ids if level == Level.AGENT else sector.organisation_ids)
        ]
        best = max((sector.precision for sector in attributed), default=None)
        return tuple(sector for sector in attributed if sector.precision == best)

    def organisation_ids(self, level: str = Level.ORGANISATION) -> frozenset[int]:
        """The organisations that may offer a motif of this level to the address."""
        if level == Level.DEPARTEMENT or not self.sectorised:
            return self.departement_organisation_ids
        if level == Level.AGENT:
            return frozenset(org for sector in self.deciding(level) for org in sector.agent_ids)
        return frozenset(org for sector in self.deciding(level) for org in sector.organisation_ids)

    def agent_ids(self, level: str, organisation_id: int) -> frozenset[int] | None:
        """The agents of that organisation who may take the RDV; None: any of them."""
        if level != Level.AGENT or not self.sectorised:
            return None
        return frozenset(
            agent for sector in self.deciding(level) for agent in sector.agent_ids.get(organisation_id, frozenset())
        )

    def allows(self, motif: Motif, agent_id: int | None = None) -> bool:
        """Whether the address may book this motif (with this agent): the re-check at confirmation."""
        level = motif.sectorisation_level
        if motif.organisation_id not in self.organisation_ids(level):
            return False
        agents = self.agent_ids(level, motif.organisation_id)
        return agents is None or agent_id is None or agent_id in agents


def route(commune: Commune, street: str = "") -> Route:
    """Who serves an address of `commune` (and `street`, as typed or geocoded)."""
    territory = (
        Territory.objects.filter(departement_number=commune.departement)
        .annotate(
            has_sectors=Exists(Sector.objects.filter(territory=OuterRef("pk"))),
            organisation_ids=ArrayAgg("organisations__id", default=[]),
        )
        .first()
    )
    if territory is None:
        return Route(commune=commune, street=street, territory=None, sectorised=False)
    organisation_ids = frozenset(pk for pk in territory.organisation_ids if pk is not None)
    if not territory.has_sectors:
        return Route(
            commune=commune,
            street=street,
            territory=territory,
            sectorised=False,
            departement_organisation_ids=organisation_ids,
        )
    key = street_key(street)
    areas = SectorArea.objects.filter(
        sector__territory=territory,
        commune_id__in=[pk for pk in (commune.pk, commune.parent_id) if pk],
        street_key__in=[key, ""] if key else [""],
    ).values_list("sector_id", "sector__name", "commune_id", "street_key")
    precision: dict[int, int] = {}
    names: dict[int, str] = {}
    for sector_id, name, commune_id, area_street in areas:
        value = STREET if area_street else COMMUNE if commune_id == commune.pk else CITY
        precision[sector_id] = max(precision.get(sector_id, -1), value)
        names[sector_id] = name
    kept = sorted(precision)
    by_sector_orgs: dict[int, set[int]] = defaultdict(set)
    by_sector_agents: dict[int, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    if kept:
        # An agent attributed by name serves while active and a member of that organisation: the
        # attribution outlives a membership removed or an account deactivated.
        serving = AgentRole.objects.filter(
            agent_id=OuterRef("agent_id"), organisation_id=OuterRef("organisation_id"), agent__is_active=True
        )
        for sector_id, organisation_id, agent_id in (
            SectorAttribution.objects.filter(sector_id__in=kept, organisation__territory=territory)
            .filter(Q(agent__isnull=True) | Exists(serving))
            .values_list("sector_id", "organisation_id", "agent_id")
        ):
            if agent_id is None:
                by_sector_orgs[sector_id].add(organisation_id)
            else:
                by_sector_agents[sector_id][organisation_id].add(agent_id)
    sectors = tuple(
        MatchedSector(
            id=pk,
            name=names[pk],
            precision=precision[pk],
            organisation_ids=frozenset(by_sector_orgs[pk]),
            agent_ids={org: frozenset(agents) for org, agents in by_sector_agents[pk].items()},
        )
        for pk in kept
    )
    return Route(
        commune=commune,
        street=street,
        territory=territory,
        sectorised=True,
        sectors=sectors,
        departement_organisation_ids=organisation_ids,
    )


def has_street_sectors(commune: Commune) -> bool:
    """Whether a street decides who serves an address of this commune: one query."""
    return (
        SectorArea.objects.filter(
            sector__territory__departement_number=commune.departement,
            commune_id__in=[pk for pk in (commune.pk, commune.parent_id) if pk],
        )
        .exclude(street_key="")
        .exists()
    )
