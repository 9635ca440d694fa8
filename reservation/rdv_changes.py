"""« Annuler » and « Déplacer » one RDV, as an usager does it online: the same pages and rules
whether the RDV was opened from « Mes rendez-vous » (signed in, by its id) or from the link of a
message (its token, after the three letters: reservation.link_views). Only where the pages lead
differs (`ChangePages`).

Cancel: a confirmation page, then a POST. Move: the free times of a week for the same motif and
lieu, one chosen, a page to confirm, then a POST replacing the RDV atomically
(`rendezvous.online.move`). Until the organisation's limit before the RDV; past it, the phone
number. A GET never changes anything: mail scanners open links."""

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from planning.creneaux import available_slots
from rendezvous.models import Rdv
from rendezvous.online import AlreadyBooked, TooLate, can_change, cancel, move
from rendezvous.services import SlotTaken
from reservation.choice import parse_date, parse_local_datetime
from reservation.selection import local_start
from usagers.models import Usager


@dataclass(frozen=True)
class ChangePages:
    """Where the pages of « Annuler » and « Déplacer » of `rdv` lead.

    `page`: the RDV's list or page (« Garder mon rendez-vous », and where a cancellation or a
    refusal returns); `move_name` and `move_kwargs`: the URL of « Déplacer » (its weeks, its
    confirmation); `moved`: the response once moved, given the new RDV; `hide_motif`: the motif's
    name stays off the page (a link from a message, unless the motif allows it)."""

    page: str
    move_name: str
    move_kwargs: dict[str, Any]
    moved: Callable[[Rdv], HttpResponse]
    hide_motif: bool = False

    def move_url(self, **query: str) -> str:
        return reverse(self.move_name, kwargs=self.move_kwargs, query=query or None)


def late_message(rdv: Rdv) -> str:
    """Why « Annuler » and « Déplacer » are gone, and whom to call."""
    if rdv.is_cancelled:
        return _("Ce rendez-vous est annulé.")
    hours = rdv.organisation.usager_cancel_limit_hours
    text = _("Ce rendez-vous ne peut plus être annulé ni déplacé en ligne (moins de %(hours)s h avant).") % {
        "hours": hours
    }
    if rdv.organisation.phone:
        text += " " + _("Appelez le %(phone)s.") % {"phone": rdv.organisation.phone}
    return text


def mark_changeable(rdvs: list[Rdv], now: dt.datetime) -> list[Rdv]:
    """`changeable` on each RDV: whether « Annuler » and « Déplacer » are offered."""
    for rdv in rdvs:
        rdv.changeable = can_change(rdv, now)  # type: ignore[attr-defined]
    return rdvs


def cancel_page(request: HttpRequest, rdv: Rdv, pages: ChangePages) -> HttpResponse:
    """GET: « Annuler le rendez-vous du … ? » (409 past the limit, with the phone number); POST:
    cancels it, or says why not. A replayed POST finds it cancelled already and changes nothing."""
    mark_changeable([rdv], timezone.now())
    if request.method == "POST":
        try:
            cancel(rdv=rdv)
        except TooLate:
            messages.error(request, late_message(rdv))
            return redirect(pages.page)
        messages.success(request, _("Votre rendez-vous a été annulé."))
        return redirect(pages.page)
    status = 200 if rdv.changeable else 409  # type: ignore[attr-defined]
    context = {
        "rdv": rdv,
        "late": late_message(rdv),
        "back_url": pages.page,
        "hide_motif": pages.hide_motif,
    }
    return render(request, "reservation/account/cancel.html", context, status=status)


def _week(rdv: Rdv, monday: dt.date, usager: Usager) -> list[tuple[dt.date, list[dt.datetime]]]:
    """The free times of the week starting `monday`, for the same motif and lieu (and the same
    agents when the motif is attributed per agent), day by day."""
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
    return sorted(by_day.items())


def _moved_by(rdv: Rdv, token: str) -> Rdv | None:
    """The RDV this confirmation of « Déplacer » made already, if it was sent before (a double
    click, a replay): one of the same usagers' (never another family's)."""
    if not token:
        return None
    same_usagers = Rdv.objects.filter(booking_token=token, participations__usager__in=rdv.usagers.all())
    return same_usagers.exclude(pk=rdv.pk).first()


def _move_to(request: HttpRequest, rdv: Rdv, chosen: dt.datetime, pages: ChangePages) -> HttpResponse:
    token = request.POST.get("token", "")[:64] or secrets.token_urlsafe(24)
    try:
        new = move(rdv=rdv, start=chosen, booking_token=token)
    except TooLate:
        done = _moved_by(rdv, token)  # the first submission committed meanwhile
        if done is None:
            messages.error(request, late_message(rdv))
            return redirect(pages.page)
        new = done
    except SlotTaken:
        messages.error(request, _("Ce créneau vient d'être pris : votre rendez-vous n'a pas changé."))
        return redirect(pages.move_url())
    except AlreadyBooked as already:
        new = already.rdv
    messages.success(request, _("Votre rendez-vous a été déplacé."))
    return pages.moved(new)


def move_page(request: HttpRequest, rdv: Rdv, pages: ChangePages) -> HttpResponse:
    """« Déplacer »: the free times of a week for the same motif and lieu; one chosen, a page to
    confirm (« Confirmer le déplacement ») or « Garder mon rendez-vous »; the POST moves it."""
    now = timezone.now()
    if request.method == "POST" and (done := _moved_by(rdv, request.POST.get("token", "")[:64])):
        return pages.moved(done)
    mark_changeable([rdv], now)
    if not rdv.changeable:  # type: ignore[attr-defined]
        messages.error(request, late_message(rdv))
        return redirect(pages.page)
    tz = rdv.organisation.tzinfo
    chosen_naive = parse_local_datetime(request.POST.get("creneau") or request.GET.get("creneau"))
    chosen = local_start(chosen_naive, rdv.organisation) if chosen_naive else None
    common = {"rdv": rdv, "back_url": pages.page, "move_url": pages.move_url()}
    if chosen is not None:
        if request.method == "POST":
            return _move_to(request, rdv, chosen, pages)
        context = {**common, "chosen": chosen, "token": secrets.token_urlsafe(24)}
        return render(request, "reservation/account/move_confirm.html", context)
    today = timezone.localdate(now, tz)
    this_monday = today - dt.timedelta(days=today.weekday())
    monday = parse_date(request.GET.get("semaine")) or max(
        today, rdv.starts_at.astimezone(tz).date() - dt.timedelta(days=7)
    )
    monday -= dt.timedelta(days=monday.weekday())
    last = (now + dt.timedelta(seconds=rdv.motif.max_booking_delay)).astimezone(tz).date()
    monday = min(max(monday, this_monday), last - dt.timedelta(days=last.weekday()))
    participant = rdv.participations.all()[0].usager
    next_monday = monday + dt.timedelta(days=7)
    context = {
        **common,
        "days": _week(rdv, monday, participant),
        "monday": monday,
        "sunday": monday + dt.timedelta(days=6),
        "previous_url": pages.move_url(semaine=(monday - dt.timedelta(days=7)).isoformat())
        if monday > this_monday
        else "",
        "next_url": pages.move_url(semaine=next_monday.isoformat()) if next_monday <= last else "",
    }
    return render(request, "reservation/account/move.html", context)
