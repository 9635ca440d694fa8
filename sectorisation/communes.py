"""Finding a commune from what a person types: a name, a postal code, an INSEE code.

- A name is compared as `sectorisation.names` spells it (no accents, no case, hyphens and
  apostrophes as spaces, « st » for « saint », « 19e » for « 19 »): every word of the query must
  begin a word of the name (« st etie » finds Saint-Étienne, « paris 19 » the 19th arrondissement),
  a number must be a whole word (« paris 1 » is not the 10th). Each word is one regular expression
  on `search_name`, served by its trigram GIN index (`commune_search_name_trgm`).
  Best first: the exact name, then names that begin with the query, then the most populated.
- Former names (communes déléguées and associées) are searched the same way when the current
  names leave room, and come after them. A query matching nothing at all gets the names closest to
  it by trigram similarity (« st etiene » → Saint-Étienne, « noisel » → Noisiel).
- Digits are codes: five of them (or 2A/2B and three digits) an INSEE code, current or former, and a
  postal code; two to four digits a postal code's beginning. A postal code's beginning is looked up
  in `postal_code_prefixes` (GIN): an overlap with the 1 000 codes « 42 » may begin made
  PostgreSQL read every row (700 ms), unnesting the arrays too (20 ms).
  A name followed by a postal code (« Noisiel 77186 ») keeps the communes of that code.

`bench_sectorisation` measures it over every commune of France.
"""

import re
from collections.abc import Sequence

from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from sectorisation.models import Commune, CommuneKind, FormerCommune
from sectorisation.names import words

MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
MAX_WORDS = 8
INSEE_CODE = re.compile(r"^(?:\d{2}|2[AB])\d{3}$")
POSTAL_CODE = re.compile(r"^\d{5}$")
POSTAL_PREFIX = re.compile(r"^\d{2,4}$")
WORD_SIMILARITY = "0.5"


def search_communes(query: str, *, departement: str | None = None, limit: int = 20) -> list[Commune]:
    """The communes (and arrondissements municipaux) that `query` designates, best first.

    A commune found by a former name or code carries that `FormerCommune` in `matched_former`, for
    the page to say why it is listed (« anciennement Bellegarde-sur-Valserine »)."""
    query = (query or "")[:MAX_QUERY_LENGTH]
    code = re.sub(r"[\s.]", "", query).upper()
    if INSEE_CODE.match(code) or POSTAL_PREFIX.match(code):
        return _search_codes(code, _scope(departement), limit)
    terms = words(query)[:MAX_WORDS]
    postal_codes = [term for term in terms if POSTAL_CODE.match(term)]
    name_words = [term for term in terms if term not in postal_codes]
    if len("".join(name_words)) < MIN_QUERY_LENGTH:
        return []
    return _search_names(name_words, departement, postal_codes, limit)


def resolve_commune(code: str) -> Commune | None:
    """The commune of a current or former INSEE code, or None."""
    code = (code or "").strip().upper()
    if not INSEE_CODE.match(code):
        return None
    commune = Commune.objects.filter(insee_code=code).first()
    if commune is None:
        former = FormerCommune.objects.filter(insee_code=code).select_related("commune").order_by("name").first()
        commune = former.commune if former else None
    return commune


def _scope(departement: str | None, postal_codes: Sequence[str] = (), prefix: str = "") -> Q:
    """Where to look: the département asked, the communes of the postal codes typed with a name."""
    scope = Q(**{f"{prefix}departement": departement}) if departement else Q()
    for postal_code in postal_codes:
        scope &= Q(**{f"{prefix}postal_codes__contains": [postal_code]}) | Q(**{f"{prefix}insee_code": postal_code})
    return scope


