import pytest

from sectorisation.names import normalise

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saint-Étienne", "saint etienne"),
        ("ST ETIENNE", "saint etienne"),
        ("st-étienne", "saint etienne"),
        ("Ste-Marie", "sainte marie"),
        ("L'Haÿ-les-Roses", "l hay les roses"),
        ("L’Haÿ  les   Roses", "l hay les roses"),
        ("Bœurs-en-Othe", "boeurs en othe"),
        ("Paris 19e Arrondissement", "paris 19 arrondissement"),
        ("Paris 19ème", "paris 19"),
        ("Marseille 1er Arrondissement", "marseille 1 arrondissement"),
        ("noi\x00siel", "noi siel"),
    ],
)
def test_normalise(text, expected):
    assert normalise(text) == expected
