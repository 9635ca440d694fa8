"""`bench_reservation` runs end to end with tiny sizes and prints the figures its issue names. Tests
never time anything: only the keys and the sizes are checked."""

import gc
import json
from io import StringIO

import pytest
from django.core.management import call_command

# Run once in CI, not again at the DST instant (.ci/run): the benchmark's output does not
# depend on the hour.
pytestmark = pytest.mark.once

KEYS = {
    "agents",
    "lieux",
    "lieu_step_p50_ms",
    "lieu_step_p95_ms",
    "creneau_step_p50_ms",
    "creneau_step_p95_ms",
    "confirm_p95_ms",
    "queries_lieu_step",
    "queries_creneau_step",
}


@pytest.fixture
def garbage_collector():
    """The command tunes the collector as the web process does; this test process gets its own
    settings back."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("garbage_collector")
def test_prints_one_json_object_with_the_figures_of_the_issue(django_db_setup, django_db_blocker):
    out = StringIO()
    # The command makes and drops its own database next to this process's test database.
    with django_db_blocker.unblock():
        call_command("bench_reservation", organisations=2, agents=6, lieux=4, weeks=2, runs=2, stdout=out)
    figures = json.loads(out.getvalue())
    assert KEYS - figures.keys() == set()
    assert (figures["agents"], figures["lieux"]) == (6, 4)
