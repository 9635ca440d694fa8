"""`python manage.py bench_agenda`: how fast « Vos agendas » answers, measured as an agent sees it:
full requests through Django's test client with a signed-in agent, middlewares, templates and all.

- the week view of an agent with 200 RDVs in the current week (15 minutes each, one or two
  usagers, every status among past ones), weekly plages d'ouverture and absences;
- the secrétariat's « Journée de l'équipe » for an organisation of 30 agents, each with a plage,
  an absence and 8 RDVs that day: a time grid of 30 columns, 26 time cells each.

It never touches the configured database's data: it creates a throw-away database next to it
(`<name>_bench_agenda`), migrates it, seeds it with bulk inserts, measures, and drops it. Prints
one JSON object.
"""

import datetime as dt
import statistics
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent, AgentRole
from motifs.models import Motif, MotifCategory
from organisations.models import Lieu, Organisation, Service, Territory
from planning.models import Absence, PlageOuverture
from rdv.bench import BenchCommand, percentile
from rendezvous.models import Participation, Rdv
from usagers.models import Usager

WEEK_RDVS = 200
TEAM_AGENTS = 30
TEAM_RDVS_PER_AGENT = 8
COLORS = ["#6a6af4", "#ffe800", "#000091", "#ff6f4c", "#1f8d49", "#e3e3fd", "#a558a0", "#009081"]
STATUSES = [
    Rdv.Status.SEEN,
    Rdv.Status.SEEN,
    Rdv.Status.UNKNOWN,
    Rdv.Status.NOSHOW,
    Rdv.Status.EXCUSED,
    Rdv.Status.WAITING,
    Rdv.Status.REVOKED,
]


