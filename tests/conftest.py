import datetime as dt
import os
import tempfile
import zoneinfo

import pytest
import time_machine
from django.core.cache import cache
from django.core.management.commands import flush
from hypothesis.configuration import set_hypothesis_home_dir

from sectorisation.models import Commune, FormerCommune
from tests.agents.factories import PASSWORD, AgentFactory
from tests.helpers import ensure_communes
from tests.organisations.factories import OrganisationFactory

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
FAKE_NOW_TRAVELLER = pytest.StashKey[time_machine.travel]()
# Hypothesis keeps caches (its unicode tables, the constants it reads in the code) in `.hypothesis`
# of the working directory even without a database of examples (`database=None` in every profile of
# tests/fuzz): in the system's temporary directory instead, out of the working tree.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "rdv-hypothesis"))


# The whole session at another instant: `pytest --fake-now=2027-03-28T01:30:00+01:00`, or
# `FAKE_NOW=2027-03-28T01:30 make test` (the variable is the option's default; without an offset the
# instant is Paris time). The clock starts there and ticks, so "now" still moves forward between two
# calls; tests that freeze time themselves with time-machine travel from there as usual. Only Python's
# clock moves: PostgreSQL's now() and the browser's clock stay at the real time. `bin/test-clocks`
# runs the suite at the instants that used to break it.
def pytest_addoption(parser):
    parser.addoption(
        "--fake-now",
        metavar="ISO-DATETIME",
        default=os.environ.get("FAKE_NOW") or None,
        help="run the session with the clock moved to this instant, ticking (default: $FAKE_NOW)",
    )


def parse_fake_now(value: str) -> dt.datetime:
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise pytest.UsageError(f"--fake-now / FAKE_NOW: not an ISO datetime: {value!r}") from error
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=PARIS)
    # In UTC: a ZoneInfo destination would make time-machine change the process's TZ as well.
    return instant.astimezone(dt.UTC)


def pytest_configure(config):
    value = config.getoption("fake_now")
    if value:
        # Runs in the controller and in every xdist worker: each process moves its own clock.
        traveller = config.stash[FAKE_NOW_TRAVELLER] = time_machine.travel(parse_fake_now(value), tick=True)
        traveller.start()


# The fixtures that hold a test at an instant of their own for its whole run (time_machine, not
# ticking): such a test never reads the real clock, so at CI's DST instant (--fake-now) it would
# only run again, identically.
OWN_CLOCK_FIXTURES = {"frozen", "clock"}


def pytest_collection_modifyitems(config, items):
    if not config.getoption("fake_now"):
        return
    own_clock = [item for item in items if OWN_CLOCK_FIXTURES & set(getattr(item, "fixturenames", ()))]
    if own_clock:
        config.hook.pytest_deselected(items=own_clock)
        dropped = set(own_clock)
        items[:] = [item for item in items if item not in dropped]


def pytest_report_header(config):
    value = config.getoption("fake_now")
    if value:
        return f"fake now: {parse_fake_now(value).astimezone(PARIS).isoformat()} (Europe/Paris), ticking"


def pytest_unconfigure(config):
    if FAKE_NOW_TRAVELLER in config.stash:
        config.stash[FAKE_NOW_TRAVELLER].stop()


CACHE_KEY_PREFIX = f"tests-{os.getpid()}"


def clear_test_cache() -> None:
    """Deletes this test process's keys from the shared Redis."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=f"{CACHE_KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _isolate(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "rdv.sms.LocmemSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Stats' RDV exports (stats.storage): the default storage, in the test's own folder.
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media" / "exports")},
        },
    }
    # Fast hashing: the tests check who may log in, not PBKDF2's cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Messages leave at once unless a test is about the grace period (tests/notifications/
    # test_grace.py): the other tests check what is sent, not when.
    settings.NOTIFICATIONS_GRACE_SECONDS = 0
    # The shared Redis (rate limits): each test process counts under its own key prefix, emptied
    # before every test. Never cache.clear() (FLUSHDB): other workers, other test runs and the
    # developer's server use the same Redis.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": CACHE_KEY_PREFIX}}
    clear_test_cache()
    from rdv.sms import LocmemSmsBackend

    LocmemSmsBackend.outbox.clear()
    # Tasks queued after a commit run at once, in the thread that committed: no message is left
    # in a broker that no worker reads. Tests of delivery by a real worker turn this off.
    from rdv.celery import app

    app.conf.task_always_eager = True


# The communes of France (and their former names): reference data that a migration loads and that
# no test writes. A transactional test (the browser's) ends with Django's flush, which truncates
# every table: it keeps these, so that the tests after it do not load 40 000 rows again (two
# seconds each time, dozens of times a run).
REFERENCE_TABLES = {Commune._meta.db_table, FormerCommune._meta.db_table}


def sql_flush_keeping_reference_data(style, connection, reset_sequences=True, allow_cascade=False):
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    return connection.ops.sql_flush(
        style,
        [table for table in tables if table not in REFERENCE_TABLES],
        reset_sequences=reset_sequences,
        allow_cascade=allow_cascade,
    )


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_reference_data():
    original = flush.sql_flush
    flush.sql_flush = sql_flush_keeping_reference_data
    yield
    flush.sql_flush = original


@pytest.fixture
def communes(db):
    """Every commune of France (tests.helpers.ensure_communes)."""
    ensure_communes()


@pytest.fixture
def organisation(db):
    return OrganisationFactory()


@pytest.fixture
def admin_agent(organisation):
    return AgentFactory(organisation=organisation, admin=True, services=["PMI"])


@pytest.fixture
def basic_agent(organisation):
    return AgentFactory(organisation=organisation, services=["PMI"])


@pytest.fixture
def password():
    return PASSWORD


# Browser tests: Debian's Chromium, never a downloaded browser.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            # The date fields read jj/mm/aaaa, as on a French phone (the context locale alone does not).
            "--lang=fr-FR",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


@pytest.fixture
def live_page(live_server, page):
    """A Chromium page on the live server, with its address as `page.base_url`. Whatever the
    Content-Security-Policy refused during the test (a script, a style, an image: the browser
    logs « Refused to … ») fails it: every page works under the policy."""
    page.set_default_timeout(10_000)
    page.base_url = live_server.url
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    assert not refused, refused
