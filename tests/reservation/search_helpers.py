"""A small Seine-et-Marne for the search steps of « Prendre rendez-vous »: organisations, lieux,
online motifs and weekly plages, sectors; the clock frozen on a Monday without public holiday."""

import datetime as dt
import zoneinfo
from importlib import import_module

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from motifs.models import Motif
from organisations.models import Lieu, Organisation, Territory
from rendezvous.models import Rdv
from rendezvous.online import book
from sectorisation.models import Sector, SectorArea, SectorAttribution
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import PlageOuvertureFactory
from usagers.middleware import USAGER_KEY, USAGER_SESSION_AGE
from usagers.models import Usager

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MONDAY = dt.date(2030, 3, 4)  # no public holiday that week nor the next ones
NOW = dt.datetime(2030, 3, 4, 8, 0, tzinfo=PARIS)
TUESDAY = MONDAY + dt.timedelta(days=1)
TUE, THU = 1, 3
NOISIEL, CHELLES, MEAUX = "77337", "77108", "77284"
Level = Motif.SectorisationLevel


def seine_et_marne() -> Territory:
    return TerritoryFactory(departement_number="77", name="Seine-et-Marne")


def organisation(territory: Territory, name: str, **fields) -> Organisation:
    defaults = {
        "phone": "01 60 05 00 00",
        "email": f"{name.split()[-1].lower()}@departement77.fr",
        "opening_hours": {"monday": [["08:30", "12:00"], ["13:30", "17:00"]], "friday": [["08:30", "12:00"]]},
    }
    return OrganisationFactory(territory=territory, name=name, **{**defaults, **fields})


def lieu(organisation: Organisation, name: str, address: str = "", **fields) -> Lieu:
    return LieuFactory(
        organisation=organisation, name=name, address=address or f"1 place de la Mairie ({name})", **fields
    )


def online_motif(
    organisation: Organisation, name: str, location_type: str = Motif.LocationType.PUBLIC_OFFICE, **fields
):
    category = MotifCategoryFactory(name=name)
    return MotifFactory(
        organisation=organisation, category=category, location_type=location_type, online=True, **fields
    )


def plage(
    motif: Motif, lieu: Lieu | None, *, weekdays=(TUE, THU), start=9, end=12, agent=None, first_day=MONDAY, **extra
):
    """Every Tuesday and Thursday from 9:00 to 12:00 from MONDAY on, for a new agent by default."""
    organisation = motif.organisation
    return PlageOuvertureFactory(
        organisation=organisation,
        agent=agent or AgentFactory(organisation=organisation, services=["PMI"]),
        lieu=lieu,
        motifs=[motif],
        first_day=first_day,
        weekly=True,
        weekdays=weekdays,
        start_time=dt.time(start),
        end_time=dt.time(end),
        **extra,
    )


def sector(territory: Territory, name: str, codes: list[str], organisation: Organisation, agents=()) -> Sector:
    """A sector of whole communes attributed to the organisation (and to some of its agents)."""
    created = Sector.objects.create(territory=territory, name=name)
    for code in codes:
        SectorArea.objects.create(sector=created, commune_id=code)
    SectorAttribution.objects.create(sector=created, organisation=organisation)
    for agent in agents:
        SectorAttribution.objects.create(sector=created, organisation=organisation, agent=agent)
    return created


def url(name: str, **params) -> str:
    return reverse(f"reservation:{name}", query={key: str(value) for key, value in params.items()} or None)


def attr(element, name: str) -> str:
    """An attribute of an element of `tests.rendezvous.helpers.dom`."""
    return dict(element.attributes)[name]


def sign_in_usager(client, usager: Usager) -> None:
    """The usager signed in on the client's device, as the email code leaves it (its own session)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[USAGER_KEY] = usager.pk
    session.set_expiry(timezone.now() + USAGER_SESSION_AGE)
    session.save()
    client.cookies[settings.USAGER_SESSION_COOKIE_NAME] = session.session_key


def at(hour: int, minute: int = 0, day: dt.date = TUESDAY) -> dt.datetime:
    """That time on `day` (TUESDAY by default) in Paris."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


def booked(world: dict, usager: Usager, hour: int = 9, minute: int = 30) -> Rdv:
    """An RDV `usager` booked online on TUESDAY at that time, for the motif and lieu of `world`
    (`{"motif": …, "lieu": …}`)."""
    return book(
        motif=world["motif"],
        start=at(hour, minute),
        lieu=world["lieu"],
        usagers=[usager],
        booking_token=f"{usager.pk}-{hour}-{minute}",
    )
