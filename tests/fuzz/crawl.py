"""Which actor the fuzz plays on each URL pattern, and the crawl that reads the input surface of
every page (tests/fuzz/surfaces.py) from the access matrix's world."""

import contextlib
from urllib.parse import parse_qsl, urlsplit

from django.db import transaction

from tests.access_expectations import DECLARED, OK, Access, group_answers
from tests.access_payloads import EXTRA, payload_for, writer_of
from tests.access_world import (
    ACTORS,
    ADMIN,
    ANONYMOUS,
    SAME_SERVICE,
    SECRETARIAT,
    TERRITORY_ADMIN,
    USAGER,
    World,
    text_of,
    url_for,
)
from tests.fuzz.surfaces import GET, POST, Field, Surfaces
from tests.test_settings_isolation import FormReader
from tests.url_patterns import Pattern, all_patterns

PATTERNS = all_patterns()


def access_of(pattern: Pattern) -> Access | None:
    """Who may use the pattern, as the access matrix declares it (None: not declared, which the
    matrix and the fuzz fail on)."""
    group = group_answers(pattern.name, pattern.route)
    if group is not None:
        return Access(group, writes=False)
    return DECLARED.get(pattern.name)


# The project's own pages, which the access matrix declares alone, and the pages of a group that
# answer somebody (the Django admin's login form, open to all).
FUZZED = [
    pattern
    for pattern in PATTERNS
    if group_answers(pattern.name, pattern.route) is None or OK in group_answers(pattern.name, pattern.route).values()
]
# Not fuzzed, each with its reason; a form found pointing at any other pattern fails the fuzz.
NOT_FUZZED = {
    # The rest of the Django admin: `admin_view` sends anybody who is not staff (no actor of the
    # world is) to its login before any view code reads a field.
    "admin/": "Django's admin, for staff only: refused before any field is read",
    # django-anymail's webhooks do not exist without a webhook secret, which tests do not set.
    "notifications:anymail:": "anymail's webhooks, absent without their secret",
}
# Who reads a page nobody writes to: the one who sees the most of it first.
PREFERRED = (ADMIN, TERRITORY_ADMIN, SECRETARIAT, SAME_SERVICE, USAGER, *ACTORS)


def not_fuzzed(pattern: Pattern) -> str | None:
    """The reason a pattern is not fuzzed, or None."""
    if pattern in FUZZED:
        return None
    return next(
        (
            why
            for prefix, why in NOT_FUZZED.items()
            if pattern.route.startswith(prefix) or pattern.name.startswith(prefix)
        ),
        None,
    )


def actor_for(access: Access, method: str) -> str:
    """Who the fuzz plays: the access matrix's writer (whose valid payload the fuzz mangles) where
    it may read the page or it is a POST; else a reader; anybody (not signed in) where nobody may."""
    writer = writer_of(access)
    if writer is not None and (method == POST or access.answers[writer] == OK):
        return writer
    readers = {actor for actor, answer in access.answers.items() if answer == OK}
    return next((actor for actor in PREFERRED if actor in readers), writer or ANONYMOUS)


def split(url: str) -> tuple[str, dict[str, list[str]]]:
    """A URL's path and its query string's parameters."""
    parts = urlsplit(url)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    return parts.path, query


def crawl(world: World) -> Surfaces:
    """Every pattern's page as the fuzz's reader of it, and the answer to a valid POST of it by its
    writer (a wizard's next step), each read for forms and links; plus the payloads the access
    matrix posts (tests/access_payloads.py), which name the fields a page shows at a later step
    only, and which the fuzz keeps where it does not change a field. The POSTs are undone."""
    surfaces = Surfaces()
    for pattern in FUZZED:
        access = access_of(pattern)
        if access is None:  # the access matrix fails for it: who may use it is not declared
            continue
        reader, writer = actor_for(access, GET), actor_for(access, POST)
        url = url_for(world, pattern, reader)
        html, surfaces.answers[pattern.name, GET] = _read(world, surfaces, pattern, reader)
        # And as the one who sees the most of it, where it is another: an admin's buttons.
        readers = {actor for actor, answer in access.answers.items() if answer == OK}
        if (most := next((actor for actor in PREFERRED if actor in readers), reader)) != reader:
            _read(world, surfaces, pattern, most)
        query = split(url)[1]
        surfaces.add(pattern.name, GET, {key: Field("hidden", set(values)) for key, values in query.items()}, "query")
        surfaces.bases[pattern.name, GET] = query
        payload = _payload(world, pattern, access, html if reader == writer else None)
        surfaces.add(
            pattern.name, POST, {key: Field("hidden", set(values)) for key, values in payload.items()}, "payload"
        )
        surfaces.bases[pattern.name, POST] = payload
        with contextlib.suppress(_Undone), transaction.atomic():
            response = world.client(writer).post(url_for(world, pattern, writer), payload)
            surfaces.answers[pattern.name, POST] = response.status_code
            surfaces.read(pattern.name, url, text_of(response))
            raise _Undone
    return surfaces


def _read(world: World, surfaces: Surfaces, pattern: Pattern, actor: str) -> tuple[str, int]:
    """The page as this actor sees it, read, and the status of its first answer; redirects
    followed: « Mes plages » is one's own plages, which show one's calendar's form."""
    response = world.client(actor).get(url_for(world, pattern, actor), follow=True)
    html = text_of(response)
    surfaces.read(pattern.name, response.request["PATH_INFO"], html)
    return html, response.redirect_chain[0][1] if response.redirect_chain else response.status_code


def _payload(world: World, pattern: Pattern, access: Access, html: str | None) -> dict[str, list[str]]:
    """The access matrix's payload (tests.access_payloads.payload_for), from the writer's page when
    it was read already."""
    writer = writer_of(access)
    if html is None or writer is None or access.answers[writer] != OK:
        payload = payload_for(world, pattern, access)
    else:
        reader = FormReader()
        reader.feed(html)
        own_path = split(url_for(world, pattern, writer))[0]
        own = [fields for action, fields in reader.forms if split(action)[0] in ("", own_path)]
        payload = {}
        for name, value in own[0] if own else []:
            payload.setdefault(name, []).append(value)
        extra = EXTRA.get(pattern.name, {})
        payload.update(extra(world) if callable(extra) else extra)
    return {key: list(value) if isinstance(value, list) else [value] for key, value in payload.items()}


class _Undone(Exception):
    """Leaves the savepoint of a crawl's POST, undoing it."""
