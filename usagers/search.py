"""Accent- and case-insensitive search of usagers, done by PostgreSQL.

How it works, and why this way:

- Every usager row carries `search_text`, a *stored generated column*: PostgreSQL computes it on
  every INSERT and UPDATE (including bulk_create, queryset .update() and COPY, which bypass
  Python), so it can never be stale. It holds the last name, first name, birth name and email
  passed through `usager_search_normalise()` (lower case, no accents, no apostrophes, hyphens,
  dots, @, _ or +), then the phone's digits twice: international (33612345678) and national
  (0612345678, 0692… for overseas numbers).
- `usager_search_normalise()` is a SQL function created by the migration: `unaccent()` itself is
  only STABLE (its dictionary could change), and a generated column or an index needs IMMUTABLE
  functions, hence the classic immutable wrapper around `unaccent('public.unaccent', …)`.
- A GIN trigram index (`pg_trgm`, `gin_trgm_ops`) on `search_text` serves `LIKE '%term%'`, so a
  partial word anywhere in a name (« hél », « dupo ») is found without a sequential scan. Each word
  of the query is one LIKE condition, normalised by the same SQL function on the database side, so
  both sides are normalised identically (« Hélène » finds « HELENE », « N’Diaye » finds « ndiaye »).
- An email is searched by the part before the @ (normalised, through the index), then the whole
  address is checked on the few rows found: the domain's trigrams (« exa », « com »…) are in most
  rows and would only slow the index down.
- Results come best first: the usagers whose last name starts with the first word, then the
  others, each group in alphabetical order. Besides helping the agent, this keeps PostgreSQL from
  walking the alphabetical index in search of 50 matches (which took 100 ms for « pela »): it reads
  the rows the trigram index found and sorts them.
- A query that looks like a phone number (« 06 12 34 56 78 », « +33 6 12 34 56 78 ») is searched
  as one string of digits, which matches one of the two digit forms stored.

`bench_usagers_search` measures this on 100 000 usagers and prints the index the plan uses.
"""

import re

from django.db.models import Case, F, Func, IntegerField, Q, TextField, Value, When
from django.db.models.functions import Concat

MAX_TERMS = 6
PHONE_QUERY = re.compile(r"^\+?[\d\s.()\-]+$")
# National prefixes of France's country codes: métropole, then the overseas départements and
# collectivités that dial with a leading 0 at home (Réunion and Mayotte, Mayotte, Saint-Pierre-et-
# Miquelon, Guadeloupe and the Saint-Martin/Saint-Barthélemy islands, Guyane, Martinique).
FRENCH_COUNTRY_CODES = "33|262|269|508|590|594|596"


class SearchNormalise(Func):
    """`usager_search_normalise(text)`: lower case, unaccented, without punctuation that people
    type or omit at will (apostrophes, hyphens, dots, @, _, +). Defined in migration 0001."""

    function = "usager_search_normalise"
    output_field = TextField()


class RegexpReplace(Func):
    function = "regexp_replace"
    output_field = TextField()


def phone_digits(field: str) -> Func:
    """The E.164 number without its '+': 33612345678."""
    return RegexpReplace(F(field), Value(r"\D"), Value(""), Value("g"))


def national_phone_digits(field: str) -> Func:
    """The number as dialled in France: 0612345678, 0692123456."""
    return RegexpReplace(
        RegexpReplace(F(field), Value(rf"^\+({FRENCH_COUNTRY_CODES})"), Value("0")),
        Value(r"\D"),
        Value(""),
        Value("g"),
    )


def search_text_expression() -> Concat:
    """The expression of `Usager.search_text` (a stored generated column)."""
    return Concat(
        SearchNormalise(
            Concat(
                F("last_name"),
                Value(" "),
                F("first_name"),
                Value(" "),
                F("birth_name"),
                Value(" "),
                F("email"),
                output_field=TextField(),
            )
        ),
        Value(" "),
        phone_digits("phone"),
        Value(" "),
        national_phone_digits("phone"),
        output_field=TextField(),
    )


def sort_name_expression() -> SearchNormalise:
    """The expression of `Usager.sort_name`: « dupont helene », to list usagers in alphabetical
    order whatever the accents and case (the database's C collation sorts by code point)."""
    return SearchNormalise(Concat(F("last_name"), Value(" "), F("first_name"), output_field=TextField()))


def search_terms(query: str) -> list[str]:
    """The words to find, each one a LIKE '%word%' on `search_text`.

    A phone number becomes one run of digits (spaces, dots and a leading + or 00 dropped); anything
    else is split on white space. Normalisation (accents, case) happens in the database."""
    query = (query or "").strip()
    if not query:
        return []
    digits = re.sub(r"\D", "", query)
    if PHONE_QUERY.match(query) and len(digits) >= 4:
        return [digits[2:] if digits.startswith("00") else digits]
    return query.split()[:MAX_TERMS]


def search_filters(query: str) -> list[Q]:
    """One condition per word of `query`, each served by the trigram index on `search_text`."""
    filters = []
    for term in search_terms(query):
        local_part, at, _domain = term.partition("@")
        if at and len(local_part) >= 3:
            filters.append(Q(search_text__contains=SearchNormalise(Value(local_part)), email__icontains=term))
        else:
            filters.append(Q(search_text__contains=SearchNormalise(Value(term))))
    return filters


def relevance_ordering(query: str) -> list:
    """ORDER BY for a search: last names starting with the first word first, then by name."""
    terms = search_terms(query)
    if not terms:
        return ["sort_name", "pk"]
    starts_with = Case(
        When(sort_name__startswith=SearchNormalise(Value(terms[0])), then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return [starts_with, "sort_name", "pk"]
