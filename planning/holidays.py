"""French public holidays, computed by the `holidays` package for each territory: Alsace-Moselle
keeps Good Friday and Saint Stephen's Day, overseas départements their abolition-of-slavery day.
Computed for any year asked, so the list never runs out."""

import datetime as dt
from functools import lru_cache

import holidays as holidays_package
from django.utils import timezone

from organisations.models import Organisation

# Département number → the package's subdivision of France. Others: metropolitan France.
SUBDIVISIONS = {
    "57": "57",  # Moselle
    "67": "6AE",  # Bas-Rhin (Collectivité européenne d'Alsace)
    "68": "6AE",  # Haut-Rhin
    "971": "971",  # Guadeloupe
    "972": "972",  # Martinique
    "973": "973",  # Guyane
    "974": "974",  # La Réunion
    "975": "PM",  # Saint-Pierre-et-Miquelon
    "976": "976",  # Mayotte
    "977": "BL",  # Saint-Barthélemy
    "978": "MF",  # Saint-Martin
    "986": "WF",  # Wallis-et-Futuna
    "987": "PF",  # Polynésie française
    "988": "NC",  # Nouvelle-Calédonie
}


def subdivision_of(departement_number: str) -> str | None:
    return SUBDIVISIONS.get(departement_number.strip())


@lru_cache(maxsize=256)
def _holidays_of_year(subdivision: str | None, year: int) -> dict[dt.date, str]:
    calendar = holidays_package.country_holidays("FR", subdiv=subdivision, years=year, language="fr")
    return dict(calendar.items())


def preload() -> None:
    """Load the package's calendars now (the web process calls it at start-up): its first use
    imports some 280 modules, 0.4 s that the first agenda or créneaux request would pay."""
    _holidays_of_year(None, timezone.localdate().year)


def public_holidays(departement_number: str, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """The public holidays of the territory between start and end (inclusive), by date, with
    their French names."""
    subdivision = subdivision_of(departement_number)
    found: dict[dt.date, str] = {}
    for year in range(start.year, end.year + 1):
        for day, name in _holidays_of_year(subdivision, year).items():
            if start <= day <= end:
                found[day] = name
    return dict(sorted(found.items()))


def closed_days(organisation: Organisation, start: dt.date, end: dt.date) -> dict[dt.date, str]:
    """The days the organisation is closed for everyone between start and end: its territory's
    public holidays when it chose to close on them (the default), none otherwise."""
    if not organisation.close_on_public_holidays:
        return {}
    return public_holidays(organisation.territory.departement_number, start, end)
