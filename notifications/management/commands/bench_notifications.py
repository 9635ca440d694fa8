"""`python manage.py bench_notifications`: how fast the reminders of a busy day are written and sent.

In a throw-away database (`<name>_bench_notifications`, rdv.bench), seeds RDVS RDVs starting
within 48 hours, booked earlier than that, each with one usager reachable by email and by SMS
(by email only with --email-only); then:

1. runs the reminder job (`notifications.reminders.enqueue_reminders`) as beat would: it writes the
   rows and queues their delivery in Redis after each commit (`enqueue_s`);
2. a real Celery worker (one process, `--pool=solo`, production's settings) on a Redis database
   of its own, the development's file backends for emails and SMS writing to a temporary
   directory, started and ready before step 1 (as in production: its boot is not counted), then
   takes the queue; the bench waits until no row is waiting or being sent (`send_s`), sweeping as
   beat would when the queue is empty and rows are still due;
3. counts what the backends received per address (each usager has its own address and number):
   `duplicates` (messages received more than once) and `lost` (rows not sent, or sent but never
   received) must both be 0.

Prints one JSON object."""

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count, F
from django.utils import timezone

from motifs.models import Motif, MotifCategory
from notifications.models import Notification
from notifications.reminders import enqueue_reminders
from organisations.models import Lieu, Organisation, Service, Territory
from rdv.bench import BenchCommand
from rdv.celery import app
from rendezvous.models import Participation, Rdv
from usagers.models import Usager

RDVS = 10_000
# A Redis database of its own: a developer's `make run` worker (database 0) and the worker tests
# (database 15) never take these tasks.
BROKER_DATABASE = 14
QUEUE = "celery"
IDLE_QUEUE = "bench-notifications-idle"


