"""sectorisation/data/derive_communes.py on a hand-written package in Etalab's format."""

import csv
import json

import pytest

from sectorisation.data import derive_communes

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once

ENTRIES = [
    {"code": "01033", "nom": "Valserhône", "zone": "metro", "departement": "01", "type": "commune-actuelle",
     "anciensCodes": ["01018", "01091", "01205"], "codesPostaux": ["01200"], "population": 16712},
    # A commune déléguée with its own code, and one that kept the chef-lieu's code under its old name.
    {"code": "01091", "nom": "Châtillon-en-Michaille", "zone": "metro", "departement": "01",
     "type": "commune-deleguee", "chefLieu": "01033"},
    {"code": "01033", "nom": "Bellegarde-sur-Valserine", "zone": "metro", "departement": "01",
     "type": "commune-deleguee", "chefLieu": "01033"},
    # Déléguée under the name of its chef-lieu: nothing to remember.
    {"code": "01015", "nom": "Arboys en Bugey", "zone": "metro", "departement": "01",
     "type": "commune-deleguee", "chefLieu": "01015"},
    {"code": "01015", "nom": "Arboys en Bugey", "zone": "metro", "departement": "01", "type": "commune-actuelle",
     "codesPostaux": ["01300"], "population": 710},
    # Listed in another commune's anciensCodes, but associated with Nonsard-Lamarche today: today wins.
    {"code": "55273", "nom": "Lamarche-en-Woëvre", "zone": "metro", "departement": "55",
     "type": "commune-associee", "chefLieu": "55386"},
    {"code": "55386", "nom": "Nonsard-Lamarche", "zone": "metro", "departement": "55", "type": "commune-actuelle",
     "codesPostaux": ["55210"], "population": 196},
    {"code": "55245", "nom": "Heudicourt-sous-les-Côtes", "zone": "metro", "departement": "55",
     "type": "commune-actuelle", "anciensCodes": ["55273"], "codesPostaux": ["55210"], "population": 190},
    {"code": "75056", "nom": "Paris", "zone": "metro", "departement": "75", "type": "commune-actuelle",
     "codesPostaux": ["75019", "75001", "75116"], "population": 2103778},
    {"code": "75119", "nom": "Paris 19e Arrondissement", "zone": "metro", "departement": "75",
     "type": "arrondissement-municipal", "commune": "75056", "codesPostaux": ["75019"], "population": 178691},
    {"code": "97411", "nom": "Saint-Denis", "zone": "drom", "departement": "974", "type": "commune-actuelle",
     "codesPostaux": ["97400", "97417", "97490"], "population": 155634},
    {"code": "98414", "nom": "La Terre-Adélie", "zone": "com", "departement": "984", "type": "commune-actuelle"},
]  # fmt: skip


@pytest.fixture
def package(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "package.json").write_text(json.dumps({"name": derive_communes.PACKAGE, "version": "9.9.9"}))
    (tmp_path / "data" / "communes.json").write_text(json.dumps(ENTRIES, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def derive(package, tmp_path):
    output = tmp_path / "communes.csv"
    assert derive_communes.main(["--package-dir", str(package), "--output", str(output)]) == 0
    return output


def test_the_first_line_names_the_source_its_version_and_licence(package, tmp_path):
    first_line = derive(package, tmp_path).read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith(
        "# Source : @etalab/decoupage-administratif 9.9.9 (npm, Etalab), données sous Licence Ouverte (Etalab)."
    )


def test_rows(package, tmp_path):
    with derive(package, tmp_path).open(encoding="utf-8") as file:
        next(file)
        rows = [tuple(row.values()) for row in csv.DictReader(file)]
    assert rows == [
        ("01015", "Arboys en Bugey", "01", "", "", "01300", "710", ""),
        (
            "01033",
            "Valserhône",
            "01",
            "",
            "",
            "01200",
            "16712",
            "01018|01033=Bellegarde-sur-Valserine|01091=Châtillon-en-Michaille|01205",
        ),
        ("55245", "Heudicourt-sous-les-Côtes", "55", "", "", "55210", "190", ""),
        ("55386", "Nonsard-Lamarche", "55", "", "", "55210", "196", "55273=Lamarche-en-Woëvre"),
        ("75056", "Paris", "75", "", "", "75001 75019 75116", "2103778", ""),
        ("75119", "Paris 19e Arrondissement", "75", "", "75056", "75019", "178691", ""),
        ("97411", "Saint-Denis", "974", "drom", "", "97400 97417 97490", "155634", ""),
        ("98414", "La Terre-Adélie", "984", "com", "", "", "", ""),
    ]


def test_another_package_is_refused(package, tmp_path):
    (package / "package.json").write_text(json.dumps({"name": "left-pad", "version": "1.0.0"}))
    with pytest.raises(SystemExit):
        derive(package, tmp_path)


def test_the_shipped_csv_is_the_pinned_version():
    first_line = derive_communes.OUTPUT.read_text(encoding="utf-8").partition("\n")[0]
    assert f"{derive_communes.PACKAGE} {derive_communes.VERSION} " in first_line
