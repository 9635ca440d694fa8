"""« Votre commune » : a page to find one's commune, for any flow that needs one (online booking
first). Public: no account is needed to say where one lives. The flow that sends people here gives
`next`, the address to come back to; each result links there with `commune=<INSEE code>` added."""

import re
from urllib.parse import urlsplit, urlunsplit

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from sectorisation.communes import resolve_commune, search_communes
from sectorisation.forms import CommuneSearchForm

DEPARTEMENT = re.compile(r"^(?:\d{2,3}|2[AB])$")


@login_not_required
@require_GET
def commune_search(request: HttpRequest) -> HttpResponse:
    next_url = safe_next_url(request)
    # Optional: a flow that knows the territory narrows the search to its département.
    departement = request.GET.get("departement", "")
    if not DEPARTEMENT.match(departement):
        departement = ""
    form = CommuneSearchForm(request.GET if "q" in request.GET else None)
    results = None
    if form.is_bound and form.is_valid():
        communes = search_communes(form.cleaned_data["q"], departement=departement or None)
        results = [(commune, link_to(next_url, commune.insee_code)) for commune in communes]
    return render(
        request,
        "sectorisation/commune_search.html",
        {
            "form": form,
            "results": results,
            "next_url": next_url,
            "departement": departement,
            # Without `next`, a result comes back here and the page says which commune it is.
            "chosen": None if next_url else resolve_commune(request.GET.get("commune", "")),
        },
    )


def safe_next_url(request: HttpRequest) -> str:
    """`next` when it points to this site, else "" (never send people to another site)."""
    candidate = request.GET.get("next", "")
    if not candidate or any(ord(char) < 32 or ord(char) == 127 for char in candidate):
        return ""  # control characters: nothing a link of ours holds
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed else ""


def link_to(next_url: str, insee_code: str) -> str:
    """`next_url` with `commune=<insee_code>` in its query string (replacing any), or this page."""
    if not next_url:
        return reverse("sectorisation:commune_search", query={"commune": insee_code})
    parts = urlsplit(next_url)
    query = QueryDict(parts.query, mutable=True)
    query["commune"] = insee_code
    return urlunsplit(parts._replace(query=query.urlencode()))