def _search_codes(code: str, scope: Q, limit: int) -> list[Commune]:
    communes = Commune.objects.filter(scope)
    if POSTAL_PREFIX.match(code):
        return list(communes.filter(postal_code_prefixes__contains=[code]).order_by(*_by_population())[:limit])
    formers = {former.commune_id: former for former in FormerCommune.objects.filter(insee_code=code).order_by("name")}
    # What people know is a postal code; an INSEE code is what other systems pass. A former INSEE
    # code comes last: the Seine's codes before 1968 (75019 was Châtenay-Malabry's) are Paris's
    # postal codes today.
    rank = Case(
        When(insee_code=code, then=Value(0)),
        # An arrondissement before its city, which has all their postal codes.
        When(postal_codes__contains=[code], kind=CommuneKind.ARRONDISSEMENT, then=Value(1)),
        When(postal_codes__contains=[code], then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    matches = Q(insee_code=code) | Q(postal_codes__contains=[code])
    if formers:
        matches |= Q(insee_code__in=formers)
    found: list[Commune] = list(
        communes.filter(matches).annotate(rank=rank).order_by("rank", *_by_population())[:limit]
    )
    for commune in found:
        if commune.insee_code in formers and code not in commune.postal_codes:
            commune.matched_former = formers[commune.insee_code]
    return found


def _search_names(name_words: list[str], departement: str | None, postal_codes: list[str], limit: int) -> list[Commune]:
    phrase = " ".join(name_words)
    patterns = [_word_pattern(word) for word in name_words]
    communes = Commune.objects.filter(_scope(departement, postal_codes))
    found: list[Commune] = list(
        communes.filter(*[Q(search_name__regex=pattern) for pattern in patterns])
        .annotate(rank=_name_rank(phrase))
        .order_by("rank", *_by_population())[:limit]
    )
    if len(found) < limit:
        scope = _scope(departement, postal_codes, prefix="commune__")
        found += _search_former_names(patterns, phrase, scope, exclude=found, limit=limit - len(found))
    if not found:
        found = _similar_names(communes, name_words, phrase, limit)
    return found


def _similar_names(communes: QuerySet[Commune], name_words: list[str], phrase: str, limit: int) -> list[Commune]:
    """Nothing begins like the query: the names with a word close to each word of it (« st etiene »,
    « bordaux »), closest first. Word by word, the trigram index narrows the rows down at once;
    the similarity of whole names would recheck every « saint » of France (35 ms)."""
    closest = (
        communes.filter(*[Q(search_name__trigram_word_similar=word) for word in name_words])
        .annotate(similarity=TrigramSimilarity("search_name", phrase))
        .order_by("-similarity", *_by_population())
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Until the transaction ends (the caller's, if it has one): the default 0.6 misses « noisel »
        # (0.57 to « noisiel »).
        cursor.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)", [WORD_SIMILARITY])
        return list(closest[:limit])


def _search_former_names(
    patterns: list[str], phrase: str, scope: Q, *, exclude: list[Commune], limit: int
) -> list[Commune]:
    """The communes of the former names matching `patterns`, one row per commune."""
    formers = (
        FormerCommune.objects.filter(scope, *[Q(search_name__regex=pattern) for pattern in patterns])
        .exclude(commune__in=[commune.pk for commune in exclude])
        .annotate(rank=_name_rank(phrase))
        .select_related("commune")
        .order_by("rank", *_by_population("commune__"), "name")
    )
    found: dict[str, Commune] = {}
    # A commune may have several matching former names: read a few more rows than needed.
    for former in formers[: limit * 3]:
        if former.commune_id not in found:
            former.commune.matched_former = former
            found[former.commune_id] = former.commune
    return list(found.values())[:limit]


def _word_pattern(word: str) -> str:
    """A word of the query begins a word of the name; a number is a whole word (words hold only
    [a-z0-9], nothing to escape)."""
    return rf"(^| ){word}( |$)" if word.isdigit() else rf"(^| ){word}"


def _name_rank(phrase: str) -> Case:
    """0 for the exact name, 1 for a name beginning with the query, 2 for the others."""
    return Case(
        When(search_name=phrase, then=Value(0)),
        When(search_name__startswith=phrase, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def _by_population(prefix: str = "") -> list:
    return [F(f"{prefix}population").desc(nulls_last=True), f"{prefix}name", f"{prefix}insee_code"]
