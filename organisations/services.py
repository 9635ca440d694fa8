"""Operations that call systems outside the machine."""

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

logger = logging.getLogger(__name__)

GEOCODING_TIMEOUT_SECONDS = 3


def geocode(address: str) -> tuple[float, float] | None:
    """(latitude, longitude) of a French address, or None.

    Asks the service at settings.GEOCODING_URL, which speaks the Base Adresse Nationale's API
    (https://api-adresse.data.gouv.fr/search/). With no service configured nothing is called:
    coordinates are a bonus (future geographic routing), never needed to save a lieu, so every
    failure of the service is logged and answered with None.
    """
    base_url = settings.GEOCODING_URL
    if not base_url or not address.strip():
        return None
    url = f"{base_url}?{urllib.parse.urlencode({'q': address, 'limit': 1})}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=GEOCODING_TIMEOUT_SECONDS) as response:
            data = json.load(response)
        longitude, latitude = data["features"][0]["geometry"]["coordinates"][:2]
        return float(latitude), float(longitude)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        # OSError covers URLError, HTTPError and timeouts; ValueError covers bad JSON.
        logger.warning("Géocodage impossible pour « %s » : %r", address, error)
        return None
