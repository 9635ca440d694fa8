"""The access matrix (issue 18, point 4): every URL pattern of the project, read from the
resolver (tests.url_patterns), asked by each of the ten actors of tests.access_world, answers
what tests.access_expectations declares for that pattern and that actor (the Django admin's and
anymail's, declared as groups, by one actor of each kind). A pattern without a
declaration fails, so a new page cannot ship unchecked; a declaration without a pattern fails
too. Whatever the answer, a page never shows the usager's name to an outsider, the agents' notes
on the usager to an usager, nor the RDV's notes to anybody who may not open the RDV.

Write methods too: every actor the page refuses POSTs the form a writer is shown (with the
values tests.access_payloads adds): the answer is a refusal (4xx, or a redirect to a sign-in
page), never a 2xx or a 5xx, and the database is the same before and after. The same POST from a
writer does change it, which proves the payload is one the page would have accepted."""

import contextlib
import functools
import traceback
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.db import connection, transaction
from django.urls import Resolver404, resolve

from tests.access_expectations import DECLARED, OK, Access, group_answers, is_refusal, matches
from tests.access_payloads import payload_for, writer_of
from tests.access_world import (
    ACTORS,
    ADMIN,
    ADMIN_ELSEWHERE,
    ANONYMOUS,
    OTHER_SERVICE,
    OUTSIDERS,
    PROFILE_NOTE,
    RDV_NOTE,
    RDV_READERS,
    SAME_SERVICE,
    SECRET_NAME,
    SECRETARIAT,
    USAGER,
    USAGERS,
    World,
    kwargs_for,
    text_of,
    url_for,
    world_rolled_back,
    write_export_file,
)
from tests.url_patterns import ROUTE_PARAMETER, Pattern, all_patterns

PATTERNS = all_patterns()
ALONE = [pattern for pattern in PATTERNS if group_answers(pattern.name, pattern.route) is None]
GROUPED = [pattern for pattern in PATTERNS if group_answers(pattern.name, pattern.route) is not None]
# Reference data the migrations load and nothing writes; the sessions, which every visit may write
# (a sign-in shows elsewhere: the account's last login, django-axes' log).
NOT_FINGERPRINTED = {
    "django_session",
    "django_migrations",
    "django_content_type",
    "auth_permission",
    "sectorisation_commune",
    "sectorisation_formercommune",
}

