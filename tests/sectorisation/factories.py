import factory

from agents.models import TerritoryRole
from sectorisation.models import Commune, Sector, SectorArea, SectorAttribution
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory


def commune(insee_code: str) -> Commune:
    """A commune loaded by the migration (tests that use it ask for the `communes` fixture)."""
    return Commune.objects.get(pk=insee_code)


class SectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sector

    territory = factory.SubFactory(TerritoryFactory)
    name = factory.Sequence(lambda n: f"Secteur n°{n}")


class SectorAreaFactory(factory.django.DjangoModelFactory):
    """`SectorAreaFactory(sector=s, commune=commune("77337"))`, `street="Avenue de l'Aulnoy"` for
    a street; without a commune, the first commune of the sector's département."""

    class Meta:
        model = SectorArea

    sector = factory.SubFactory(SectorFactory)
    commune = factory.LazyAttribute(
        lambda area: (
            Commune.objects.filter(departement=area.sector.territory.departement_number).order_by("insee_code").first()
        )
    )
    street = ""


class SectorAttributionFactory(factory.django.DjangoModelFactory):
    """To an organisation of the sector's territory; `to_agent=True` to a new agent of it, or
    `agent=a` to a given one."""

    class Meta:
        model = SectorAttribution

    sector = factory.SubFactory(SectorFactory)
    organisation = factory.SubFactory(OrganisationFactory, territory=factory.SelfAttribute("..sector.territory"))
    agent = None

    class Params:
        to_agent = factory.Trait(
            agent=factory.SubFactory(AgentFactory, organisation=factory.SelfAttribute("..organisation"))
        )


class TerritoryRoleFactory(factory.django.DjangoModelFactory):
    """A territory administrator: `TerritoryRoleFactory(agent=a, territory=t)`."""

    class Meta:
        model = TerritoryRole

    agent = factory.SubFactory(AgentFactory)
    territory = factory.SubFactory(TerritoryFactory)
