"""The house rules that keep access and state in one place, enforced on the source (Zulip does
the same for its access functions). Each failure names the file and line to fix.

- Views never fetch with a bare `Model.objects.get(`: they go through a scoped queryset and
  `get_object_or_404`, or an access function (`access_rdv`, `access_usager`), so that another
  organisation's object answers 404 like a missing one.
- An RDV's `status` is written by `rendezvous.services` only (its state machine, its history,
  the messages it owes); the outbox's own states are written by its delivery code.
- HTML is marked safe in one place only, the agenda's HTML builder, where every value is escaped.
- Every module imports in isolation (no import works only thanks to another one loaded first).
"""

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parent.parent
APPS = [
    "rdv",
    "organisations",
    "agents",
    "motifs",
    "sectorisation",
    "usagers",
    "planning",
    "rendezvous",
    "notifications",
    "stats",
    "reservation",
]


def product_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and "management" not in path.parts
    )


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def test_views_never_fetch_with_a_bare_objects_get():
    offenders = []
    for path in product_modules():
        if path.name != "views.py" and "views" not in path.parent.name:
            continue
        for call in calls(ast.parse(path.read_text())):
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and isinstance(func.value, ast.Attribute)
                and func.value.attr == "objects"
            ):
                offenders.append(f"{relative(path)}:{call.lineno}")
    assert offenders == [], "use get_object_or_404 on a scoped queryset, or an access function"


# Who may write a `status`: the RDV's state machine (rendezvous.services); the outbox's own
# states (Notification.status, another machine) are written by the notifications app, and by the
# anonymisation of an usager, which drops the messages still waiting for it.
STATUS_WRITERS = {"rendezvous/services.py", "usagers/services.py"}


def may_write_status(path: Path) -> bool:
    return relative(path) in STATUS_WRITERS or path.parts[-2] == "notifications" or path.name == "demo.py"


def status_writes(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and target.attr == "status":
                    yield node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "update"
            and any(keyword.arg == "status" for keyword in node.keywords)
        ):
            yield node.lineno


def test_status_is_written_by_the_services_only():
    offenders = [
        f"{relative(path)}:{line}"
        for path in product_modules()
        if not may_write_status(path)
        for line in status_writes(ast.parse(path.read_text()))
    ]
    assert offenders == [], "change a status through rendezvous.services.change_status"


SAFE_HTML_BUILDERS = {"rendezvous/agenda/html.py"}


def test_html_is_marked_safe_in_the_agenda_builder_only():
    offenders = []
    for path in product_modules():
        if relative(path) in SAFE_HTML_BUILDERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
            if name in ("mark_safe", "SafeString"):
                offenders.append(f"{relative(path)}:{node.lineno}")
    assert offenders == [], "build HTML in templates (or the agenda's HTML builder)"


def test_the_rules_above_see_the_files_they_guard():
    """A rule scanning nothing would pass for ever."""
    names = {relative(path) for path in product_modules()}
    assert {"rendezvous/views/rdv.py", "agents/views.py", *STATUS_WRITERS, *SAFE_HTML_BUILDERS} <= names
    assert list(status_writes(ast.parse((ROOT / "rendezvous/services.py").read_text())))


def module_names() -> list[str]:
    return [
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in product_modules()
        if path.name != "conftest.py"
    ]


def test_every_module_imports():
    for name in module_names():
        importlib.import_module(name)


# Django is set up once; then, for each app, a copy of that process (fork) imports the app's
# modules: each starts from the same state as a fresh interpreter after `django.setup()`, without
# paying for a new interpreter and a new set-up each time (three seconds per app).
ISOLATED_IMPORTS = """
import importlib, json, os, sys, traceback
import django
django.setup()
failures = {}
for app, modules in json.loads(sys.argv[1]).items():
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            for name in modules:
                importlib.import_module(name)
        except BaseException:
            os.write(writer, traceback.format_exc()[-2000:].encode())
            os._exit(1)
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as report:
        error = report.read()
    if os.waitpid(pid, 0)[1] != 0:
        failures[app] = error or "exited abnormally"
print(json.dumps(failures))
"""


def test_each_app_imports_in_isolation():
    """A fresh interpreter, once Django is set up, imports every module of an app and nothing
    else first, for each app: an import that only works because another app was loaded before
    would fail here."""
    names = module_names()
    modules = {app: [name for name in names if name == app or name.startswith(f"{app}.")] for app in APPS}
    assert all(modules.values())
    result = subprocess.run(
        [sys.executable, "-c", ISOLATED_IMPORTS, json.dumps(modules)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rdv.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    failures = json.loads(result.stdout.splitlines()[-1])
    assert failures == {}, "\n".join(f"{app}:\n{error}" for app, error in failures.items())


def test_the_tasks_are_known_to_every_process():
    """notifications.queue asks for the deliver task by name: a web process that had not loaded
    the tasks would hand an eager run to the broker. A fresh interpreter knows them after setup."""
    script = "import django; django.setup()\nfrom rdv.celery import app\nprint('notifications.deliver' in app.tasks)\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rdv.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "True", result.stderr[-2000:]
