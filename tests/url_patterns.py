"""Every URL pattern of the project, read from the resolver, with a URL to reach it: the tests
that must hold for every page (headers, never a 500) walk this list, so that a new page cannot
ship unchecked."""

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

# A value for each converter a route may use (planning's `isodate` included).
SAMPLES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": str(uuid.UUID(int=1)),
    "isodate": dt.date(2026, 12, 7).isoformat(),
}
ROUTE_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


@dataclass(frozen=True)
class Pattern:
    name: str  # « namespace:name », or the route when unnamed
    route: str  # the whole route, prefixes included
    url: str  # a URL that resolves to it

    @property
    def parameters(self) -> list[tuple[str, str]]:
        """(converter, name) of each parameter of its route, in order: `<int:pk>` is ("int", "pk")."""
        return [(match["converter"] or "str", match["name"]) for match in ROUTE_PARAMETER.finditer(self.route)]

    def reverse(self, **kwargs) -> str:
        """Its URL for these values of its parameters (objects' pks, tokens…), through Django's own
        `reverse`: the tests that need real objects behind a URL (the access matrix) build it here."""
        return reverse(self.name, kwargs=kwargs)


def _sample_route(route: str) -> str:
    return ROUTE_PARAMETER.sub(lambda match: SAMPLES[match["converter"] or "str"], route)


def _sample_regex(regex: str) -> str:
    text = REGEX_GROUP.sub("x", regex)
    return text.lstrip("^").rstrip("$").replace("\\", "")


def _part(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _sample_route(str(pattern._route))
    if isinstance(pattern, RegexPattern):
        return _sample_regex(pattern._regex)
    raise TypeError(pattern)


def all_patterns(resolver: URLResolver | None = None, prefix: str = "", route: str = "", namespace: str = ""):
    """Every URLPattern under `resolver` (the project's by default), depth first."""
    resolver = resolver or get_resolver()
    found: list[Pattern] = []
    for entry in resolver.url_patterns:
        part = _part(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += all_patterns(entry, prefix + part, route + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else route + str(entry.pattern)
            found.append(Pattern(name=name, route=route + str(entry.pattern), url="/" + prefix + part))
    return found
