"""A request carrying a NUL character is refused as a whole, before any view reads it."""

from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _texts(request: HttpRequest) -> Iterator[str]:
    """Every text of the request a view may read: the path, the query string, the headers, and a
    posted form (its fields' names and values)."""
    yield request.path_info
    for key, values in request.GET.lists():
        yield key
        yield from values
    # The cookies are read parsed (request.COOKIES), not from their header.
    yield from (str(value) for key, value in request.META.items() if key.startswith("HTTP_") and key != "HTTP_COOKIE")
    if request.method == "POST" and request.content_type in FORM_TYPES:
        # Parsed here as the CSRF check would parse it (a body Django cannot parse is its own 400).
        for key, values in request.POST.lists():
            yield key
            yield from values
        # Django drops the non-printable characters of the files' names itself.
        yield from request.FILES.keys()


def carries_nul(request: HttpRequest) -> bool:
    return any(NUL in text for text in _texts(request))


class RefuseNulMiddleware:
    """« Demande invalide » (400) for any request with a NUL character in it; cookies holding one
    are dropped.

    No one types NUL: it comes from a broken client or a probe. PostgreSQL refuses it in any text
    (a column or a query's parameter), so wherever it reached a query before a form's check (the
    usagers' searches, read from the query string or from a posted step before its validation; a
    session cookie; the user agent that django-axes records) the page answered 500. Refused here,
    for every request, it is one rule in one place that no new view, form or filter has to
    remember; stripping it instead would change silently what was sent. Placed before the session
    and the authentication, which look cookies up in the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A cookie is not something a person sent on purpose, and browsers never hold one with NUL:
        # a forged one is dropped, as if absent (a new session), rather than refuse every page.
        request.COOKIES = {key: value for key, value in request.COOKIES.items() if NUL not in key + value}
        if carries_nul(request):
            return render(request, "400.html", {"nul_character": True}, status=400)
        return self.get_response(request)
