"""Steps 6 to 8 of « Prendre rendez-vous », for an identified usager (`request.usager`):
« Vos informations », « Vérifiez votre rendez-vous » (« Confirmer le rendez-vous »), and the
confirmation. The créneau is checked against the engine on each page (the same search that
showed it) and booked by `rendezvous.online.book` under the agents' locks.

What « Vos informations » answered waits in the usager's session (`PENDING`), keyed by the
créneau's URL, until the confirmation writes it all in one transaction."""

import re
import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from motifs.models import Motif
from organisations.services import find_address
from rdv.phone import display_phone, parse_french_phone_number
from rendezvous.models import Rdv
from rendezvous.online import AlreadyBooked, book, claim_offered, unbusy_agents
from rendezvous.services import SlotTaken
from reservation.booking_forms import ME, NEW_PROCHE, ConfirmForm, InformationsForm
from reservation.choice import Choice
from reservation.limits import Limit, too_many, wait_for
from reservation.selection import Selection, resolve
from reservation.usager_rdvs import family_rdvs, ics_for
from sectorisation.communes import resolve_commune
from sectorisation.models import Commune
from sectorisation.routing import route
from usagers.middleware import UsagerRequest, proches_of
from usagers.models import Usager
from usagers.services import make_known_to

PENDING = "reservation_pending"
# Confirmations per usager and day: a family books a few RDVs, a script hundreds.
BOOKINGS_PER_USAGER = Limit("usager-bookings", "10/d")


def _usager(request: UsagerRequest) -> Usager | None:
    return request.usager


def _identify_url(request: UsagerRequest) -> str:
    return reverse("reservation:identity", query={"next": request.get_full_path()})


def _selection_or_back(request: UsagerRequest, choice: Choice) -> Selection | HttpResponse:
    """The selection, or the créneaux step (or the start) when it no longer resolves."""
    selection = resolve(choice)
    if selection is None:
        messages.error(request, _("Ce créneau n'est pas proposé : choisissez-en un autre."))
        return redirect(choice.with_(creneau=None).url("creneaux") if choice.motif else choice.url("home"))
    return selection


def _still_offered(request: UsagerRequest, choice: Choice, selection: Selection, usager: Usager) -> bool:
    if selection.free_agents(usager):
        return True
    messages.error(request, _("Ce créneau vient d'être pris. Choisissez-en un autre."))
    return False


def _pending_key(choice: Choice) -> str:
    """The answers « Vos informations » belong to: the same motif and place whatever the time, so
    that choosing another time keeps them."""
    kept = choice.with_(creneau=None, semaine=None).params()
    return "&".join(f"{key}={value}" for key, value in sorted(kept.items()))


@login_not_required
@require_http_methods(["GET", "POST"])
def informations(request: UsagerRequest) -> HttpResponse:
    """Step 6 « Vos informations »: for whom, and only what the motif needs."""
    usager = _usager(request)
    if usager is None:
        return redirect(_identify_url(request))
    choice = Choice.from_query(request.GET)
    selection = _selection_or_back(request, choice)
    if isinstance(selection, HttpResponse):
        return selection
    proches = proches_of(usager)
    saved = request.usager_session.get(PENDING, {}).get(_pending_key(choice))
    initial = saved or {
        "for_whom": ME,
        "phone": str(usager.phone) if usager.phone else "",
        "address": usager.address,
        "notify_by_email": usager.notify_by_email,
        "notify_by_sms": usager.notify_by_sms and bool(usager.phone),
    }
    form = InformationsForm(
        request.POST or None, initial=initial, usager=usager, proches=proches, motif=selection.motif
    )
    if request.method == "POST" and form.is_valid() and _home_address_served(form, selection):
        pending = request.usager_session.get(PENDING, {})
        pending = {_pending_key(choice): form.pending()} | {
            key: value for key, value in pending.items() if key != _pending_key(choice)
        }
        request.usager_session[PENDING] = dict(list(pending.items())[:5])
        return redirect(choice.url("verify"))
    context = {
        "form": form,
        "selection": selection,
        "choice": choice,
        "back_url": choice.with_(creneau=None).url("creneaux"),
        "step": 6,
    }
    return render(request, "reservation/booking/informations.html", context, status=422 if form.errors else 200)


POSTAL_CODE = re.compile(r"\b(\d{5})\b")


