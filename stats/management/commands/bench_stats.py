"""`python manage.py bench_stats`: « Vos statistiques globales » at a département's scale.

In a throw-away database (`<name>_bench_stats`): 500 000 RDVs over 5 years in one organisation,
100 000 in another and 5 000 in a third, loaded by COPY (statuses, creators, types and services
as a large MDS has them: growing adoption, quieter summers, most RDVs created a few days to a few
weeks ahead, 1 in 10 with two agents). The summary is accounted both ways: the largest
organisation is loaded with the summary's triggers off, then rebuilt by `stats_rebuild` (the
rebuild's time is reported); the second one with the triggers on, to measure what they cost
per RDV. The page is then measured through Django's test client, signed in as the large
organisation's admin, for 12, 24 and 60 months; its queries are counted there and for the
5 000-RDV organisation, and each query's plan read with EXPLAIN (ANALYZE) for the rows it reads.
Finally the background export of 12 months of RDVs runs once, timed.

Prints one JSON object with the issue's keys; the seeding and rebuild times, the p50 and the CPU
time per request, and the machine's load average go to stderr (other processes' load inflates
wall-clock times on a shared machine).
"""

import datetime as dt
import io
import json
import os
import random
import sys
import time

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent, AgentRole
from motifs.models import Motif, MotifCategory
from organisations.models import Lieu, Organisation, Service, Territory
from rdv.bench import BenchCommand, percentile
from rdv.dates import add_months
from rendezvous.models import Rdv
from stats import summary
from stats.exports import write_rdvs
from stats.figures import Filters
from stats.periods import Period

SIZES = [("MDS de mesure", 500_000, 40), ("MDS voisine", 100_000, 12), ("Petite MDS", 5_000, 4)]
YEARS = 5
# Out of 100 past RDVs.
PAST_STATUSES = [Rdv.Status.SEEN] * 76 + [Rdv.Status.EXCUSED] * 8 + [Rdv.Status.NOSHOW] * 7
PAST_STATUSES += [Rdv.Status.REVOKED] * 3 + [Rdv.Status.UNKNOWN] * 5 + [Rdv.Status.WAITING]
CREATORS = [Rdv.CreatedBy.AGENT] * 70 + [Rdv.CreatedBy.USAGER] * 25 + [Rdv.CreatedBy.PRESCRIPTEUR] * 5
# (name, service, location type, share of RDVs)
MOTIFS = [
    ("Consultation prénatale", "PMI", Motif.LocationType.PUBLIC_OFFICE, 14),
    ("Consultation nourrisson", "PMI", Motif.LocationType.PUBLIC_OFFICE, 18),
    ("Vaccination", "PMI", Motif.LocationType.PUBLIC_OFFICE, 8),
    ("Visite à domicile puéricultrice", "PMI", Motif.LocationType.HOME, 6),
    ("Entretien prénatal précoce", "PMI", Motif.LocationType.PHONE, 4),
    ("Premier accueil social", "Social", Motif.LocationType.PUBLIC_OFFICE, 16),
    ("Suivi RSA", "Social", Motif.LocationType.PUBLIC_OFFICE, 12),
    ("Aide au budget", "Social", Motif.LocationType.PUBLIC_OFFICE, 6),
    ("Entretien téléphonique social", "Social", Motif.LocationType.PHONE, 7),
    ("Visite à domicile sociale", "Social", Motif.LocationType.HOME, 3),
    ("Accueil et orientation", "Secrétariat", Motif.LocationType.PUBLIC_OFFICE, 4),
    ("Rappel administratif", "Secrétariat", Motif.LocationType.PHONE, 2),
]
LIEUX = 4
MONTH_SHARE = {1: 95, 2: 95, 3: 100, 4: 95, 5: 90, 6: 95, 7: 65, 8: 45, 9: 100, 10: 100, 11: 95, 12: 75}
STATS_TRIGGERS = [
    ("rendezvous_rdv", "stats_rdv_inserted_or_deleted"),
    ("rendezvous_rdv", "stats_rdv_updated"),
    ("rendezvous_rdv_agents", "stats_rdv_agent_changed"),
]


