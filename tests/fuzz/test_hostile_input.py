"""Hostile input, everywhere, forever (issue 18, point 5): every URL pattern of the project,
GET and POST, as an actor allowed to use it, with the fields its pages' forms and links show
(tests/fuzz/surfaces.py) given hostile values by hypothesis (tests/fuzz/strategies.py): unicode,
long strings, NUL and control characters, wrong types, far dates, huge and negative numbers, SQL
and HTML fragments, fields repeated or left out, bodies no form sends. Every answer is below 500,
and a refusal (4xx) leaves the database as it was: nothing half-written.

Complete by construction: the patterns come from the resolver, the fields from the pages; a form
found on any page that points to a pattern the fuzz leaves out fails here, and so does a page
that writes whose form the crawl cannot find.

`FUZZ_PROFILE=long` (`make fuzz`) draws many more examples, new ones on each run; the default
(« ci ») is derandomized and small, for the suite."""

import json
import traceback
import zlib
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import TestCase
from hypothesis import example, given, seed, settings
from hypothesis import strategies as st

from tests.access_world import World, text_of, url_for
from tests.fuzz.crawl import FUZZED, PATTERNS, access_of, actor_for, not_fuzzed, split
from tests.fuzz.strategies import SWEEP, encoding, file_content, hostile_payload, profile
from tests.fuzz.surfaces import GET, POST, Surfaces
from tests.test_access_matrix import changed, fingerprint
from tests.url_patterns import Pattern

CASES = [(pattern, method) for pattern in FUZZED for method in (GET, POST)]

# Not clock-dependent: CI runs it once, not again at the DST instant (.ci/run).
pytestmark = [pytest.mark.fuzz, pytest.mark.once]


def test_every_pattern_is_fuzzed_or_left_out_with_a_reason():
    undeclared = [pattern.name for pattern in FUZZED if access_of(pattern) is None]
    assert not undeclared, f"declare who may use them in tests/access_expectations.py: {undeclared}"
    assert not [pattern.name for pattern in PATTERNS if pattern not in FUZZED and not not_fuzzed(pattern)]
    assert "admin:login" in {pattern.name for pattern in FUZZED}


@pytest.mark.django_db
def test_every_form_found_is_fuzzed(surfaces: Surfaces):
    """Each form or link found on a page points to a fuzzed pattern (or one left out with its
    reason); each page that writes has a form the crawl found, else its fuzz would only guess."""
    by_name = {pattern.name: pattern for pattern in PATTERNS}
    stray = [
        f"{name} ({method}), found on {sorted(surfaces.found_on[name, method])}"
        for name, method in surfaces.fields
        if name not in by_name or (by_name[name] not in FUZZED and not not_fuzzed(by_name[name]))
    ]
    assert not stray, "forms pointing to patterns the fuzz leaves out:\n" + "\n".join(stray)
    formless = [
        pattern.name
        for pattern in FUZZED
        if (access := access_of(pattern)) is not None and access.writes and not surfaces.of(pattern.name, POST)
    ]
    assert not formless, f"pages that write, without a form found: {formless}"


def send(world: World, actor: str, method: str, path: str, payload: dict, body: str, files: dict):
    client = world.client(actor)
    if method == GET:
        return client.get(path, payload)
    if body == "json":
        return client.post(path, json.dumps(payload), content_type="application/json")
    if body == "garbage":
        return client.post(
            path, b"%%\xff=\x00&&=%zz&" + json.dumps(payload).encode(), content_type="application/x-www-form-urlencoded"
        )
    if body == "urlencoded":
        return client.post(path, urlencode(payload, doseq=True), content_type="application/x-www-form-urlencoded")
    return client.post(path, {**payload, **files})


def error(response) -> str:
    exc_info = getattr(response, "exc_info", None)
    return "".join(traceback.format_exception(*exc_info)) if exc_info else ""


@pytest.mark.django_db
@pytest.mark.parametrize("pattern, method", CASES, ids=[f"{pattern.name}-{method}" for pattern, method in CASES])
def test_hostile_input(world: World, surfaces: Surfaces, pattern: Pattern, method: str):
    access = access_of(pattern)
    if access is None:
        pytest.fail(f"{pattern.name}: declare who may use it in tests/access_expectations.py")
    actor = actor_for(access, method)
    path = split(url_for(world, pattern, actor))[0]
    fields = surfaces.of(pattern.name, method)
    base = surfaces.bases[pattern.name, method]
    uploads = sorted(name for name, found in fields.items() if found.kind == "file")

    # Not the page's method: answered before any field is read; a few examples, no sweep.
    wrong_method = surfaces.answers.get((pattern.name, method)) == 405
    chosen = settings(profile(), max_examples=max(2, profile().max_examples // 10)) if wrong_method else profile()

    @chosen
    @given(
        payload=hostile_payload({k: v for k, v in fields.items() if k not in uploads}, base),
        body=encoding,
        contents=st.lists(file_content, min_size=len(uploads), max_size=len(uploads)),
    )
    def hostile(payload, body, contents):
        files = {
            name: SimpleUploadedFile(f"{name}.csv", content) for name, content in zip(uploads, contents, strict=True)
        }
        with transaction.atomic():
            before = fingerprint() if method == POST else None
            with TestCase.captureOnCommitCallbacks() as after_commit:
                response = send(world, actor, method, path, payload, body, files)
                text_of(response)
            assert response.status_code < 500, f"{method} {path} as {actor}: {response.status_code}\n{error(response)}"
            # What the request leaves for after its commit (the messages' tasks) runs too, here.
            with TestCase.captureOnCommitCallbacks(execute=True):
                for callback in after_commit:
                    callback()
            if before is not None and 400 <= response.status_code < 500:
                assert not changed(before, fingerprint()), f"{method} {path} as {actor}: refused, yet wrote"
            transaction.set_rollback(True)

    names = sorted((fields.keys() | base.keys()) - set(uploads))
    for value in [] if wrong_method else SWEEP:
        every = {name: [value] for name in names}
        contents = [value.encode()] * len(uploads)
        hostile = example(payload=every, body="multipart", contents=contents)(hostile)
    if profile().derandomize:
        # The same examples on each run, but not the same for every page.
        hostile = seed(zlib.crc32(f"{pattern.name} {method}".encode()))(hostile)
    hostile()
