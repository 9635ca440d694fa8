"""Steps 1 to 4 of « Prendre rendez-vous », one question per page, every answer in the query string
(`reservation.choice.Choice`), each page rebuilt from it: where the usager lives → service (skipped
when only one) → motif → lieu (or organisation, by phone and at home) → créneau. Public, GET only,
no JavaScript needed.

Every page resolves the commune and routes it again (`sectorisation.routing`) and reads what it
offers through `reservation.offer`: a tampered answer (another département's lieu, a motif not
offered online or not to this address, an unknown id) is dropped and the usager is sent back to the
question it answered; nothing of an organisation not routed to the address ever shows."""

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from motifs.models import Motif
from organisations.models import Lieu
from organisations.services import find_address
from planning.creneaux import available_slots, next_availability
from rdv import words
from reservation import catalogue
from reservation.choice import NO_STREET, Choice
from reservation.offer import (
    TIME_FORMAT,
    Availability,
    MotifCard,
    Offer,
    contacts,
    lieu_availabilities,
    organisation_availabilities,
    routed_organisation_ids,
    when,
)
from sectorisation.communes import resolve_commune, search_communes
from sectorisation.forms import CommuneSearchForm
from sectorisation.models import Commune
from usagers.models import Usager

WEEK = dt.timedelta(days=7)


def _usager(request: HttpRequest) -> Usager | None:
    return getattr(request, "usager", None)


@dataclass(frozen=True)
class Answers:
    choice: Choice
    commune: Commune
    offer: Offer
    version: int  # the catalogue's number these answers were read under

    @property
    def commune_label(self) -> str:
        codes = self.commune.postal_codes
        return f"{self.commune.name} ({codes[0]})" if len(codes) == 1 else self.commune.name

    def service_id(self) -> int | None:
        """The service answered, if it still has motifs to offer."""
        offered = {service.pk for service in self.offer.services()}
        return self.choice.service if self.choice.service in offered else None

    def card(self) -> MotifCard | None:
        return self.offer.card(self.choice.motif, self.service_id()) if self.choice.motif else None


def _answers(request: HttpRequest, choice: Choice) -> Answers | None:
    """The commune answered and what it is offered, None without a commune: one query (the
    catalogue's number) when this process has answered the same since the last change, up to
    six otherwise."""
    if not choice.commune:
        return None
    current = catalogue.version()
    commune = catalogue.commune(choice.commune, current=current)
    if commune is None:
        return None
    offer = catalogue.offer(
        commune,
        choice.rue,
        usager=_usager(request),
        today=timezone.localdate(),
        organisation_id=choice.org,
        current=current,
    )
    return Answers(choice=choice, commune=commune, offer=offer, version=current)


def _home_url(choice: Choice) -> str:
    return Choice(commune=choice.commune, rue=choice.rue, org=choice.org).url("home")


def _no_offer(request: HttpRequest, answers: Answers, organisation_ids: frozenset[int], **context) -> HttpResponse:
    """Nothing to book online: how to reach each organisation instead, never a bare "nothing"."""
    return render(
        request,
        "reservation/search/no_offer.html",
        {
            "answers": answers,
            "contacts": contacts(organisation_ids),
            "home_url": _home_url(answers.choice),
            **context,
        },
    )


@login_not_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """« Où habitez-vous ? »: a commune or a postal code; one match goes on, several are listed."""
    choice = Choice.from_query(request.GET)
    form = CommuneSearchForm(request.GET if "q" in request.GET else None)
    results = None
    if form.is_bound and form.is_valid():
        query = form.cleaned_data["q"].strip()
        located = _located_address(query, choice)
        if located is not None:
            return redirect(located)
        communes = search_communes(query)
        if not communes and ADDRESS.match(query) and "," in query:
            # An address the geocoder could not read (or no geocoder): its commune, after the comma.
            communes = search_communes(query.rsplit(",", 1)[1].strip())
        if query.isdigit():  # usagers type their postal code, an INSEE code only by chance
            communes.sort(key=lambda commune: query not in commune.postal_codes)
        links = [(commune, Choice(commune=commune.insee_code, org=choice.org).url("services")) for commune in communes]
        if len(links) == 1:
            return redirect(links[0][1])
        results = links
    elif not form.is_bound and choice.commune:
        # Back from a later question: the commune answered is written in the field again.
        commune = resolve_commune(choice.commune)
        if commune is not None:
            codes = commune.postal_codes
            form = CommuneSearchForm(initial={"q": f"{commune.name} {codes[0]}" if len(codes) == 1 else commune.name})
    if settings.GEOCODING_URL:
        form.fields["q"].help_text = _(
            "Par exemple : Noisiel, 77186, ou votre adresse : 12 rue de la Haute Borne, Chelles"
        )
    return render(request, "reservation/search/home.html", {"form": form, "results": results, "org": choice.org})


