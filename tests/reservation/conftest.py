"""Fixtures of the public pages' tests: the clock on a Monday without public holiday
(`search_helpers.NOW`), the Seine-et-Marne of `search_helpers` and its two MDS."""

import pytest
import time_machine

from tests.reservation.search_helpers import NOW, organisation, seine_et_marne


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def territory(db):
    return seine_et_marne()


@pytest.fixture
def noisiel(territory):
    return organisation(territory, "MDS de Noisiel")


@pytest.fixture
def chelles(territory):
    return organisation(territory, "MDS de Chelles")
