"""The CSV import of a territory's sectors: `plan_import` (preview or errors), then `apply_import`."""

import pytest

from sectorisation.imports import PreviewOutdated, apply_import, apply_previewed, plan_import, preview_token
from sectorisation.models import Sector, SectorArea
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.sectorisation.factories import SectorAreaFactory, SectorAttributionFactory, SectorFactory, commune

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = [pytest.mark.usefixtures("communes"), pytest.mark.once]

HEADER = "secteur;commune;rue;organisation;agent"


@pytest.fixture
def territory(db):
    return TerritoryFactory(departement_number="77", name="Seine-et-Marne")


@pytest.fixture
def noisiel(territory):
    return OrganisationFactory(territory=territory, name="MDS de Noisiel")


@pytest.fixture
def chelles(territory):
    return OrganisationFactory(territory=territory, name="MDS de Chelles")


@pytest.fixture
def helene(chelles):
    return AgentFactory(
        organisation=chelles, email="helene.martin@departement.fr", first_name="Hélène", last_name="Martin"
    )


def csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join(lines).encode(encoding)


def state(territory):
    """Every sector of the territory as {name: (areas, attributions)}, with the rows' ids."""
    return {
        sector.name: (
            sorted((area.pk, area.commune_id, area.street, area.street_key) for area in sector.areas.all()),
            sorted(
                (attribution.pk, attribution.organisation.name, attribution.agent.email if attribution.agent else "")
                for attribution in sector.attributions.all()
            ),
        )
        for sector in Sector.objects.filter(territory=territory).prefetch_related(
            "areas", "attributions__organisation", "attributions__agent"
        )
    }


def contents(territory):
    """Every sector of the territory as {name: (areas, attributions)}, without ids."""
    return {
        name: (sorted(area[1:3] for area in areas), sorted(attribution[1:] for attribution in attributions))
        for name, (areas, attributions) in state(territory).items()
    }


GOOD_FILE = csv(
    HEADER,
    "Noisiel;77337;;MDS de Noisiel;",
    "Noisiel;77468;;;",
    "Chelles - Aulnoy;77108;Avenue de l'Aulnoy;MDS de Chelles;Helene.Martin@departement.fr",
    "",
)


def test_a_good_file_creates_sectors_areas_and_attributions(territory, noisiel, chelles, helene):
    plan = plan_import(territory, GOOD_FILE)

    assert plan.errors == []
    assert plan.lines == 3
    assert [(sector.name, sector.existing) for sector in plan.sectors] == [
        ("Noisiel", None),
        ("Chelles - Aulnoy", None),
    ]
    assert apply_import(territory, plan) == 2
    assert contents(territory) == {
        "Noisiel": ([("77337", ""), ("77468", "")], [("MDS de Noisiel", "")]),
        "Chelles - Aulnoy": (
            [("77108", "Avenue de l'Aulnoy")],
            [("MDS de Chelles", "helene.martin@departement.fr")],
        ),
    }
    assert SectorArea.objects.get(commune_id="77108").street_key == "avenue aulnoy"


def test_the_preview_lists_what_a_second_file_adds_and_removes(territory, noisiel, chelles, helene):
    apply_import(territory, plan_import(territory, GOOD_FILE))
    second = csv(
        HEADER,
        "NOISIEL;77337;;MDS de Chelles;helene.martin@departement.fr",
        "Noisiel;77083;;;",
        "Noisiel;77337;Rue de la Mairie;;",
        "Torcy;77468;;MDS de Chelles;",
    )

    plan = plan_import(territory, second)

    assert plan.errors == []
    assert [
        (
            sector.name,
            sector.existing is not None,
            sector.areas_added,
            sector.areas_removed,
            sector.attributions_added,
            sector.attributions_removed,
        )
        for sector in plan.sectors
    ] == [
        (
            "NOISIEL",
            True,
            ["Champs-sur-Marne (77083)", "Noisiel (77337) — Rue de la Mairie"],
            ["Torcy (77468)"],
            ["Hélène Martin (MDS de Chelles)"],
            ["MDS de Noisiel"],
        ),
        ("Torcy", False, ["Torcy (77468)"], [], ["MDS de Chelles"], []),
    ]
    chelles_aulnoy = state(territory)["Chelles - Aulnoy"]

    assert apply_import(territory, plan) == 2
    after = contents(territory)
    assert after["Noisiel"] == (
        [("77083", ""), ("77337", ""), ("77337", "Rue de la Mairie")],
        [("MDS de Chelles", "helene.martin@departement.fr")],
    )
    assert after["Torcy"] == ([("77468", "")], [("MDS de Chelles", "")])
    # A sector the file does not name is left as it is.
    assert state(territory)["Chelles - Aulnoy"] == chelles_aulnoy


