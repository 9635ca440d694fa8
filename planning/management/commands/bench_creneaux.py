"""`python manage.py bench_creneaux`: how fast the créneaux engine answers for an organisation of
N agents (default 100), each with 3 weekly plages of 4 hours, a few absences, and RDVs filling
70 % of the slots over 6 months.

It never touches the configured database's data: it creates a throw-away database next to it
(`<name>_bench_creneaux`), migrates it, seeds it with bulk inserts, measures, and drops it, even
when interrupted. Twice N agents are seeded: the measured motif is offered by the first N, a
second motif by all 2N (for `agents_x2_ratio`). Prints one JSON object.

`raw_fetch_p50_ms`, the floor, reads the engine's input rows through psycopg with no ORM: the
plages with hand-written SQL, the rest with the engine's own SQL (exceptions, absences, and the
RDVs' times from the copy kept on their agent links, merged per agent), over the same weeks as
`p50_ms` and turn about with it, so that both meet the same load on a shared machine.
"""

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import Agent
from motifs.models import Motif, MotifCategory
from organisations.models import Lieu, Organisation, Service, Territory
from planning.creneaux import (
    ABSENCES_SQL,
    BUSY_SQL,
    PLAGE_EXCEPTIONS_SQL,
    available_slots,
    next_availability,
)
from planning.intervals import Window
from planning.models import Absence, PlageOuverture
from planning.slots import LONGEST_RDV
from rdv.bench import BenchCommand, percentile
from rendezvous.models import Rdv

SEED = 2020
WEEKS = 26
DURATION_MIN = 30
# (weekday, start hour) of each agent's three weekly plages of 4 hours, shifted per agent.
PATTERNS = [((0, 9), (2, 13), (4, 9)), ((1, 9), (3, 13), (4, 13)), ((0, 13), (1, 13), (3, 9))]
FILL = 0.7


def _timed(function: Callable[[], Any], runs: int) -> list[float]:
    function()  # warm-up
    elapsed = []
    for _ in range(runs):
        t0 = time.perf_counter()
        function()
        elapsed.append((time.perf_counter() - t0) * 1000)
    return elapsed


def _timed_in_turn(first: Callable[[], Any], second: Callable[[], Any], runs: int) -> tuple[list[float], list[float]]:
    """Two functions measured turn about: on a shared machine both meet the same load, so their
    ratio means something."""
    first()  # warm-up
    second()
    elapsed: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        for function, times in zip((first, second), elapsed, strict=True):
            t0 = time.perf_counter()
            function()
            times.append((time.perf_counter() - t0) * 1000)
    return elapsed


# The plages as the engine's queryset reads them; the other reads are the engine's own SQL.
PLAGES_SQL = (
    "SELECT p.id, p.agent_id, p.lieu_id, p.first_day, p.start_time, p.end_time, p.recurrence "
    "FROM planning_plageouverture p JOIN planning_plageouverture_motifs m ON m.plageouverture_id = p.id "
    "WHERE p.organisation_id = %(org)s AND m.motif_id = %(motif)s AND p.lieu_id IS NOT NULL "
    "AND (p.recurrence_ends_on IS NULL OR p.recurrence_ends_on >= %(first)s) AND p.first_day <= %(last)s"
)


