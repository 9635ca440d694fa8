"""`python manage.py bench_reservation`: how fast « Prendre rendez-vous » answers an usager, measured
as a phone sees it: full requests through Django's test client, middlewares and templates included.

The département: 20 organisations (`--organisations`), 1 000 agents (`--agents`) and 100 lieux
(`--lieux`) shared out among them, one motif « sur place » offered online by every organisation
(same name, same type: one merged card), no sector (the territory has none: every organisation is
offered to every address, the most the lieu step can have to show). Each agent has three weekly
plages of 4 hours at lieux of its organisation over 13 weeks (`--weeks`, the motif's maximum
delay is three months) and two days of absence; RDVs of 30 minutes fill 70 % of the plages' time
(their agent links carry the copy of their times that PostgreSQL's triggers keep, migration
`rendezvous/0002_rdv_agents_time_copy`: the rows are inserted by COPY and the triggers fill it).

Measured at a fixed instant (time-machine, Monday 4 March 2030 at 8:00, Paris; no public holiday
that day nor that week), after warm-up requests:
- the lieu step (`reservation:lieux`): every lieu with its next availability;
- the créneau step (`reservation:creneaux`): a week of start times of one lieu, lieux and weeks
  taken in turn;
- the confirmation (`reservation:verify`, POST « Confirmer le rendez-vous ») by a signed-in
  usager, each time another usager and another free créneau, after « Vos informations » and the
  verify page (not timed). The confirmation email is written to the outbox and its task queued on
  an in-memory broker: nothing reaches the shared Redis, whose workers read another database.

Like every `bench_<subject>`, it works in a throw-away database (`<name>_bench_reservation`,
created, migrated, seeded, dropped) and prints one JSON object.
"""

import datetime as dt
import random
import re
import statistics
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import time_machine
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent, AgentRole
from motifs.models import Motif, MotifCategory
from organisations.models import Lieu, Organisation, Service, Territory
from planning.creneaux import available_slots
from planning.models import Absence, PlageOuverture
from planning.recurrence import Frequency, Rule
from planning.rules import recurrence_from_rule
from rdv.bench import BenchCommand, percentile
from rdv.celery import app
from rendezvous.models import Rdv
from usagers.middleware import USAGER_KEY, USAGER_SESSION_AGE, cookie_name
from usagers.models import Usager

SEED = 2026
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOW = dt.datetime(2030, 3, 4, 8, 0, tzinfo=PARIS)  # a Monday
MONDAY = NOW.date()
COMMUNE = "77337"  # Noisiel, Seine-et-Marne
DURATION_MIN = 30
FILL = 0.7
ABSENT_DAYS = 2
WARM_UP = 5
# (weekday, start hour) of each agent's three weekly plages of 4 hours, shifted per agent.
PATTERNS = [((0, 9), (2, 13), (4, 9)), ((1, 9), (3, 13), (4, 13)), ((0, 13), (1, 13), (3, 9))]
TOKEN = re.compile(r'name="token" value="([^"]+)"')
CARD = 'class="fr-card fr-card--sm'


@dataclass(frozen=True)
class Seeded:
    motif_key: str  # `<category id>-<location type>`: the one card of the motif step
    motifs: dict[int, Motif]  # by organisation id (with its organisation and territory, as the pages load it)
    lieux: dict[int, int]  # lieu id → organisation id
    rdvs: int