class Command(BenchCommand):
    database_suffix = "stats"
    help = "Mesure « Vos statistiques globales » sur 500 000 RDV (5 ans) dans une base jetable ; affiche un objet JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--runs", type=int, default=40, help="Requêtes mesurées par période.")

    def bench(self, options) -> dict:
        runs = options["runs"]
        self.now = timezone.now()
        self.random = random.Random(19)
        Service.objects.ensure_defaults()
        territory = Territory.objects.create(departement_number="77", name="Département de mesure")
        organisations = []
        timings: dict[str, float] = {}
        for index, (name, count, agents) in enumerate(SIZES):
            organisation = Organisation.objects.create(territory=territory, name=name)
            admin, agent_ids, motifs, lieux = self._organisation(organisation, agents, index)
            triggers_on = index != 0
            started = time.perf_counter()
            if not triggers_on:
                self._triggers("DISABLE")
            self._copy_rdvs(organisation, count, agent_ids, motifs, lieux)
            if not triggers_on:
                self._triggers("ENABLE")
                timings[f"copy_{count}_without_triggers_s"] = round(time.perf_counter() - started, 1)
                started = time.perf_counter()
                summary.rebuild(organisation_ids=[organisation.pk])
                timings[f"rebuild_{count}_s"] = round(time.perf_counter() - started, 1)
            else:
                timings[f"copy_{count}_with_triggers_s"] = round(time.perf_counter() - started, 1)
            organisations.append((organisation, admin))
        with connection.cursor() as cursor:
            for table in ("rendezvous_rdv", "rendezvous_rdv_agents", *(t.name for t in summary.TABLES)):
                cursor.execute(f"VACUUM ANALYZE {table}")
        started = time.perf_counter()
        differences = summary.check()
        timings["check_s"] = round(time.perf_counter() - started, 1)
        if differences:
            raise RuntimeError(f"Résumé inexact après le chargement : {differences}")

        (large, large_admin), _middle, (small, small_admin) = organisations
        host = next((h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".")), "localhost")
        client = Client(HTTP_HOST=host)
        client.force_login(large_admin)
        today = timezone.localdate(self.now, large.tzinfo)
        urls = {months: self._url(large, today, months) for months in (12, 24, 60)}
        result: dict = {"rdvs": Rdv.objects.count()}
        queries: dict[int, int] = {}
        rows_read = 0
        for months, url in urls.items():
            captured = self._once(client, url)
            queries[months] = len(captured)
            rows_read = max(rows_read, *(self._rows_read(sql) for sql in captured))
            elapsed, cpu = self._timed(client, url, runs)
            result[f"p95_ms_{months}m"] = round(percentile(elapsed, 0.95), 1)
            # On a shared machine the wall clock also counts other processes' turns: the CPU time
            # this process spent per request tells the page's own cost.
            timings[f"p50_ms_{months}m"] = round(percentile(elapsed, 0.5), 1)
            timings[f"cpu_p50_ms_{months}m"] = round(percentile(cpu, 0.5), 1)
        small_client = Client(HTTP_HOST=host)
        small_client.force_login(small_admin)
        small_queries = len(self._once(small_client, self._url(small, today, 60)))
        if len(set(queries.values())) != 1 or small_queries != queries[60]:
            raise RuntimeError(f"Requêtes différentes selon la période ou la taille : {queries}, {small_queries}")
        result["queries"] = queries[60]
        result["summary_rows_read"] = rows_read
        result["export_rows_per_s"] = self._export_rate(large, today)
        timings["queries_5000_rdvs"] = small_queries
        timings["load_average"] = round(os.getloadavg()[0], 1)
        print(f"bench_stats: {json.dumps(timings)}", file=sys.stderr)
        return result

    def _url(self, organisation: Organisation, today: dt.date, months: int) -> str:
        period = Period.last_months(months, today)
        return reverse(
            "stats:organisation",
            kwargs={"organisation_id": organisation.pk},
            query={"debut": f"{period.first_month:%Y-%m}", "fin": f"{period.last_month:%Y-%m}"},
        )

    def _once(self, client: Client, url: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} a répondu {response.status_code}")
        return [query["sql"] for query in captured.captured_queries]

    def _timed(self, client: Client, url: str, runs: int) -> tuple[list[float], list[float]]:
        """Wall-clock and CPU milliseconds of each request."""
        for _ in range(3):  # warm-up
            client.get(url)
        elapsed, cpu = [], []
        for _ in range(runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.get(url)
            elapsed.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        return elapsed, cpu

    def _rows_read(self, sql: str) -> int:
        """Rows the query's scans read (returned or removed by a filter), from EXPLAIN ANALYZE."""
        if not sql.lstrip().upper().startswith(("SELECT", "(SELECT")):
            return 0
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return _scanned(plan)

    def _export_rate(self, organisation: Organisation, today: dt.date) -> int:
        period = Period.last_months(12, today)
        started = time.perf_counter()
        rows = write_rdvs(
            io.BytesIO(), organisation=organisation, period=period, filters=Filters(), with_usagers=False, format="csv"
        )
        return round(rows / (time.perf_counter() - started))

    def _triggers(self, action: str) -> None:
        with connection.cursor() as cursor:
            for table, trigger in STATS_TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} {action} TRIGGER {trigger}")

    def _organisation(self, organisation: Organisation, agents: int, index: int):
        services = {service.short_name: service for service in Service.objects.all()}
        people = Agent.objects.bulk_create(
            [
                Agent(email=f"agent{index}-{n}@mesure.fr", first_name="Agent", last_name=f"n°{n}", password="!")
                for n in range(agents)
            ]
        )
        AgentRole.objects.bulk_create(
            [
                AgentRole(
                    agent=agent,
                    organisation=organisation,
                    level=AgentRole.Level.ADMIN if n == 0 else AgentRole.Level.BASIC,
                )
                for n, agent in enumerate(people)
            ]
        )
        motifs = []
        for name, service, location_type, share in MOTIFS:
            motif = Motif.objects.create(
                organisation=organisation,
                service=services[service],
                category=MotifCategory.objects.get_or_create(name=name)[0],
                location_type=location_type,
                default_duration_in_min=30,
                color="#000091",
            )
            motifs.append((motif, share))
        lieux = [
            Lieu.objects.create(organisation=organisation, name=f"Site n°{n}", address=f"{n} rue de la Mesure")
            for n in range(LIEUX)
        ]
        return people[0], [agent.pk for agent in people], motifs, lieux

    def _copy_rdvs(self, organisation, count: int, agent_ids: list[int], motifs, lieux) -> None:
        """`count` RDVs created over the last 5 years (growing, quieter in summer), starting a
        few days to weeks after their creation, by COPY; then their agents, by COPY."""
        rng = self.random
        start = add_months(timezone.localdate(self.now, organisation.tzinfo).replace(day=1), -12 * YEARS + 1)
        months = Period(start, add_months(start, 12 * YEARS - 1)).months
        weights = [MONTH_SHARE[month.month] * (40 + 60 * index / len(months)) for index, month in enumerate(months)]
        per_month = [round(count * weight / sum(weights)) for weight in weights]
        per_month[-1] += count - sum(per_month)
        motif_choices = [motif for motif, share in motifs for _ in range(share)]
        tz = organisation.tzinfo
        columns = (
            "id, organisation_id, motif_id, lieu_id, starts_at, duration_in_min, ends_at, notes, address, status, "
            "status_changed_at, created_by, created_at, updated_at"
        )
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM rendezvous_rdv")
            base = next_id = cursor.fetchone()[0]
            links = []
            with cursor.copy(f"COPY rendezvous_rdv ({columns}) FROM STDIN") as copy:
                for month, n in zip(months, per_month, strict=True):
                    # In UTC: wall-clock arithmetic would make RDVs end before they start at DST changes.
                    month_start = dt.datetime.combine(month, dt.time(8), tzinfo=tz).astimezone(dt.UTC)
                    days = (add_months(month, 1) - month).days
                    for _ in range(n):
                        next_id += 1
                        created_at = month_start + dt.timedelta(minutes=rng.randrange(days * 24 * 60))
                        created_at = min(created_at, self.now - dt.timedelta(minutes=1))
                        starts_at = created_at + dt.timedelta(days=rng.randrange(1, 35), minutes=15 * rng.randrange(40))
                        motif = rng.choice(motif_choices)
                        past = starts_at < self.now
                        status = rng.choice(PAST_STATUSES) if past else Rdv.Status.UNKNOWN
                        lieu = rng.choice(lieux).pk if motif.location_type == Motif.LocationType.PUBLIC_OFFICE else None
                        copy.write_row(
                            (
                                next_id,
                                organisation.pk,
                                motif.pk,
                                lieu,
                                starts_at,
                                30,
                                starts_at + dt.timedelta(minutes=30),
                                "",
                                "",
                                status.value,
                                starts_at + dt.timedelta(minutes=30) if status != Rdv.Status.UNKNOWN else None,
                                rng.choice(CREATORS).value,
                                created_at,
                                created_at,
                            )
                        )
                        first = rng.choice(agent_ids)
                        links.append((next_id, first))
                        if rng.random() < 0.1:
                            second = rng.choice(agent_ids)
                            if second != first:
                                links.append((next_id, second))
            cursor.execute("SELECT setval(pg_get_serial_sequence('rendezvous_rdv', 'id'), %s)", [next_id or 1])
            with cursor.copy("COPY rendezvous_rdv_agents (rdv_id, agent_id) FROM STDIN") as copy:
                for link in links:
                    copy.write_row(link)
        assert next_id - base == count


def _scanned(plan) -> int:
    """Rows read by every scan node of a plan: those returned and those its filter removed."""
    total = 0
    if isinstance(plan, dict):
        if "Scan" in plan.get("Node Type", "") and plan["Node Type"] != "Bitmap Index Scan":
            loops = plan.get("Actual Loops", 1)
            total += (plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * loops
        for value in plan.values():
            total += _scanned(value)
    elif isinstance(plan, list):
        for value in plan:
            total += _scanned(value)
    return total
