"""The organisation's public link, `/org/<id>-<slug>/`: the online booking limited to it."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from organisations.models import Organisation


@login_not_required
@require_GET
def organisation_link(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    """Any slug leads to the organisation (a renamed organisation keeps its printed links)."""
    organisation = get_object_or_404(Organisation, pk=pk)
    return redirect(reverse("reservation:home", query={"org": organisation.pk}))
