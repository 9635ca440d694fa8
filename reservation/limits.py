"""Rate limits of the public pages (fixed windows counted in the shared Redis): what counts a
request against a limit, and the page « Trop de demandes » (429) saying when to retry. The
limits themselves are declared where they apply (`identity_views`, `booking_views`).

Each (limit, key) counts in a window of the limit's period; windows are staggered by key (a
hash of it), as django-ratelimit's were, so that a day's limit does not start again for
everyone at midnight. One round trip per limit: INCR and EXPIRE in one pipeline, through the
cache's own Redis client and key prefix (the tests' per-process prefix included).
django-ratelimit did the same count in three round trips (SET NX, EXISTS, INCRBY) and 1 ms of
CPU, a quarter of what an usager's « Confirmer » costs when the time was just taken: this
takes 0.3 ms (measured on 7 December 2026, 1 000 counts in process).

Redis unreachable: not counted (a warning logged, the next limits not tried), rather than no
usager able to sign in or book; the code's own limits (5 tries and one code a minute, in the
database) still hold."""

import ipaddress
import logging
import math
import time
import zlib
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 24 * 3600}


@dataclass(frozen=True)
class Limit:
    group: str
    rate: str  # « count/period »: « 5/h », « 10/d »

    @property
    def count(self) -> int:
        return int(self.rate.split("/")[0])

    @property
    def period(self) -> int:
        return PERIODS[self.rate.split("/")[1]]

    def window_end(self, key: str, now: int) -> int:
        """The second the current window of `key` ends (the first second of the next one)."""
        end = now - now % self.period + zlib.crc32(key.encode()) % self.period
        return end if end > now else end + self.period


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address, as django-axes reads it for the agents' lockout (proxies)."""
    raw = get_client_ip_address(request) or ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


def ip_key(request: HttpRequest) -> str:
    """IPv6 addresses counted per /64: one household or phone gets a whole block."""
    ip = client_ip(request)
    if ip is None:
        return "unknown"
    network = ipaddress.ip_network(f"{ip}/{64 if ':' in ip else 32}", strict=False)
    return str(network.network_address)


def digest(value: str) -> str:
    """What names a count in Redis (here and in `link_check`): of a bounded size, and no email,
    token or IP address readable there, nor found again by hashing every IPv4 address (keyed by
    the SECRET_KEY)."""
    raw = value.encode("utf-8", "backslashreplace")
    return salted_hmac("reservation.limits", raw, algorithm="sha256").hexdigest()[:32]


def count(limit: Limit, key: str, now: int) -> int:
    """Counts one more against (limit, key) in its current window; the window's count."""
    end = limit.window_end(key, now)
    name = cache.make_key(f"limit:{limit.group}:{digest(f'{limit.group}:{key}')}:{end}")
    # Django's cache offers no pipeline: its Redis client, from the pool it keeps.
    client = cache._cache.get_client(name, write=True)  # type: ignore[attr-defined]
    # MULTI/EXEC, still one round trip: never a count left without its expiry.
    pipeline = client.pipeline(transaction=True)
    pipeline.incr(name)
    pipeline.expire(name, end - now + 1)
    counted, _ = pipeline.execute()
    return counted


def wait_for(counted: list[tuple[Limit, str]]) -> int:
    """Counts the request against each (limit, key); the seconds until the last exceeded limit
    starts a new window, or 0 when none is."""
    wait = 0
    now = int(time.time())
    for limit, key in counted:
        try:
            if count(limit, key, now) <= limit.count:
                continue
        except Exception:  # Redis unreachable: not counted, the database's limits still hold
            # Nor the next limits: a Redis that hangs costs one timeout, not one per limit.
            logger.warning("Rate limits from %s on not counted", limit.group, exc_info=True)
            break
        wait = max(wait, limit.window_end(key, now) - now)
    return wait


def too_many(request: HttpRequest, seconds: int) -> HttpResponse:
    """« Trop de demandes. Réessayez dans N minutes. » (429, Retry-After)."""
    minutes = max(math.ceil(seconds / 60), 1)
    response = render(request, "reservation/identity/too_many.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response