class Command(BenchCommand):
    database_suffix = "agenda"
    help = "Mesure les agendas (semaine chargée, journée de l'équipe) dans une base jetable ; affiche un objet JSON."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--runs", type=int, default=40, help="Requêtes mesurées par page.")

    def bench(self, options) -> dict:
        runs = options["runs"]
        started = time.perf_counter()
        Service.objects.ensure_defaults()
        self.pmi = Service.objects.get(short_name="PMI")
        self.secretariat_service = Service.objects.get(short_name="Secrétariat")
        territory = Territory.objects.create(departement_number="77", name="Département de mesure")
        self.now = timezone.now()
        week_org = Organisation.objects.create(territory=territory, name="MDS de la semaine chargée")
        team_org = Organisation.objects.create(territory=territory, name="MDS de l'équipe")
        tz = week_org.tzinfo
        today = timezone.localdate(timezone=tz)
        monday = today - dt.timedelta(days=today.weekday())

        busy = self._agents(week_org, 1, "semaine")[0]
        self._plages(week_org, [busy], monday)
        self._absences(week_org, [busy], monday)
        starts = [
            dt.datetime.combine(monday + dt.timedelta(days=n % 5), dt.time(8), tzinfo=tz)
            + dt.timedelta(minutes=15 * (n // 5))
            for n in range(WEEK_RDVS)
        ]
        self._rdvs(week_org, [(busy, start) for start in starts], duration=15)

        team = self._agents(team_org, TEAM_AGENTS, "equipe")
        secretariat = self._agents(team_org, 1, "secretariat", service=self.secretariat_service)[0]
        self._plages(team_org, team, monday)
        self._absences(team_org, team, monday)
        day = today if today.weekday() < 5 else monday
        team_starts = [
            (agent, dt.datetime.combine(day, dt.time(9), tzinfo=tz) + dt.timedelta(minutes=30 * n))
            for agent in team
            for n in range(TEAM_RDVS_PER_AGENT)
        ]
        self._rdvs(team_org, team_starts, duration=30)
        with connection.cursor() as cursor:
            for table in ("rendezvous_rdv", "rendezvous_rdv_agents", "rendezvous_participation"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        seeded_s = time.perf_counter() - started

        host = next((h for h in settings.ALLOWED_HOSTS if h and not h.startswith(".")), "localhost")
        week_client = Client(HTTP_HOST=host)
        week_client.force_login(busy)
        week_url = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": week_org.pk, "agent_id": busy.pk})
        week_url += f"?vue=semaine&date={monday.isoformat()}"
        team_client = Client(HTTP_HOST=host)
        team_client.force_login(secretariat)
        team_url = reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": team_org.pk})
        team_url += f"?date={day.isoformat()}"

        week_page, week_queries = self._once(week_client, week_url)
        team_page, team_queries = self._once(team_client, team_url)
        week_ms = self._timed(lambda: week_client.get(week_url), runs)
        team_ms = self._timed(lambda: team_client.get(team_url), runs)
        return {
            "week_view_rdvs": week_page.count('class="rdv-agenda__rdv '),
            "week_view_queries": week_queries,
            "week_view_p50_ms": round(statistics.median(week_ms), 2),
            "week_view_p95_ms": round(percentile(week_ms, 0.95), 2),
            "week_view_bytes": len(week_page.encode()),
            # One heading cell per agent's column, one link per RDV block (rendezvous/agenda/html.py).
            "day_view_agents": team_page.count('class="rdv-agenda__head'),
            "day_view_rdvs": team_page.count('class="rdv-agenda__rdv '),
            "day_view_bytes": len(team_page.encode()),
            "day_view_queries": team_queries,
            "day_view_p50_ms": round(statistics.median(team_ms), 2),
            "day_view_p95_ms": round(percentile(team_ms, 0.95), 2),
            "runs": runs,
            "seed_seconds": round(seeded_s, 1),
        }

    def _once(self, client: Client, url: str) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} a répondu {response.status_code}")
        return response.content.decode(), len(captured)

    def _timed(self, request: Callable[[], object], runs: int) -> list[float]:
        for _ in range(3):  # warm-up
            request()
        elapsed = []
        for _ in range(runs):
            t0 = time.perf_counter()
            request()
            elapsed.append((time.perf_counter() - t0) * 1000)
        return elapsed

    def _agents(self, organisation: Organisation, count: int, prefix: str, service: Service | None = None) -> list:
        agents = Agent.objects.bulk_create(
            [
                Agent(email=f"{prefix}{n}@mesure.fr", first_name="Agent", last_name=f"{prefix} n°{n}", password="!")
                for n in range(count)
            ]
        )
        roles = AgentRole.objects.bulk_create([AgentRole(agent=agent, organisation=organisation) for agent in agents])
        AgentRole.services.through.objects.bulk_create(
            [AgentRole.services.through(agentrole_id=role.pk, service_id=(service or self.pmi).pk) for role in roles]
        )
        return agents

    def _plages(self, organisation: Organisation, agents: list, monday: dt.date) -> None:
        lieu = Lieu.objects.create(
            organisation=organisation, name="Maison des solidarités", address="1 rue de la Mesure"
        )
        plages = []
        for agent in agents:
            for title, start, end in (("Consultations du matin", 8, 12), ("Consultations de l'après-midi", 13, 18)):
                plages.append(
                    PlageOuverture(
                        organisation=organisation,
                        agent=agent,
                        title=title,
                        lieu=lieu,
                        first_day=monday - dt.timedelta(weeks=4),
                        start_time=dt.time(start),
                        end_time=dt.time(end),
                        recurrence="RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
                    )
                )
        PlageOuverture.objects.bulk_create(plages)

    def _absences(self, organisation: Organisation, agents: list, monday: dt.date) -> None:
        absences = []
        for agent in agents:
            absences.append(
                Absence(
                    organisation=organisation,
                    agent=agent,
                    title="Réunion d'équipe",
                    first_day=monday - dt.timedelta(weeks=2),
                    end_day=monday - dt.timedelta(weeks=2),
                    start_time=dt.time(12),
                    end_time=dt.time(13),
                    recurrence="RRULE:FREQ=WEEKLY;BYDAY=WE",
                )
            )
            day = monday + dt.timedelta(days=4)
            absences.append(
                Absence(
                    organisation=organisation,
                    agent=agent,
                    title="Formation",
                    first_day=day,
                    end_day=day,
                    start_time=dt.time(18),
                    end_time=dt.time(19),
                    recurrence_ends_on=day,
                )
            )
        Absence.objects.bulk_create(absences)

    def _rdvs(self, organisation: Organisation, bookings: list[tuple], *, duration: int) -> None:
        motifs = [
            Motif.objects.create(
                organisation=organisation,
                service=self.pmi,
                category=MotifCategory.objects.get_or_create(name=f"Consultation mesurée {n}")[0],
                default_duration_in_min=duration,
                color=color,
            )
            for n, color in enumerate(COLORS)
        ]
        usagers = Usager.objects.bulk_create(
            [Usager(first_name=f"Prénom{n}", last_name=f"Nom mesuré {n}") for n in range(len(bookings) + 50)]
        )
        rdvs = Rdv.objects.bulk_create(
            [
                Rdv(
                    organisation=organisation,
                    motif=motifs[n % len(motifs)],
                    lieu=None,
                    starts_at=start,
                    duration_in_min=duration,
                    ends_at=start + dt.timedelta(minutes=duration),
                    status=STATUSES[n % len(STATUSES)] if start < self.now else Rdv.Status.UNKNOWN,
                )
                for n, (_agent, start) in enumerate(bookings)
            ],
            batch_size=2000,
        )
        Rdv.agents.through.objects.bulk_create(
            [
                Rdv.agents.through(rdv_id=rdv.pk, agent_id=agent.pk)
                for rdv, (agent, _s) in zip(rdvs, bookings, strict=True)
            ]
        )
        participations = [Participation(rdv=rdv, usager=usagers[n]) for n, rdv in enumerate(rdvs)]
        participations += [Participation(rdv=rdv, usager=usagers[n + 1]) for n, rdv in enumerate(rdvs) if n % 4 == 0]
        Participation.objects.bulk_create(participations, batch_size=2000)