# Run once in CI, not again at the DST instant (.ci/run):
# who may use each URL does not depend on the hour.
pytestmark = pytest.mark.once


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back at its end; each test runs in a
    savepoint of it (pytest-django's `db`), so what a request writes goes with its test. The
    clock stays at NOW for the whole module: the RDV is tomorrow, its créneaux free or not."""
    with world_rolled_back(django_db_blocker) as world:
        yield world


@pytest.fixture(autouse=True)
def _export_file(_isolate, world):
    """After tests/conftest.py gave the test its own MEDIA_ROOT."""
    write_export_file(world)


def declared(pattern: Pattern) -> Access:
    if pattern.name not in DECLARED:
        pytest.fail(f"{pattern.name} ({pattern.route}): declare who may use it in tests/access_expectations.py")
    return DECLARED[pattern.name]


def error(response) -> str:
    """The exception behind a 5xx, for the failure's message."""
    exc_info = getattr(response, "exc_info", None)
    if response.status_code < 500 or not exc_info:
        return ""
    return "\n" + "".join(traceback.format_exception(*exc_info)[-3:])


def describe(response) -> str:
    """The answer as the declarations write it: the status, and a redirect's URL name."""
    if response.status_code in (301, 302, 303):
        path = urlsplit(response["Location"]).path
        try:
            return f"302 {resolve(path).view_name}"
        except Resolver404:
            return f"302 {path}"
    return str(response.status_code)


def fingerprint() -> dict[str, tuple[int, int]]:
    """Each table's row count and an order-free hash of its rows, in one query: a few
    milliseconds on the matrix's small world."""
    with connection.cursor() as cursor:
        cursor.execute(_fingerprint_query())
        return {table: (count, digest) for table, count, digest in cursor.fetchall()}


@functools.cache
def _fingerprint_query() -> str:
    tables = sorted(set(connection.introspection.table_names()) - NOT_FINGERPRINTED)
    return " UNION ALL ".join(
        f"SELECT '{table}', count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM \"{table}\" t"
        for table in tables
    )


def changed(before: dict, after: dict) -> list[str]:
    return sorted(table for table in before.keys() | after.keys() if before.get(table) != after.get(table))


def writes_since(before: dict, what: str) -> list[str]:
    """What `what` wrote since `before` (a fingerprint), in words; nothing when it wrote nothing."""
    tables = changed(before, fingerprint())
    return [f"{what} changed {tables}"] if tables else []


def leaks(actor: str, body: str) -> list[str]:
    """What this body shows that the actor may not read (whatever the case: agents' pages write
    last names in capitals)."""
    body = body.lower()
    found = []
    if actor in OUTSIDERS and SECRET_NAME.lower() in body:
        found.append("the usager's name")
    if (actor in OUTSIDERS or actor in USAGERS) and PROFILE_NOTE.lower() in body:
        found.append("the agents' notes on the usager")
    if actor not in RDV_READERS and RDV_NOTE.lower() in body:
        found.append("the RDV's notes")
    return found


def test_every_pattern_is_declared_and_every_declaration_is_a_pattern():
    names = {pattern.name for pattern in ALONE}
    assert len(names) == len(ALONE), "two URL patterns share a name"
    assert not names - DECLARED.keys(), (
        f"declare these in tests/access_expectations.py: {sorted(names - DECLARED.keys())}"
    )
    assert not DECLARED.keys() - names, f"declared, but no such URL pattern: {sorted(DECLARED.keys() - names)}"
    assert len(GROUPED) > 100  # the Django admin's and anymail's: walked by test_grouped_patterns


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", ALONE, ids=[pattern.name for pattern in ALONE])
def test_get(world, pattern: Pattern):
    access = declared(pattern)
    failures = []
    for actor in ACTORS:
        url = url_for(world, pattern, actor)
        response = world.client(actor).get(url)
        observed = describe(response)
        if not matches(access.answers[actor], observed):
            failures.append(
                f"{actor}: GET {url} answered {observed}, declared {access.answers[actor]}{error(response)}"
            )
        for leak in leaks(actor, text_of(response)):
            failures.append(f"{actor}: GET {url} shows {leak}")
    assert not failures, "\n".join(failures)


def _post(world: World, pattern: Pattern, actor: str, data: dict) -> str:
    response = world.client(actor).post(url_for(world, pattern, actor), data)
    text_of(response)  # a file's answer closes its file
    return describe(response) + error(response)


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", ALONE, ids=[pattern.name for pattern in ALONE])
def test_post(world, pattern: Pattern):
    access = declared(pattern)
    data = payload_for(world, pattern, access)
    failures = []
    before = fingerprint()
    for actor in ACTORS:
        if actor in access.writers:
            continue
        observed = _post(world, pattern, actor, data)
        after = fingerprint()
        if not is_refusal(observed):
            failures.append(f"{actor}: POST answered {observed}, not a refusal")
        if changed(before, after):
            failures.append(f"{actor}: POST changed {changed(before, after)}")
        before = after
    if access.writes:
        writer = writer_of(access)
        assert writer is not None, f"{pattern.name}: writes, but has no writer: declare `writes=False` and why"
        with contextlib.suppress(_RolledBack), transaction.atomic():
            observed = _post(world, pattern, writer, data)
            if not changed(before, fingerprint()):
                failures.append(f"{writer} (a writer): POST answered {observed} and changed nothing: payload {data}")
            raise _RolledBack
    assert not failures, "\n".join(failures)


class _RolledBack(Exception):
    """Leaves the writer's savepoint, undoing its POST."""


# No page of the project writes on PUT, PATCH or DELETE: asked with the payload a writer's POST
# would carry, by that writer and by another organisation's admin, each answers without a server
# error (405 where the view declares its methods, the page itself where it reads only) and changes
# nothing.
OTHER_METHODS = ("put", "patch", "delete")


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", ALONE, ids=[pattern.name for pattern in ALONE])
def test_put_patch_and_delete_change_nothing(world, pattern: Pattern):
    access = declared(pattern)
    data = urlencode(payload_for(world, pattern, access), doseq=True)
    actors = dict.fromkeys([writer_of(access) or ADMIN, ADMIN_ELSEWHERE])
    failures = []
    before = fingerprint()
    for actor in actors:
        client = world.client(actor)
        url = url_for(world, pattern, actor)
        for method in OTHER_METHODS:
            response = getattr(client, method)(url, data, content_type="application/x-www-form-urlencoded")
            text_of(response)
            if response.status_code >= 500:
                failures.append(f"{actor}: {method.upper()} {url} answered {response.status_code}{error(response)}")
    failures += writes_since(before, "PUT, PATCH or DELETE")
    assert not failures, "\n".join(failures)


# The grouped patterns' guards read one thing (`is_staff`, the webhook secret), the same for every
# agent: one actor of each kind walks them (not signed in, usager, agent), the others would repeat.
GROUP_WALKERS = (ANONYMOUS, USAGER, ADMIN)


@pytest.mark.django_db
@pytest.mark.parametrize("actor", GROUP_WALKERS)
def test_grouped_patterns(world, actor):
    """The admin's and anymail's patterns (tests.access_expectations.group_answers), GET then
    POST: each group's answer, and nothing written."""
    failures = []
    before = fingerprint()
    client = world.client(actor)
    for pattern in GROUPED:
        expected = group_answers(pattern.name, pattern.route)[actor]
        response = client.get(pattern.url)
        text_of(response)
        observed = describe(response)
        if not matches(expected, observed):
            failures.append(f"GET {pattern.url} answered {observed}, declared {expected}")
        if expected != OK:  # the admin's login form: a POST is a sign-in attempt, open to all
            observed = describe(client.post(pattern.url, {"id": "1", "name": "x"}))
            if not is_refusal(observed) and not matches(expected, observed):
                failures.append(f"POST {pattern.url} answered {observed}")
    assert not changed(before, fingerprint())
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "actor, name, marker",
    [
        (ADMIN, "usagers:list", SECRET_NAME),
        (OTHER_SERVICE, "usagers:search", SECRET_NAME),
        (SAME_SERVICE, "rendezvous:usager_picker", SECRET_NAME),
        (SECRETARIAT, "rendezvous:agenda_secretariat", SECRET_NAME),
        (SAME_SERVICE, "rendezvous:list", SECRET_NAME),
        (OTHER_SERVICE, "usagers:detail", PROFILE_NOTE),
        (SAME_SERVICE, "rendezvous:detail", RDV_NOTE),
        (USAGER, "reservation:profile", SECRET_NAME),
    ],
)
def test_the_markers_show_to_those_who_may_read_them(world, actor, name, marker):
    """Else the matrix's search for them in the others' pages would prove nothing."""
    pattern = next(pattern for pattern in ALONE if pattern.name == name)
    response = world.client(actor).get(url_for(world, pattern, actor))
    assert response.status_code == 200
    assert marker.lower() in text_of(response).lower()


