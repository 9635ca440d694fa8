"""The permission matrix of the settings pages: every URL under /parametres/, found from the URL
configuration itself (a new settings page cannot escape it), for every kind of agent."""

import datetime as dt
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from stats.models import RdvExport
from tests.agents.factories import AgentFactory, AgentInvitationFactory
from tests.helpers import close_file
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory

# Run once in CI, not again at the DST instant (.ci/run): who may open a settings page does not
# depend on the hour.
pytestmark = pytest.mark.once


def settings_routes():
    def walk(patterns, prefix="", namespace=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if namespace and pattern.namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner or namespace)
            elif isinstance(pattern, URLPattern) and "/parametres/" in prefix + str(pattern.pattern):
                yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}"

    return sorted(set(walk(get_resolver().url_patterns)))


SETTINGS_ROUTES = settings_routes()
# Views that change data answer GET with 405 even to an admin: only POST is theirs.
POST_ONLY = {"agents:resend_invitation", "agents:cancel_invitation", "stats:rdv_export_create"}


def done_export(organisation, agent):
    """A finished export of the RDVs, its file written (stats' export pages)."""
    export = RdvExport.objects.create(
        organisation=organisation,
        requested_by=agent,
        first_month=dt.date(2026, 1, 1),
        last_month=dt.date(2026, 12, 1),
        state=RdvExport.State.DONE,
    )
    export.file.save("rdvs.csv", ContentFile(b"date;motif\n"))
    return export


# The non-integer parameters of settings URLs: the table and the format of a table's export.
OTHER_PARAMETERS = {"table": "rdvs-crees", "format": "csv"}


def test_every_settings_page_is_in_the_matrix():
    names = {name for _, name in SETTINGS_ROUTES}
    assert {"organisations:settings", "organisations:lieux", "agents:team", "motifs:list"} <= names
    assert "stats:organisation" in names  # « Vos statistiques globales », under « Paramètres »
    assert len(names) >= 17


@pytest.fixture
def world(organisation):
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    admin = AgentFactory(organisation=organisation, admin=True, services=["Social"])
    return {
        "organisation": organisation,
        "admin": admin,
        "export": done_export(organisation, admin),
        "basic": AgentFactory(organisation=organisation, services=["PMI"]),
        "secretariat": AgentFactory(organisation=organisation, secretariat=True),
        "admin_elsewhere": AgentFactory(organisation=OrganisationFactory(), admin=True),
        "colleague": colleague,
        "lieu": LieuFactory(organisation=organisation),
        "archived_lieu": LieuFactory(organisation=organisation, archived=True),
        "motif": MotifFactory(organisation=organisation),
        "archived_motif": MotifFactory(organisation=organisation, archived=True),
        "invitation": AgentInvitationFactory(organisation=organisation),
    }


def url_for(route, name, world):
    kwargs = {"organisation_id": world["organisation"].pk}
    for parameter in re.findall(r"<int:(\w+)>", route):
        if parameter == "organisation_id":
            continue
        if parameter == "agent_pk":
            kwargs[parameter] = world["colleague"].pk
        elif parameter == "invitation_pk":
            kwargs[parameter] = world["invitation"].pk
        elif parameter == "motif_id":
            kwargs[parameter] = world["archived_motif" if "desarchiver" in route else "motif"].pk
        elif parameter == "pk" and name.startswith("organisations:lieu"):
            kwargs[parameter] = world["archived_lieu" if "reactiver" in route else "lieu"].pk
        elif parameter == "pk" and name.startswith("stats:rdv_export"):
            kwargs[parameter] = world["export"].pk
        else:
            raise AssertionError(f"no object for <{parameter}> in {route}: extend the matrix")
    for parameter in re.findall(r"<(?:slug|str):(\w+)>", route):
        kwargs[parameter] = OTHER_PARAMETERS[parameter]
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("route, name", SETTINGS_ROUTES, ids=[name for _, name in SETTINGS_ROUTES])
@pytest.mark.parametrize(
    "who, expected",
    [("admin", 200), ("basic", 404), ("secretariat", 404), ("admin_elsewhere", 404), ("anonymous", 302)],
)
def test_settings_permission_matrix(client, world, route, name, who, expected):
    url = url_for(route, name, world)
    if who != "anonymous":
        client.force_login(world[who])
    get = client.get(url)
    close_file(get)
    if expected == 200 and name in POST_ONLY:
        assert get.status_code == 405
    else:
        assert get.status_code == expected, url
    if expected != 200:
        # Nobody but an admin of the organisation may change anything through these URLs either.
        assert client.post(url, {}).status_code == expected, url
