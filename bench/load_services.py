"""The processes `make loadtest` runs and stops: its throw-away database, a Redis of its own,
gunicorn with the production settings, a Celery worker and beat. Standard library only (plus
psycopg for the database): imported before Django is set up."""

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BASE_DIR = Path(__file__).resolve().parent.parent


def procfile_command(name: str, **replaced: str) -> list[str]:
    """The Procfile's command for `name`, as honcho's shell would run it (`${VAR:-default}` and
    `$VAR` from the environment), its programs run by this Python, and the value of each option
    in `replaced` (`bind="127.0.0.1:8001"` for `--bind`) changed: what is measured is what runs."""
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            text = re.sub(
                r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1)) or m.group(2), line[len(name) + 1 :]
            )
            words = shlex.split(os.path.expandvars(text))
            break
    else:
        raise RuntimeError(f"Procfile : pas de processus « {name} »")
    for option, value in replaced.items():
        words[words.index(f"--{option}") + 1] = value
    program = next(n for n, word in enumerate(words) if word in ("gunicorn", "celery"))
    return [*words[:program], sys.executable, "-m", *words[program:]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"rien n'écoute sur 127.0.0.1:{port} après {seconds} s")


def throwaway_database_url(base_url: str, suffix: str = "loadtest") -> str:
    """`postgres://…/rdv` → `postgres://…/rdv_loadtest`: next to the configured database, never it."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}_{suffix}"))


def _admin_connection(url: str) -> psycopg.Connection:
    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )


def recreate_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with _admin_connection(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Redis:
    """A redis-server of the load test's own, on a free port: its broker and cache, which the
    fault phase stops and restarts without touching the Redis other processes use."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server manque : installez le paquet « redis-server ».")
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        """`redis-cli shutdown nosave`, as an operator (or a crash) would: what was queued is lost."""
        if self.process is not None and self.process.poll() is None:
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=10)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Processes:
    """gunicorn (as the Procfile runs it), a Celery worker and beat, all with `env`; their output
    in `directory` (shown when one of them stops early)."""

    def __init__(self, env: dict[str, str], directory: Path, port: int):
        self.env = env
        self.directory = directory
        self.port = port
        self.children: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, command: list[str]) -> None:
        with open(self.directory / f"{name}.log", "ab") as log:
            self.children[name] = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def start(self) -> None:
        self._start("web", procfile_command("web", bind=f"127.0.0.1:{self.port}"))
        self.start_worker()
        self._start("beat", procfile_command("beat", schedule=str(self.directory / "celerybeat-schedule")))
        wait_for_port(self.port, 60)

    def start_worker(self) -> None:
        self._start("worker", procfile_command("worker"))

    def kill_worker(self) -> None:
        """SIGKILL to the worker's whole process group: no chance to record anything."""
        worker = self.children.pop("worker")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()

    def cpu_seconds(self, name: str) -> float:
        """CPU time used so far by the processes of `name` (its process group: gunicorn's master
        and workers), read from /proc: what the machine's other load does not change much."""
        group = self.children[name].pid
        return _cpu_seconds(lambda command, pgrp: pgrp == group)

    def check_alive(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                log = (self.directory / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{name} s'est arrêté (code {child.returncode}) :\n{log}")

    def stop(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the PostgreSQL server's processes (every database of it: on a
    machine of one's own, the load test's)."""
    return _cpu_seconds(lambda command, pgrp: command == "postgres")


def _cpu_seconds(matches) -> float:
    """utime + stime of the matching processes, plus cutime + cstime: the CPU of their children
    that have exited (PostgreSQL's backends end with their connection; the postmaster keeps their
    CPU once it has reaped them). Without them, a backend that ended during the load took its
    CPU with it and the difference of two readings showed nothing."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        # comm; pgrp; utime, stime, cutime, cstime at 14 to 17 of proc_pid_stat(5)
        if matches(head.split("(", 1)[1], int(fields[2])):
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")
