"""Where a page may send people back to (`next`, `retour`): a page of this site, checked before
the page writes anything."""

from urllib.parse import unquote, urlsplit

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 2000


def local_url(request: HttpRequest, candidate: str | None) -> str:
    """`candidate` when it is the path of a page of this site (it resolves), else "".

    Never another site (an open redirect), and never a value that `redirect()` would read as the
    name of a URL and fail on (`next=0`: the status was saved, then the page answered 500). A
    view reads it before it writes, so a bad value changes where the agent lands, not what is
    done."""
    if not candidate or len(candidate) > MAX_LENGTH or not candidate.isprintable():
        return ""
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return ""
    try:
        resolve(unquote(parts.path))
    except Resolver404:
        return ""
    return candidate
