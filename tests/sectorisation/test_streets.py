"""`street_key`: a street as people type it and as the Base Adresse Nationale writes it compare equal."""

import pytest

from sectorisation.streets import street_key

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once


@pytest.mark.parametrize(
    "typed, key",
    [
        # Abbreviations of the BAN and of people.
        ("Avenue du Général de Gaulle", "avenue general gaulle"),
        ("12 av. du Gal de Gaulle", "avenue general gaulle"),
        ("AV DU GEN DE GAULLE", "avenue general gaulle"),
        ("Bd St-Michel", "boulevard saint michel"),
        ("boulevard Saint Michel", "boulevard saint michel"),
        ("R. de la Paix", "rue paix"),
        ("Pl. du Mal Foch", "place marechal foch"),
        ("Imp. des Lilas", "impasse lilas"),
        ("Rte de Meaux", "route meaux"),
        ("Av. du Pdt Wilson", "avenue president wilson"),
        ("Ch. d'Avon", "chemin avon"),
        # House numbers, with or without their suffix, go; numbers inside the name stay.
        ("12 bis, Av. du Gal de Gaulle", "avenue general gaulle"),
        ("12bis av du gal de gaulle", "avenue general gaulle"),
        ("12B av du gal de gaulle", "avenue general gaulle"),
        ("12-14 rue de la Paix", "rue paix"),
        ("3 place du 8 Mai 1945", "place 8 mai 1945"),
        ("Place du 8-Mai-1945", "place 8 mai 1945"),
        ("Rue du 1er Mai", "rue 1 mai"),
        # Accents, ligatures, case, punctuation.
        ("Allée des Érables", "allee erables"),
        ("ALLEE DES ERABLES", "allee erables"),
        ("Rue de l'Église", "rue eglise"),
        ("rue de l’église", "rue eglise"),
        ("Rue du Cœur Volant", "rue coeur volant"),
        # Stop words carry no meaning.
        ("Rue des Lilas", "rue lilas"),
        ("Rue Lilas", "rue lilas"),
        ("Quai de la Marne", "quai marne"),
        ("Avenue de l'Aulnoy", "avenue aulnoy"),
        # Nothing to compare.
        ("", ""),
        ("  ", ""),
        ("12", ""),
    ],
)
def test_street_key(typed, key):
    assert street_key(typed) == key


def test_the_ban_spelling_and_a_hurried_one_are_the_same_street():
    assert street_key("12 av. du Gal de Gaulle") == street_key("Avenue du Général de Gaulle")
    assert street_key("rue de la paix") != street_key("rue de la pais")