def test_applying_the_same_file_twice_changes_nothing_the_second_time(territory, noisiel, chelles, helene):
    apply_import(territory, plan_import(territory, GOOD_FILE))
    before = state(territory)

    plan = plan_import(territory, GOOD_FILE)

    assert plan.changes is False
    assert [sector.changes for sector in plan.sectors] == [False, False]
    assert apply_import(territory, plan) == 0
    assert state(territory) == before


def test_an_unchanged_area_keeps_its_row_when_others_change(territory, noisiel):
    sector = SectorFactory(territory=territory, name="Noisiel")
    kept = SectorAreaFactory(sector=sector, commune=commune("77337"), street="12 av. du Gal de Gaulle")
    SectorAreaFactory(sector=sector, commune=commune("77468"))

    apply_import(territory, plan_import(territory, csv(HEADER, "Noisiel;77337;Avenue du Général de Gaulle;;")))

    assert list(SectorArea.objects.filter(sector=sector).values_list("pk", "street")) == [
        (kept.pk, "12 av. du Gal de Gaulle")
    ]


# --- errors: line-numbered, in French, and nothing changes ---------------------------------------


@pytest.mark.parametrize(
    "lines, error",
    [
        (["Noisiel;77999;;;"], "Ligne 2 : commune « 77999 » inconnue."),
        (["Noisiel;noisiel;;;"], "Ligne 2 : commune « noisiel » inconnue."),
        (["Saint-Denis;93066;;;"], "Ligne 2 : la commune Saint-Denis (93066) n'est pas dans le département 77."),
        (["Noisiel;77337;;MDS de Melun;"], "Ligne 2 : organisation « MDS de Melun » inconnue dans le territoire."),
        (
            ["Noisiel;77337;;EDS de Saint-Denis;"],
            "Ligne 2 : organisation « EDS de Saint-Denis » inconnue dans le territoire.",
        ),
        (
            ["Noisiel;77337;;MDS de Noisiel;inconnu@departement.fr"],
            "Ligne 2 : aucun agent « inconnu@departement.fr » dans l'organisation « MDS de Noisiel ».",
        ),
        (
            # Hélène is an agent of Chelles, not of Noisiel.
            ["Noisiel;77337;;MDS de Noisiel;helene.martin@departement.fr"],
            "Ligne 2 : aucun agent « helene.martin@departement.fr » dans l'organisation « MDS de Noisiel ».",
        ),
        (["Noisiel;;;;helene.martin@departement.fr"], "Ligne 2 : indiquez une commune, une organisation, ou les deux."),
        (
            ["Noisiel;77337;;;helene.martin@departement.fr"],
            "Ligne 2 : un agent doit être accompagné de son organisation.",
        ),
        (["Noisiel;;Rue de la Mairie;MDS de Noisiel;"], "Ligne 2 : une rue doit être accompagnée de sa commune."),
        (["Noisiel;77337;12 bis;;"], "Ligne 2 : la rue « 12 bis » n'a pas de nom."),
        ([";77337;;MDS de Noisiel;"], "Ligne 2 : le nom du secteur est obligatoire."),
        (["S" * 151 + ";77337;;;"], "Ligne 2 : le nom du secteur dépasse 150 caractères."),
        (["Noisiel;77337;" + "R" * 201 + ";;"], "Ligne 2 : le nom de la rue dépasse 200 caractères."),
    ],
)
def test_a_bad_line_is_a_line_numbered_error_and_nothing_changes(territory, noisiel, chelles, helene, lines, error):
    OrganisationFactory(territory=TerritoryFactory(departement_number="93"), name="EDS de Saint-Denis")
    apply_import(territory, plan_import(territory, GOOD_FILE))
    before = state(territory)

    plan = plan_import(territory, csv(HEADER, *lines))

    assert plan.errors == [error]
    assert plan.changes is False
    with pytest.raises(ValueError):
        apply_import(territory, plan)
    assert state(territory) == before