# « 12 rue de la Paix, Chelles »: a number then words; a bare postal code or name is a commune.
ADDRESS = re.compile(r"^\s*\d+\s*(bis|ter|[a-z])?[\s,]+\D{3,}", re.IGNORECASE)


def _located_address(query: str, choice: Choice) -> str | None:
    """With a BAN geocoder configured, a street address typed instead of a commune: the commune
    and the street it finds (the street decides where sectors are by street). None when there is
    no geocoder, the text is no address, or the geocoder fails: the commune search answers."""
    if not settings.GEOCODING_URL or not ADDRESS.match(query):
        return None
    found = find_address(query)
    commune = resolve_commune(found.citycode) if found and found.citycode else None
    if found is None or commune is None:
        return None
    return Choice(commune=commune.insee_code, rue=found.street or NO_STREET, org=choice.org).url("services")


@login_not_required
@require_GET
def street(request: HttpRequest) -> HttpResponse:
    """« Quelle est votre rue ? », asked only where the commune has sectors by street: the street
    decides who serves the address. Left empty: the whole commune's (`NO_STREET`)."""
    choice = Choice.from_query(request.GET)
    commune = resolve_commune(choice.commune) if choice.commune else None
    if commune is None:
        return redirect(Choice(org=choice.org).url("home"))
    if "rue" in request.GET:
        return redirect(choice.with_(rue=choice.rue or NO_STREET).url("services"))
    context = {"commune": commune, "choice": choice, "back_url": _home_url(choice.with_(rue=""))}
    return render(request, "reservation/search/street.html", context)


@login_not_required
@require_GET
def services(request: HttpRequest) -> HttpResponse:
    choice = Choice.from_query(request.GET)
    answers = _answers(request, choice)
    if answers is None:  # no commune, or an unknown one
        return redirect(Choice(org=choice.org).url("home"))
    if not choice.rue and catalogue.street_sectors(answers.commune, current=answers.version):
        return redirect(choice.url("street"))
    offered = answers.offer.services()
    if not offered:
        routed = routed_organisation_ids(answers.offer.route)
        if choice.org in routed:  # the organisation's public link: its own contact
            routed = frozenset({choice.org})
        return _no_offer(request, answers, routed, back_url=_home_url(choice), reason="commune")
    if len(offered) == 1:
        return redirect(choice.before("service").url("motifs"))
    links = [(service, choice.before("service").with_(service=service.pk).url("motifs")) for service in offered]
    return render(
        request,
        "reservation/search/services.html",
        {"answers": answers, "services": links, "back_url": _home_url(choice)},
    )


@login_not_required
@require_GET
def motifs(request: HttpRequest) -> HttpResponse:
    choice = Choice.from_query(request.GET)
    answers = _answers(request, choice)
    if answers is None:  # no commune, or an unknown one
        return redirect(Choice(org=choice.org).url("home"))
    offered = answers.offer.services()
    service_id = answers.service_id()
    if not offered or (service_id is None and len(offered) > 1):
        return redirect(choice.before("service").url("services"))
    choice = choice.with_(service=service_id)
    cards = [
        (card, choice.before("motif").with_(motif=card.key).url("lieux")) for card in answers.offer.cards(service_id)
    ]
    back_url = choice.before("service").url("services") if len(offered) > 1 else _home_url(choice)
    service = next((service for service in offered if service.pk == service_id), None)
    return render(
        request,
        "reservation/search/motifs.html",
        {"answers": answers, "cards": cards, "service": service, "back_url": back_url},
    )


def _motifs_url(choice: Choice) -> str:
    return choice.before("motif").url("motifs")


def _chosen_card(request: HttpRequest) -> tuple[Answers, MotifCard, Choice] | HttpResponse:
    """The answers up to the motif card chosen, or the question to answer again."""
    choice = Choice.from_query(request.GET)
    answers = _answers(request, choice)
    if answers is None:  # no commune, or an unknown one
        return redirect(Choice(org=choice.org).url("home"))
    card = answers.card()
    if card is None:
        return redirect(_motifs_url(choice))
    return answers, card, choice.with_(service=answers.service_id())


@login_not_required
@require_GET
def lieux(request: HttpRequest) -> HttpResponse:
    """Sur place: the lieux with a free slot, soonest first; by phone or at home: the organisations."""
    chosen = _chosen_card(request)
    if isinstance(chosen, HttpResponse):
        return chosen
    answers, card, choice = chosen
    now = timezone.now()
    finder = lieu_availabilities if card.on_site else organisation_availabilities
    found = finder(card, answers.offer.route, usager=_usager(request), now=now)
    back_url = _motifs_url(choice)
    if not found:
        return _no_offer(request, answers, card.organisation_ids, back_url=back_url, reason="slots", card=card)
    today = timezone.localdate()
    items = [(item, when(item.slot.start, today), _creneaux_url(choice, item)) for item in found]
    return render(
        request,
        "reservation/search/lieux.html",
        {"answers": answers, "card": card, "items": items, "back_url": back_url},
    )


