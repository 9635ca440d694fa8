import pytest

from sectorisation.communes import resolve_commune, search_communes
from sectorisation.models import Zone

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = [pytest.mark.usefixtures("communes"), pytest.mark.once]


def codes(query, **kwargs):
    return [commune.insee_code for commune in search_communes(query, **kwargs)]


@pytest.mark.parametrize(
    "query",
    ["saint-etienne", "St Étienne", "SAINT ÉTIÈNNE", "st-etienne", "saint etienne", "Saint-Étienne", "42000"],
)
def test_saint_etienne_comes_first(query):
    assert codes(query)[0] == "42218"


def test_a_postal_code_finds_its_communes_only():
    assert codes("42000") == ["42218"]


@pytest.mark.parametrize("query", ["noisiel", "Noisiel", "NOÏSIEL", "noisi", "Noisiel 77186", "77337"])
def test_noisiel(query):
    assert codes(query) == ["77337"]


@pytest.mark.parametrize(
    ("query", "arrondissement"),
    [("Paris 19", "75119"), ("Paris 19e", "75119"), ("paris 19ème", "75119"), ("Paris 1er", "75101"),
     ("Lyon 3", "69383"), ("Marseille 13", "13213"), ("75019", "75119")],
)  # fmt: skip
def test_arrondissements(query, arrondissement):
    assert codes(query)[0] == arrondissement


def test_a_number_is_a_whole_word():
    assert codes("Paris 1") == ["75101"]


def test_the_insee_code_of_saint_denis_de_la_reunion_before_the_commune_with_that_postal_code():
    found = search_communes("97411")
    assert [(c.insee_code, c.name, c.zone) for c in found] == [
        ("97411", "Saint-Denis", Zone.DROM),
        ("97415", "Saint-Paul", Zone.DROM),
    ]


def test_a_merged_commune_is_found_by_its_old_code_and_says_so():
    [valserhone] = search_communes("01091")
    assert (valserhone.insee_code, valserhone.matched_former.name) == ("01033", "Châtillon-en-Michaille")


def test_a_merged_commune_is_found_by_its_old_name():
    found = search_communes("Bellegarde-sur-Valserine")
    assert [(c.insee_code, c.matched_former.name) for c in found] == [("01033", "Bellegarde-sur-Valserine")]


def test_an_old_seine_code_comes_after_the_postal_code_it_now_is():
    assert codes("75019") == ["75119", "75056", "92019"]


def test_exact_name_then_names_beginning_with_it_then_population():
    assert codes("bellegarde")[:5] == ["30034", "45031", "32041", "42013", "38037"]


def test_a_misspelt_name_finds_the_closest():
    assert codes("St Etiene")[0] == "42218"
    assert codes("Noisel")[0] == "77337"


def test_postal_code_beginnings():
    assert "77337" in codes("7718")
    assert codes("42")[:2] == ["42218", "42207"]
    assert codes("4") == []


def test_departement():
    assert codes("saint denis", departement="93") == ["93066", "93039"]  # and L'Île-Saint-Denis
    assert codes("saint denis", departement="974")[0] == "97411"


def test_corsica():
    assert codes("2a004") == ["2A004"]


@pytest.mark.parametrize("query", ["", "a", "-", "  ", "x" * 1000])
def test_nothing_for_too_short_or_silly_queries(query):
    assert codes(query) == []


def test_limit():
    assert len(codes("saint", limit=3)) == 3


@pytest.mark.parametrize(
    ("query", "count"),
    [("saint", 1), ("noisiel", 2), ("42000", 2), ("42", 1), ("noisel", 6)],
)
def test_queries(django_assert_num_queries, query, count):
    """One query when 20 current names match; the former names when they leave room; the former
    codes before codes; for a misspelt name, the closest names in a transaction of their own (a
    savepoint here, inside the test's transaction: 4 queries in production)."""
    with django_assert_num_queries(count):
        search_communes(query)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("42218", "42218"), ("01091", "01033"), ("01126", "01033"), ("2a004", "2A004"), (" 77337 ", "77337")],
)
def test_resolve_commune(code, expected):
    assert resolve_commune(code).insee_code == expected


@pytest.mark.parametrize("code", ["99999", "", "saint", "7733", "77337\x00"])
def test_resolve_nothing(code):
    assert resolve_commune(code) is None
