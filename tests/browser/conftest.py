import os

import pytest

from sectorisation.loading import load_communes
from sectorisation.models import Commune

# Playwright's sync API runs an asyncio loop in the test thread; Django then refuses ORM calls
# from that thread (the test's own set-up and the database flush). The project has no async code
# for this check to protect.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def communes_back_after_the_flush(django_db_blocker):
    """The live server's flush empties the communes too: they go back, committed, for the tests
    after the module that asks for this (see tests/browser/test_sectorisation.py)."""
    yield
    with django_db_blocker.unblock():
        if not Commune.objects.filter(pk="75056").exists():
            load_communes()
