"""The faults of `make loadtest ARGS=--faults` (bench/loadtest.py), each under a light load of its
own: what the people saw (status of every answer) and what became of the bookings' messages.

- Redis (the load test's own: broker and cache) stopped 10 s while usagers book: every booking
  must succeed, its message wait in the outbox and leave once Redis is back (beat's sweep);
- PostgreSQL restarted while agents and usagers use the site: « Service momentanément
  indisponible » (503) while it restarts, never a 500, then the pages again, nothing restarted.
"""

import datetime as dt
import os
import shlex
import subprocess
import threading
import time
from collections import Counter

from django.utils import timezone

from bench.load_client import Recorder
from bench.load_services import Redis
from bench.load_world import Load, World, double_bookings, messages
from notifications.models import Notification
from rendezvous.models import Rdv


def _run_load(load: Load, targets: list, fault, seconds: float) -> float:
    """The load's threads for `seconds`, `fault()` run in this thread meanwhile; returns the
    instant (monotonic) the load started."""
    threads = [threading.Thread(target=target, args=arguments, daemon=True) for target, arguments in targets]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    fault(started)
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    load.stop.set()
    for thread in threads:
        thread.join()
    return started


def _statuses(recorder: Recorder) -> dict:
    """How many answers of each HTTP status (0: no answer at all), and each page's p95."""
    counts = Counter(str(status) for _instant, _page, status in recorder.statuses)
    pages = recorder.summary()["pages"]
    return {"answers": dict(sorted(counts.items())), "p95_ms": {page: pages[page]["p95_ms"] for page in pages}}


def redis_outage(base: str, world: World, redis: Redis, communes: list[str]) -> dict:
    load = Load(base, world, communes, think=0.5)
    since = timezone.now()
    moments: dict[str, float] = {}

    def fault(started: float) -> None:
        time.sleep(5)
        redis.stop()
        moments["stopped"] = time.monotonic()
        time.sleep(10)
        redis.start()
        moments["restarted"] = time.monotonic()

    targets = [(load.usager, (1.0,)) for _ in range(4)]
    _run_load(load, targets, fault, 30)
    during = Rdv.objects.filter(created_at__gte=since, created_by=Rdv.CreatedBy.USAGER)
    outage = (
        timezone.now() - dt.timedelta(seconds=time.monotonic() - moments["stopped"]),
        timezone.now() - dt.timedelta(seconds=time.monotonic() - moments["restarted"]),
    )
    sent = messages(since)
    sent["all_sent_after_redis_back_s"] = round(time.monotonic() - moments["restarted"], 1)
    return {
        "rdvs_created": during.count(),
        "rdvs_created_while_stopped": during.filter(created_at__range=outage).count(),
        "errors": load.recorder.error_count(),
        "error_examples": load.recorder.summary()["error_examples"],
        "double_bookings": double_bookings(since),
        "messages": sent,
        "messages_written_while_stopped": Notification.objects.filter(created_at__range=outage).count(),
        **_statuses(load.recorder),
    }


def _restart_command(template: str) -> list[str]:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else [""]
    return shlex.split(template.format(version=versions[-1]))


def postgresql_restart(base: str, world: World, template: str) -> dict:
    load = Load(base, world, ["77337"], think=0.3)
    moments: dict[str, float] = {}

    def fault(started: float) -> None:
        time.sleep(5)
        moments["restart"] = time.monotonic()
        done = subprocess.run(_restart_command(template), capture_output=True, text=True, timeout=120)
        moments["restarted"] = time.monotonic()
        moments["code"] = done.returncode

    targets = [(load.agent, (person,)) for person in world.agents[:3]]
    targets += [(load.secretariat, (world.secretariats[0],))]
    targets += [(load.usager, (0.5,)) for _ in range(3)]
    started = _run_load(load, targets, fault, 30)
    statuses = load.recorder.statuses
    unavailable = [instant for instant, _page, status in statuses if status == 503]
    others = [status for _instant, _page, status in statuses if status not in (200, 302, 503)]
    after = [instant for instant, _page, status in statuses if status in (200, 302) and instant > moments["restart"]]
    back = [instant for instant in after if not unavailable or instant > max(unavailable)]
    return {
        "restart_command_s": round(moments["restarted"] - moments["restart"], 1),
        "restart_command_code": moments["code"],
        "answers_503": len(unavailable),
        "answers_other_errors": len(others),
        "first_503_after_restart_s": round(min(unavailable) - moments["restart"], 1) if unavailable else None,
        "last_503_after_restart_s": round(max(unavailable) - moments["restart"], 1) if unavailable else None,
        "pages_served_again_after_restart_s": round(min(back) - moments["restart"], 1) if back else None,
        "load_s": round(time.monotonic() - started, 1),
        **_statuses(load.recorder),
    }
