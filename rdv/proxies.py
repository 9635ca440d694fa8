"""The visitor's address behind the reverse proxies we trust (setting TRUSTED_PROXY_COUNT).

Each proxy appends the address it received the request from to X-Forwarded-For: behind N trusted
proxies, the N-th address from the right is the one the first of them saw, the client's; what
stands to its left was written by the client and proves nothing. With no proxy (0), the
connection's address. django-axes reads it through AXES_CLIENT_IP_CALLABLE (the lockout of the
agents' sign-in, per email and address), and so do the usagers' rate limits
(reservation.limits.client_ip)."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    """An address as a proxy writes it, with or without a port (« 203.0.113.7:5123 »,
    « [2001:db8::1]:443 »), normalised; None when it is none."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR without a trusted proxy; behind N, the N-th entry from
    the right of X-Forwarded-For. A header with fewer entries than proxies did not come through
    all of them (or they are misconfigured): the connection's address then, as Werkzeug's
    ProxyFix does, rather than an entry the client may have written."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        entries = [entry for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if entry.strip()]
        if len(entries) >= count:
            forwarded = _address(entries[-count])
            if forwarded is not None:
                return forwarded
    return _address(remote) or remote or None
