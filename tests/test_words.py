import pytest

from rdv.words import de


@pytest.mark.parametrize(
    "name, said",
    [
        ("Inès MOREAU", "d'Inès MOREAU"),
        ("Élodie MARTIN", "d'Élodie MARTIN"),
        ("Hélène DUPRÉ", "d'Hélène DUPRÉ"),
        ("Yanis BENALI", "d'Yanis BENALI"),
        ("Camille GARRIGUE", "de Camille GARRIGUE"),
    ],
)
def test_de_is_elided_before_a_vowel_or_a_mute_h(name, said):
    assert de(name) == said
