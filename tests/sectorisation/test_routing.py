"""`route(commune, street)`: who serves an address, for each sectorisation level of the motifs."""

import pytest

from motifs.models import Motif
from sectorisation.routing import CITY, COMMUNE, STREET, route
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.sectorisation.factories import SectorAreaFactory, SectorAttributionFactory, SectorFactory, commune

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = [pytest.mark.usefixtures("communes"), pytest.mark.once]

Level = Motif.SectorisationLevel
LEVELS = [Level.DEPARTEMENT, Level.ORGANISATION, Level.AGENT]


@pytest.fixture
def seine_et_marne(db):
    return TerritoryFactory(departement_number="77", name="Seine-et-Marne")


@pytest.fixture
def noisiel(seine_et_marne):
    return OrganisationFactory(territory=seine_et_marne, name="MDS de Noisiel")


@pytest.fixture
def chelles(seine_et_marne):
    return OrganisationFactory(territory=seine_et_marne, name="MDS de Chelles")


@pytest.fixture
def torcy(seine_et_marne):
    return OrganisationFactory(territory=seine_et_marne, name="MDS de Torcy")


def sector(territory, *codes, street="", name=None, organisations=(), agents=()):
    """A sector of `territory` on the communes `codes` (or one street of them), attributed to
    `organisations` and to `agents` (pairs of organisation and agent)."""
    made = SectorFactory(territory=territory, **({"name": name} if name else {}))
    for code in codes:
        SectorAreaFactory(sector=made, commune=commune(code), street=street)
    for organisation in organisations:
        SectorAttributionFactory(sector=made, organisation=organisation)
    for organisation, agent in agents:
        SectorAttributionFactory(sector=made, organisation=organisation, agent=agent)
    return made


# --- no sector: the whole département ----------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_without_sectors_every_organisation_of_the_departement_serves_every_address(
    level, seine_et_marne, noisiel, chelles
):
    OrganisationFactory(territory=TerritoryFactory(departement_number="93"), name="EDS de Saint-Denis")
    result = route(commune("77337"), "Rue de la Mairie")

    assert result.territory == seine_et_marne
    assert result.sectorised is False
    assert result.sectors == ()
    assert result.organisation_ids(level) == {noisiel.pk, chelles.pk}
    assert result.agent_ids(level, noisiel.pk) is None


def test_a_departement_without_territory_is_served_by_nobody(noisiel):
    result = route(commune("93066"))

    assert result.territory is None
    assert [result.organisation_ids(level) for level in LEVELS] == [frozenset()] * 3


# --- by commune ---------------------------------------------------------------------------------


def test_an_organisation_level_attribution_routes_the_commune_to_its_organisation(seine_et_marne, noisiel, chelles):
    sector(seine_et_marne, "77337", "77468", name="Noisiel et Torcy", organisations=[noisiel])
    sector(seine_et_marne, "77108", name="Chelles", organisations=[chelles])

    result = route(commune("77468"))

    assert result.sectorised is True
    assert [(matched.name, matched.precision) for matched in result.sectors] == [("Noisiel et Torcy", COMMUNE)]
    assert result.sectors[0].why == "toute la commune fait partie du secteur"
    assert result.organisation_ids(Level.ORGANISATION) == {noisiel.pk}
    assert result.organisation_ids(Level.AGENT) == frozenset()
    assert result.organisation_ids(Level.DEPARTEMENT) == {noisiel.pk, chelles.pk}
    assert result.agent_ids(Level.ORGANISATION, noisiel.pk) is None


def test_two_sectors_on_one_commune_both_serve_it(seine_et_marne, noisiel, chelles):
    sector(seine_et_marne, "77337", name="Noisiel PMI", organisations=[noisiel])
    sector(seine_et_marne, "77337", name="Noisiel social", organisations=[chelles])

    result = route(commune("77337"))

    assert [matched.name for matched in result.sectors] == ["Noisiel PMI", "Noisiel social"]
    assert result.organisation_ids(Level.ORGANISATION) == {noisiel.pk, chelles.pk}


# --- by street ----------------------------------------------------------------------------------


@pytest.fixture
def chelles_and_its_avenue(seine_et_marne, chelles, torcy):
    sector(seine_et_marne, "77108", name="Chelles", organisations=[chelles])
    sector(seine_et_marne, "77108", street="Avenue du Général de Gaulle", name="Gaulle", organisations=[torcy])


def test_a_street_area_wins_over_the_whole_commune_sector_of_another(chelles_and_its_avenue, torcy):
    result = route(commune("77108"), "Avenue du Général de Gaulle")

    deciding = result.deciding(Level.ORGANISATION)
    assert [(matched.name, matched.precision) for matched in deciding] == [("Gaulle", STREET)]
    assert deciding[0].why == "la rue fait partie du secteur (elle prime sur la commune entière)"
    assert sorted(matched.name for matched in result.sectors) == ["Chelles", "Gaulle"]
    assert result.organisation_ids(Level.ORGANISATION) == {torcy.pk}


