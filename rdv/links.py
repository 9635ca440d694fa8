"""Links to many objects of one kind, on one page."""

from collections.abc import Callable

from django.urls import reverse

# An id no table reaches, written where the object's id goes.
_MARK = 987654321987654321


def url_for_pks(view_name: str, **kwargs: object) -> Callable[[int], str]:
    """`reverse(view_name, kwargs={**kwargs, "pk": pk})` for each `pk` of a list: the URL is
    reversed once, each pk written in place (a row's links in a list of twenty: 20 µs each
    otherwise)."""
    head, tail = reverse(view_name, kwargs={**kwargs, "pk": _MARK}).split(str(_MARK))
    return lambda pk: f"{head}{pk}{tail}"
