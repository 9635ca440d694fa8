"""axe-core (tests/browser/axe.py, from axe-playwright-python's wheel) on every page an agent or
an usager reaches by GET (issue 18, point 6): the list is derived from the URL patterns
(tests.html_pages), each page opened by the actor the access declarations let in, on the access
matrix's world: the usagers' pages on a 390 px phone, the agents' on a desktop. Zero serious or
critical violation, and nothing the Content-Security-Policy refuses.

Two tests (the phone's pages, the desktop's), one world each, one browser context per actor (its
session's cookie set, no sign-in form): each walk stays within a minute."""

from collections import Counter
from itertools import groupby
from pathlib import Path

import pytest
import time_machine
from django.test import override_settings

from tests.access_world import NOW, build_world
from tests.browser.axe import describe, finished, install, start
from tests.html_pages import Page, add_a_second_service, extra_pages, pages, unclassified

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path("/tmp/h")
BATCH = 3  # pages checked at once, each in its tab
# A few pages to look at after a run (/tmp/h/a11y-<name>.png).
LOOKED_AT = {
    "rendezvous:agenda_agent",
    "rendezvous:agenda_secretariat",
    "rendezvous:detail",
    "usagers:detail",
    "reservation:creneaux",
    "reservation:informations",
    "reservation:my_rdvs",
    "agents:login",
}


@pytest.fixture
def world():
    """The access matrix's world at its instant (the live server runs in this process and reads
    this clock), committed for the live server, with a second service for « Quel service ? »."""
    with (
        time_machine.travel(NOW, tick=False),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
    ):
        world = build_world()
        add_a_second_service(world)
        yield world


PHONE_WIDTH = 390


# Three parts, the phone's pages and the desktop's in two halves by actor, that the suite's
# processes walk at the same time.
PARTS = ["usagers-390px", "agents-desktop-1", "agents-desktop-2"]


@pytest.mark.parametrize("part", PARTS)
def test_every_page_has_no_serious_or_critical_violation(world, live_server, browser, browser_context_args, part):
    every = pages(world) + extra_pages(world)
    assert len(every) > 70
    phone = part == PARTS[0]
    side = [page for page in every if (page.viewport["width"] == PHONE_WIDTH) == phone]
    if not phone:
        half = _desktop_half(side, first=part == PARTS[1])
        side = [page for page in side if page.actor in half]
    walked = sorted(side, key=lambda page: (page.actor, page.viewport["width"]))
    assert len(walked) > 5
    failures: list[str] = unclassified() if part == PARTS[1] else []  # a page not walked fails too
    for (actor, _width), grouped in groupby(walked, key=lambda page: (page.actor, page.viewport["width"])):
        group = list(grouped)
        context = actors_context(browser, browser_context_args, live_server, world, actor, group)
        failures += walk(context, actor, group)
        context.close()
    assert not failures, "\n".join(failures)


def _desktop_half(side: list[Page], first: bool) -> set[str]:
    """The actors of one half: the most visited first, each to the lighter half (an actor's pages
    share its browser context)."""
    counts = Counter(page.actor for page in side)
    halves: tuple[list[str], list[str]] = ([], [])
    for actor, _count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        lighter = min(halves, key=lambda half: sum(counts[name] for name in half))
        lighter.append(actor)
    return set(halves[0] if first else halves[1])


def actors_context(browser, browser_context_args, live_server, world, actor: str, group: list[Page]):
    """A context at the group's width, with the actor's session and axe-core installed."""
    context = browser.new_context(
        **{**browser_context_args, "viewport": group[0].viewport, "base_url": live_server.url}
    )
    context.set_default_timeout(10_000)
    cookies = world.cookies.get(actor, {})
    context.add_cookies([{"name": name, "value": value, "url": live_server.url} for name, value in cookies.items()])
    install(context)
    return context


def walk(context, actor: str, group: list[Page]) -> list[str]:
    """axe-core on each page of the group, BATCH pages at a time (each its own tab: axe-core's
    runs overlap); what failed, in words."""
    tabs = [context.new_page() for _ in range(min(BATCH, len(group)))]
    refused: dict[object, list[str]] = {tab: [] for tab in tabs}
    for tab in tabs:
        tab.on("console", lambda message, tab=tab: refused[tab].append(message.text) if is_csp(message) else None)
    failures = []
    for first in range(0, len(group), BATCH):
        opened = []
        for tab, one in zip(tabs, group[first : first + BATCH], strict=False):
            response = tab.goto(one.url)
            expected = 404 if one.name == "404" else 200
            if response is None or response.status != expected:
                failures.append(f"{one.name} ({actor}): GET {one.url} answered {response and response.status}")
                continue
            start(tab)
            opened.append((tab, one))
        for tab, one in opened:
            failures += [f"{one.name} ({actor}, {one.url}): {describe(found)}" for found in finished(tab)]
            failures += [f"{one.name} ({actor}): the CSP refused {text}" for text in refused[tab]]
            refused[tab].clear()
            if one.name in LOOKED_AT:
                tab.screenshot(path=SCREENSHOTS / f"a11y-{one.name.replace(':', '-')}.png", full_page=True)
    return failures


def is_csp(message) -> bool:
    return message.type == "error" and "Content Security Policy" in message.text
