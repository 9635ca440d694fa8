"""French words that depend on the next one: « de » elided before a vowel or a mute h."""

import unicodedata

ELIDING = set("aeiouyh")


def de(words: str) -> str:
    """« d'Inès MOREAU », « d'Hélène DUPRÉ », « de Camille GARRIGUE »."""
    first = unicodedata.normalize("NFD", words[:1]).encode("ascii", "ignore").decode().lower()
    return f"d'{words}" if first in ELIDING else f"de {words}"