class Command(BenchCommand):
    database_suffix = "reservation"
    help = "Mesure les étapes de « Prendre rendez-vous » (base jetable) ; affiche un objet JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--organisations", type=int, default=20, help="Organisations du département.")
        parser.add_argument("--agents", type=int, default=1000, help="Agents, répartis entre les organisations.")
        parser.add_argument("--lieux", type=int, default=100, help="Lieux, répartis entre les organisations.")
        parser.add_argument("--weeks", type=int, default=13, help="Semaines de plages et de RDV.")
        parser.add_argument("--runs", type=int, default=40, help="Requêtes mesurées par page.")

    def bench(self, options) -> dict:
        organisations, agents, lieux = options["organisations"], options["agents"], options["lieux"]
        if not 0 < organisations <= min(agents, lieux):
            raise CommandError("Il faut au moins un agent et un lieu par organisation.")
        if options["weeks"] < 2 or options["runs"] < 1:
            raise CommandError("Au moins 2 semaines et une mesure.")
        with time_machine.travel(NOW, tick=False), _memory_broker():
            started = time.perf_counter()
            seeded = self._seed(organisations, agents, lieux, options["weeks"], random.Random(SEED))
            seed_seconds = time.perf_counter() - started
            result = self._measure(seeded, options["runs"], options["weeks"])
        return {
            "agents": agents,
            **result,
            "organisations": organisations,
            "sectors": 0,
            "rdvs": seeded.rdvs,
            "runs": options["runs"],
            "seed_seconds": round(seed_seconds, 1),
        }

    # Measures

    def _measure(self, seeded: Seeded, runs: int, weeks: int) -> dict:
        host = next((h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".")), "localhost")
        motif_key = seeded.motif_key
        lieu_ids = list(seeded.lieux)

        visitor = Client(HTTP_HOST=host)
        lieux_url = reverse("reservation:lieux", query={"commune": COMMUNE, "motif": motif_key})
        lieux_page, queries_lieux = _once(visitor, lieux_url)
        lieux_ms = _timed(lambda: visitor.get(lieux_url), runs)

        creneaux_urls = [
            reverse(
                "reservation:creneaux",
                query={
                    "commune": COMMUNE,
                    "motif": motif_key,
                    "lieu": str(lieu_ids[n % len(lieu_ids)]),
                    "semaine": (MONDAY + dt.timedelta(weeks=n % min(weeks, 4))).isoformat(),
                },
            )
            for n in range(WARM_UP + runs)
        ]
        creneaux_page, queries_creneaux = _once(visitor, creneaux_urls[0])
        turn = iter(creneaux_urls)
        creneaux_ms = _timed(lambda: visitor.get(next(turn)), runs)

        confirm_ms, queries_confirm = self._confirmations(host, seeded, runs)
        return {
            "lieux": lieux_page.count(CARD),
            "lieu_step_p50_ms": round(statistics.median(lieux_ms), 2),
            "lieu_step_p95_ms": round(percentile(lieux_ms, 0.95), 2),
            "creneau_step_p50_ms": round(statistics.median(creneaux_ms), 2),
            "creneau_step_p95_ms": round(percentile(creneaux_ms, 0.95), 2),
            "confirm_p50_ms": round(statistics.median(confirm_ms), 2),
            "confirm_p95_ms": round(percentile(confirm_ms, 0.95), 2),
            "queries_lieu_step": queries_lieux,
            "queries_creneau_step": queries_creneaux,
            "queries_confirm": queries_confirm,
            "creneau_step_times": creneaux_page.count("/prendre-rdv/identite/?next="),
        }

    def _confirmations(self, host: str, seeded: Seeded, runs: int) -> tuple[list[float], int]:
        """« Confirmer le rendez-vous », each time by another usager for another free créneau of
        the second week (the first warms up); only the POST that books is timed."""
        count = WARM_UP + runs
        usagers = Usager.objects.bulk_create(
            [
                Usager(first_name="Camille", last_name=f"Mesure {n}", email=f"usager{n}@mesure.invalid")
                for n in range(count)
            ]
        )
        start = dt.datetime.combine(MONDAY + dt.timedelta(weeks=1), dt.time(), tzinfo=PARIS)
        free: list[list[tuple[int, dt.datetime]]] = []
        for lieu_id, organisation_id in seeded.lieux.items():
            slots = available_slots(
                motif=seeded.motifs[organisation_id],
                start=start,
                end=start + dt.timedelta(weeks=1),
                lieux=[lieu_id],
                online=True,
                now=NOW,
            )
            free.append([(lieu_id, slot.start) for slot in slots])
        # One créneau of each lieu in turn, then a second of each, and so on.
        chosen = [slot for row in _interleave(free) for slot in row][:count]
        if len(chosen) < count:
            raise CommandError("Pas assez de créneaux libres pour mesurer la confirmation.")
        elapsed: list[float] = []
        queries = 0
        for n, (usager, (lieu_id, slot_start)) in enumerate(zip(usagers, chosen, strict=True)):
            client = Client(HTTP_HOST=host)
            _sign_in(client, usager)
            query = {
                "commune": COMMUNE,
                "motif": seeded.motif_key,
                "lieu": str(lieu_id),
                "creneau": slot_start.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M"),
            }
            verify_url = reverse("reservation:verify", query=query)
            informations = client.post(
                reverse("reservation:informations", query=query), {"for_whom": "moi", "notify_by_email": "on"}
            )
            _expect(informations, 302, verify_url)
            verify = client.get(verify_url)
            _expect(verify, 200)
            found = TOKEN.search(verify.content.decode())
            if found is None:
                raise CommandError("« Vérifiez votre rendez-vous » sans jeton de confirmation.")
            # The queries are counted on the last warm-up: counting them costs time.
            captured = CaptureQueriesContext(connection)
            with captured if n == WARM_UP - 1 else nullcontext():
                t0 = time.perf_counter()
                booked = client.post(verify_url, {"token": found.group(1)})
                ms = (time.perf_counter() - t0) * 1000
            _expect(booked, 302, "/confirmation/")
            if n == WARM_UP - 1:
                queries = len(captured)
            if n >= WARM_UP:
                elapsed.append(ms)
        booked_online = Rdv.objects.filter(created_by=Rdv.CreatedBy.USAGER).count()
        if booked_online != count:
            raise CommandError(f"{booked_online} RDV pris en ligne au lieu de {count}.")
        return elapsed, queries

    # Data

    def _seed(self, organisations_count: int, agents_count: int, lieux_count: int, weeks: int, rng) -> Seeded:
        Service.objects.ensure_defaults()
        service = Service.objects.get(short_name="PMI")
        territory = Territory.objects.create(departement_number="77", name="Seine-et-Marne (mesure)")
        organisations = Organisation.objects.bulk_create(
            [
                Organisation(
                    territory=territory,
                    name=f"MDS n°{n:02}",
                    phone="01 60 00 00 00",
                    email=f"mds{n}@mesure.invalid",
                    opening_hours={"monday": [["08:30", "12:00"], ["13:30", "17:00"]]},
                )
                for n in range(organisations_count)
            ]
        )
        category = MotifCategory.objects.create(name="Consultation de puériculture (mesure)", service=service)
        motifs = Motif.objects.bulk_create(
            [
                Motif(
                    organisation=organisation,
                    service=service,
                    category=category,
                    name=category.name,
                    default_duration_in_min=DURATION_MIN,
                    location_type=Motif.LocationType.PUBLIC_OFFICE,
                    bookable_online=True,
                    min_booking_delay=Motif.BookingDelay.HALF_HOUR,
                    max_booking_delay=Motif.BookingDelay.THREE_MONTHS,
                )
                for organisation in organisations
            ]
        )
        lieux = Lieu.objects.bulk_create(
            [
                Lieu(
                    organisation=organisations[n % organisations_count],
                    name=f"Lieu n°{n:03}",
                    address=f"{n + 1} rue de la Mesure, 77186 Noisiel",
                )
                for n in range(lieux_count)
            ]
        )
        agents = Agent.objects.bulk_create(
            [
                Agent(email=f"agent{n}@mesure.invalid", first_name="Agent", last_name=f"n°{n}", password="!")
                for n in range(agents_count)
            ],
            batch_size=2000,
        )
        roles = AgentRole.objects.bulk_create(
            [
                AgentRole(agent=agent, organisation=organisations[n % organisations_count])
                for n, agent in enumerate(agents)
            ],
            batch_size=2000,
        )
        AgentRole.services.through.objects.bulk_create(
            [AgentRole.services.through(agentrole_id=role.pk, service_id=service.pk) for role in roles],
            batch_size=5000,
        )
        motif_of = {motif.organisation_id: motif for motif in motifs}
        plages = self._plages(organisations, lieux, agents, weeks, motif_of)
        absent = self._absences(organisations, agents, weeks, rng)
        rdvs = []
        for plage in plages:
            motif_id = motif_of[plage.organisation_id].pk
            for week in range(weeks):
                day = plage.first_day + dt.timedelta(weeks=week)
                if (plage.agent_id, day) in absent:
                    continue
                start = dt.datetime.combine(day, plage.start_time, tzinfo=PARIS)
                for n in range(4 * 60 // DURATION_MIN):
                    if rng.random() < FILL:
                        slot_start = start + dt.timedelta(minutes=n * DURATION_MIN)
                        rdvs.append((plage.organisation_id, motif_id, plage.lieu_id, plage.agent_id, slot_start))
        _copy_rdvs(rdvs)
        with connection.cursor() as cursor:
            for table in (
                "planning_plageouverture",
                "planning_plageouverture_motifs",
                "planning_absence",
                "rendezvous_rdv",
                "rendezvous_rdv_agents",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
        return Seeded(
            motif_key=f"{category.pk}-{Motif.LocationType.PUBLIC_OFFICE}",
            motifs=motif_of,
            lieux={lieu.pk: lieu.organisation_id for lieu in lieux},
            rdvs=len(rdvs),
        )

    def _plages(
        self, organisations: list, lieux: list, agents: list, weeks: int, motif_of: dict[int, Motif]
    ) -> list[PlageOuverture]:
        """Three weekly plages per agent, each at another lieu of its organisation, offering the
        organisation's motif, from the measured Monday for `weeks` weeks."""
        lieux_of: dict[int, list[Lieu]] = {}
        for lieu in lieux:
            lieux_of.setdefault(lieu.organisation_id, []).append(lieu)
        last_day = MONDAY + dt.timedelta(weeks=weeks, days=-1)
        plages = []
        for n, agent in enumerate(agents):
            organisation = organisations[n % len(organisations)]
            rank = n // len(organisations)  # the agent's rank in its organisation
            places = lieux_of[organisation.pk]
            for k, (weekday, hour) in enumerate(PATTERNS[rank % len(PATTERNS)]):
                plage = PlageOuverture(
                    organisation=organisation,
                    agent=agent,
                    title="Consultations",
                    lieu=places[(rank + k) % len(places)],
                    first_day=MONDAY + dt.timedelta(days=weekday),
                    start_time=dt.time(hour),
                    end_time=dt.time(hour + 4),
                    recurrence=recurrence_from_rule(Rule(Frequency.WEEKLY, weekdays=(weekday,), until=last_day)),
                )
                plage.recurrence_ends_on = plage.derive_ends_on()
                plages.append(plage)
        PlageOuverture.objects.bulk_create(plages, batch_size=2000)
        through = PlageOuverture.motifs.through
        through.objects.bulk_create(
            [through(plageouverture_id=plage.pk, motif_id=motif_of[plage.organisation_id].pk) for plage in plages],
            batch_size=5000,
        )
        return plages

    def _absences(self, organisations: list, agents: list, weeks: int, rng) -> set[tuple[int, dt.date]]:
        """A few whole days off per agent; returns (agent id, day) of each."""
        absences = []
        absent: set[tuple[int, dt.date]] = set()
        for n, agent in enumerate(agents):
            for _ in range(ABSENT_DAYS):
                day = MONDAY + dt.timedelta(days=rng.randrange(weeks * 7))
                absent.add((agent.pk, day))
                absences.append(
                    Absence(
                        organisation=organisations[n % len(organisations)],
                        agent=agent,
                        title="Congé",
                        first_day=day,
                        end_day=day,
                        start_time=dt.time(8),
                        end_time=dt.time(18),
                        recurrence_ends_on=day,
                    )
                )
        Absence.objects.bulk_create(absences, batch_size=2000)
        return absent


def _copy_rdvs(rows: list[tuple[int, int, int | None, int, dt.datetime]]) -> None:
    """(organisation, motif, lieu, agent, start) RDVs of DURATION_MIN, by COPY; the link's trigger
    copies each RDV's times and status onto it, as for any insert."""
    duration = dt.timedelta(minutes=DURATION_MIN)
    created = timezone.now()
    columns = (
        "id, organisation_id, motif_id, lieu_id, starts_at, duration_in_min, ends_at, notes, address, status, "
        "created_by, created_at, updated_at"
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM rendezvous_rdv")
        base = cursor.fetchone()[0]
        with cursor.copy(f"COPY rendezvous_rdv ({columns}) FROM STDIN") as copy:
            for offset, (organisation_id, motif_id, lieu_id, _agent, start) in enumerate(rows, 1):
                copy.write_row(
                    (
                        base + offset,
                        organisation_id,
                        motif_id,
                        lieu_id,
                        start,
                        DURATION_MIN,
                        start + duration,
                        "",
                        "",
                        Rdv.Status.UNKNOWN.value,
                        Rdv.CreatedBy.AGENT.value,
                        created,
                        created,
                    )
                )
        cursor.execute("SELECT setval(pg_get_serial_sequence('rendezvous_rdv', 'id'), %s)", [base + len(rows) or 1])
        with cursor.copy("COPY rendezvous_rdv_agents (rdv_id, agent_id) FROM STDIN") as copy:
            for offset, (_organisation, _motif, _lieu, agent_id, _start) in enumerate(rows, 1):
                copy.write_row((base + offset, agent_id))


def _interleave(columns: list[list[Any]]) -> Iterator[list[Any]]:
    """The first item of every list, then the second of every list, and so on."""
    for index in range(max((len(column) for column in columns), default=0)):
        yield [column[index] for column in columns if index < len(column)]


def _sign_in(client: Client, usager: Usager) -> None:
    """The usager signed in on the client's device, as the email code leaves it (its own session)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[USAGER_KEY] = usager.pk
    session.set_expiry(timezone.now() + USAGER_SESSION_AGE)
    session.save()
    client.cookies[cookie_name()] = session.session_key or ""


def _expect(response: HttpResponseBase, status: int, location: str = "") -> None:
    if response.status_code != status or location not in response.get("Location", ""):
        raise CommandError(f"{response.status_code} {response.get('Location', '')} au lieu de {status} {location}")


def _once(client: Client, url: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    _expect(response, 200)
    return response.content.decode(), len(captured)


def _timed(request: Callable[[], object], runs: int) -> list[float]:
    for _ in range(WARM_UP):
        request()
    elapsed = []
    for _ in range(runs):
        t0 = time.perf_counter()
        request()
        elapsed.append((time.perf_counter() - t0) * 1000)
    return elapsed


@contextmanager
def _memory_broker() -> Iterator[None]:
    """The confirmation emails' tasks go to an in-memory broker: the shared Redis's workers read
    the configured database, not this one."""
    previous = app.conf.broker_url
    app.conf.broker_url = "memory://localhost/"
    try:
        yield
    finally:
        app.conf.broker_url = previous
