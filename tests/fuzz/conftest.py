"""The fuzz's world: the access matrix's (tests/access_world.py), built once per module and per
worker, and the input surface of every page read from it (tests/fuzz/surfaces.py)."""

import pytest

from tests.access_world import world_rolled_back, write_export_file
from tests.fuzz.crawl import crawl
from tests.fuzz.surfaces import Surfaces


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """In a transaction rolled back at the module's end, the clock at NOW (see
    tests/test_access_matrix.py, whose world this is); each example of the fuzz runs in a savepoint
    of it, rolled back."""
    with world_rolled_back(django_db_blocker) as world:
        yield world


@pytest.fixture(scope="module")
def _surfaces_of_the_module() -> dict:
    return {}


@pytest.fixture
def surfaces(db, _export_file, world, _surfaces_of_the_module) -> Surfaces:
    """Read by the module's first test that needs them, with the isolation of a test (outboxes,
    MEDIA_ROOT, tests/conftest.py) and in its savepoint: the crawl's POSTs write nothing that stays."""
    if "surfaces" not in _surfaces_of_the_module:
        _surfaces_of_the_module["surfaces"] = crawl(world)
    return _surfaces_of_the_module["surfaces"]


@pytest.fixture(autouse=True)
def _export_file(_isolate, world):
    """After tests/conftest.py gave the test its own MEDIA_ROOT."""
    write_export_file(world)
