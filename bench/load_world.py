"""The data, the people and the measure of `make loadtest` (bench/loadtest.py), once Django is set
up on the throw-away database."""

import datetime as dt
import io
import queue
import random
import secrets
import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY as AUTH_BACKEND_SESSION_KEY
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from agents.models import Agent, AgentRole
from bench.load_client import (
    STEPS,
    Bookings,
    Recorder,
    Visitor,
    browse_to_creneaux,
    confirm,
    links,
    prepare_booking,
)
from notifications.models import Notification
from rendezvous.models import Rdv
from reservation.choice import Choice
from reservation.selection import resolve
from usagers.middleware import USAGER_KEY, USAGER_SESSION_AGE
from usagers.models import Usager

AGENTS = ["pmi.noisiel", "social.noisiel", "admin.noisiel", "pmi.chelles", "social.chelles", "admin.chelles"]
SECRETARIATS = ["secretariat.noisiel", "secretariat.chelles"]
DEMO_DOMAIN = "@demo.rdv-solidarites.fr"
INFORMATIONS = "/prendre-rdv/informations/"


@dataclass
class Person:
    cookies: dict[str, str]
    organisation_id: int = 0
    agent_id: int = 0


@dataclass
class World:
    agents: list[Person]
    secretariats: list[Person]
    usagers: "queue.Queue[Person]"
    day: dt.date  # the working day the agents look at: the next one from tomorrow


def _session(data: dict, expires: dt.datetime) -> Session:
    return Session(session_key=secrets.token_hex(16), session_data=SessionStore().encode(data), expire_date=expires)


def _agent(email: str, expires: dt.datetime) -> tuple[Person, Session]:
    agent = Agent.objects.get(email__iexact=email + DEMO_DOMAIN)
    role = AgentRole.objects.filter(agent=agent).order_by("organisation_id").first()
    data = {
        SESSION_KEY: str(agent.pk),
        AUTH_BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: agent.get_session_auth_hash(),
    }
    session = _session(data, expires)
    person = Person({settings.SESSION_COOKIE_NAME: session.session_key}, role.organisation_id, agent.pk)
    return person, session


def seed(usagers: int) -> World:
    """Migrations, the demo, `usagers` usagers signed in, the agents' sessions, static files."""
    call_command("migrate", verbosity=0, interactive=False)
    call_command("demo", stdout=io.StringIO())
    call_command("collectstatic", verbosity=0, interactive=False)
    expires = timezone.now() + dt.timedelta(hours=10)
    agents, sessions = [], []
    for email in AGENTS + SECRETARIATS:
        person, session = _agent(email, expires)
        agents.append(person)
        sessions.append(session)
    people = Usager.objects.bulk_create(
        [
            Usager(
                first_name=f"Prénom{n}",
                last_name=f"Charge {n}",
                email=f"usager{n}@charge.example.fr",
                created_by=Usager.CreatedBy.USAGER,
            )
            for n in range(usagers)
        ]
    )
    pool: queue.Queue[Person] = queue.Queue()
    usager_expires = timezone.now() + USAGER_SESSION_AGE
    for usager in people:
        session = _session({USAGER_KEY: usager.pk}, usager_expires)
        sessions.append(session)
        pool.put(Person({settings.USAGER_SESSION_COOKIE_NAME: session.session_key}))
    Session.objects.bulk_create(sessions)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    day = timezone.localdate() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return World(agents[: len(AGENTS)], agents[len(AGENTS) :], pool, day)


def wait_until_up(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/", headers={"X-Forwarded-Proto": "https"}, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn ne répond pas")