def test_every_bad_line_is_listed_and_the_good_ones_are_not_applied(territory, noisiel):
    plan = plan_import(
        territory,
        csv(HEADER, "Noisiel;77337;;MDS de Noisiel;", "", "Torcy;77999;;;", "Chelles;77108;;MDS de Chelles;"),
    )

    # Line 3 is empty: the numbers are those a spreadsheet shows.
    assert plan.errors == [
        "Ligne 4 : commune « 77999 » inconnue.",
        "Ligne 5 : organisation « MDS de Chelles » inconnue dans le territoire.",
    ]
    assert Sector.objects.exists() is False


@pytest.mark.parametrize(
    "data",
    [
        csv("nom;code;rue", "Noisiel;77337;"),
        csv("Noisiel;77337;;MDS de Noisiel;"),
    ],
)
def test_a_bad_header(territory, data):
    plan = plan_import(territory, data)

    assert plan.errors == [
        "Ligne 1 : l'en-tête doit contenir les colonnes « secteur », « commune », « rue », « organisation », « agent »."
    ]


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"\xef\xbb\xbf", b";;;;\n"])
def test_an_empty_file(territory, data):
    assert plan_import(territory, data).errors == ["Le fichier est vide."]


def test_a_file_with_only_its_header_changes_nothing(territory):
    plan = plan_import(territory, csv(HEADER))

    assert (plan.errors, plan.sectors, plan.changes) == ([], [], False)


def test_a_file_too_big(territory):
    plan = plan_import(territory, csv(HEADER) + b"\n" + b"Noisiel;77337;;;\n" * 200_000)

    assert plan.errors == ["Le fichier dépasse 2 Mo."]


# --- what a spreadsheet saves ---------------------------------------------------------------------


def test_a_former_insee_code_resolves_to_todays_commune(territory):
    # Beauchery-Saint-Martin (77026) absorbed Saint-Martin-Chennetron (77422) in 1973.
    apply_import(territory, plan_import(territory, csv(HEADER, "Beauchery;77422;;;")))

    assert contents(territory) == {"Beauchery": ([("77026", "")], [])}


@pytest.mark.parametrize(
    "data",
    [
        csv(HEADER, "Chelles;77108;Avenue du Général de Gaulle, prolongée;MDS de Chelles;"),
        csv(
            "secteur,commune,rue,organisation,agent",
            'Chelles,77108,"Avenue du Général de Gaulle, prolongée",MDS de Chelles,',
        ),
        # Columns in another order, a BOM, and spaces a spreadsheet leaves.
        csv(
            " Organisation ; Rue;Secteur;COMMUNE",
            "MDS de Chelles; Avenue du Général de Gaulle, prolongée ;Chelles;77108",
        )
        .decode()
        .encode("utf-8-sig"),
    ],
    ids=["semicolon", "comma", "columns-in-any-order"],
)
def test_semicolons_or_commas(territory, chelles, data):
    plan = plan_import(territory, data)
    assert plan.errors == []
    apply_import(territory, plan)

    assert contents(territory) == {
        "Chelles": ([("77108", "Avenue du Général de Gaulle, prolongée")], [("MDS de Chelles", "")])
    }


