"""« Mes rendez-vous » for an identified usager: its RDVs and its proches', « Annuler » (a
confirmation page, then POST) and « Déplacer » (another créneau of the same motif and lieu, one
atomic replacement) until the organisation's limit before the RDV; past it, the phone number."""

import datetime as dt
import secrets
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from planning.creneaux import available_slots
from rendezvous.models import Participation, Rdv
from rendezvous.online import AlreadyBooked, TooLate, can_change, cancel, move
from rendezvous.services import SlotTaken
from reservation.choice import parse_date, parse_local_datetime
from reservation.selection import local_start
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
        rdv.changeable = can_change(rdv, now)  # type: ignore[attr-defined]
    return rdvs


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


@login_not_required
@require_http_methods(["GET", "POST"])
def cancel_rdv(request: UsagerRequest, pk: int) -> HttpResponse:
    usager = _usager_or_login(request)
    if isinstance(usager, HttpResponse):
        return usager
    rdv = get_object_or_404(_rdvs(usager), pk=pk)
    _annotate([rdv], timezone.now())
    if request.method == "POST":
        try:
            cancel(rdv=rdv)
        except TooLate:
            messages.error(request, _late_message(rdv))
            return redirect("reservation:my_rdvs")
        messages.success(request, _("Votre rendez-vous a été annulé."))
        return redirect("reservation:my_rdvs")
    status = 200 if rdv.changeable else 409  # type: ignore[attr-defined]
    context = {"rdv": rdv, "late": _late_message(rdv), "back_url": reverse("reservation:my_rdvs")}
    return render(request, "reservation/account/cancel.html", context, status=status)


def _late_message(rdv: Rdv) -> str:
    hours = rdv.organisation.usager_cancel_limit_hours
    text = _("Ce rendez-vous ne peut plus être annulé ni déplacé en ligne (moins de %(hours)s h avant).") % {
        "hours": hours
    }
    if rdv.organisation.phone:
        text += " " + _("Appelez le %(phone)s.") % {"phone": rdv.organisation.phone}
    return text


def _week(rdv: Rdv, monday: dt.date, usager: Usager) -> tuple[list[tuple[dt.date, list[dt.datetime]]], dt.datetime]:
    tz = rdv.organisation.tzinfo
    start = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
    slots = available_slots(
        motif=rdv.motif,
        start=start,
        end=start + dt.timedelta(days=7),
        agents=None if rdv.motif.sectorisation_level != rdv.motif.SectorisationLevel.AGENT else rdv.agents.all(),
        lieux=None if rdv.lieu_id is None else [rdv.lieu_id],
        online=True,
        usager=usager,
    )
    by_day: dict[dt.date, list[dt.datetime]] = defaultdict(list)
    for slot in slots:
        local = slot.start.astimezone(tz)
        if local not in by_day[local.date()]:
            by_day[local.date()].append(local)
    return sorted(by_day.items()), start


@login_not_required
@require_http_methods(["GET", "POST"])
def move_rdv(request: UsagerRequest, pk: int) -> HttpResponse:
    """« Déplacer »: the free times of a week for the same motif and lieu; one chosen, a page to
    confirm (« Confirmer le déplacement ») or « Garder mon rendez-vous »."""
    usager = _usager_or_login(request)
    if isinstance(usager, HttpResponse):
        return usager
    rdv = get_object_or_404(_rdvs(usager), pk=pk)
    now = timezone.now()
    _annotate([rdv], now)
    if not rdv.changeable:  # type: ignore[attr-defined]
        messages.error(request, _late_message(rdv))
        return redirect("reservation:my_rdvs")
    tz = rdv.organisation.tzinfo
    chosen_naive = parse_local_datetime(request.POST.get("creneau") or request.GET.get("creneau"))
    chosen = local_start(chosen_naive, rdv.organisation) if chosen_naive else None
    participant = rdv.participations.all()[0].usager
    if chosen is not None:
        if request.method == "POST":
            try:
                new = move(
                    rdv=rdv, start=chosen, booking_token=request.POST.get("token", "")[:64] or secrets.token_urlsafe(24)
                )
            except TooLate:
                messages.error(request, _late_message(rdv))
                return redirect("reservation:my_rdvs")
            except SlotTaken:
                messages.error(request, _("Ce créneau vient d'être pris : votre rendez-vous n'a pas changé."))
                return redirect("reservation:move", pk=rdv.pk)
            except AlreadyBooked as already:
                new = already.rdv
            messages.success(request, _("Votre rendez-vous a été déplacé."))
            return redirect("reservation:confirmation", pk=new.pk)
        context = {"rdv": rdv, "chosen": chosen, "token": secrets.token_urlsafe(24)}
        return render(request, "reservation/account/move_confirm.html", context)
    today = timezone.localdate(now, tz)
    monday = parse_date(request.GET.get("semaine")) or max(
        today, rdv.starts_at.astimezone(tz).date() - dt.timedelta(days=7)
    )
    monday -= dt.timedelta(days=monday.weekday())
    last = (now + dt.timedelta(seconds=rdv.motif.max_booking_delay)).astimezone(tz).date()
    monday = min(max(monday, today - dt.timedelta(days=today.weekday())), last - dt.timedelta(days=last.weekday()))
    days, _start = _week(rdv, monday, participant)
    previous_week = monday - dt.timedelta(days=7)
    context = {
        "rdv": rdv,
        "days": days,
        "monday": monday,
        "sunday": monday + dt.timedelta(days=6),
        "previous_url": reverse("reservation:move", kwargs={"pk": rdv.pk}, query={"semaine": previous_week.isoformat()})
        if monday > today - dt.timedelta(days=today.weekday())
        else "",
        "next_url": reverse(
            "reservation:move", kwargs={"pk": rdv.pk}, query={"semaine": (monday + dt.timedelta(days=7)).isoformat()}
        )
        if monday + dt.timedelta(days=7) <= last
        else "",
        "back_url": reverse("reservation:my_rdvs"),
    }
    return render(request, "reservation/account/move.html", context)