def _creneaux_url(choice: Choice, item: Availability) -> str:
    week = _monday(item.slot.start.date())
    if item.lieu is not None:
        return choice.before("lieu").with_(lieu=item.lieu.pk, semaine=week).url("creneaux")
    return choice.before("lieu").with_(organisation=item.organisation.pk, semaine=week).url("creneaux")


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass(frozen=True)
class Time:
    label: str  # 9h30
    url: str
    chosen: bool


@dataclass(frozen=True)
class Day:
    label: str  # Mardi 15 décembre
    times: list[Time]


def _next_step_url(request: HttpRequest, informations_url: str, week_url: str) -> str:
    """« Vos informations » for an identified usager; otherwise « Votre identité » first, which
    comes back there, with a back link to this week."""
    if _usager(request) is not None:
        return informations_url
    return reverse("reservation:identity", query={"next": informations_url, "retour": week_url})


@login_not_required
@require_GET
def creneaux(request: HttpRequest) -> HttpResponse:
    """The free start times of a week, day by day, within the motif's booking delays."""
    chosen = _chosen_card(request)
    if isinstance(chosen, HttpResponse):
        return chosen
    answers, card, choice = chosen
    lieu: Lieu | None = None
    motif: Motif | None = None
    if card.on_site and choice.lieu is not None:
        lieu = Lieu.objects.active().filter(pk=choice.lieu, organisation_id__in=sorted(card.organisation_ids)).first()
        motif = card.motif_of(lieu.organisation_id) if lieu else None
    elif not card.on_site and choice.organisation is not None:
        motif = card.motif_of(choice.organisation)
    lieux_url = choice.before("lieu").url("lieux")
    if motif is None:
        return redirect(lieux_url)
    choice = choice.with_(lieu=lieu.pk if lieu else None, organisation=None if lieu else motif.organisation_id)

    usager = _usager(request)
    tz = motif.organisation.tzinfo
    now = timezone.now()
    first_week = _monday((now + dt.timedelta(seconds=motif.min_booking_delay)).astimezone(tz).date())
    last_week = _monday((now + dt.timedelta(seconds=motif.max_booking_delay)).astimezone(tz).date())
    week = min(max(_monday(choice.semaine) if choice.semaine else first_week, first_week), last_week)
    choice = choice.with_(semaine=week)
    start = dt.datetime.combine(week, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(week + WEEK, dt.time(), tzinfo=tz)
    agents = answers.offer.route.agent_ids(motif.sectorisation_level, motif.organisation_id)
    lieux = [lieu.pk] if lieu else None
    slots = available_slots(
        motif=motif, start=start, end=end, agents=agents, lieux=lieux, online=True, usager=usager, now=now
    )
    days: dict[dt.date, list[Time]] = {}
    seen: set[dt.datetime] = set()
    week_url = choice.with_(creneau=None).url("creneaux")
    for slot in slots:
        local = slot.start.astimezone(tz).replace(tzinfo=None)
        if local in seen:  # by phone, two lieux may offer the same time: one time per start
            continue
        seen.add(local)
        url = _next_step_url(request, choice.with_(creneau=local).url("informations"), week_url)
        label = formats.time_format(local, TIME_FORMAT)
        days.setdefault(local.date(), []).append(Time(label=label, url=url, chosen=local == choice.creneau))
    next_slot = None
    if not days:
        next_slot = next_availability(
            motif=motif, after=end, agents=agents, lieux=lieux, online=True, usager=usager, now=now
        )
    today = now.astimezone(tz).date()
    context = {
        "answers": answers,
        "card": card,
        "motif": motif,
        "lieu": lieu,
        "organisation": motif.organisation,
        "week_label": _week_label(week, today),
        "days": [Day(label=capfirst(words.date_format(day, "l j F")), times=times) for day, times in days.items()],
        "previous_url": choice.with_(semaine=week - WEEK, creneau=None).url("creneaux") if week > first_week else "",
        "next_url": choice.with_(semaine=week + WEEK, creneau=None).url("creneaux") if week < last_week else "",
        "next_slot": when(next_slot.start, today) if next_slot else "",
        "next_slot_url": (
            choice.with_(semaine=_monday(next_slot.start.date()), creneau=None).url("creneaux") if next_slot else ""
        ),
        "contacts": contacts([motif.organisation_id]) if not days and next_slot is None else [],
        "back_url": lieux_url,
    }
    return render(request, "reservation/search/creneaux.html", context)


def _week_label(monday: dt.date, today: dt.date) -> str:
    sunday = monday + dt.timedelta(days=6)
    year = " Y" if sunday.year != today.year else ""
    first = words.date_format(monday, "l j" if monday.month == sunday.month else "l j F")
    return _("Du %(first)s au %(last)s") % {"first": first, "last": words.date_format(sunday, "l j F" + year)}
