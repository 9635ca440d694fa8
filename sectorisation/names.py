"""The one spelling of commune names that search compares: stored in `Commune.search_name` and
`FormerCommune.search_name` when loading, applied to what people type when searching.

« Saint-Étienne », « ST ETIENNE » and « st-étienne » all become « saint etienne »: lower case, no
accents (œ and æ spelt out), every run of other characters (hyphens, apostrophes, spaces, dots) one
space, « st »/« ste » written « saint »/« sainte », and ordinals reduced to their number so that
« Paris 19e », « Paris 19ème » and « Paris 19 » all read « paris 19 » like the arrondissement's name.
"""

import re
import unicodedata

WORD = re.compile(r"[a-z0-9]+")
ORDINAL = re.compile(r"^(\d+)(?:er|re|e|eme|nd|nde)$")
ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})


def words(text: str) -> list[str]:
    """The normalised words of `text`: ["saint", "etienne"] for « St-Étienne »."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(LIGATURES))
    unaccented = "".join(char for char in decomposed if not unicodedata.combining(char))
    return [_canonical(word) for word in WORD.findall(unaccented)]


def normalise(text: str) -> str:
    """« saint etienne » for « St-Étienne »."""
    return " ".join(words(text))


def _canonical(word: str) -> str:
    if ordinal := ORDINAL.match(word):
        return ordinal.group(1)
    return ABBREVIATIONS.get(word, word)
