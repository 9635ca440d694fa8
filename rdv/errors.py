"""The server's error pages: a database out of reach answers « Service momentanément
indisponible » (503), any other failure the usual 500.

Django calls `handler500` for any exception a view or a middleware let through, inside the
`except` that caught it: the exception is `sys.exc_info()`. When it (or what it was raised while
handling) is a database connection error, PostgreSQL is restarting, failing over or unreachable:
the page says to retry rather than « une erreur est survenue », and a `Retry-After` tells clients
and proxies when. It is rendered without the request (no context processor, no user, no session),
so it needs nothing from the database. The next request needs nothing either: Django opens a new
connection for it (CONN_HEALTH_CHECKS tests a kept one first; a connection that failed during a
request is closed at its end), so the site comes back by itself when PostgreSQL does."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views.defaults import server_error

# Seconds a client is asked to wait: about what a PostgreSQL restart takes.
RETRY_AFTER = 30


def _database_unreachable(error: BaseException | None) -> bool:
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, (OperationalError, InterfaceError)):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def server_error_or_unavailable(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    if not _database_unreachable(sys.exc_info()[1]):
        return server_error(request, template_name)
    body = loader.render_to_string("503.html", {"site_name": settings.SITE_NAME})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response
