"""Every HTML page an agent or an usager reaches by GET, derived from the URL patterns
(tests.url_patterns) and the access declarations (tests.access_expectations): each pattern is
opened by the first actor of VIEWERS the declarations let in, on the objects of the access
matrix's world (tests.access_world). The accessibility checks (tests/test_page_structure.py,
tests/browser/test_accessibility.py) walk this list, so that a new page cannot ship unchecked: a
pattern is a page, or it is named in NOT_PAGES with the reason why nobody reads it as one."""

from dataclasses import dataclass

from tests.access_expectations import DECLARED, OK, group_answers
from tests.access_world import (
    ADMIN,
    ADMIN_ELSEWHERE,
    AGENTS,
    ANONYMOUS,
    OTHER_SERVICE,
    OTHER_USAGER,
    SAME_SERVICE,
    SECRETARIAT,
    TERRITORY_ADMIN,
    TWO_ORGANISATIONS,
    USAGER,
    World,
    url_for,
)
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import service
from tests.planning.factories import PlageOuvertureFactory
from tests.url_patterns import Pattern, all_patterns

# Who opens a page: whoever needs no account if the page is public (the booking's first steps, the
# sign-in pages), else the organisation's admin, who sees the most of an agent's page; then the
# others, for the pages only they reach (an invitation to a colleague, the territory's settings).
VIEWERS = (
    ANONYMOUS,
    ADMIN,
    SAME_SERVICE,
    SECRETARIAT,
    TERRITORY_ADMIN,
    OTHER_SERVICE,
    TWO_ORGANISATIONS,
    ADMIN_ELSEWHERE,
    USAGER,
    OTHER_USAGER,
)
assert set(VIEWERS) == set(DECLARED["agents:login"].answers)

FILE = "a file to download, not a page"
FRAGMENT = "an htmx fragment, part of a page that is walked"
POST_ONLY = "takes POST only: a button of a page that is walked"
REDIRECT = "redirects to a page that is walked"
NOT_PAGES = {
    "agents:logout": POST_ONLY,
    "agents:password_reset_confirm": REDIRECT + " (the same address, its token kept in the session)",
    "agents:resend_invitation": POST_ONLY,
    "agents:cancel_invitation": POST_ONLY,
    "usagers:search": FRAGMENT + " (the header's usager search)",
    "sectorisation:area_delete": POST_ONLY,
    "sectorisation:attribution_delete": POST_ONLY,
    "sectorisation:territory": REDIRECT + " (the territory's settings, in an organisation of the territory)",
    "planning:my_plages": REDIRECT,
    "planning:my_absences": REDIRECT,
    "planning:public_holidays": POST_ONLY,
    "planning:calendar_feed": POST_ONLY,
    "planning:calendar": FILE + " (the agent's ICS feed)",
    "rendezvous:agenda": REDIRECT,
    "rendezvous:usager_picker": FRAGMENT + " (« Poser un rendez-vous »'s usager search)",
    "rendezvous:status": POST_ONLY,
    "rendezvous:bulk_status": POST_ONLY + " (the RDV list's « Changer le statut »)",
    "stats:table_export": FILE + " (CSV)",
    "stats:rdv_export_create": POST_ONLY,
    "stats:rdv_export_download": FILE + " (CSV)",
    "stats:territory_table_export": FILE + " (CSV)",
    "notifications:twilio_status": "Twilio's delivery receipts, POST only",
    "reservation:verify": REDIRECT
    + " without the answers of « Vos informations » (the keyboard walk books through it)",
    "reservation:rdv_ics": FILE + " (ICS)",
    "reservation:organisation_link": REDIRECT,
    "reservation:code": REDIRECT + " without a code sent (the keyboard walk goes through it)",
    "reservation:logout": POST_ONLY,
}
# The Django admin (staff only: no agent or usager of the service) and anymail's webhooks.
NOT_PAGES_GROUPS = "the Django admin's pages and anymail's webhooks: nobody of the service reads them"
# One page under two addresses: the account's, with or without the organisation's menu; the
# usager's « Annuler » and « Déplacer », signed in or from the link of a message. Same title.
SAME_PAGE = {
    "agents:account_in_organisation": "agents:account",
    "reservation:rdv_link_cancel": "reservation:cancel",
    "reservation:rdv_link_move": "reservation:move",
}
# The usagers' pages, read on a phone; the agents' on a desktop.
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass(frozen=True)
class Page:
    name: str
    actor: str
    url: str

    @property
    def viewport(self) -> dict[str, int]:
        usagers_page = self.name.startswith("reservation:") and self.actor not in AGENTS
        return PHONE if usagers_page or self.name == "sectorisation:commune_search" else DESKTOP


def viewer(pattern: Pattern) -> str | None:
    assert pattern.name in DECLARED, f"{pattern.name}: declare who may use it in tests/access_expectations.py"
    answers = DECLARED[pattern.name].answers
    return next((actor for actor in VIEWERS if answers[actor] == OK), None)


def patterns() -> list[Pattern]:
    """The patterns declared alone (the access matrix fails on one that is not)."""
    return [pattern for pattern in all_patterns() if group_answers(pattern.name, pattern.route) is None]


def page_patterns() -> list[Pattern]:
    return [pattern for pattern in patterns() if pattern.name not in NOT_PAGES]


# Pages the world skips, walked once `add_a_second_service` has enriched it (extra_pages).
SKIPPED_BY_THE_WORLD = {"reservation:services"}


def unclassified() -> list[str]:
    """The patterns neither walked nor named in NOT_PAGES: each a failure of the tests that walk
    the pages (a new page must be walked, or said not to be one)."""
    found = []
    for pattern in page_patterns():
        if pattern.name not in DECLARED:
            found.append(f"{pattern.name}: declare who may use it in tests/access_expectations.py")
        elif pattern.name not in SKIPPED_BY_THE_WORLD and viewer(pattern) is None:
            found.append(f"{pattern.name}: nobody gets it as a page; name it in tests.html_pages.NOT_PAGES, and why")
    return found


def pages(world: World) -> list[Page]:
    """Every page, its viewer, its URL in the world (the unclassified left out: see above)."""
    found = []
    for pattern in page_patterns():
        if pattern.name in SKIPPED_BY_THE_WORLD or pattern.name not in DECLARED:
            continue
        actor = viewer(pattern)
        if actor is not None:
            found.append(Page(pattern.name, actor, url_for(world, pattern, actor)))
    return found


def add_a_second_service(world: World) -> None:
    """A service social motif bookable online at the world's lieu: « Quel service ? » is then asked
    (with one service it redirects to the motifs)."""
    organisation = world.objects["organisation"]
    motif = MotifFactory(organisation=organisation, online=True, service=service("Social"))
    PlageOuvertureFactory(
        organisation=organisation,
        agent=world.objects[ADMIN],
        lieu=world.objects["lieu"],
        motifs=[motif],
        weekly=True,
        weekdays=(0, 1, 2, 3, 4, 5, 6),
    )


def extra_pages(world: World) -> list[Page]:
    """With `add_a_second_service`: « Quel service ? »; and the 404, to anybody."""
    return [
        Page("reservation:services", ANONYMOUS, url_for(world, _pattern("reservation:services"), ANONYMOUS)),
        Page("404", ANONYMOUS, "/nulle-part/"),
    ]


def _pattern(name: str) -> Pattern:
    return next(pattern for pattern in patterns() if pattern.name == name)
