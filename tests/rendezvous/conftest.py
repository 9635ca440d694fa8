"""Fixtures of the tests of posing an RDV (test_booking_*.py): a motif, a lieu, a plage of
`basic_agent` on DAY, an usager, and the clock of a Wednesday morning before DAY."""

import pytest
import time_machine

from tests.helpers import next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.helpers import DAY, NOW
from tests.usagers.factories import UsagerFactory


@pytest.fixture
def wednesday_morning():
    """NOW, the Wednesday before DAY; not autouse: `pytest.mark.usefixtures("wednesday_morning")`."""
    with time_machine.travel(NOW, tick=False):
        assert next_monday() == DAY
        yield


@pytest.fixture
def lieu(organisation):
    return LieuFactory(organisation=organisation, name="MDS de Noisiel")


@pytest.fixture
def motif(organisation):
    return MotifFactory(organisation=organisation, category__name="Consultation de puériculture")


@pytest.fixture
def plage(organisation, basic_agent, motif, lieu):
    """DAY, 9:00 to 12:00, for `basic_agent`."""
    return PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu, motifs=[motif], first_day=DAY)


@pytest.fixture
def usager(organisation):
    return UsagerFactory(organisation=organisation, first_name="Inès", last_name="Garrigue")
