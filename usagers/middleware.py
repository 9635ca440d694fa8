"""The session of an usager who booked online, apart from the agents' (DESIGN.md, « Two kinds of
people who sign in »).

Its own cookie (USAGER_SESSION_COOKIE_NAME, « rdv_usager »), its own session row (a second store
of Django's session engine, its own key) and its own attribute, `request.usager`; nothing of
Django's auth is involved, so an usager never passes an agent page's checks and an agent signed in
is not an usager. Only the public pages (the `reservation` namespace) open it: on every other page
`request.usager` is None and the cookie is not even read.

An usager stays signed in on that device USAGER_SESSION_AGE (30 days) from its sign-in, unless it
signs out (« Se déconnecter ») or is anonymised.
"""

import datetime as dt
import re
import time
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import http_date

from rdv.db import columns, model_from_row
from usagers.models import Usager, UsagerAccount

# The URL namespaces of the pages that open the usager's session.
PUBLIC_APP_NAMES = frozenset({"reservation"})
USAGER_SESSION_AGE = dt.timedelta(days=30)
USAGER_KEY = "_usager_id"
# Session keys as Django's engines make them; anything else is ignored rather than looked up.
SESSION_KEY_FORMAT = re.compile(r"[a-z0-9]{8,64}")


class UsagerRequest(HttpRequest):
    """The request of a public page, as this middleware leaves it."""

    usager: Usager | None
    usager_session: SessionBase


def cookie_name() -> str:
    return getattr(settings, "USAGER_SESSION_COOKIE_NAME", "rdv_usager")


def _store_class() -> type[SessionBase]:
    return import_module(settings.SESSION_ENGINE).SessionStore


# The signed-in usager, on every public page: a fixed statement, which the ORM's `get` cost
# twice PostgreSQL's time to build.
USAGER_SQL = f"""SELECT {columns(Usager, "usager")} FROM {Usager._meta.db_table} AS usager
WHERE usager.id = %s AND usager.anonymised_at IS NULL AND usager.responsible_id IS NULL"""


def _usager_of(session: SessionBase) -> Usager | None:
    """The usager the session signed in, unless it was anonymised since (or, a proche, never
    signs in)."""
    pk = session.get(USAGER_KEY)
    if not isinstance(pk, int):
        return None
    with connection.cursor() as cursor:
        cursor.execute(USAGER_SQL, [pk])
        row = cursor.fetchone()
    return model_from_row(Usager, row) if row is not None else None


# Its proches, on each public page that asks for whom (« Vos informations », « Vérifiez »,
# « Mon profil »): a fixed statement, which the ORM cost five times PostgreSQL's time to build.
PROCHES_SQL = f"""SELECT {columns(Usager, "usager")} FROM {Usager._meta.db_table} AS usager
WHERE usager.responsible_id = %s AND usager.anonymised_at IS NULL ORDER BY usager.first_name, usager.id"""


def proches_of(usager: Usager) -> list[Usager]:
    """The usager's proches not anonymised, by first name, as
    `Usager.objects.filter(responsible=usager, anonymised_at__isnull=True).order_by("first_name", "pk")`."""
    with connection.cursor() as cursor:
        cursor.execute(PROCHES_SQL, [usager.pk])
        rows = cursor.fetchall()
    return [model_from_row(Usager, row) for row in rows]


def is_public_view(request: HttpRequest) -> bool:
    match = request.resolver_match
    return match is not None and bool(PUBLIC_APP_NAMES.intersection(match.app_names))


class UsagerSessionMiddleware:
    """Sets `request.usager` (the signed-in Usager, or None) and `request.usager_session` (the
    usager's own session, a dict-like store the public pages may keep their state in) on the
    public pages, and saves that session and its cookie on the way out. Reads the database only
    when the cookie is there: the session row, then the usager if one is signed in."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.SessionStore = _store_class()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.usager = None  # type: ignore[attr-defined]
        response = self.get_response(request)
        return self._save(request, response)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if not is_public_view(request):
            return None
        key = request.COOKIES.get(cookie_name())
        session = self.SessionStore(key if key and SESSION_KEY_FORMAT.fullmatch(key) else None)
        request.usager_session = session  # type: ignore[attr-defined]
        request.usager = _usager_of(session) if key else None  # type: ignore[attr-defined]
        return None

    def _save(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session: SessionBase | None = getattr(request, "usager_session", None)
        if session is None:
            return response
        name = cookie_name()
        if session.accessed:
            patch_vary_headers(response, ("Cookie",))
        if request.usager is not None:  # type: ignore[attr-defined]
            # A page naming a signed-in usager is never kept by a shared cache.
            patch_cache_control(response, private=True, no_store=True)
        empty = session.is_empty()
        if name in request.COOKIES and empty:
            response.delete_cookie(name, path="/", domain=settings.SESSION_COOKIE_DOMAIN, samesite="Lax")
            return response
        if not session.modified or empty or response.status_code >= 500:
            return response
        try:
            session.save()
        except UpdateError:
            raise SessionInterrupted(
                "La session a été supprimée avant la fin de la requête : l'usager s'est peut-être déconnecté "
                "depuis une autre page."
            ) from None
        max_age = session.get_expiry_age()
        response.set_cookie(
            name,
            session.session_key or "",
            max_age=max_age,
            expires=http_date(time.time() + max_age),
            path="/",
            domain=settings.SESSION_COOKIE_DOMAIN,
            secure=bool(settings.SESSION_COOKIE_SECURE),
            httponly=True,
            samesite="Lax",
        )
        return response


def _session(request: HttpRequest) -> SessionBase:
    session = getattr(request, "usager_session", None)
    if session is None:
        raise RuntimeError("La session des usagers n'est ouverte que sur les pages publiques (espace « reservation »).")
    return session


def login_usager(request: HttpRequest, usager: Usager) -> None:
    """Signs `usager` in on this device for USAGER_SESSION_AGE, once it proved who it is
    (usagers.identity.check_code, FranceConnect later). The session gets a new key (no session
    fixation: a key planted before the sign-in is worth nothing after it) and keeps what the
    public pages stored there, unless another usager was signed in, whose data goes. The CSRF
    token changes too, as at an agent's login."""
    session = _session(request)
    if session.get(USAGER_KEY, usager.pk) != usager.pk:
        session.flush()
    else:
        session.cycle_key()
    now = timezone.now()
    session[USAGER_KEY] = usager.pk
    session.set_expiry(now + USAGER_SESSION_AGE)
    UsagerAccount.objects.filter(usager=usager).update(last_login_at=now)
    rotate_token(request)
    request.usager = usager  # type: ignore[attr-defined]


def logout_usager(request: HttpRequest) -> None:
    """« Se déconnecter »: the session and all it held are deleted, its cookie with them."""
    _session(request).flush()
    request.usager = None  # type: ignore[attr-defined]
