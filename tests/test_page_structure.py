"""The structure every HTML page needs to be used with a screen reader or a keyboard (issue 18,
point 6), on every page an agent or an usager reaches by GET (tests.html_pages, derived from the
URL patterns): one <main> landmark with an id, a skip link to it (DSFR's « fr-skiplinks ») as the
first element the Tab key reaches, a header (banner) and a footer (contentinfo), and a title that
names the page, different from every other page's title (it is the first thing a screen reader
reads, and the tab's name among others). axe-core checks the rest in the browser
(tests/browser/test_accessibility.py)."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.conf import settings

from tests.access_expectations import DECLARED, OK
from tests.access_world import World, text_of, url_for, world_rolled_back, write_export_file
from tests.html_pages import (
    NOT_PAGES,
    SAME_PAGE,
    Page,
    add_a_second_service,
    extra_pages,
    page_patterns,
    pages,
    patterns,
    unclassified,
    viewer,
)

# Landmarks a <header>/<footer> inside them is not the page's banner/contentinfo (HTML-AAM).
SECTIONING = {"main", "article", "aside", "nav", "section"}
FOCUSABLE_INPUTS = {"button", "select", "textarea"}

# Run once in CI, not again at the DST instant (.ci/run):
# the landmarks and titles of the pages do not depend on the hour.
pytestmark = pytest.mark.once


@dataclass
class Structure:
    """What the page's HTML says about its landmarks, its title and its tab order."""

    title: str = ""
    mains: list[dict] = field(default_factory=list)
    banners: int = 0
    contentinfos: int = 0
    first_focusable: tuple[str, dict, list[str]] | None = None  # tag, attributes, classes of ancestors


