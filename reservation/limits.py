"""Rate limits of the public pages (django-ratelimit on the shared Redis, fixed windows): what
counts a request against a limit, and the page « Trop de demandes » (429) saying when to retry.
The limits themselves are declared where they apply (`identity_views`, `booking_views`)."""

import ipaddress
import logging
import math
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    group: str
    rate: str  # django-ratelimit's « count/period »


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


def wait_for(request: HttpRequest, counted: list[tuple[Limit, str]]) -> int:
    """Counts this request against each (limit, key); the seconds until the last exceeded limit
    starts a new window, or 0 when none is."""
    wait = 0
    for limit, value in counted:
        try:
            usage = get_usage(
                request, group=limit.group, key=lambda _group, _request, v=value: v, rate=limit.rate, increment=True
            )
        except Exception:  # Redis unreachable: the database's limits still hold (RATELIMIT_FAIL_OPEN)
            logger.warning("Rate limit %s not counted", limit.group, exc_info=True)
            continue
        if usage is not None and usage["should_limit"]:
            # The window's last second still counts in it (django-ratelimit): the next one is free.
            wait = max(wait, usage["time_left"] + 1)
    return wait


def too_many(request: HttpRequest, seconds: int) -> HttpResponse:
    """« Trop de demandes. Réessayez dans N minutes. » (429, Retry-After)."""
    minutes = max(math.ceil(seconds / 60), 1)
    response = render(request, "reservation/identity/too_many.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(seconds)
    return response
