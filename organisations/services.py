"""Operations that call systems outside the machine."""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

GEOCODING_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class Address:
    """What the Base Adresse Nationale found for a typed address."""

    latitude: float
    longitude: float
    citycode: str  # INSEE code of the commune (of the arrondissement in Paris, Lyon, Marseille)
    street: str  # the street's name, empty when the address is only a commune
    label: str  # the whole address as the BAN writes it


def find_address(address: str) -> Address | None:
    """The best match for a French address, or None.

    Asks the service at settings.GEOCODING_URL, which speaks the Base Adresse Nationale's API
    (https://api-adresse.data.gouv.fr/search/). With no service configured nothing is called.
    Every failure of the service is logged and answered with None: callers fall back to what
    works without it (a lieu keeps its address as typed, an usager picks its commune).
    """
    base_url = settings.GEOCODING_URL
    if not base_url or not address.strip():
        return None
    url = f"{base_url}?{urllib.parse.urlencode({'q': address, 'limit': 1})}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=GEOCODING_TIMEOUT_SECONDS) as response:
            data = json.load(response)
        feature = data["features"][0]
        longitude, latitude = feature["geometry"]["coordinates"][:2]
        properties = feature.get("properties") or {}
        return Address(
            latitude=float(latitude),
            longitude=float(longitude),
            citycode=str(properties.get("citycode") or ""),
            street=str(
                properties.get("street") or (properties.get("name") if properties.get("type") == "street" else "") or ""
            ),
            label=str(properties.get("label") or address),
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as error:
        # OSError covers URLError, HTTPError and timeouts; ValueError covers bad JSON.
        logger.warning("Géocodage impossible pour « %s » : %r", address, error)
        return None


def geocode(address: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a French address, or None: coordinates are a bonus for a lieu,
    never needed to save it."""
    found = find_address(address)
    return (found.latitude, found.longitude) if found else None
