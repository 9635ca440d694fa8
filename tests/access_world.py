"""The world the access matrix (tests/test_access_matrix.py) walks: one organisation of a territory
with everything its URLs name (a lieu, a motif of the PMI, a plage and an absence of a PMI agent, an
RDV of that agent with an usager and its proche, a sector, invitations, tokens…), a second
organisation elsewhere, and the ten actors of issue 18, each with the cookies of its session.

Built once per test module: the pages read it, and whatever a request writes is rolled back with
its test (see `test_access_matrix.world`)."""

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from urllib.parse import urlencode

import time_machine
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.text import slugify

from planning.models import CalendarFeed
from reservation.link_views import VERIFIED
from stats.models import RdvExport
from tests.agents.factories import AgentFactory, AgentInvitationFactory, AgentRoleFactory
from tests.helpers import ensure_communes
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.sectorisation.factories import (
    SectorAreaFactory,
    SectorAttributionFactory,
    SectorFactory,
    TerritoryRoleFactory,
    commune,
)
from tests.url_patterns import Pattern
from tests.usagers.factories import UsagerFactory
from usagers.middleware import USAGER_KEY, USAGER_SESSION_AGE
from usagers.models import UsagerAccount

# The ten actors of the matrix, in the order its reports list them.
ANONYMOUS = "anonymous"
USAGER = "usager"  # signed in on the public side: the usager of the RDV, responsible of the proche
OTHER_USAGER = "other_usager"  # signed in on the public side, with nothing in common with the RDV
OTHER_SERVICE = "basic_other_service"  # basic agent of the Service social (the RDV is the PMI's)
SAME_SERVICE = "basic_same_service"  # basic agent of the PMI, not an agent of the RDV
SECRETARIAT = "secretariat"
ADMIN = "admin"  # admin of the organisation, of the Service social
# Admin of another organisation, and administrator of its territory: its URLs carry its own
# organisation with this one's objects (an id swap), which its roles there let through the guards.
ADMIN_ELSEWHERE = "admin_elsewhere"
TERRITORY_ADMIN = "territory_admin"  # basic agent of the Service social, TerritoryRole of the territory
# Basic of the Service social here; admin of the PMI, and administrator of the territory, elsewhere.
TWO_ORGANISATIONS = "two_organisations"
ACTORS = (
    ANONYMOUS,
    USAGER,
    OTHER_USAGER,
    OTHER_SERVICE,
    SAME_SERVICE,
    SECRETARIAT,
    ADMIN,
    ADMIN_ELSEWHERE,
    TERRITORY_ADMIN,
    TWO_ORGANISATIONS,
)
AGENTS = ACTORS[3:]
USAGERS = (USAGER, OTHER_USAGER)
# Markers the matrix looks for in every answer: the usager's last name never shows to OUTSIDERS;
# the agents' notes on the usager (its profile in the organisation) to no usager either; the
# RDV's notes to nobody but RDV_READERS, those who may open the owner's agenda.
OUTSIDERS = (ANONYMOUS, OTHER_USAGER, ADMIN_ELSEWHERE)
SECRET_NAME = "Confidentielmatrice"
PROFILE_NOTE = "Note-du-profil-matrice"
RDV_NOTE = "Note-du-rdv-matrice"
RDV_READERS = (SAME_SERVICE, SECRETARIAT, ADMIN)

# A Monday without public holiday, 9:00 in Paris; the RDV is the next day at 10:00, the plage
# every day from 9:00 to 12:00, the absence every day from 14:00 to 17:00: 11:00 is free.
NOW = dt.datetime(2030, 3, 4, 8, 0, tzinfo=dt.UTC)
FREE_TIME = "2030-03-05T11:00"


@dataclass
class World:
    objects: dict = field(default_factory=dict)  # name → model instance, token or value
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)  # actor → its session's cookies
    home: dict[str, int] = field(default_factory=dict)  # actor → the organisation its URLs carry

    def client(self, actor: str) -> Client:
        """A new client with the actor's session: a page that signs out or changes cookies (« Se
        déconnecter ») does not sign the actor out of the next request."""
        client = Client(raise_request_exception=False)
        for name, value in self.cookies.get(actor, {}).items():
            client.cookies[name] = value
        return client