def test_the_street_as_typed_matches_the_street_as_written(chelles_and_its_avenue, torcy):
    result = route(commune("77108"), "12 av. du Gal de Gaulle")

    assert [matched.name for matched in result.deciding(Level.ORGANISATION)] == ["Gaulle"]
    assert result.organisation_ids(Level.ORGANISATION) == {torcy.pk}


@pytest.mark.parametrize("street", ["Rue de la Haute Borne", ""])
def test_another_street_of_that_commune_falls_back_to_the_whole_commune(chelles_and_its_avenue, chelles, street):
    result = route(commune("77108"), street)

    assert [(matched.name, matched.precision) for matched in result.sectors] == [("Chelles", COMMUNE)]
    assert result.organisation_ids(Level.ORGANISATION) == {chelles.pk}


def test_the_same_street_in_another_commune_is_another_street(chelles_and_its_avenue, seine_et_marne, noisiel):
    sector(seine_et_marne, "77337", name="Noisiel", organisations=[noisiel])

    result = route(commune("77337"), "Avenue du Général de Gaulle")

    assert [matched.name for matched in result.sectors] == ["Noisiel"]


# --- by agent -----------------------------------------------------------------------------------


def test_an_agent_level_attribution_routes_to_its_agents(seine_et_marne, noisiel, chelles):
    helene = AgentFactory(organisation=noisiel, first_name="Hélène", last_name="Martin")
    karim = AgentFactory(organisation=noisiel, first_name="Karim", last_name="Benali")
    AgentFactory(organisation=noisiel, first_name="Sophie", last_name="Lefèvre")
    sector(seine_et_marne, "77337", organisations=[chelles], agents=[(noisiel, helene), (noisiel, karim)])

    result = route(commune("77337"))

    assert result.organisation_ids(Level.AGENT) == {noisiel.pk}
    assert result.agent_ids(Level.AGENT, noisiel.pk) == {helene.pk, karim.pk}
    assert result.agent_ids(Level.AGENT, chelles.pk) == frozenset()
    assert result.organisation_ids(Level.ORGANISATION) == {chelles.pk}
    assert result.agent_ids(Level.ORGANISATION, chelles.pk) is None
    assert result.agent_ids(Level.DEPARTEMENT, noisiel.pk) is None


def test_an_agent_who_left_the_organisation_or_was_deactivated_serves_no_longer(seine_et_marne, noisiel):
    helene = AgentFactory(organisation=noisiel)
    leaving = AgentFactory(organisation=noisiel)
    deactivated = AgentFactory(organisation=noisiel)
    sector(seine_et_marne, "77337", agents=[(noisiel, helene), (noisiel, leaving), (noisiel, deactivated)])
    leaving.roles.all().delete()
    deactivated.is_active = False
    deactivated.save(update_fields=["is_active"])

    result = route(commune("77337"))

    assert result.agent_ids(Level.AGENT, noisiel.pk) == {helene.pk}


# --- a commune in no sector ---------------------------------------------------------------------


def test_a_commune_in_no_sector_reaches_nobody_but_for_departement_motifs(seine_et_marne, noisiel, chelles):
    sector(seine_et_marne, "77337", organisations=[noisiel], agents=[(noisiel, AgentFactory(organisation=noisiel))])

    result = route(commune("77468"), "Rue de Paris")

    assert result.sectorised is True
    assert result.sectors == ()
    assert result.organisation_ids(Level.ORGANISATION) == frozenset()
    assert result.organisation_ids(Level.AGENT) == frozenset()
    assert result.agent_ids(Level.AGENT, noisiel.pk) == frozenset()
    assert result.organisation_ids(Level.DEPARTEMENT) == {noisiel.pk, chelles.pk}


# --- Paris, Lyon, Marseille ---------------------------------------------------------------------


@pytest.fixture
def paris(db):
    return TerritoryFactory(departement_number="75", name="Paris")


def test_an_arrondissement_is_in_a_sector_on_its_city(paris):
    centre = OrganisationFactory(territory=paris, name="EDS Paris Centre")
    sector(paris, "75056", name="Tout Paris", organisations=[centre])

    result = route(commune("75119"), "Avenue Jean Jaurès")

    assert [(matched.name, matched.precision) for matched in result.sectors] == [("Tout Paris", CITY)]
    assert result.sectors[0].why == "toute la ville (tous ses arrondissements) fait partie du secteur"
    assert result.organisation_ids(Level.ORGANISATION) == {centre.pk}


