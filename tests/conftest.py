import os

import pytest
from django.core.cache import cache

from tests.agents.factories import PASSWORD, AgentFactory
from tests.organisations.factories import OrganisationFactory

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(autouse=True)
def _isolate(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "rdv.sms.LocmemSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    # Fast hashing: the tests check who may log in, not PBKDF2's cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    from rdv.sms import LocmemSmsBackend

    LocmemSmsBackend.outbox.clear()
    # Tasks queued after a commit run at once, in the thread that committed: no message is left
    # in a broker that no worker reads. Tests of delivery by a real worker turn this off.
    from rdv.celery import app

    app.conf.task_always_eager = True


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
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris"}


@pytest.fixture
def live_page(live_server, page):
    """A Chromium page on the live server, with its address as `page.base_url`."""
    page.set_default_timeout(10_000)
    page.base_url = live_server.url
    return page
