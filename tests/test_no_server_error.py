"""Every agent page, read as an administrator (of the organisation and of its territory) with
hostile query strings: a NUL character, far dates in every parameter that carries one, ids too
large for the database, unknown values, a `next` that is not a page. Never a 5xx (issue 18,
point 1). The public pages too, as a visitor and as a signed-in usager. The pages come from the
URL configuration itself: a new page is swept without being listed here, and one whose
parameters are unknown below fails until they are added."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.agents.factories import AgentFactory, AgentInvitationFactory
from tests.helpers import close_file
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.reservation.search_helpers import sign_in_usager
from tests.sectorisation.factories import (
    SectorAreaFactory,
    SectorAttributionFactory,
    SectorFactory,
    TerritoryRoleFactory,
    commune,
)
from tests.test_settings_permissions import done_export
from tests.usagers.factories import UsagerFactory

# Run once in CI, not again at the DST instant (.ci/run): hostile input answers 4xx whatever the
# hour (the pages at the DST instant are the views' own tests, which run then).
pytestmark = pytest.mark.once

ORGANISATION_PREFIX = "organisations/<int:organisation_id>/"
# Not pages: the technical administration and the providers' webhooks (signed POSTs).
NOT_PAGES = ("admin/", "anymail/", "notifications/")
HUGE = "99999999999999999999"
FAR = ["9999-12-31", "0001-01-01"]


def all_routes() -> list[tuple[str, str]]:
    """(route, name) of every URL pattern of the project."""

    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}"

    return sorted(set(walk(get_resolver().url_patterns)))


ROUTES = [(route, name) for route, name in all_routes() if route.startswith(ORGANISATION_PREFIX)]
PUBLIC_ROUTES = [
    (route, name)
    for route, name in all_routes()
    if not route.startswith(ORGANISATION_PREFIX) and not route.startswith(NOT_PAGES)
]


def test_the_sweep_sees_the_agent_pages():
    names = {name for _route, name in ROUTES}
    assert {"usagers:list", "rendezvous:list", "rendezvous:creneaux", "planning:plage_occurrence"} <= names
    assert {"sectorisation:sectors", "stats:organisation", "agents:team"} <= names
    assert len(names) >= 60
    public = {name for _route, name in PUBLIC_ROUTES}
    assert {"reservation:home", "reservation:move", "agents:login", "planning:calendar"} <= public


@pytest.fixture
def world(communes, organisation, admin_agent):
    TerritoryRoleFactory(agent=admin_agent, territory=organisation.territory)
    lieu = LieuFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation, online=True)
    every_day = (0, 1, 2, 3, 4, 5, 6)
    plage = PlageOuvertureFactory(
        organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], weekly=True, weekdays=every_day
    )
    sector = SectorFactory(territory=organisation.territory)
    usager = UsagerFactory(organisation=organisation, complete=True)
    return {
        "organisation": organisation,
        "territory": organisation.territory,
        "admin": admin_agent,
        "export": done_export(organisation, admin_agent),
        "colleague": AgentFactory(organisation=organisation, services=["PMI"]),
        "invitation": AgentInvitationFactory(organisation=organisation),
        "lieu": lieu,
        "motif": motif,
        "usager": usager,
        "proche": UsagerFactory(organisation=organisation, responsible=usager),
        "rdv": RdvFactory(organisation=organisation, agents=[admin_agent], motif=motif, lieu=lieu, usagers=[usager]),
        "plage": plage,
        "absence": AbsenceFactory(organisation=organisation, agent=admin_agent, weekly=True, weekdays=every_day),
        "sector": sector,
        "area": SectorAreaFactory(sector=sector, commune=commune("77337")),
        "attribution": SectorAttributionFactory(sector=sector, organisation=organisation),
    }


# The object a route's `pk` designates, by the start of its name.
PK_OBJECTS = {
    "organisations:lieu": "lieu",
    "usagers:": "usager",
    "sectorisation:": "sector",
    "planning:plage": "plage",
    "planning:absence": "absence",
    "rendezvous:": "rdv",
    "reservation:organisation_link": "organisation",
    "reservation:proche_edit": "proche",
    "reservation:": "rdv",
    "stats:rdv_export": "export",
}
PARAMETERS = {
    "organisation_id": "organisation",
    "territory_id": "territory",
    "agent_id": "admin",
    "agent_pk": "colleague",
    "invitation_pk": "invitation",
    "motif_id": "motif",
    "area_id": "area",
    "attribution_id": "attribution",
}


def url_for(route: str, name: str, world: dict) -> str:
    kwargs: dict = {}
    for converter, parameter in re.findall(r"<(?:(\w+):)?(\w+)>", route):
        if parameter == "pk":
            prefix = next((prefix for prefix in PK_OBJECTS if name.startswith(prefix)), None)
            assert prefix is not None, f"no object for <pk> in {name}: add it to PK_OBJECTS"
            kwargs[parameter] = world[PK_OBJECTS[prefix]].pk
        elif parameter == "day":
            kwargs[parameter] = world["plage"].first_day + dt.timedelta(days=7)
        elif converter in ("", "str", "slug"):
            kwargs[parameter] = "inconnu"
        else:
            assert parameter in PARAMETERS, f"no object for <{converter}:{parameter}> in {name}: add it to PARAMETERS"
            kwargs[parameter] = world[PARAMETERS[parameter]].pk
    return reverse(name, kwargs=kwargs)


def hostile_queries(world: dict) -> list[dict]:
    motif, agent, lieu = world["motif"].pk, world["admin"].pk, world["lieu"].pk
    slot = {"motif": motif, "agent": agent, "lieu": lieu}
    queries: list[dict] = [
        {"q": "\x00"},
        {"q": "x\x00y", "usagers": "", "action": "rechercher"},
        {"page": HUGE},
        {"page": "-1"},
        {"agent": "0"},
        {"agent": HUGE},
        {"lieu": HUGE},
        {"motif": HUGE},
        {"service": "x"},
        {"statut": "<script>"},
        {"usager": HUGE},
        {"usagers": HUGE, "nouvel_usager": HUGE, "ajouter": "abc", "retirer": "0"},
        {"next": "0"},
        {"next": "//evil.example/"},
        {"vue": "annee"},
        {"historique": "1", "period": "past", "mes_usagers": "1"},
        {"motif": motif, "a_partir_du": "2030-02-30"},
        {"fin": "9999-12"},
        {"debut": "0001-01"},
        {"debut": "9999-12-31T23:59", "agent": agent, "motif": motif},
        {"debut": "0001-01-01T00:00", "agent": agent, "motif": motif},
        {"creneau": "0001-01-01T00:00", **slot},
        {"creneau": "9999-12-31T23:59", **slot},
        {"commune": "77337", "creneau": "0001-01-01T00:00"},
        {"commune": "77337\x00"},
    ]
    for day in FAR:
        queries += [
            {"date": day},
            {"date": day, "vue": "jour"},
            {"date": day, "vue": "mois"},
            {"debut": day},
            {"fin": day},
            {"du": day},
            {"au": day},
            {"du": day, "au": day},
            {"motif": motif, "a_partir_du": day},
            {"semaine": day},
            {"commune": "77337", "motif": f"{world['motif'].category_id}-public_office", "semaine": day},
        ]
    return queries


@pytest.mark.parametrize("route, name", ROUTES, ids=[name for _route, name in ROUTES])
def test_no_agent_page_answers_a_server_error(world, route, name):
    client = Client(raise_request_exception=False)
    client.force_login(world["admin"])
    url = url_for(route, name, world)
    failures = []
    for query in hostile_queries(world):
        response = client.get(url, query)
        close_file(response)
        if response.status_code >= 500:
            failures.append((query, response.status_code))
    assert not failures, f"{name}: {failures}"


@pytest.mark.parametrize("signed_in", [False, True], ids=["visitor", "usager"])
@pytest.mark.parametrize("route, name", PUBLIC_ROUTES, ids=[name for _route, name in PUBLIC_ROUTES])
def test_no_public_page_answers_a_server_error(world, route, name, signed_in):
    client = Client(raise_request_exception=False)
    if signed_in:
        sign_in_usager(client, world["usager"])
    url = url_for(route, name, world)
    failures = []
    for query in hostile_queries(world):
        response = client.get(url, query)
        if response.status_code >= 500:
            failures.append((query, response.status_code))
    assert not failures, f"{name}: {failures}"