class Command(BenchCommand):
    database_suffix = "creneaux"
    help = "Mesure le moteur de créneaux (base jetable) et affiche un objet JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--agents", type=int, default=100, help="Agents offrant le motif mesuré.")
        parser.add_argument("--runs", type=int, default=30, help="Mesures par indicateur.")

    def bench(self, options) -> dict:
        rng = random.Random(SEED)
        count = options["agents"]
        runs = options["runs"]
        started = time.perf_counter()
        territory = Territory.objects.create(departement_number="77", name="Département de mesure")
        organisation = Organisation.objects.create(territory=territory, name="MDS mesurée")
        Service.objects.ensure_defaults()
        service = Service.objects.get(short_name="PMI")
        motifs = [
            Motif.objects.create(
                organisation=organisation,
                service=service,
                category=MotifCategory.objects.create(name=f"Consultation mesurée {n}", service=service),
                default_duration_in_min=DURATION_MIN,
                bookable_online=True,
                min_booking_delay=Motif.BookingDelay.ONE_HOUR,
                max_booking_delay=Motif.BookingDelay.SIX_MONTHS,
            )
            for n in range(2)
        ]
        lieux = Lieu.objects.bulk_create(
            [Lieu(organisation=organisation, name=f"Lieu {n}", address=f"{n} rue de la Mesure") for n in range(5)]
        )
        today = timezone.localdate()
        monday = today + dt.timedelta(days=7 - today.weekday())
        tz = organisation.tzinfo
        self.anchor = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
        self.now = self.anchor - dt.timedelta(hours=12)
        free = self._seed(organisation, motifs, lieux, 2 * count, count, monday, rng)
        with connection.cursor() as cursor:
            for table in (
                "planning_plageouverture",
                "planning_plageouverture_motifs",
                "planning_absence",
                "rendezvous_rdv",
                "rendezvous_rdv_agents",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
        seeded_s = time.perf_counter() - started

        motif = Motif.objects.select_related("organisation__territory").get(pk=motifs[0].pk)
        wide = Motif.objects.select_related("organisation__territory").get(pk=motifs[1].pk)
        weeks = [self.anchor + dt.timedelta(weeks=n % 20) for n in range(runs)]

        def week(m: Motif, index: list[int]) -> Callable[[], Any]:
            def run() -> Any:
                start = weeks[index[0] % len(weeks)]
                index[0] += 1
                return available_slots(motif=m, start=start, end=start + dt.timedelta(days=7), now=self.now)

            return run

        with CaptureQueriesContext(connection) as captured:
            slots = week(motif, [0])()

        def raw_week(index: list[int]) -> Callable[[], Any]:
            def run() -> Any:
                start = weeks[index[0] % len(weeks)]
                index[0] += 1
                return self._raw_fetch(motif, start, start + dt.timedelta(days=7))

            return run

        # The engine and the floor over the same weeks, turn about.
        week_ms, raw_ms = _timed_in_turn(week(motif, [0]), raw_week([0]), runs)
        wide_ms = _timed(week(wide, [0]), runs)
        month_ms = _timed(
            lambda: available_slots(
                motif=motif, start=self.anchor, end=self.anchor + dt.timedelta(days=28), now=self.now
            ),
            max(5, runs // 3),
        )
        first_found = next_availability(motif=motif, after=self.anchor, now=self.now)
        next_found_ms = _timed(lambda: next_availability(motif=motif, after=self.anchor, now=self.now), runs)

        self._fill(free, motif)
        horizon = self.anchor + dt.timedelta(weeks=WEEKS)
        assert next_availability(motif=motif, after=self.anchor, now=self.now, horizon=horizon) is None
        none_ms = _timed(
            lambda: next_availability(motif=motif, after=self.anchor, now=self.now, horizon=horizon),
            max(3, runs // 6),
        )
        week_p50 = statistics.median(week_ms)
        raw_p50 = statistics.median(raw_ms)
        return {
            "agents": count,
            "window_days": 7,
            "slots": len(slots),
            "queries": len(captured),
            "p50_ms": round(week_p50, 2),
            "p95_ms": round(percentile(week_ms, 0.95), 2),
            "month_p50_ms": round(statistics.median(month_ms), 2),
            "next_dispo_p50_ms": round(statistics.median(next_found_ms), 2),
            "next_dispo_found": first_found.start.isoformat() if first_found else None,
            "next_dispo_none_ms": round(statistics.median(none_ms), 2),
            "raw_fetch_p50_ms": round(raw_p50, 2),
            "engine_to_raw_ratio": round(week_p50 / raw_p50, 2),
            "agents_x2_p50_ms": round(statistics.median(wide_ms), 2),
            "agents_x2_ratio": round(statistics.median(wide_ms) / week_p50, 2),
            "rdvs": Rdv.objects.count(),
            "seed_seconds": round(seeded_s, 1),
        }

    def _seed(self, organisation, motifs, lieux, agents_count, measured, monday, rng) -> list[tuple]:
        """Agents, plages, absences and RDVs; returns the free slots of the measured motif's
        agents (agent id, lieu id, start) that `_fill` books later."""
        Agent.objects.bulk_create(
            [
                Agent(email=f"agent{n}@mesure.fr", first_name="Agent", last_name=f"n°{n}", password="!")
                for n in range(agents_count)
            ]
        )
        agents = list(Agent.objects.filter(email__endswith="@mesure.fr").order_by("pk"))
        days = ("MO", "TU", "WE", "TH", "FR")
        plages = []
        for index, agent in enumerate(agents):
            for weekday, hour in PATTERNS[index % len(PATTERNS)]:
                plages.append(
                    PlageOuverture(
                        organisation=organisation,
                        agent=agent,
                        title="Consultation",
                        lieu=lieux[index % len(lieux)],
                        first_day=monday - dt.timedelta(weeks=4) + dt.timedelta(days=weekday),
                        start_time=dt.time(hour),
                        end_time=dt.time(hour + 4),
                        recurrence=f"RRULE:FREQ=WEEKLY;BYDAY={days[weekday]}",
                    )
                )
        PlageOuverture.objects.bulk_create(plages, batch_size=2000)
        through = PlageOuverture.motifs.through
        links = [through(plageouverture_id=plage.pk, motif_id=motifs[1].pk) for plage in plages]
        links += [through(plageouverture_id=plage.pk, motif_id=motifs[0].pk) for plage in plages[: 3 * measured]]
        through.objects.bulk_create(links, batch_size=5000)

        tz = organisation.tzinfo
        absences = []
        absent: set[tuple[int, dt.date]] = set()
        for agent in agents:
            for _ in range(3):  # a few days off over the six months
                day = monday + dt.timedelta(days=rng.randrange(WEEKS * 7))
                absent.add((agent.pk, day))
                absences.append(
                    Absence(
                        organisation=organisation,
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

        rdvs = []
        rdv_agents = []
        free = []
        for plage in plages:
            weekday = plage.first_day.weekday()
            for week in range(WEEKS):
                day = monday + dt.timedelta(weeks=week, days=weekday)
                if (plage.agent_id, day) in absent:
                    continue
                start = dt.datetime.combine(day, plage.start_time, tzinfo=tz)
                for n in range(4 * 60 // DURATION_MIN):
                    slot_start = start + dt.timedelta(minutes=n * DURATION_MIN)
                    if rng.random() < FILL:
                        rdvs.append(self._rdv(organisation, motifs[1], plage.lieu_id, slot_start))
                        rdv_agents.append(plage.agent_id)
                    else:
                        free.append((plage.agent_id, plage.lieu_id, slot_start))
        self._insert_rdvs(rdvs, rdv_agents)
        measured_ids = {agent.pk for agent in agents[:measured]}
        return [item for item in free if item[0] in measured_ids]

    def _rdv(self, organisation, motif, lieu_id, starts_at) -> Rdv:
        return Rdv(
            organisation=organisation,
            motif=motif,
            lieu_id=lieu_id,
            starts_at=starts_at,
            duration_in_min=DURATION_MIN,
            ends_at=starts_at + dt.timedelta(minutes=DURATION_MIN),
        )

    def _insert_rdvs(self, rdvs: list[Rdv], agent_ids: list[int]) -> None:
        created = Rdv.objects.bulk_create(rdvs, batch_size=5000)
        through = Rdv.agents.through
        through.objects.bulk_create(
            [through(rdv_id=rdv.pk, agent_id=agent_id) for rdv, agent_id in zip(created, agent_ids, strict=True)],
            batch_size=10000,
        )

    def _fill(self, free: list[tuple], motif: Motif) -> None:
        """Book every remaining slot of the measured agents: the horizon is full."""
        self._insert_rdvs(
            [self._rdv(motif.organisation, motif, lieu_id, start) for _agent, lieu_id, start in free],
            [agent_id for agent_id, _lieu, _start in free],
        )
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE rendezvous_rdv")
            cursor.execute("VACUUM ANALYZE rendezvous_rdv_agents")

    def _raw_fetch(self, motif: Motif, start: dt.datetime, end: dt.datetime) -> None:
        """The engine's input rows read with plain SQL through psycopg, with the engine's own
        SQL where it has some: the floor. The window starts and ends at local midnights."""
        tz = motif.organisation.tzinfo
        window = Window(start, end)
        exceptions_first, exceptions_last = window.date_range
        params: dict[str, Any] = {
            "org": motif.organisation_id,
            "motif": motif.pk,
            "first": start.astimezone(tz).date(),
            "last": (end - dt.timedelta(microseconds=1)).astimezone(tz).date(),
            "start": start,
            "end": end,
            "exceptions_first": exceptions_first,
            "exceptions_last": exceptions_last,
            "earliest": start - LONGEST_RDV,
            "cancelled": [str(status) for status in Rdv.CANCELLED_STATUSES],
        }
        raw = connection.connection
        with raw.cursor() as cursor:
            cursor.execute(PLAGES_SQL, params)
            plages = cursor.fetchall()
            params["plages"] = [row[0] for row in plages]
            params["agents"] = sorted({row[1] for row in plages})
            for sql in (PLAGE_EXCEPTIONS_SQL, ABSENCES_SQL, BUSY_SQL):
                cursor.execute(sql, params)
                cursor.fetchall()