def test_the_delimiter_is_read_from_the_header(territory, chelles):
    """Commas in the streets of a semicolon file do not make it a comma file."""
    rows = [f"Chelles;77108;Rue {n}, bâtiment A, escalier B, porte C, étage D;;" for n in range(30)]

    plan = plan_import(territory, csv(HEADER, *rows))

    assert plan.errors == []
    assert len(plan.sectors[0].areas) == 30


def test_a_windows_1252_file(territory, noisiel):
    data = csv(HEADER, "Secteur Église;77337;Rue de l'Église;MDS de Noisiel;", encoding="cp1252")

    apply_import(territory, plan_import(territory, data))

    assert contents(territory) == {"Secteur Église": ([("77337", "Rue de l'Église")], [("MDS de Noisiel", "")])}


def test_a_nul_byte_is_dropped_and_never_reaches_the_database(territory, noisiel):
    data = csv(HEADER, "Noisiel\x00;77337;;MDS de Noisiel;\x00")

    apply_import(territory, plan_import(territory, data))

    assert contents(territory) == {"Noisiel": ([("77337", "")], [("MDS de Noisiel", "")])}


def test_an_organisation_and_an_agent_are_matched_whatever_their_case(territory, chelles, helene):
    apply_import(
        territory, plan_import(territory, csv(HEADER, "Chelles;;;mds de CHELLES;HELENE.MARTIN@DEPARTEMENT.FR"))
    )

    assert contents(territory) == {"Chelles": ([], [("MDS de Chelles", "helene.martin@departement.fr")])}


def test_the_import_reads_a_bounded_number_of_queries(territory, noisiel, chelles, helene, django_assert_num_queries):
    codes = ["77337", "77468", "77108", "77083", "77186", "77422"]
    rows = [
        f"Secteur {n % 40};{codes[n % len(codes)]};Rue {n};MDS de Chelles;helene.martin@departement.fr"
        for n in range(600)
    ]
    SectorAttributionFactory(sector=SectorFactory(territory=territory, name="Secteur 1"), organisation=noisiel)

    # Organisations, agents, sectors, current communes, former communes, then the areas and
    # attributions of the sectors that exist: not one query per line.
    with django_assert_num_queries(7):
        plan = plan_import(territory, csv(HEADER, *rows))

    assert plan.errors == []
    assert len(plan.sectors) == 40


def test_a_code_whose_leading_zero_a_spreadsheet_dropped_is_read_back():
    from sectorisation.imports import _rows

    rows, errors = _rows("secteur;commune\nBourg;1053\nNoisiel;77337\n")
    assert errors == []
    assert [row["commune"] for _number, row in rows] == ["01053", "77337"]


def test_a_previewed_plan_applies_with_its_token_and_only_with_it(territory, noisiel, chelles, helene):
    agent = AgentFactory(organisation=noisiel)
    token = preview_token(territory=territory, agent=agent, plan=plan_import(territory, GOOD_FILE))
    # Meanwhile: Noisiel is created with another commune, which the file would remove.
    SectorAreaFactory(sector=SectorFactory(territory=territory, name="Noisiel"), commune=commune("77108"))
    before = state(territory)

    with pytest.raises(PreviewOutdated) as outdated:
        apply_previewed(territory=territory, agent=agent, data=GOOD_FILE, token=token)

    assert state(territory) == before
    assert outdated.value.plan.sectors[0].areas_removed == ["Chelles (77108)"]
    token = preview_token(territory=territory, agent=agent, plan=outdated.value.plan)
    plan, changed = apply_previewed(territory=territory, agent=agent, data=GOOD_FILE, token=token)
    assert (plan.errors, changed) == ([], 2)
    assert contents(territory)["Noisiel"] == ([("77337", ""), ("77468", "")], [("MDS de Noisiel", "")])