class Load:
    """The people's loops, until `stop` is set."""

    def __init__(self, base: str, world: World, communes: list[str], think: float):
        self.base, self.world, self.communes, self.think = base, world, communes, think
        self.recorder = Recorder()
        self.bookings = Bookings()
        self.stop = threading.Event()

    def pause(self) -> None:
        self.stop.wait(random.uniform(0, self.think))

    def agent(self, person: Person) -> None:
        visitor = Visitor(self.base, self.recorder, dict(person.cookies))
        org, day = person.organisation_id, self.world.day.isoformat()
        while not self.stop.is_set():
            if random.random() < 0.5:
                path = f"/organisations/{org}/agendas/{person.agent_id}/?vue=semaine&date={day}"
                visitor.get("agent : agenda (semaine)", path)
            else:
                visitor.get("agent : liste des RDV", f"/organisations/{org}/rdvs/")
            self.pause()

    def secretariat(self, person: Person) -> None:
        visitor = Visitor(self.base, self.recorder, dict(person.cookies))
        org, day = person.organisation_id, self.world.day.isoformat()
        while not self.stop.is_set():
            if random.random() < 0.7:
                visitor.get("secrétariat : journée de l'équipe", f"/organisations/{org}/agendas/journee/?date={day}")
            else:
                visitor.get("agent : liste des RDV", f"/organisations/{org}/rdvs/")
            self.pause()

    def usager(self, booking_share: float = 0.5) -> None:
        while not self.stop.is_set():
            books = random.random() < booking_share
            person = self.world.usagers.get_nowait() if books else Person({})
            visitor = Visitor(self.base, self.recorder, dict(person.cookies))
            html = browse_to_creneaux(visitor, random.choice(self.communes))
            self.pause()
            if html is None or not books:
                continue
            choices = links(html, INFORMATIONS)[:12]
            prepared = prepare_booking(visitor, random.choice(choices), self.bookings) if choices else None
            if prepared is None:
                continue
            self.pause()
            response = confirm(visitor, *prepared, page="usager : confirmer le RDV")
            self.bookings.add(response)
            if response is not None and response.headers.get("Location", "").startswith("/rendez-vous/"):
                visitor.get("usager : confirmation", response.headers["Location"])
            self.pause()

    def burst(self, size: int, delay: float, result: dict) -> None:
        """`size` signed-in usagers, each prepared on one of three créneaux of the same lieu, all
        confirm at once."""
        if size == 0 or self.stop.wait(delay):
            return
        # Signed in: an anonymous visitor's créneaux lead to the identification first. Three weeks
        # ahead: the other usagers book in the first week shown, not on these créneaux.
        visitor = Visitor(self.base, self.recorder, dict(self.world.usagers.get_nowait().cookies))
        week = self.world.day - dt.timedelta(days=self.world.day.weekday()) + dt.timedelta(weeks=3)
        try:
            slots, agents = burst_creneaux(visitor, self.communes[0], week)
        finally:
            connection.close()  # this thread's own, opened to count the créneaux' agents
        result["agents_per_creneau"] = agents
        if not slots:
            result["error"] = "aucun créneau"
            return
        barrier = threading.Barrier(size)
        bookings = Bookings()

        def one(n: int) -> None:
            person = self.world.usagers.get_nowait()
            visitor = Visitor(self.base, self.recorder, dict(person.cookies))
            prepared = prepare_booking(visitor, slots[n % len(slots)], bookings, tag=" (rafale)")
            barrier.wait(timeout=120)
            if prepared is not None:
                bookings.add(confirm(visitor, *prepared, page="usager : confirmer le RDV (rafale)"))

        threads = [threading.Thread(target=one, args=(n,), daemon=True) for n in range(size)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with self.bookings.lock:
            self.bookings.booked += bookings.booked
            self.bookings.taken += bookings.taken
        result.update(usagers=size, creneaux=len(slots), booked=len(bookings.booked), taken=bookings.taken)


def burst_creneaux(visitor: Visitor, commune: str, week: dt.date) -> tuple[list[str], list[int]]:
    """The burst's three créneaux, the same at every run: in the order the pages offer them, the
    first service, motif and lieu whose first three créneaux of `week` can each be taken by two
    agents or more (else the first with three créneaux), and how many agents can take each.

    Chosen at random until 7 December 2026, they had one agent each in about half the runs (3
    bookings, « confirmer » 193 to 267 ms that morning) and two in the others (6 bookings, 265 to
    355 ms): the figure measured which créneaux were drawn more than the code. Two agents is
    the harder case, each créneau booked twice while the other confirmations race for both
    agents' time."""
    first_three: tuple[list[str], list[int]] = ([], [])
    services = _text(visitor.get("usager : services", f"/prendre-rdv/service/?commune={commune}"))
    for motifs_page in links(services, STEPS[0][1]):
        for lieux_page in links(_text(visitor.get("usager : motifs", motifs_page)), STEPS[1][1]):
            for creneaux_page in links(_text(visitor.get("usager : lieux", lieux_page)), STEPS[2][1]):
                page = visitor.get("usager : créneaux", f"{creneaux_page}&semaine={week.isoformat()}")
                slots = links(_text(page), INFORMATIONS)[:3]
                if len(slots) < 3:
                    continue
                agents = [_possible_agents(slot) for slot in slots]
                if min(agents) >= 2:
                    return slots, agents
                first_three = first_three if first_three[0] else (slots, agents)
    return first_three


def _text(response) -> str:
    return response.text if response is not None else ""


def _possible_agents(informations_path: str) -> int:
    """How many agents can take the créneau of this « Vos informations » link (their plages cover
    it; `Selection.possible_agents`), read from the database as the confirmation reads it."""
    selection = resolve(Choice.from_query(QueryDict(informations_path.split("?", 1)[1])))
    return len(selection.possible_agents()) if selection is not None else 0


def double_bookings(since: dt.datetime) -> int:
    """Pairs of RDVs of one agent that overlap, neither cancelled, one at least created since."""
    through = Rdv.agents.through._meta.db_table
    rdv = Rdv._meta.db_table
    cancelled = [str(status) for status in Rdv.CANCELLED_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*) FROM {through} x JOIN {rdv} a ON a.id = x.rdv_id
                JOIN {through} y ON y.agent_id = x.agent_id AND y.rdv_id > x.rdv_id JOIN {rdv} b ON b.id = y.rdv_id
                WHERE a.status <> ALL(%s) AND b.status <> ALL(%s)
                  AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
                  AND (a.created_at >= %s OR b.created_at >= %s)""",
            [cancelled, cancelled, since, since],
        )
        return cursor.fetchone()[0]


def messages(since: dt.datetime, wait: float = 180) -> dict:
    """The messages written since `since`: how many, how many sent at once, and after how long all."""
    rows = Notification.objects.filter(created_at__gte=since)
    queued, sent_at_end = rows.count(), rows.filter(status=Notification.Status.SENT).count()
    started = time.monotonic()
    while rows.filter(status__in=Notification.IN_PROGRESS).exists() and time.monotonic() - started < wait:
        time.sleep(0.5)
    return {
        "queued": queued,
        "sent_when_load_ended": sent_at_end,
        "sent": rows.filter(status=Notification.Status.SENT).count(),
        "not_sent": rows.exclude(status=Notification.Status.SENT).count(),
        "all_sent_after_s": round(time.monotonic() - started, 1),
    }


def measure(args, base: str, world: World, communes: list[str]) -> dict:
    load = Load(base, world, communes, args.think)
    # Warm-up (not counted): each page once, each gunicorn worker's first requests.
    warm = Load(base, world, communes, 0)
    warm.stop.set()
    for person in world.agents[:2] + world.secretariats[:1]:
        Visitor(base, warm.recorder, dict(person.cookies)).get("", f"/organisations/{person.organisation_id}/rdvs/")
    for _ in range(4):
        browse_to_creneaux(Visitor(base, warm.recorder), communes[0])
    since = timezone.now()
    roles = []
    for n in range(args.users):
        if n % 10 in (0, 5):
            roles.append((load.agent, (world.agents[n % len(world.agents)],)))
        elif n % 10 == 3:
            roles.append((load.secretariat, (world.secretariats[n % len(world.secretariats)],)))
        elif n % 10 == 7:
            roles.append((load.agent, (world.agents[(n + 3) % len(world.agents)],)))
        else:
            roles.append((load.usager, ()))
    burst: dict = {}
    threads = [threading.Thread(target=target, args=arguments, daemon=True) for target, arguments in roles]
    threads.append(threading.Thread(target=load.burst, args=(args.burst, args.duration / 2, burst), daemon=True))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(args.duration)
    load.stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    summary = load.recorder.summary()
    created = Rdv.objects.filter(created_at__gte=since, created_by=Rdv.CreatedBy.USAGER).count()
    return {
        "duration_s": round(elapsed, 1),
        "users": args.users,
        "think_s": f"0–{args.think}",
        "requests": load.recorder.total(),
        "requests_per_s": round(load.recorder.total() / elapsed, 1),
        "errors": load.recorder.error_count(),
        "rdvs_created": created,
        "bookings_confirmed": len(load.bookings.booked),
        "bookings_refused_taken": load.bookings.taken,
        "burst": burst,
        "double_bookings": double_bookings(since),
        "messages": messages(since),
        "pages": summary["pages"],
        "error_examples": summary["error_examples"],
        "p95_over_300_ms": sorted(page for page, figures in summary["pages"].items() if figures["p95_ms"] > 300),
    }