def test_a_sector_on_the_arrondissement_wins_over_the_city(paris):
    centre = OrganisationFactory(territory=paris, name="EDS Paris Centre")
    nord_est = OrganisationFactory(territory=paris, name="EDS Paris Nord-Est")
    sector(paris, "75056", name="Tout Paris", organisations=[centre])
    sector(paris, "75119", name="Paris 19e", organisations=[nord_est])

    assert [matched.name for matched in route(commune("75119")).deciding(Level.ORGANISATION)] == ["Paris 19e"]
    assert route(commune("75119")).organisation_ids(Level.ORGANISATION) == {nord_est.pk}
    assert route(commune("75115")).organisation_ids(Level.ORGANISATION) == {centre.pk}


# --- territories --------------------------------------------------------------------------------


def test_another_territorys_sectors_never_apply(seine_et_marne, noisiel, chelles):
    seine_saint_denis = TerritoryFactory(departement_number="93", name="Seine-Saint-Denis")
    saint_denis = OrganisationFactory(territory=seine_saint_denis, name="EDS de Saint-Denis")
    # Rows no page lets anyone write, but the routing does not trust them either.
    sector(seine_saint_denis, "77337", organisations=[saint_denis])

    result = route(commune("77337"))

    assert result.sectorised is False
    assert result.organisation_ids(Level.ORGANISATION) == {noisiel.pk, chelles.pk}

    sector(seine_et_marne, "77337", organisations=[noisiel, saint_denis])
    result = route(commune("77337"))

    assert result.organisation_ids(Level.ORGANISATION) == {noisiel.pk}
    assert result.organisation_ids(Level.DEPARTEMENT) == {noisiel.pk, chelles.pk}


# --- the re-check at confirmation ---------------------------------------------------------------


def test_allows_an_organisation_level_motif_in_its_sector_only(seine_et_marne, noisiel, chelles):
    sector(seine_et_marne, "77337", organisations=[noisiel])
    motif = MotifFactory(organisation=noisiel, sectorisation_level=Level.ORGANISATION)

    assert route(commune("77337")).allows(motif) is True
    assert route(commune("77108")).allows(motif) is False
    assert (
        route(commune("77337")).allows(MotifFactory(organisation=chelles, sectorisation_level=Level.ORGANISATION))
        is False
    )


def test_allows_an_agent_level_motif_with_the_agents_of_the_sector_only(seine_et_marne, noisiel):
    helene = AgentFactory(organisation=noisiel)
    karim = AgentFactory(organisation=noisiel)
    sector(seine_et_marne, "77337", agents=[(noisiel, helene)])
    motif = MotifFactory(organisation=noisiel, sectorisation_level=Level.AGENT)

    assert route(commune("77337")).allows(motif, helene.pk) is True
    assert route(commune("77337")).allows(motif, karim.pk) is False
    assert route(commune("77108")).allows(motif, helene.pk) is False


def test_allows_a_departement_motif_anywhere_in_the_departement(seine_et_marne, noisiel):
    sector(seine_et_marne, "77337", organisations=[noisiel])
    motif = MotifFactory(organisation=noisiel, sectorisation_level=Level.DEPARTEMENT)

    assert route(commune("77108")).allows(motif) is True
    assert route(commune("93066")).allows(motif) is False


# --- queries ------------------------------------------------------------------------------------


def test_route_reads_three_queries_whatever_the_number_of_sectors(
    seine_et_marne, noisiel, chelles, django_assert_num_queries
):
    agent = AgentFactory(organisation=noisiel)
    codes = ["77337", "77108", "77468", "77083", "77186"]
    for number in range(200):
        sector(
            seine_et_marne,
            codes[number % len(codes)],
            street="Avenue du Général de Gaulle" if number % 2 else "",
            organisations=[noisiel if number % 3 else chelles],
            agents=[(noisiel, agent)] if number % 7 == 0 else [],
        )
    noisiel_commune = commune("77337")

    with django_assert_num_queries(3):  # the territory, the areas, the attributions
        result = route(noisiel_commune, "12 av. du Gal de Gaulle")

    assert len(result.sectors) == 40  # every sector of Noisiel, whole commune or that avenue
    assert len(result.deciding(Level.ORGANISATION)) == 20  # the avenue's: more precise
    assert result.agent_ids(Level.AGENT, noisiel.pk) == {agent.pk}


def test_route_reads_one_query_without_sectors(seine_et_marne, noisiel, django_assert_num_queries):
    noisiel_commune = commune("77337")

    with django_assert_num_queries(1):
        result = route(noisiel_commune, "Rue de la Mairie")

    assert result.organisation_ids(Level.ORGANISATION) == {noisiel.pk}
