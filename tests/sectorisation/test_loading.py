import json

import pytest
from django.core.management import call_command
from django.db import connection

from sectorisation.data import derive_communes
from sectorisation.loading import load_communes
from sectorisation.models import Commune, CommuneKind, FormerCommune, Zone

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once


def table_rows():
    return (
        list(Commune.objects.order_by("pk").values_list()),
        list(FormerCommune.objects.order_by("insee_code", "name").values_list("insee_code", "name", "commune")),
    )


def test_the_migration_loaded_every_commune_and_loading_again_changes_nothing(communes):
    before = table_rows()
    assert len(before[0]) == 35014

    counts = load_communes()

    assert (counts.communes, counts.written) == (35014, 0)
    assert table_rows() == before


def test_the_command_loads_twice_without_change(communes, capsys):
    call_command("load_communes")
    assert capsys.readouterr().out == (
        "35014 communes et arrondissements, 4750 anciennes communes ; 0 lignes ajoutées ou modifiées.\n"
    )


def test_a_newer_file_updates_in_place_and_leaves_communes_it_no_longer_lists(db, tmp_path):
    entries = [
        {"code": "77337", "nom": "Noisiel-sur-Marne", "zone": "metro", "departement": "77",
         "type": "commune-actuelle", "codesPostaux": ["77186"], "population": 17000},
        {"code": "75056", "nom": "Paris", "zone": "metro", "departement": "75", "type": "commune-actuelle",
         "codesPostaux": ["75019"], "population": 2103778, "anciensCodes": ["75999"]},
        {"code": "75119", "nom": "Paris 19e Arrondissement", "zone": "metro", "departement": "75",
         "type": "arrondissement-municipal", "commune": "75056", "codesPostaux": ["75019"], "population": 1},
        {"code": "97411", "nom": "Saint-Denis", "zone": "drom", "departement": "974", "type": "commune-actuelle",
         "codesPostaux": ["97400"], "population": 155634},
    ]  # fmt: skip
    (tmp_path / "data").mkdir()
    (tmp_path / "package.json").write_text(json.dumps({"name": derive_communes.PACKAGE, "version": "7.0.0"}))
    (tmp_path / "data" / "communes.json").write_text(json.dumps(entries), encoding="utf-8")
    csv_path = tmp_path / "communes.csv"
    derive_communes.main(["--package-dir", str(tmp_path), "--output", str(csv_path)])
    with connection.cursor() as cursor:  # rolled back with the test
        cursor.execute("TRUNCATE sectorisation_commune CASCADE")
    Commune.objects.create(insee_code="77337", name="Noisiel", departement="77", postal_codes=["77186"])
    Commune.objects.create(insee_code="01001", name="L'Abergement-Clémenciat", departement="01")

    assert load_communes(path=csv_path).written == 5  # 1 updated, 3 new communes, 1 former code
    assert load_communes(path=csv_path).written == 0

    noisiel = Commune.objects.get(pk="77337")
    assert (noisiel.name, noisiel.search_name, noisiel.population) == ("Noisiel-sur-Marne", "noisiel sur marne", 17000)
    arrondissement = Commune.objects.get(pk="75119")
    assert (arrondissement.kind, arrondissement.parent_id) == (CommuneKind.ARRONDISSEMENT, "75056")
    assert arrondissement.postal_code_prefixes == ["75", "750", "7501"]
    assert Commune.objects.get(pk="97411").zone == Zone.DROM
    assert FormerCommune.objects.get(insee_code="75999").commune_id == "75056"
    assert Commune.objects.filter(pk="01001").exists()


@pytest.mark.parametrize(
    ("insee_code", "expected"),
    [("77337", "Noisiel (77337)"), ("75119", "Paris 19e Arrondissement (75119)")],
)
def test_str(communes, insee_code, expected):
    assert str(Commune.objects.get(pk=insee_code)) == expected


def test_saving_a_commune_spells_its_search_fields(db):
    commune = Commune(insee_code="99001", name="Sainte-Œuvre-l'Étang", departement="99", postal_codes=["99100"])
    commune.save()
    commune.refresh_from_db()
    assert (commune.search_name, commune.postal_code_prefixes) == ("sainte oeuvre l etang", ["99", "991", "9910"])
