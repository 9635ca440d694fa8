import datetime as dt

import pytest

from planning.holidays import closed_days, public_holidays
from tests.organisations.factories import OrganisationFactory, TerritoryFactory

YEAR_2026 = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))


@pytest.mark.parametrize("departement", ["57", "67", "68"])
def test_alsace_moselle_has_good_friday_and_saint_stephens_day(departement):
    days = public_holidays(departement, *YEAR_2026)
    assert dt.date(2026, 4, 3) in days  # Vendredi saint
    assert dt.date(2026, 12, 26) in days
    assert days[dt.date(2026, 12, 25)] == "Noël"


def test_metropolitan_france_has_neither():
    days = public_holidays("77", *YEAR_2026)
    assert dt.date(2026, 4, 3) not in days
    assert dt.date(2026, 12, 26) not in days
    assert dt.date(2026, 7, 14) in days
    assert len(days) == 11


@pytest.mark.parametrize(
    "departement, day",
    [
        ("974", dt.date(2026, 12, 20)),  # La Réunion
        ("971", dt.date(2026, 5, 27)),  # Guadeloupe
        ("972", dt.date(2026, 5, 22)),  # Martinique
        ("973", dt.date(2026, 6, 10)),  # Guyane
        ("976", dt.date(2026, 4, 27)),  # Mayotte
    ],
)
def test_overseas_departements_have_their_abolition_of_slavery_day(departement, day):
    assert day in public_holidays(departement, *YEAR_2026)
    assert day not in public_holidays("75", *YEAR_2026)


def test_holidays_never_run_out():
    days = public_holidays("974", dt.date(2079, 12, 1), dt.date(2080, 1, 2))
    assert list(days) == [dt.date(2079, 12, 20), dt.date(2079, 12, 25), dt.date(2080, 1, 1)]


def test_closed_days_follow_the_organisations_switch(db):
    organisation = OrganisationFactory(territory=TerritoryFactory(reunion=True))
    assert organisation.close_on_public_holidays is True  # on by default
    assert dt.date(2026, 12, 20) in closed_days(organisation, *YEAR_2026)
    organisation.close_on_public_holidays = False
    assert closed_days(organisation, *YEAR_2026) == {}
