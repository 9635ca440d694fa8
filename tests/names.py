"""The names the factories make up for people: Faker's French first and last names, less those
that could answer for a person a test names or searches for.

A test that creates « Cordier » and searches « cordier » expects one answer; a made-up agent or
usager of the same test called Cordier (Faker's list has it) made it fail in one run out of many,
as the random order of pytest-randomly reseeds Faker. So every name written in the tests, as a
person's name (`last_name="Martin"`, `"first_name": "Léo"`) or as a search (`"q": "garri"`,
`press_sequentially("bégu")`), takes out of the lists the made-up names it could be confused
with: the same name, a name containing it (a search matches a part) or starting with the same
four letters, accents and case aside. Read from the tests' own source, so a new test's names are
taken out without anyone keeping a list."""

import re
import unicodedata
from pathlib import Path

from faker.providers.person.fr_FR import Provider

TESTS = Path(__file__).resolve().parent
NAMED = re.compile(r"""["']?(?:first_name|last_name|birth_name)["']?\s*[=:]\s*"([^"\\]+)\"""")
SEARCHED = re.compile(r"""(?:["']q["']\s*:\s*|\bq=|press_sequentially\()"([^"\\]+)\"""")


def fold(text: str) -> str:
    """Lower case, without accents: « Lévêque » → « leveque »."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def words_in_tests() -> set[str]:
    """Every word of three letters or more that a test gives a person as a name or searches."""
    words = set()
    for path in TESTS.rglob("*.py"):
        source = path.read_text()
        for value in NAMED.findall(source) + SEARCHED.findall(source):
            words.update(word for word in re.split(r"[\s\-']+", fold(value)) if len(word) >= 3 and word.isalpha())
    return words


def confusable(name: str, words: set[str]) -> bool:
    folded = fold(name)
    return any(word in folded or folded in word or folded[:4] == word[:4] for word in words)


def made_up(names: tuple[str, ...] | list[str], words: set[str]) -> list[str]:
    return sorted({name for name in names if not confusable(name, words)})


WORDS = words_in_tests()
FIRST_NAMES = made_up(list(Provider.first_names), WORDS)
LAST_NAMES = made_up(list(Provider.last_names), WORDS)
