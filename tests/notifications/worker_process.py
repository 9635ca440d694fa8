"""A real Celery worker in a process of its own, for the tests that kill it (test_worker.py).

`python -m tests.notifications.worker_process ISO-INSTANT` runs `celery -A rdv worker --pool=solo`
with its clock at ISO-INSTANT, ticking: the test's own clock, which `--fake-now` may have moved
(rows written by the test are due for the worker at the same instant). The database, the broker
and the backends come from the environment, as for any worker (rdv/settings.py).

`HangingSmsBackend` stands for an SMS provider that never answers: it writes a line to
SMS_FILE_PATH/started when asked to send (the test waits for it), then hangs."""

import datetime as dt
import sys
import time
from pathlib import Path

from django.conf import settings

from rdv.sms import Sms, SmsBackend, SmsResult


class HangingSmsBackend(SmsBackend):
    def send(self, sms: Sms) -> SmsResult:
        directory = Path(settings.SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "started", "a", encoding="utf-8") as started:
            started.write(f"{sms.to}\n")
        time.sleep(600)
        raise AssertionError("the test kills the worker before")


def main() -> None:
    import time_machine
    from celery.__main__ import main as celery

    time_machine.travel(dt.datetime.fromisoformat(sys.argv[1]), tick=True).start()
    sys.argv = ["celery", "-A", "rdv", "worker", "--pool=solo", "--concurrency=1", "--loglevel=INFO"]
    sys.argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    celery()


if __name__ == "__main__":
    main()
