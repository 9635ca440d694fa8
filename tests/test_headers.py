"""The headers of every answer, on every URL pattern of the project (tests.url_patterns): a strict
Content-Security-Policy, a Permissions-Policy, and no-store (shared computers in public
buildings), whether the page answers 200, a redirect to the login, a 404 or a 405."""

import pytest
from django.urls import Resolver404, resolve

from tests.url_patterns import all_patterns

pytestmark = pytest.mark.django_db

PATTERNS = all_patterns()


def check_headers(response, url: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("default-src") == ["'self'"], url
    assert directives.get("script-src") == ["'self'"], url  # no inline script, no third party
    assert directives.get("style-src-elem") == ["'self'"], url
    assert directives.get("object-src") == ["'none'"], url
    assert directives.get("frame-ancestors") == ["'none'"], url
    assert "unsafe-eval" not in csp, url
    assert "camera=()" in response.headers.get("Permissions-Policy", ""), url
    assert "geolocation=()" in response.headers["Permissions-Policy"], url
    assert "no-store" in response.headers.get("Cache-Control", ""), url


def test_every_pattern_has_a_sample_url_that_resolves_to_it():
    assert len(PATTERNS) > 100
    for pattern in PATTERNS:
        if pattern.route.startswith("admin/") or "anymail" in pattern.name:
            continue  # the Django admin's and anymail's own regexes
        try:
            resolve(pattern.url)
        except Resolver404:
            pytest.fail(f"{pattern.name}: {pattern.url} resolves to nothing")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonyme", "agent"])
def test_every_page_carries_the_headers(client, admin_agent, signed_in):
    if signed_in:
        client.force_login(admin_agent)
    for pattern in PATTERNS:
        response = client.get(pattern.url)
        check_headers(response, pattern.url)


def test_a_posted_form_and_an_error_page_carry_them_too(client, admin_agent):
    client.force_login(admin_agent)
    check_headers(client.post("/organisations/", {"x": "y"}), "POST /organisations/")
    check_headers(client.get("/nulle-part/"), "404")
    check_headers(client.get("/?q=a%00b"), "400")