def test_the_writers_are_those_the_design_names():
    """A few cells read against DESIGN.md, so that a wrong profile in the declarations shows."""
    assert DECLARED["rendezvous:status"].writers == {SAME_SERVICE, SECRETARIAT, ADMIN}
    assert DECLARED["organisations:settings"].writers == {ADMIN, ADMIN_ELSEWHERE}
    assert DECLARED["reservation:cancel"].writers == {USAGER}


# Hostile path segments: each parameter of each route in turn, with values its converter lets
# through (an id beyond PostgreSQL's bigint, an id nobody has, a date at the end of time, NUL,
# quotes, a long accented text), GET and POST, by a writer and by a visitor: never a server
# error, nothing written.
HOSTILE_SEGMENTS = {
    "int": ["0", "9223372036854775808", "99999999999999999999"],
    "isodate": ["0001-01-01", "9999-12-31", "2026-02-30"],
    "uuid": ["00000000-0000-0000-0000-000000000000"],
    "str": ["a\x00b", "' OR 1=1 --", "é" * 300, "<script>"],
    "slug": ["a" * 300, "-"],
}
WITH_PARAMETERS = [pattern for pattern in ALONE if pattern.parameters]


def _hostile_urls(world: World, pattern: Pattern, actor: str) -> list[str]:
    values = {name: str(value) for name, value in kwargs_for(world, pattern, actor).items()}
    urls = []
    for converter, name in pattern.parameters:
        for hostile in HOSTILE_SEGMENTS.get(converter, HOSTILE_SEGMENTS["str"]):
            filled = ROUTE_PARAMETER.sub(
                lambda match, hostile=hostile, name=name: quote(
                    hostile if match["name"] == name else values[match["name"]]
                ),
                pattern.route,
            )
            urls.append("/" + filled)
    return urls


