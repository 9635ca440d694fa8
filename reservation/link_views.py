"""The usager's page of one RDV, reached by the short link every message about it carries
(`/r/<token>`, notifications.links; the token is its `Participation.link_token`).

Nothing about the RDV shows before the first three letters of a last name are given: the
usager's, or its responsible's for a proche (the message went to the responsible). Five wrong
tries lock for 15 minutes, per token and per client address (reservation.link_check). An unknown
token, an RDV already over (a link is valid until its RDV ends) and wrong letters get the very
same answer, and count the same.

Once checked, the token is kept in the usager's own session (`VERIFIED`, the public pages' store,
usagers.middleware: never the agents' session), and the page shows the RDV: when, where, the
service, the phone, the indications, for whom, its status; « Annuler » and « Déplacer » under the
rules of « Mes rendez-vous » (reservation.rdv_changes). Each token needs its own check: having
checked one gives nothing on another. A GET never changes anything (mail scanners open links);
no page is kept by a cache.
The motif's name shows only when the motif allows it in messages (`show_name_in_messages`)."""

import datetime as dt
import math
import re
from collections.abc import Callable

from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from rendezvous.models import Participation, Rdv
from reservation.limits import ip_key
from reservation.link_check import Tries, matches
from reservation.link_forms import LinkCheckForm
from reservation.rdv_changes import ChangePages, cancel_page, late_message, mark_changeable, move_page
from usagers.middleware import UsagerRequest
from usagers.models import Usager

# The tokens this device checked, newest first, at most KEPT.
VERIFIED = "rdv_links_verified"
KEPT = 20
# What `new_link_token` makes (rendezvous.models); anything else is known not to exist.
TOKEN_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,16}")
NO_MATCH = gettext_lazy("Ces informations ne correspondent à aucun rendez-vous à venir.")


def _participation(token: str, now: dt.datetime, *, page: bool = True) -> Participation | None:
    """The participation of this token, if its RDV has not ended: with what its page shows, or
    (`page=False`, the check) in one query, whether the token exists or not."""
    if not TOKEN_FORMAT.fullmatch(token):
        return None
    found = Participation.objects.select_related(
        "usager__responsible", "rdv__motif__service", "rdv__lieu", "rdv__organisation__territory"
    ).filter(link_token=token, rdv__ends_at__gte=now, usager__anonymised_at__isnull=True)
    if page:
        participations = Participation.objects.select_related("usager").order_by("pk")
        found = found.prefetch_related(Prefetch("rdv__participations", queryset=participations))
    return found.first()


def _names(usager: Usager) -> list[str]:
    """The names whose first letters open the page: the usager's last (and birth) name, and its
    responsible's for a proche."""
    people = [usager] if usager.responsible is None else [usager, usager.responsible]
    return [name for person in people for name in (person.last_name, person.birth_name) if name]


def _verified(request: UsagerRequest) -> list[str]:
    kept = request.usager_session.get(VERIFIED)
    return [token for token in kept if isinstance(token, str)] if isinstance(kept, list) else []


def _remember(request: UsagerRequest, token: str) -> None:
    kept = _verified(request)
    request.usager_session[VERIFIED] = [token, *(other for other in kept if other != token)][:KEPT]


def _forget(request: UsagerRequest, token: str) -> None:
    request.usager_session[VERIFIED] = [other for other in _verified(request) if other != token]


def _checked(request: UsagerRequest, token: str) -> Participation | None:
    """The participation of a token this device checked, while its RDV has not ended."""
    if token not in _verified(request):
        return None
    participation = _participation(token, timezone.now())
    if participation is None:
        _forget(request, token)
    return participation


def _wait_text(wait: int, *, unavailable: bool) -> str:
    minutes = max(math.ceil(wait / 60), 1)
    if unavailable:
        return ngettext(
            "La vérification est momentanément indisponible. Réessayez dans %(n)s minute.",
            "La vérification est momentanément indisponible. Réessayez dans %(n)s minutes.",
            minutes,
        ) % {"n": minutes}
    return ngettext(
        "Trop d'essais. Réessayez dans %(n)s minute.", "Trop d'essais. Réessayez dans %(n)s minutes.", minutes
    ) % {"n": minutes}