def _home_address_served(form: InformationsForm, selection: Selection) -> bool:
    """À domicile, the address the usager finally gives is routed again: the agent goes there, so
    it must be one the motif's organisation serves (sectorisation). Read by the BAN geocoder when
    one is configured, else by its postal code; an error on the field otherwise."""
    if selection.motif.location_type != Motif.LocationType.HOME:
        return True
    address = form.cleaned_data["address"]
    found = find_address(address)
    commune = resolve_commune(found.citycode) if found and found.citycode else None
    if commune is not None:
        served = route(commune, found.street if found else "").allows(selection.motif)
    else:
        postal_code = POSTAL_CODE.search(address)
        if postal_code is None:
            form.add_error("address", _("Indiquez le code postal de l'adresse."))
            return False
        communes = Commune.objects.filter(postal_codes__contains=[postal_code.group(1)])
        served = any(route(candidate).allows(selection.motif) for candidate in communes[:10])
    if not served:
        form.add_error(
            "address",
            _("%(organisation)s ne se déplace pas à cette adresse. Recommencez depuis votre commune.")
            % {"organisation": selection.organisation.name},
        )
    return served


def _summary(selection: Selection, pending: dict, usager: Usager, proches: list[Usager]) -> dict[str, Any]:
    for_whom = pending["for_whom"]
    if for_whom == ME:
        who = usager.full_name
    elif for_whom == NEW_PROCHE:
        who = f"{pending['proche_first_name']} {pending['proche_last_name'].upper()}"
    else:
        who = next((proche.full_name for proche in proches if str(proche.pk) == for_whom), "")
    channels = [
        label
        for wanted, label in ((pending["notify_by_email"], _("e-mail")), (pending["notify_by_sms"], _("SMS")))
        if wanted
    ]
    # Kept as +33…; shown as the usager typed it (« 06 12 34 56 78 »), as everywhere else.
    phone = display_phone(parse_french_phone_number(pending["phone"])) if pending["phone"] else ""
    return {"who": who, "channels": channels, "pending": pending, "phone": phone}


@login_not_required
@require_http_methods(["GET", "POST"])
def verify(request: UsagerRequest) -> HttpResponse:
    """Step 7 « Vérifiez votre rendez-vous », then « Confirmer le rendez-vous »."""
    usager = _usager(request)
    if usager is None:
        return redirect(_identify_url(request))
    choice = Choice.from_query(request.GET)
    selection = _selection_or_back(request, choice)
    if isinstance(selection, HttpResponse):
        return selection
    pending = request.usager_session.get(PENDING, {}).get(_pending_key(choice))
    if pending is None:
        return redirect(choice.url("informations"))
    # The proches only matter when the RDV is for one of them.
    proches = proches_of(usager) if pending["for_whom"] not in (ME, NEW_PROCHE) else []
    if pending["for_whom"] not in (ME, NEW_PROCHE) and pending["for_whom"] not in {str(p.pk) for p in proches}:
        return redirect(choice.url("informations"))
    form = ConfirmForm(request.POST or None, initial={"token": secrets.token_urlsafe(24)}, motif=selection.motif)
    if request.method == "POST" and form.is_valid():
        wait = wait_for([(BOOKINGS_PER_USAGER, str(usager.pk))])
        if wait:
            return too_many(request, wait)
        try:
            rdv = _confirm(selection, usager, proches, pending, form.cleaned_data["token"])
        except AlreadyBooked as already:
            rdv = already.rdv
            if not family_rdvs(usager).filter(pk=rdv.pk).exists():
                raise Http404 from None
        except SlotTaken:
            messages.error(request, _("Ce créneau vient d'être pris. Voici les prochains créneaux libres."))
            return redirect(choice.with_(creneau=None, semaine=selection.start.date()).url("creneaux"))
        pending_all = request.usager_session.get(PENDING, {})
        pending_all.pop(_pending_key(choice), None)
        request.usager_session[PENDING] = pending_all
        return redirect("reservation:confirmation", pk=rdv.pk)
    if request.method == "GET" and not _still_offered(request, choice, selection, usager):
        return redirect(choice.with_(creneau=None, semaine=selection.start.date()).url("creneaux"))
    context = {
        "form": form,
        "selection": selection,
        "choice": choice,
        "summary": _summary(selection, pending, usager, proches),
        "modify": _modify_urls(choice),
        "back_url": choice.url("informations"),
        "step": 7,
    }
    return render(request, "reservation/booking/verify.html", context, status=422 if form.errors else 200)