class StructureParser(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__()
        self.found = Structure()
        self.stack: list[tuple[str, dict]] = []
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        inside = {name for name, _ in self.stack}
        if tag == "main":
            self.found.mains.append(attributes)
        if tag == "header" and not inside & SECTIONING:
            self.found.banners += 1
        if tag == "footer" and not inside & SECTIONING:
            self.found.contentinfos += 1
        if self.found.first_focusable is None and self._focusable(tag, attributes):
            classes = [(a.get("class") or "") for _, a in self.stack]
            self.found.first_focusable = (tag, attributes, classes)
        self.in_title = tag == "title" and bool(self.stack) and self.stack[-1][0] == "head"  # not an <svg>'s
        if tag not in self.VOID:
            self.stack.append((tag, attributes))

    def handle_endtag(self, tag):
        self.in_title = False
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if self.in_title:
            self.found.title += data

    def _focusable(self, tag: str, attributes: dict) -> bool:
        if "hidden" in attributes or "disabled" in attributes or any("hidden" in a for _, a in self.stack):
            return False
        if attributes.get("tabindex") is not None:
            return int(attributes["tabindex"]) >= 0
        if tag == "a":
            return "href" in attributes
        if tag == "input":
            return attributes.get("type") != "hidden"
        return tag in FOCUSABLE_INPUTS


def structure(html: str) -> Structure:
    parser = StructureParser()
    parser.feed(html)
    return parser.found


def problems(found: Structure) -> list[str]:
    """What the page misses, in words."""
    missing = []
    if len(found.mains) != 1 or not found.mains[0].get("id"):
        missing.append(f"one <main id=…> (found {len(found.mains)}: {found.mains})")
    if found.banners != 1:
        missing.append(f"one <header> landmark (found {found.banners})")
    if found.contentinfos != 1:
        missing.append(f"one <footer> landmark (found {found.contentinfos})")
    name = page_title(found)
    if not name:
        missing.append(f"a title that names the page (found {found.title!r})")
    main_id = found.mains[0].get("id") if found.mains else None
    first = found.first_focusable
    if first is None:
        missing.append("a skip link")
    else:
        tag, attributes, classes = first
        if tag != "a" or not any("fr-skiplinks" in c.split() for c in classes):
            missing.append(f"the skip links first in the tab order (first: <{tag} {attributes}>)")
        elif attributes.get("href") != f"#{main_id}":
            missing.append(f"a first skip link to #{main_id} (found {attributes.get('href')})")
    return missing


def page_title(found: Structure) -> str:
    """The title without the site's name that every title ends with."""
    title = " ".join(found.title.split())
    suffix = f" — {settings.SITE_NAME}"
    return title.removesuffix(suffix).strip() if title.endswith(suffix) else ""


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The access matrix's world (tests/test_access_matrix.py), with a second service, in a
    transaction rolled back at the module's end."""
    with world_rolled_back(django_db_blocker) as world:
        add_a_second_service(world)
        yield world


@pytest.fixture(autouse=True)
def _export_file(_isolate, world):
    """The export's file, in the test's own MEDIA_ROOT (tests/conftest.py)."""
    write_export_file(world)


def fetch(world: World, page: Page) -> str:
    response = world.client(page.actor).get(page.url)
    body = text_of(response)
    expected = 404 if page.name == "404" else 200
    assert response.status_code == expected, (
        f"{page.name}: GET {page.url} as {page.actor} answered {response.status_code}"
    )
    assert response["Content-Type"].startswith("text/html"), page.name
    return body


def test_every_pattern_is_a_page_or_says_why_not():
    names = {pattern.name for pattern in patterns()}
    assert not NOT_PAGES.keys() - names, f"no such pattern: {sorted(NOT_PAGES.keys() - names)}"
    assert not SAME_PAGE.keys() - names, f"no such pattern: {sorted(SAME_PAGE.keys() - names)}"
    assert not unclassified(), "\n".join(unclassified())
    assert len(page_patterns()) > 70


@pytest.mark.django_db
def test_what_is_not_a_page_is_no_page(world):
    """The exclusions stay honest: what an actor is let in to is a file or a fragment."""
    for pattern in patterns():
        if pattern.name not in NOT_PAGES:
            continue
        actor = viewer(pattern)
        if actor is None:
            assert OK not in DECLARED[pattern.name].answers.values()
            continue
        body = text_of(world.client(actor).get(url_for(world, pattern, actor)))
        assert "<html" not in body.lower(), f"{pattern.name} is a page: walk it (tests.html_pages.NOT_PAGES)"


@pytest.mark.django_db
def test_every_page_has_landmarks_a_skip_link_and_a_unique_title(world):
    failures = []
    title_of: dict[str, str] = {}
    walked = pages(world) + extra_pages(world)
    for page in walked:
        found = structure(fetch(world, page))
        failures += [f"{page.name} ({page.actor}, {page.url}): {problem}" for problem in problems(found)]
        title_of[page.name] = page_title(found)
    pages_titled: dict[str, set[str]] = {}
    for name, title in title_of.items():
        pages_titled.setdefault(title, set()).add(SAME_PAGE.get(name, name))
    failures += [
        f"one title, several pages: « {title} »: {', '.join(sorted(names))}"
        for title, names in pages_titled.items()
        if len(names) > 1
    ]
    failures += [
        f"{alias} is {original} under another address: same title expected"
        for alias, original in SAME_PAGE.items()
        if title_of[alias] != title_of[original]
    ]
    assert not failures, "\n".join(failures)
    assert len(walked) > 70


def test_the_parser_sees_what_a_screen_reader_would():
    good = structure(
        "<html><head><title>Mes rendez-vous — RDV Solidarités</title></head><body>"
        '<div class="fr-skiplinks"><nav><ul><li><a href="#contenu">Contenu</a></li></ul></nav></div>'
        "<header><section><header>carte</header></section></header><button hidden>x</button>"
        '<main id="contenu"><article><footer>carte</footer></article></main><footer></footer></body></html>'
    )
    assert problems(good) == []
    assert page_title(good) == "Mes rendez-vous"
    bad = structure('<html><head><title> — RDV Solidarités</title></head><body><a href="/">x</a><main></main></body>')
    assert len(problems(bad)) == 5
