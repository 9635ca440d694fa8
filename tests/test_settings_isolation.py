"""Whatever an admin of one organisation posts to its settings pages, nothing another organisation
shows changes: not its rows, not the rights its agents have there, not its pages.

Every settings URL (found from the URL configuration, like the permission matrix) is posted with
the form its page shows, filled in the most hostile way that page allows (for « modifier » on an
agent who also works in the other organisation: every service, administrator), then with the
other organisation's ids in the URL. A new settings page fails `test_every_settings_page_is_posted`
until it is given its payload here."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from agents.models import Agent, AgentInvitation, AgentRole
from agents.permissions import agents_with_visible_agenda, bookable_motifs, get_membership
from motifs.models import Motif
from organisations.models import Lieu, Organisation, Service
from planning.models import Absence, PlageOuverture
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory, AgentInvitationFactory, AgentRoleFactory
from tests.helpers import close_file
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.test_settings_permissions import OTHER_PARAMETERS, SETTINGS_ROUTES, done_export
from tests.usagers.factories import UsagerFactory

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once


class FormReader(HTMLParser):
    """The fields of the page's POST forms, with the values the page shows (what a browser would
    send), keyed by the form's action."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.forms.append((attrs.get("action") or "", []))
            return
        if not self.forms:
            return
        fields = self.forms[-1][1]
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    fields.append((name, attrs.get("value") or "on"))
            elif kind not in ("submit", "button", "reset", "file"):
                fields.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            fields.append((self._select, attrs.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            name, value = self.forms[-1][1][-1]
            self.forms[-1][1][-1] = (name, value + data)


def shown_form(client, url) -> dict[str, list[str]]:
    """The data the page's main form would send as shown (its action is the page itself)."""
    reader = FormReader()
    response = client.get(url)
    if response.streaming:  # a file (an export's download): no form
        close_file(response)
        return {}
    reader.feed(response.content.decode())
    own = [fields for action, fields in reader.forms if action in ("", url)]
    data: dict[str, list[str]] = {}
    for name, value in own[0] if own else []:
        data.setdefault(name, []).append(value)
    return data


@pytest.fixture
def world(db):
    noisiel = OrganisationFactory(name="MDS de Noisiel")
    chelles = OrganisationFactory(name="MDS de Chelles")
    admin = AgentFactory(organisation=noisiel, admin=True, services=["PMI"])
    # Works in both: PMI in each, basic in each.
    shared = AgentFactory(organisation=noisiel, services=["PMI"], email="emilie.girard@departement.fr")
    AgentRoleFactory(agent=shared, organisation=chelles, services=["PMI"])
    admin_chelles = AgentFactory(organisation=chelles, admin=True, services=["Social"])
    social_chelles = AgentFactory(organisation=chelles, services=["Social"])
    lieu_chelles = LieuFactory(organisation=chelles)
    motif_chelles = MotifFactory(organisation=chelles)
    PlageOuvertureFactory(organisation=chelles, agent=shared, lieu=lieu_chelles, motifs=[motif_chelles])
    usager = UsagerFactory(organisation=chelles)
    RdvFactory(organisation=chelles, agents=[social_chelles], usagers=[usager], motif=motif_chelles, lieu=lieu_chelles)
    RdvFactory(organisation=chelles, agents=[shared], usagers=[usager], motif=motif_chelles, lieu=lieu_chelles)
    return {
        "a": noisiel,
        "b": chelles,
        "admin": admin,
        "shared": shared,
        "admin_b": admin_chelles,
        "invitation": AgentInvitationFactory(organisation=noisiel, email=admin_chelles.email),
        "lieu": LieuFactory(organisation=noisiel),
        "archived_lieu": LieuFactory(organisation=noisiel, archived=True),
        "motif": MotifFactory(organisation=noisiel),
        "archived_motif": MotifFactory(organisation=noisiel, archived=True),
        "export": done_export(noisiel, admin),
        "b_export": done_export(chelles, admin_chelles),
        "b_objects": {
            "agent_pk": social_chelles.pk,
            "invitation_pk": AgentInvitationFactory(organisation=chelles).pk,
            "motif_id": motif_chelles.pk,
            "pk": lieu_chelles.pk,
        },
    }


def rows(queryset) -> list[dict]:
    return [dict(row) for row in queryset.order_by("pk").values()]


def state_of(organisation: Organisation) -> dict:
    """Everything another organisation's admin must not be able to change: the organisation's
    rows, its agents' rights there as the permission module reads them, and its pages."""
    roles = AgentRole.objects.filter(organisation=organisation).order_by("pk")
    rights = {}
    for role in roles:
        membership = get_membership(role.agent, organisation.pk)
        rights[role.agent_id] = (
            role.level,
            sorted(role.services.values_list("pk", flat=True)),
            membership.is_secretariat,
            sorted(agents_with_visible_agenda(membership).values_list("pk", flat=True)),
            sorted(
                bookable_motifs(membership, Motif.objects.for_organisation(organisation)).values_list("pk", flat=True)
            ),
        )
    pages = {}
    for role in roles:
        viewer = Client()
        viewer.force_login(role.agent)
        for name in ("organisations:home", "agents:team", "motifs:list", "organisations:lieux"):
            response = viewer.get(reverse(name, kwargs={"organisation_id": organisation.pk}))
            # The main content: the header's organisation switcher lists the viewer's other
            # organisations by name, which is the viewer's, not this organisation's, to show.
            page = response.content.decode()
            main = page[page.index('<main id="contenu"') : page.index("</main>")]
            main = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", main)
            pages[(role.agent_id, name)] = (response.status_code, main)
    return {
        "organisation": rows(Organisation.objects.filter(pk=organisation.pk)),
        "roles": rows(roles),
        "rights": rights,
        # Not last_login: the pages above are read by signing each agent in.
        "agents": [
            {key: value for key, value in row.items() if key != "last_login"}
            for row in rows(Agent.objects.filter(roles__organisation=organisation))
        ],
        "invitations": rows(AgentInvitation.objects.filter(organisation=organisation)),
        "lieux": rows(Lieu.objects.filter(organisation=organisation)),
        "motifs": rows(Motif.objects.filter(organisation=organisation)),
        "plages": rows(PlageOuverture.objects.filter(organisation=organisation)),
        "absences": rows(Absence.objects.filter(organisation=organisation)),
        "rdvs": rows(Rdv.objects.filter(organisation=organisation)),
        "services": rows(Service.objects.all()),
        "pages": pages,
    }


def url_in_a(route, name, world):
    kwargs = {"organisation_id": world["a"].pk}
    for parameter in re.findall(r"<int:(\w+)>", route):
        if parameter == "agent_pk":
            kwargs[parameter] = world["shared"].pk
        elif parameter == "invitation_pk":
            kwargs[parameter] = world["invitation"].pk
        elif parameter == "motif_id":
            kwargs[parameter] = world["archived_motif" if "desarchiver" in route else "motif"].pk
        elif parameter == "pk" and name.startswith("stats:rdv_export"):
            kwargs[parameter] = world["export"].pk
        elif parameter == "pk":
            kwargs[parameter] = world["archived_lieu" if "reactiver" in route else "lieu"].pk
    for parameter in re.findall(r"<(?:slug|str):(\w+)>", route):
        kwargs[parameter] = OTHER_PARAMETERS[parameter]
    return reverse(name, kwargs=kwargs)


def url_with_b_ids(route, name, world):
    kwargs = {"organisation_id": world["a"].pk}
    for parameter in re.findall(r"<int:(\w+)>", route):
        if parameter == "pk" and name.startswith("stats:rdv_export"):
            kwargs[parameter] = world["b_export"].pk
        elif parameter != "organisation_id":
            kwargs[parameter] = world["b_objects"][parameter]
    for parameter in re.findall(r"<(?:slug|str):(\w+)>", route):
        kwargs[parameter] = OTHER_PARAMETERS[parameter]
    return reverse(name, kwargs=kwargs)


def everything(world):
    return [str(pk) for pk in Service.objects.values_list("pk", flat=True)]


# What each settings page is posted with, on top of the form it shows: the most an admin of A
# could ask of it. A callable receives the world.
HOSTILE = {
    "agents:detail": lambda world: {"level": ["admin"], "services": everything(world)},
    "agents:invite": lambda world: {
        "email": [world["shared"].email.upper()],
        "level": ["admin"],
        "service": [str(Service.objects.get(is_secretariat=True).pk)],
    },
    "agents:remove": lambda world: {},
    "agents:cancel_invitation": lambda world: {},
    "agents:resend_invitation": lambda world: {},
    "agents:team": lambda world: {},
    "organisations:settings": lambda world: {"name": ["MDS renommée"], "phone": ["01 23 45 67 89"]},
    "organisations:lieux": lambda world: {},
    "organisations:lieu_create": lambda world: {"name": ["Antenne nouvelle"], "address": ["2 rue Neuve, Noisiel"]},
    "organisations:lieu_edit": lambda world: {"name": ["Antenne renommée"]},
    "organisations:lieu_archive": lambda world: {},
    "organisations:lieu_reactivate": lambda world: {},
    "motifs:list": lambda world: {},
    "motifs:create": lambda world: {"color": ["#000091"], "default_duration_in_min": ["20"]},
    "motifs:edit": lambda world: {"color": ["#000091"], "for_secretariat": ["on"], "bookable_online": ["on"]},
    "motifs:archive": lambda world: {},
    "motifs:unarchive": lambda world: {},
    "stats:organisation": lambda world: {},
    "stats:table_export": lambda world: {},
    "stats:rdv_export_create": lambda world: {"with_usagers": ["on"], "format": ["xlsx"]},
    "stats:rdv_export": lambda world: {},
    "stats:rdv_export_download": lambda world: {},
    "reservation:online_booking": lambda world: {},
}


def test_every_settings_page_is_posted():
    assert {name for _, name in SETTINGS_ROUTES} == set(HOSTILE)


@pytest.mark.parametrize("route, name", SETTINGS_ROUTES, ids=[name for _, name in SETTINGS_ROUTES])
def test_a_settings_post_of_one_organisation_changes_nothing_another_shows(client, world, route, name):
    before = state_of(world["b"])
    client.force_login(world["admin"])
    url = url_in_a(route, name, world)
    data = {**shown_form(client, url), **HOSTILE[name](world)}
    response = client.post(url, data)
    assert response.status_code < 500
    # With the other organisation's ids in the URL: 404, like a missing object.
    if "<int:" in route.replace("<int:organisation_id>", ""):
        b_url = url_with_b_ids(route, name, world)
        status = client.post(b_url, data).status_code
        if status == 405:  # a page that only reads: the same 404 on a GET
            status = client.get(b_url).status_code
        assert status == 404
    assert state_of(world["b"]) == before


def test_the_hostile_posts_do_take_effect_in_their_own_organisation(client, world):
    """The test above would prove nothing if the posts were all refused: « modifier » does change
    the agent here."""
    client.force_login(world["admin"])
    url = url_in_a("<int:agent_pk>", "agents:detail", world)
    data = {**shown_form(client, url), **HOSTILE["agents:detail"](world)}
    assert client.post(url, data).status_code == 302
    role_here = AgentRole.objects.get(agent=world["shared"], organisation=world["a"])
    assert role_here.level == AgentRole.Level.ADMIN
    assert role_here.services.count() == Service.objects.count()