def _modify_urls(choice: Choice) -> dict[str, str]:
    """« Modifier » beside each answer: back to its question with the other answers kept."""
    return {
        "creneau": choice.with_(creneau=None).url("creneaux"),
        "place": choice.with_(lieu=None, organisation=None, creneau=None, semaine=None).url("lieux"),
        "motif": choice.with_(motif="", lieu=None, organisation=None, creneau=None, semaine=None).url("motifs"),
        "informations": choice.url("informations"),
    }


def _confirm(selection: Selection, usager: Usager, proches: list[Usager], pending: dict, token: str) -> Rdv:
    """Writes what « Vos informations » answered and books, in one transaction: a créneau taken
    meanwhile leaves the usager and its proches as they were. A créneau already taken is known
    before any transaction, one being booked by another confirmation before the créneaux are
    computed and anything is written (for a new proche, whose référents are none, at booking)."""
    candidates = None
    known = (
        usager if pending["for_whom"] == ME else next((p for p in proches if str(p.pk) == pending["for_whom"]), None)
    )
    if known is not None:
        candidates = unbusy_agents(selection.possible_agents(), selection.start, selection.end, token)
    with transaction.atomic():
        # The time first, then whether it is still offered to this usager: a créneau taken
        # meanwhile, or being booked, is known before anything is written.
        claimed = None
        if known is not None and candidates is not None:
            claimed = claim_offered(
                motif=selection.motif,
                start=selection.start,
                lieu=selection.lieu,
                usager=known,
                agent_ids=selection.agent_ids,
                candidates=candidates,
                booking_token=token,
            )
        changed = []
        if pending["phone"] and (not usager.phone or usager.phone.as_e164 != pending["phone"]):
            usager.phone = pending["phone"]
            changed.append("phone")
        if pending["address"] and pending["for_whom"] == ME and usager.address != pending["address"]:
            usager.address = pending["address"]
            changed.append("address")
        for name in ("notify_by_email", "notify_by_sms"):
            if getattr(usager, name) != pending[name]:
                setattr(usager, name, pending[name])
                changed.append(name)
        if changed:
            usager.save(update_fields=changed)
        if pending["for_whom"] == ME:
            participant = usager
        elif pending["for_whom"] == NEW_PROCHE:
            participant = Usager.objects.create(
                first_name=pending["proche_first_name"],
                last_name=pending["proche_last_name"],
                birth_date=pending["proche_birth_date"] or None,
                responsible=usager,
                created_by=Usager.CreatedBy.USAGER,
            )
        else:
            participant = next(proche for proche in proches if str(proche.pk) == pending["for_whom"])
        make_known_to(usager=participant, organisation=selection.organisation)
        if participant != usager:
            make_known_to(usager=usager, organisation=selection.organisation)
        return book(
            motif=selection.motif,
            start=selection.start,
            lieu=selection.lieu,
            usagers=[participant],
            agent_ids=selection.agent_ids,
            address=pending["address"] if selection.motif.location_type == Motif.LocationType.HOME else "",
            booking_token=token,
            claimed=claimed,
        )


@login_not_required
@require_GET
def confirmation(request: UsagerRequest, pk: int) -> HttpResponse:
    """Step 8 « Votre rendez-vous est confirmé »."""
    usager = _usager(request)
    if usager is None:
        return redirect(_identify_url(request))
    rdv = get_object_or_404(family_rdvs(usager).select_related("motif", "lieu", "organisation__territory"), pk=pk)
    return render(request, "reservation/booking/confirmation.html", {"rdv": rdv})


@login_not_required
@require_GET
def rdv_ics(request: UsagerRequest, pk: int) -> HttpResponse:
    """The RDV as a calendar file, for the usager's phone calendar."""
    usager = _usager(request)
    if usager is None:
        raise Http404
    rdv = get_object_or_404(family_rdvs(usager).select_related("motif__service", "lieu", "organisation"), pk=pk)
    response = HttpResponse(ics_for(rdv, home_address=usager.address), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="rendez-vous-{rdv.pk}.ics"'
    return response
