"""Street names compared as people type them: « 12 av. du Gal de Gaulle » and « Avenue du
Général de Gaulle » are the same street. Pure functions, no query; words are spelt as `names` spells commune names."""

import re

from sectorisation.names import words

# The abbreviations of the Base Adresse Nationale and of people, expanded before comparing.
ABBREVIATIONS = {
    "all": "allee",
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "bvd": "boulevard",
    "ch": "chemin",
    "chem": "chemin",
    "crs": "cours",
    "gal": "general",
    "gen": "general",
    "imp": "impasse",
    "pl": "place",
    "pte": "porte",
    "r": "rue",
    "rte": "route",
    "sq": "square",
    "qu": "quai",
    "res": "residence",
    "mal": "marechal",
    "pdt": "president",
}
# Words that carry no meaning for matching: « rue de la Paix » = « rue Paix ».
STOP_WORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "et"})
# A house number and its suffix, written apart (« 12 bis ») or not (« 12bis », « 12B »).
_NUMBER = re.compile(r"^\d+(?:[a-z]|bis|ter|quater)?$|^(?:bis|ter|quater)$")


def street_key(street: str) -> str:
    """The comparable form of a street name, house number left out: « 12 bis, Av. du Gal
    de Gaulle » → « avenue general gaulle »."""
    parts = words(street)
    while parts and _NUMBER.match(parts[0]):
        parts.pop(0)
    expanded = (ABBREVIATIONS.get(word, word) for word in parts)
    return " ".join(word for word in expanded if word not in STOP_WORDS)