def _check_page(
    request: UsagerRequest, form: LinkCheckForm, *, status: int = 200, wait: int = 0, unavailable: bool = False
) -> HttpResponse:
    locked = _wait_text(wait, unavailable=unavailable) if wait else ""
    response = render(request, "reservation/link/check.html", {"form": form, "locked": locked}, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


def _check(request: UsagerRequest, token: str) -> HttpResponse:
    """The letters posted: the RDV's page (POST/redirect/GET), or the same refusal whatever was
    wrong."""
    form = LinkCheckForm(request.POST)
    if not form.is_valid():
        return _check_page(request, form, status=422)
    tries = Tries([("token", token), ("ip", ip_key(request))])
    wait = tries.reserve()
    if wait:
        return _check_page(request, LinkCheckForm(), status=429, wait=wait, unavailable=tries.unavailable)
    participation = _participation(token, timezone.now(), page=False)
    names = _names(participation.usager) if participation is not None else []
    if matches(form.cleaned_data["letters"], names) and participation is not None:
        tries.succeeded()
        _remember(request, token)
        return redirect("reservation:rdv_link", token=token)
    tries.failed()
    form.add_error("letters", NO_MATCH)
    return _check_page(request, form, status=422)


def usager_status(rdv: Rdv, now: dt.datetime) -> str:
    """The status in the usager's words: « À venir », a cancellation as its message says it, and
    « En cours » once started or marked by the agent (until it ends, when the link stops)."""
    if rdv.status == Rdv.Status.EXCUSED:
        return _("Annulé")
    if rdv.status == Rdv.Status.REVOKED:
        return _("Annulé à l'initiative du service")
    if rdv.status == Rdv.Status.UNKNOWN and rdv.starts_at > now:
        return _("À venir")
    return _("En cours")


def _annotate(participation: Participation) -> Rdv:
    rdv = participation.rdv
    rdv.for_names = ", ".join(p.usager.first_name for p in rdv.participations.all())  # type: ignore[attr-defined]
    return rdv


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def rdv_link(request: UsagerRequest, token: str) -> HttpResponse:
    """The check (GET: the question; POST: the letters), then the RDV's page."""
    participation = _checked(request, token)
    if participation is None:
        if request.method == "POST":
            return _check(request, token)
        return _check_page(request, LinkCheckForm())
    if request.method == "POST":  # the check sent again once passed
        return redirect("reservation:rdv_link", token=token)
    rdv = _annotate(participation)
    now = timezone.now()
    mark_changeable([rdv], now)
    context = {
        "rdv": rdv,
        "token": token,
        "status": usager_status(rdv, now),
        "hide_motif": not rdv.motif.show_name_in_messages,
        "late": late_message(rdv),
    }
    return render(request, "reservation/link/rdv.html", context)


def _pages(request: UsagerRequest, participation: Participation) -> ChangePages:
    token = participation.link_token

    def moved(new: Rdv) -> HttpResponse:
        """The new RDV's own link (its participations have new tokens): the old one's now shows
        a cancelled RDV. This device checked the old one, so the new one is checked too."""
        followed = new.participations.filter(usager_id=participation.usager_id).first()
        if followed is None:
            return redirect("reservation:rdv_link", token=token)
        _remember(request, followed.link_token)
        return redirect("reservation:rdv_link", token=followed.link_token)

    return ChangePages(
        page=reverse("reservation:rdv_link", kwargs={"token": token}),
        move_name="reservation:rdv_link_move",
        move_kwargs={"token": token},
        moved=moved,
        hide_motif=not participation.rdv.motif.show_name_in_messages,
    )


def _change(request: UsagerRequest, token: str, page: Callable[..., HttpResponse]) -> HttpResponse:
    """`page` (reservation.rdv_changes) once the token is checked; the question otherwise."""
    participation = _checked(request, token)
    if participation is None:
        return redirect("reservation:rdv_link", token=token)
    _annotate(participation)
    return page(request, participation.rdv, _pages(request, participation))


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request: UsagerRequest, token: str) -> HttpResponse:
    """« Annuler »: a confirmation page, then the POST."""
    return _change(request, token, cancel_page)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def move(request: UsagerRequest, token: str) -> HttpResponse:
    """« Déplacer »: another time of the same motif and lieu, then the new RDV's own link."""
    return _change(request, token, move_page)