class Command(BenchCommand):
    database_suffix = "notifications"
    help = (
        "Mesure l'écriture et l'envoi des rappels de 10 000 RDV par un vrai worker Celery, "
        "dans une base jetable ; affiche un objet JSON."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--rdvs", type=int, default=RDVS, help="RDV à rappeler.")
        parser.add_argument("--timeout", type=int, default=1800, help="Secondes accordées au worker.")
        parser.add_argument(
            "--email-only", action="store_true", help="Usagers sans numéro de mobile : un rappel par email seulement."
        )

    def bench(self, options) -> dict:
        started = time.perf_counter()
        now = timezone.now()
        self._seed(options["rdvs"], now, with_phone=not options["email_only"])
        seed_s = time.perf_counter() - started

        broker_url = _broker_url()
        queue = redis.Redis.from_url(broker_url)
        queue.delete(QUEUE)
        app.conf.broker_url = broker_url
        app.conf.task_always_eager = False

        with tempfile.TemporaryDirectory(prefix="bench-notifications-") as directory:
            outputs = Path(directory)
            # The worker is up, as in production, before the reminders are written; it takes
            # them only once they all are, so that both figures stand apart.
            worker = _start_worker(broker_url, outputs)
            try:
                name = _wait_until_ready(worker)
                started, cpu = time.perf_counter(), time.process_time()
                reminders = enqueue_reminders(now)
                enqueue_s, enqueue_cpu_s = time.perf_counter() - started, time.process_time() - cpu
                messages = Notification.objects.count()
                worker_cpu = _cpu_seconds(worker.pid)
                started = time.perf_counter()
                app.control.add_consumer(QUEUE, destination=[name], reply=True, timeout=10)
                sweeps = self._wait_until_sent(worker, queue, options["timeout"])
                send_s = time.perf_counter() - started
                worker_cpu_s = _cpu_seconds(worker.pid) - worker_cpu
            except RuntimeError as error:
                log = (outputs / "worker.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{error}\n{log}") from error
            finally:
                _stop(worker)
            received = _received_emails(outputs / "emails") + _received_sms(outputs / "sms")
        queue.delete(QUEUE)

        sent = Counter(
            Notification.objects.filter(status=Notification.Status.SENT).values_list("to", flat=True).iterator()
        )
        twice_in_outbox = (
            Notification.objects.filter(event=Notification.Event.REMINDER, status=Notification.Status.SENT)
            .values("rdv", "usager", "channel", "rdv_starts_at")
            .annotate(rows=Count("pk"))
            .filter(rows__gt=1)
            .count()
        )
        duplicates = twice_in_outbox + sum(count - 1 for count in received.values() if count > 1)
        not_sent = messages - sum(sent.values())
        never_received = sum(1 for address in sent if address not in received)
        return {
            "reminders": reminders,
            "messages": messages,
            "enqueue_s": round(enqueue_s, 2),
            "send_s": round(send_s, 2),
            # Written and sent: the target, ≤ 60 s for 10 000 reminders.
            "total_s": round(enqueue_s + send_s, 2),
            "messages_per_s": round(messages / send_s, 1) if send_s else None,
            "duplicates": duplicates,
            "lost": not_sent + never_received,
            "sweeps": sweeps,
            # CPU time of this process while enqueuing, and of the worker: what the machine's other
            # load does not change much, unlike the durations.
            "enqueue_cpu_s": round(enqueue_cpu_s, 2),
            "worker_cpu_s": round(worker_cpu_s, 2),
            "load_average": round(os.getloadavg()[0], 1),
            "seed_s": round(seed_s, 1),
        }

    def _seed(self, count: int, now: dt.datetime, *, with_phone: bool) -> None:
        """`count` RDVs spread over the next 47 hours, booked three days before their start, one
        usager each with its own address and (unless `with_phone` is false) mobile number."""
        Service.objects.ensure_defaults()
        territory = Territory.objects.create(departement_number="77", name="Département de mesure")
        organisation = Organisation.objects.create(
            territory=territory, name="MDS de mesure", phone="01 60 00 00 00", email="mds@mesure.fr"
        )
        lieu = Lieu.objects.create(
            organisation=organisation, name="Maison des solidarités", address="1 rue de la Mesure"
        )
        motif = Motif.objects.create(
            organisation=organisation,
            service=Service.objects.get(short_name="PMI"),
            category=MotifCategory.objects.get_or_create(name="Consultation de mesure")[0],
            default_duration_in_min=30,
            color="#6a6af4",
        )
        usagers = Usager.objects.bulk_create(
            [
                Usager(
                    first_name=f"Prénom{n}",
                    last_name=f"Nom mesuré {n}",
                    email=f"usager{n}@mesure.fr",
                    phone=f"+336{10_000_000 + n:08d}" if with_phone else "",
                )
                for n in range(count)
            ],
            batch_size=2000,
        )
        spacing = dt.timedelta(hours=46) / count
        rdvs = Rdv.objects.bulk_create(
            [
                Rdv(
                    organisation=organisation,
                    motif=motif,
                    lieu=lieu,
                    starts_at=now + dt.timedelta(hours=1) + n * spacing,
                    ends_at=now + dt.timedelta(hours=1, minutes=30) + n * spacing,
                    duration_in_min=30,
                )
                for n in range(count)
            ],
            batch_size=2000,
        )
        Rdv.objects.update(created_at=F("starts_at") - dt.timedelta(days=3))
        Participation.objects.bulk_create(
            [Participation(rdv=rdv, usager=usager) for rdv, usager in zip(rdvs, usagers, strict=True)],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            for table in ("usagers_usager", "rendezvous_rdv", "rendezvous_participation"):
                cursor.execute(f"VACUUM ANALYZE {table}")

    def _wait_until_sent(self, worker: subprocess.Popen, queue: redis.Redis, timeout: int) -> int:
        """Until no row waits or is being sent; when the queue is empty and rows are still due
        (held back behind an earlier message, or their task lost), the sweep is queued as beat
        would. Returns how many sweeps were needed."""
        deadline = time.monotonic() + timeout
        sweeps = 0
        while Notification.objects.filter(status__in=Notification.IN_PROGRESS).exists():
            if worker.poll() is not None:
                raise RuntimeError(f"Le worker s'est arrêté (code {worker.returncode}).")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Des notifications attendent encore après {timeout} s.")
            if not queue.llen(QUEUE) and Notification.objects.due(timezone.now()).exists():
                app.signature("notifications.deliver_due").apply_async()
                sweeps += 1
            time.sleep(0.2)
        return sweeps


def _wait_until_ready(worker: subprocess.Popen, timeout: int = 120) -> str:
    """The worker's name, once it answers a ping (booted, consuming nothing yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"Le worker s'est arrêté (code {worker.returncode}).")
        for reply in app.control.ping(timeout=1.0):
            return next(iter(reply))
    raise RuntimeError(f"Le worker n'a pas répondu en {timeout} s.")


def _cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a running process has used so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _broker_url() -> str:
    parts = urlsplit(settings.CELERY_BROKER_URL)
    return urlunsplit(parts._replace(path=f"/{BROKER_DATABASE}"))


def _database_url() -> str:
    """The throw-away database, for the worker's settings (DATABASE_URL)."""
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def _start_worker(broker_url: str, outputs: Path) -> subprocess.Popen:
    """One worker process, solo pool, with production's settings: connections kept between tasks
    (CONN_MAX_AGE, which DEBUG sets to 0 on a developer's machine), no query log."""
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CONN_MAX_AGE": "60",
        # Production's settings (no query log, no debug wrappers), with throw-away secrets.
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(outputs / "emails"),
        "SMS_BACKEND": "rdv.sms.FileSmsBackend",
        "SMS_FILE_PATH": str(outputs / "sms"),
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "celery", "-A", "rdv", "worker", "--pool=solo", "--concurrency=1"]
    # Listening to a queue nothing is sent to, until the bench adds the real one (add_consumer).
    command += ["--queues", IDLE_QUEUE, "--hostname", "bench-notifications@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"]
    with open(outputs / "worker.log", "wb") as log:
        return subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _received_emails(directory: Path) -> Counter:
    """The filebased backend appends each message to a file, followed by a line of dashes."""
    received: Counter = Counter()
    for path in directory.glob("*.log") if directory.exists() else []:
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                received[BytesHeaderParser().parsebytes(chunk)["To"]] += 1
    return received


def _received_sms(directory: Path) -> Counter:
    received: Counter = Counter()
    for path in directory.glob("*.jsonl") if directory.exists() else []:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                received[json.loads(line)["to"]] += 1
    return received