def write_export_file(world: World) -> None:
    """The file of the world's export, where the storage of the test looks for it."""
    export = world.objects["export"]
    export.file.storage.save(export.file.name, ContentFile(f"usager\n{SECRET_NAME}\n".encode()))


def text_of(response) -> str:
    """The body of any answer, a file's (streamed) included: read to its end, which closes the
    file (the test client's wrapper does, as a WSGI server would, keeping the connection open)."""
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _usager_cookies(usager, *, checked_links: list[str]) -> dict[str, str]:
    """Signed in on the public side, as the email code leaves it; `checked_links`, the tokens of
    the messages' links whose letters were given on this device (reservation.link_views)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[USAGER_KEY] = usager.pk
    session[VERIFIED] = checked_links
    session.set_expiry(timezone.now() + USAGER_SESSION_AGE)
    session.save()
    return {settings.USAGER_SESSION_COOKIE_NAME: session.session_key}


def _agent_cookies(agent) -> dict[str, str]:
    client = Client()
    client.force_login(agent)
    return {name: morsel.value for name, morsel in client.cookies.items()}


@contextlib.contextmanager
def world_rolled_back(django_db_blocker) -> Iterator[World]:
    """The world for a whole module (its fixture's body): built once, the clock at NOW, fast
    password hashing, in a transaction rolled back at the module's end; each test then runs in a
    savepoint of it (pytest-django's `db`), so what a request writes goes with its test."""
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        yield build_world()
        transaction.set_rollback(True)


def build_world() -> World:
    """Everything the matrix's URLs name; to be called with the clock at NOW."""
    ensure_communes()
    territory = TerritoryFactory(departement_number="77", name="Seine-et-Marne")
    organisation = OrganisationFactory(territory=territory, name="MDS de Noisiel")
    elsewhere = OrganisationFactory(territory=TerritoryFactory(departement_number="93", name="Seine-Saint-Denis"))
    owner = AgentFactory(organisation=organisation, services=["PMI"])  # the RDV's, the plage's, the absence's
    actors = {
        OTHER_SERVICE: AgentFactory(organisation=organisation, services=["Social"]),
        SAME_SERVICE: AgentFactory(organisation=organisation, services=["PMI"]),
        SECRETARIAT: AgentFactory(organisation=organisation, secretariat=True),
        ADMIN: AgentFactory(organisation=organisation, admin=True, services=["Social"]),
        ADMIN_ELSEWHERE: AgentFactory(organisation=elsewhere, admin=True, services=["PMI"]),
        TERRITORY_ADMIN: AgentFactory(organisation=organisation, services=["Social"]),
        TWO_ORGANISATIONS: AgentFactory(organisation=organisation, services=["Social"]),
    }
    TerritoryRoleFactory(agent=actors[TERRITORY_ADMIN], territory=territory)
    TerritoryRoleFactory(agent=actors[ADMIN_ELSEWHERE], territory=elsewhere.territory)
    AgentRoleFactory(agent=actors[TWO_ORGANISATIONS], organisation=elsewhere, admin=True, services=["PMI"])
    TerritoryRoleFactory(agent=actors[TWO_ORGANISATIONS], territory=elsewhere.territory)

    lieu = LieuFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation, online=True)
    every_day = (0, 1, 2, 3, 4, 5, 6)
    today = timezone.localdate(NOW, timezone=organisation.tzinfo)
    plage = PlageOuvertureFactory(
        organisation=organisation, agent=owner, lieu=lieu, motifs=[motif], weekly=True, weekdays=every_day
    )
    absence = AbsenceFactory(organisation=organisation, agent=owner, weekly=True, weekdays=every_day)
    usager = UsagerFactory(organisation=organisation, complete=True, last_name=SECRET_NAME, notes=PROFILE_NOTE)
    UsagerAccount.objects.create(usager=usager, email=usager.email)
    proche = UsagerFactory(organisation=organisation, responsible=usager, last_name=SECRET_NAME)
    other_usager = UsagerFactory(with_email=True)
    UsagerAccount.objects.create(usager=other_usager, email=other_usager.email)
    rdv = RdvFactory(
        organisation=organisation, agents=[owner], motif=motif, lieu=lieu, usagers=[usager, proche], notes=RDV_NOTE
    )
    sector = SectorFactory(territory=territory)
    feed_token = CalendarFeed.regenerate(owner)
    # Its file is written in each test's own MEDIA_ROOT (tests/conftest.py): `write_export_file`.
    export = RdvExport.objects.create(
        organisation=organisation,
        requested_by=actors[ADMIN],
        first_month=dt.date(2030, 1, 1),
        last_month=dt.date(2030, 3, 1),
        with_usagers=True,
        state=RdvExport.State.DONE,
        file=f"statistiques/{organisation.pk}/rdvs.csv",
    )
    invitation = AgentInvitationFactory(organisation=organisation)
    objects = {
        "organisation": organisation,
        "territory": territory,
        "elsewhere": elsewhere,
        "owner": owner,
        "lieu": lieu,
        "archived_lieu": LieuFactory(organisation=organisation, archived=True),
        "motif": motif,
        "archived_motif": MotifFactory(organisation=organisation, archived=True),
        "plage": plage,
        "absence": absence,
        "day": today + dt.timedelta(days=7),
        "usager": usager,
        "proche": proche,
        "rdv": rdv,
        "participation": rdv.participations.get(usager=usager),
        "sector": sector,
        "area": SectorAreaFactory(sector=sector, commune=commune("77337")),
        "attribution": SectorAttributionFactory(sector=sector, organisation=organisation),
        "invitation": invitation,
        # An agent with nothing that would keep it in the organisation (« supprimer »).
        "leaver": AgentFactory(organisation=organisation, services=["PMI"]),
        # An invitation of the other organisation to an agent that has an account already.
        "invitation_to_colleague": AgentInvitationFactory(organisation=elsewhere, email=actors[SAME_SERVICE].email),
        "feed_token": feed_token,
        "export": export,  # the admin asked for it: its page and its file are for that admin alone
        "stats_table": "rdvs-crees",
        "stats_format": "csv",
        "reset_uid": urlsafe_base64_encode(force_bytes(owner.pk)),
        "reset_token": default_token_generator.make_token(owner),
    }
    world = World(objects=objects)
    world.cookies[USAGER] = _usager_cookies(usager, checked_links=[objects["participation"].link_token])
    world.cookies[OTHER_USAGER] = _usager_cookies(other_usager, checked_links=[])
    for actor, agent in actors.items():
        objects[actor] = agent
        world.cookies[actor] = _agent_cookies(agent)
        world.home[actor] = (elsewhere if actor == ADMIN_ELSEWHERE else organisation).pk
    return world


# Which object a route's `<pk>` designates, by the start of the pattern's name (first match).
PK_OBJECTS = (
    ("organisations:lieu_reactivate", "archived_lieu"),
    ("organisations:lieu", "lieu"),
    ("usagers:", "usager"),
    ("sectorisation:", "sector"),
    ("planning:plage", "plage"),
    ("planning:absence", "absence"),
    ("rendezvous:", "rdv"),
    ("reservation:organisation_link", "organisation"),
    ("reservation:proche_edit", "proche"),
    ("reservation:", "rdv"),
    ("stats:", "export"),
)
# The other parameters, by name, then by pattern where one name means several things.
PARAMETERS = {
    "territory_id": "territory",
    "agent_id": "owner",
    "agent_pk": "owner",
    "invitation_pk": "invitation",
    "motif_id": "motif",
    "area_id": "area",
    "attribution_id": "attribution",
    "day": "day",
    "uidb64": "reset_uid",
    "table": "stats_table",
    "format": "stats_format",
}
BY_PATTERN = {
    ("motifs:unarchive", "motif_id"): "archived_motif",
    ("agents:respond_to_invitation", "invitation_pk"): "invitation_to_colleague",
    ("agents:remove", "agent_pk"): "leaver",
    ("planning:calendar", "token"): "feed_token",
    ("agents:password_reset_confirm", "token"): "reset_token",
}


def _token(world: World, pattern: Pattern) -> str:
    if pattern.name == "agents:accept_invitation":
        return world.objects["invitation"].token
    if pattern.name.startswith("reservation:rdv_link"):
        return world.objects["participation"].link_token
    raise AssertionError(f"no token for {pattern.name}: add it to tests/access_world.py")


def booking_choice(world: World) -> dict:
    """The answers of « Prendre rendez-vous » up to the créneau, as its query string carries them:
    the world's motif at its lieu, tomorrow at 11:00."""
    motif = world.objects["motif"]
    return {
        "commune": "77337",
        "motif": f"{motif.category_id}-{motif.location_type}",
        "lieu": world.objects["lieu"].pk,
        "creneau": FREE_TIME,
    }


def _searching(world: World) -> dict:
    # The start of the name: the search box shows what was typed, the results the whole name.
    return {"q": SECRET_NAME[:12]}


def _tomorrow(world: World) -> dict:
    return {"date": FREE_TIME[:10]}


# The query string of the pages that need one to show what they are for: the searches look for
# the usager (its name must then show to this organisation's agents only), the day views show the
# RDV's day, the booking's last steps get the answers of the first ones.
QUERIES = {
    "usagers:list": _searching,
    "usagers:search": _searching,
    "rendezvous:usager_picker": _searching,
    "rendezvous:list": lambda world: {"usager": world.objects["usager"].pk},
    "rendezvous:agenda_secretariat": _tomorrow,
    "rendezvous:agenda_agent": _tomorrow,
    "reservation:informations": booking_choice,
    "reservation:verify": booking_choice,
    "reservation:home": lambda world: {"commune": "77337"},
    "reservation:street": lambda world: {"commune": "77337"},
    "reservation:services": lambda world: {"commune": "77337", "rue": "-"},
    "reservation:motifs": lambda world: {"commune": "77337", "rue": "-", "service": world.objects["motif"].service_id},
    "reservation:lieux": lambda world: {k: v for k, v in booking_choice(world).items() if k in ("commune", "motif")},
    "reservation:creneaux": lambda world: {k: v for k, v in booking_choice(world).items() if k != "creneau"},
}


def url_for(world: World, pattern: Pattern, actor: str) -> str:
    """The pattern's URL with the world's objects, and the actor's own organisation: the admin of
    another organisation asks for this organisation's objects through its own (an id swap)."""
    url = pattern.reverse(**kwargs_for(world, pattern, actor))
    query = QUERIES.get(pattern.name)
    return f"{url}?{urlencode(query(world))}" if query else url


def kwargs_for(world: World, pattern: Pattern, actor: str) -> dict:
    """The values of the pattern's parameters for this actor (see url_for)."""
    kwargs: dict = {}
    for _converter, name in pattern.parameters:
        key = BY_PATTERN.get((pattern.name, name)) or PARAMETERS.get(name)
        if name == "organisation_id":
            kwargs[name] = world.home.get(actor, world.objects["organisation"].pk)
        elif name == "pk":
            key = next((key for prefix, key in PK_OBJECTS if pattern.name.startswith(prefix)), None)
            assert key is not None, f"no object for <pk> in {pattern.name}: add it to PK_OBJECTS"
            kwargs[name] = world.objects[key].pk
        elif name == "slug":
            kwargs[name] = slugify(world.objects["organisation"].name)
        elif key is not None:
            value = world.objects[key]
            kwargs[name] = getattr(value, "pk", value)
        elif name == "token":
            kwargs[name] = _token(world, pattern)
        else:
            raise AssertionError(f"no value for <{name}> in {pattern.name}: add it to tests/access_world.py")
    return kwargs
