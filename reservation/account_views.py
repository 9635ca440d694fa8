"""« Mes rendez-vous » for an identified usager: its RDVs and its proches', « Annuler » (a
confirmation page, then POST) and « Déplacer » (another créneau of the same motif and lieu, one
atomic replacement) until the organisation's limit before the RDV; past it, the phone number.
The cancel and move pages are shared with the link of messages (reservation.rdv_changes)."""

import datetime as dt

from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from rendezvous.models import Participation, Rdv
from reservation.rdv_changes import ChangePages, cancel_page, mark_changeable, move_page
from reservation.usager_rdvs import family_rdvs
from usagers.middleware import UsagerRequest
from usagers.models import Usager


def _usager_or_login(request: UsagerRequest) -> Usager | HttpResponse:
    usager = request.usager
    if usager is None:
        return redirect(reverse("reservation:login", query={"next": request.get_full_path()}))
    return usager


def _rdvs(usager: Usager):
    participations = Participation.objects.select_related("usager").order_by("pk")
    return (
        family_rdvs(usager)
        .select_related("motif", "lieu", "organisation__territory")
        .prefetch_related(Prefetch("participations", queryset=participations))
    )


def _annotate(rdvs: list[Rdv], now: dt.datetime) -> list[Rdv]:
    for rdv in rdvs:
        rdv.for_names = ", ".join(p.usager.full_name for p in rdv.participations.all())  # type: ignore[attr-defined]
    return mark_changeable(rdvs, now)


@login_not_required
@require_GET
def my_rdvs(request: UsagerRequest) -> HttpResponse:
    usager = _usager_or_login(request)
    if isinstance(usager, HttpResponse):
        return usager
    now = timezone.now()
    coming = _annotate(list(_rdvs(usager).filter(ends_at__gte=now).order_by("starts_at")), now)
    past = _annotate(list(_rdvs(usager).filter(ends_at__lt=now).order_by("-starts_at")[:20]), now)
    # A moved RDV leaves a cancelled one at the old time: listed apart, not among those to come.
    upcoming = [rdv for rdv in coming if rdv.status not in Rdv.CANCELLED_STATUSES]
    cancelled = [rdv for rdv in coming if rdv.status in Rdv.CANCELLED_STATUSES]
    context = {"upcoming": upcoming, "cancelled": cancelled, "past": past}
    return render(request, "reservation/account/my_rdvs.html", context)


def _pages(rdv: Rdv) -> ChangePages:
    return ChangePages(
        page=reverse("reservation:my_rdvs"),
        move_name="reservation:move",
        move_kwargs={"pk": rdv.pk},
        moved=lambda new: redirect("reservation:confirmation", pk=new.pk),
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def cancel_rdv(request: UsagerRequest, pk: int) -> HttpResponse:
    usager = _usager_or_login(request)
    if isinstance(usager, HttpResponse):
        return usager
    rdv = get_object_or_404(_rdvs(usager), pk=pk)
    _annotate([rdv], timezone.now())
    return cancel_page(request, rdv, _pages(rdv))


@login_not_required
@require_http_methods(["GET", "POST"])
def move_rdv(request: UsagerRequest, pk: int) -> HttpResponse:
    """« Déplacer » (reservation.rdv_changes)."""
    usager = _usager_or_login(request)
    if isinstance(usager, HttpResponse):
        return usager
    rdv = get_object_or_404(_rdvs(usager), pk=pk)
    _annotate([rdv], timezone.now())
    return move_page(request, rdv, _pages(rdv))