@pytest.mark.django_db
@pytest.mark.parametrize("pattern", WITH_PARAMETERS, ids=[pattern.name for pattern in WITH_PARAMETERS])
def test_hostile_path_segments(world, pattern: Pattern):
    access = declared(pattern)
    failures = []
    before = fingerprint()
    for actor in dict.fromkeys([writer_of(access) or ADMIN, ANONYMOUS]):
        client = world.client(actor)
        for url in _hostile_urls(world, pattern, actor):
            for response in (client.get(url), client.post(url, {})):
                text_of(response)
                if response.status_code >= 500:
                    failures.append(
                        f"{actor}: {response.request['REQUEST_METHOD']} {url!r} answered 500{error(response)}"
                    )
    failures += writes_since(before, "hostile path segments")
    assert not failures, "\n".join(failures)


# Hostile headers, as a client or a broken proxy sends them: the pages that read them (the
# origin a page returns to, the client's address behind the proxy, htmx's, the language) answer
# without a server error.
HOSTILE_HEADERS = {
    "HTTP_REFERER": "javascript:alert(1)//evil.example/\u202e" + "../" * 100,
    "HTTP_X_FORWARDED_FOR": "not-an-ip, 999.1.1.1, ::ffff:zz, " + "1.2.3.4, " * 50,
    "HTTP_ACCEPT_LANGUAGE": "zz-ZZ;q=abc, *;q=-1, " + "fr" * 200,
    "HTTP_HX_REQUEST": "true",
    "HTTP_HX_CURRENT_URL": "http://evil.example/<script>",
    "HTTP_HX_TARGET": "<script>",
    "HTTP_USER_AGENT": "é" * 5000,
    "HTTP_IF_MODIFIED_SINCE": "Mon, 99 Foo 0000 99:99:99 GMT",
    "HTTP_RANGE": "bytes=999999999999-0",
}
# Each alone: a NUL in a header is refused (400) before anything reads the others; corrupted
# cookies sign the actor out.
HOSTILE_ALONE = [
    {"HTTP_REFERER": "https://evil.example/\x00"},
    {"HTTP_COOKIE": "sessionid=%00%ff; rdv_usager=" + "x" * 4000 + "; csrftoken=\x7f"},
]


@pytest.mark.django_db
@pytest.mark.parametrize("actor", [ADMIN, USAGER, ANONYMOUS])
def test_hostile_headers(world, actor):
    failures = []
    before = fingerprint()
    for pattern in ALONE:
        url = url_for(world, pattern, actor)
        for headers in [HOSTILE_HEADERS, *HOSTILE_ALONE]:
            response = world.client(actor).get(url, **headers)
            text_of(response)
            if response.status_code >= 500:
                failures.append(f"GET {url} with {sorted(headers)} answered {response.status_code}{error(response)}")
    failures += writes_since(before, "hostile headers")
    assert not failures, "\n".join(failures)
