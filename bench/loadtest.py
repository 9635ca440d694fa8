"""`make loadtest` (`uv run --frozen python bench/loadtest.py`): RDV-Solidarités under load, as
deployed, on this machine only (every request to 127.0.0.1).

1. A throw-away database next to the configured one (`<name>_loadtest`, dropped at the end unless
   --keep), migrated, with the demo's data (`manage.py demo`), USAGERS usagers and the signed-in
   sessions of agents and usagers written directly (the login form's lockout and the emailed
   code are not what is measured); static files collected into a temporary folder.
2. A Redis of its own (free port: broker and cache), then the Procfile's web, worker and beat,
   their commands read from it (gunicorn: WEB_CONCURRENCY processes, 3 by default; the worker
   under `nice`), with the production settings: DEBUG off, a SECRET_KEY,
   ALLOWED_HOSTS=127.0.0.1, static files served by WhiteNoise. Emails and SMS are written to
   files.
3. --duration seconds (60) of --users simultaneous people (20), each waiting up to --think
   seconds between two pages: agents opening their week's agenda and the RDV list, the
   secrétariat the team's day, usagers choosing a service, a motif, a lieu, a créneau and, one
   time in two, booking it (« Vos informations », « Vérifiez », « Confirmer »). Halfway, a burst
   of --burst usagers (50) confirm at the same instant on the same three créneaux, the same at
   every run, each of which two agents can take (`load_world.burst_creneaux`).
4. Counts the RDVs created, the double bookings (two RDVs of one agent overlapping, neither
   cancelled: must be 0) and the messages queued and sent (waiting until the worker sent them).
5. With --faults: Redis stopped 10 s while usagers book (bookings must succeed, their messages
   leave once it is back); PostgreSQL restarted under load (`--postgres-restart`, by default
   `pg_ctlcluster … main restart`: « Service momentanément indisponible » during the restart,
   then the pages again without restarting anything). Only on a machine of one's own: the restart
   cuts every client of that PostgreSQL.

Prints one JSON object. Targets (README, « Sécurité et fiabilité »): 0 errors, 0 double bookings,
p95 ≤ 300 ms on every page."""

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load_services import (
    Processes,
    Redis,
    drop_database,
    free_port,
    postgres_cpu_seconds,
    recreate_database,
    throwaway_database_url,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rdv"
USAGERS = 2000
COMMUNES = ["77337", "77468", "77083", "77258", "77479", "77055"]  # the demo's sectors (sectorisation.demo)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="secondes de charge (60)")
    parser.add_argument("--users", type=int, default=20, help="personnes simultanées (20)")
    parser.add_argument("--burst", type=int, default=50, help="usagers confirmant au même instant (50)")
    parser.add_argument("--think", type=float, default=1.0, help="attente maximale entre deux pages, en s (1)")
    parser.add_argument("--faults", action="store_true", help="puis Redis arrêté 10 s, PostgreSQL redémarré")
    parser.add_argument(
        "--postgres-restart",
        default="pg_ctlcluster --skip-systemctl-redirect {version} main restart",
        help="commande qui redémarre PostgreSQL (--faults)",
    )
    parser.add_argument("--keep", action="store_true", help="garder la base jetable")
    return parser.parse_args()


def production_environment(database_url: str, redis_url: str, directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "rdv.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url,
        "STATIC_ROOT": str(directory / "static"),
        "MEDIA_ROOT": str(directory / "media"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(directory / "emails"),
        "SMS_BACKEND": "rdv.sms.FileSmsBackend",
        "SMS_FILE_PATH": str(directory / "sms"),
        "SITE_URL": "https://127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def main() -> None:
    args = parse_args()
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_url = throwaway_database_url(base_url)
    with tempfile.TemporaryDirectory(prefix="rdv-loadtest-") as folder:
        directory = Path(folder)
        redis = Redis(directory)
        redis.start()
        os.environ.update(production_environment(database_url, redis.url, directory))
        recreate_database(database_url)
        processes = Processes(dict(os.environ), directory, free_port())
        try:
            result = run(args, redis, processes)
        finally:
            processes.stop()
            redis.stop()
            if not args.keep:
                drop_database(database_url)
    print(json.dumps(result, ensure_ascii=False))


def cpu_now(processes: Processes) -> dict[str, float]:
    return {
        "web": processes.cpu_seconds("web"),
        "postgresql": postgres_cpu_seconds(),
        "worker": processes.cpu_seconds("worker"),
        "load_client": time.process_time(),
    }


def reference_page_cpu_ms() -> float:
    """The machine's speed at the time of the measure: the CPU a page without SQL (the public
    home page) takes in this process, median of 300 after 30 to warm up. This machine's speed
    changes by a factor of 2 to 3 from one hour to the next (2.4 ms to 8 ms for this page): figures
    are comparable only at close values of this one."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_FORWARDED_PROTO="https")
    timings = []
    for n in range(330):
        started = time.process_time()
        response = client.get("/")
        if n >= 30:
            timings.append(time.process_time() - started)
    if response.status_code != 200:
        raise RuntimeError(f"page d'accueil : {response.status_code}")
    return round(statistics.median(timings) * 1000, 2)


# A page-sized template of its own, rendered by Django's engine: what the machine's speed does to
# a page, whatever this project's templates become.
REFERENCE_TEMPLATE = (
    "{% for row in rows %}<tr><td>{{ row.name|upper }}</td><td>{{ row.when|date:'d/m/Y G\\hi' }}</td>"
    "<td>{% if row.n > 5 %}{{ row.n }}{% else %}—{% endif %}</td></tr>{% endfor %}"
)


def machine_reference_ms() -> float:
    """The machine's speed, independent of this project's code: the CPU a fixed template (above,
    40 rows) takes to render, median of 300 after 30 to warm up. `reference_page_cpu_ms` follows
    the home page, which gets cheaper when the project's code does (0.45 ms less on 6 December
    2026 at 21:20, the DSFR's tags kept): runs of different code are compared by this one."""
    from django.template import Context, Template

    template = Template(REFERENCE_TEMPLATE)
    now = dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.UTC)
    context = Context({"rows": [{"name": f"ligne {n}", "when": now, "n": n} for n in range(40)]})
    timings = []
    for n in range(330):
        started = time.process_time()
        template.render(context)
        if n >= 30:
            timings.append(time.process_time() - started)
    return round(statistics.median(timings) * 1000, 3)


def run(args: argparse.Namespace, redis: Redis, processes: Processes) -> dict:
    import django

    django.setup()
    from bench import load_world

    started = time.perf_counter()
    world = load_world.seed(USAGERS)
    seed_s = time.perf_counter() - started
    processes.start()
    base = f"http://127.0.0.1:{processes.port}"
    load_world.wait_until_up(base)
    load_before = os.getloadavg()[0]
    reference_ms = reference_page_cpu_ms()
    machine_ms = machine_reference_ms()
    cpu_before = cpu_now(processes)
    result = load_world.measure(args, base, world, COMMUNES)
    # Milliseconds of CPU per request, by process: on a machine whose other load lengthens the
    # response times, what the pages cost (gunicorn, PostgreSQL), what the worker and the
    # simulated people themselves take from the same two cores.
    requests = max(1, result["requests"])
    result["cpu_ms_per_request"] = {
        name: round((after - cpu_before[name]) * 1000 / requests, 1) for name, after in cpu_now(processes).items()
    }
    result["web_cpu_ms_per_request"] = result["cpu_ms_per_request"]["web"]
    result["load_average_before"] = round(load_before, 1)
    result["reference_page_cpu_ms"] = reference_ms
    result["machine_reference_ms"] = machine_ms
    result["seed_s"] = round(seed_s, 1)
    processes.check_alive()
    if args.faults:
        from bench import load_faults

        result["faults"] = {
            "redis_stopped_10_s": load_faults.redis_outage(base, world, redis, COMMUNES),
            "postgresql_restarted": load_faults.postgresql_restart(base, world, args.postgres_restart),
        }
        processes.check_alive()
    result["load_average"] = round(os.getloadavg()[0], 1)
    result["cores"] = os.cpu_count()
    result["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


if __name__ == "__main__":
    random.seed(18)
    main()
