"""The usager's identification, by a 6-digit code sent by email (usagers.identity): « Votre
identité » (step 5 of « Prendre rendez-vous »), « Se connecter » (to « Mes rendez-vous »), the
code page, « Se déconnecter ».

What was typed waits in the usager's own session (`IDENTITY_PENDING`, usagers.middleware) until
the code is checked: the address the code went to, the names, where to go next. Nothing is
created before the code is right.

Rate limits (reservation.limits: fixed windows in the shared Redis): see LIMITS below. Each gives
the page « Trop de demandes » (429) saying when to try again. The code's own limits (5 tries,
one code a minute, only the newest valid) are held by the database (usagers.identity)."""

import datetime as dt
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from rdv.redirects import local_url
from reservation.identity_forms import CodeForm, IdentityForm, LoginForm
from reservation.limits import Limit, client_ip, ip_key, too_many, wait_for
from usagers.identity import CodeRefused, TooSoon, account_for_email, check_code, send_code
from usagers.middleware import UsagerRequest, login_usager, logout_usager
from usagers.models import CODE_VALIDITY, EmailCode, Usager, normalise_email

logger = logging.getLogger(__name__)

IDENTITY_PENDING = "identity_pending"
# How long a device not signed in keeps an identification in progress.
PENDING_AGE = 60 * 60
PURPOSE = EmailCode.Purpose.LOGIN


# Codes sent: per address (a mailbox is not flooded, an address not probed) and per IP.
SEND_PER_EMAIL = Limit("usager-code-send-email", "5/h")
SEND_PER_IP = Limit("usager-code-send-ip", "30/h")
# Codes typed: with 5 tries per code and 5 codes an hour, 10 tries an hour and 30 a day per
# address leave a guesser about one chance in 100 a year; a person who mistypes is not stopped.
CHECK_PER_EMAIL_HOUR = Limit("usager-code-check-email-h", "10/h")
CHECK_PER_EMAIL_DAY = Limit("usager-code-check-email-d", "30/d")
CHECK_PER_IP = Limit("usager-code-check-ip", "60/h")
LIMITS = (SEND_PER_EMAIL, SEND_PER_IP, CHECK_PER_EMAIL_HOUR, CHECK_PER_EMAIL_DAY, CHECK_PER_IP)


def send_limits(request: HttpRequest, email: str) -> list[tuple[Limit, str]]:
    return [(SEND_PER_IP, ip_key(request)), (SEND_PER_EMAIL, normalise_email(email))]


def check_limits(request: HttpRequest, email: str) -> list[tuple[Limit, str]]:
    email = normalise_email(email)
    return [(CHECK_PER_IP, ip_key(request)), (CHECK_PER_EMAIL_HOUR, email), (CHECK_PER_EMAIL_DAY, email)]


def _route(name: str) -> str:
    """A route another page family owns, or the site's root while it does not exist."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return "/"


def _safe_url(request: HttpRequest, parameter: str) -> str:
    """The `parameter` URL of the query string or the form, if it is a page of this site; else ""."""
    return local_url(request, request.POST.get(parameter) or request.GET.get(parameter))


def _pending(request: UsagerRequest) -> dict:
    value = request.usager_session.get(IDENTITY_PENDING)
    return value if isinstance(value, dict) else {}


def _keep_pending(request: UsagerRequest, pending: dict) -> None:
    session = request.usager_session
    session[IDENTITY_PENDING] = pending
    if request.usager is None:
        session.set_expiry(PENDING_AGE)


def _verified_email(pending: dict) -> str:
    """The address proven by a code less than CODE_VALIDITY ago, for which names are missing."""
    try:
        verified_at = dt.datetime.fromisoformat(pending.get("verified_at") or "")
    except (TypeError, ValueError):
        return ""
    if timezone.now() - verified_at > CODE_VALIDITY:
        return ""
    return str(pending.get("email") or "")


def _send_first_code(
    request: UsagerRequest, *, email: str, first_name: str, last_name: str, next_url: str
) -> HttpResponse:
    wait = wait_for(send_limits(request, email))
    if wait:
        return too_many(request, wait)
    try:
        send_code(email, ip=client_ip(request), purpose=PURPOSE)
    except TooSoon as refusal:
        messages.info(
            request,
            ngettext(
                "Un code a été envoyé à cette adresse il y a moins d'une minute : utilisez-le, ou demandez-en "
                "un nouveau dans %(n)s seconde.",
                "Un code a été envoyé à cette adresse il y a moins d'une minute : utilisez-le, ou demandez-en "
                "un nouveau dans %(n)s secondes.",
                refusal.seconds,
            )
            % {"n": refusal.seconds},
        )
    pending = {"email": normalise_email(email), "first_name": first_name, "last_name": last_name, "next": next_url}
    _keep_pending(request, pending)
    return redirect("reservation:code")


def _sign_in(request: UsagerRequest, usager: Usager, next_url: str) -> HttpResponse:
    login_usager(request, usager)
    # Only where to go is kept: the code form sent twice (a double click) goes there too.
    request.usager_session[IDENTITY_PENDING] = {"next": next_url}
    return redirect(next_url)


@login_not_required
@require_http_methods(["GET", "POST"])
def identity(request: UsagerRequest) -> HttpResponse:
    """« Votre identité »: prénom, nom, adresse e-mail, then « Recevoir un code ». Step 5 of
    « Prendre rendez-vous », which passes `next` (the step after); an usager signed in already
    goes there at once."""
    next_url = _safe_url(request, "next") or _route("reservation:my_rdvs")
    if request.usager is not None:
        return redirect(next_url)
    pending = _pending(request)
    verified = _verified_email(pending)
    initial = {key: pending.get(key, "") for key in ("first_name", "last_name", "email")}
    data = request.POST if request.method == "POST" else None
    form = IdentityForm(data, initial=initial, verified_email=verified)
    if form.is_valid():
        first_name, last_name = form.cleaned_data["first_name"], form.cleaned_data["last_name"]
        if not verified:
            email = form.cleaned_data["email"]
            return _send_first_code(request, email=email, first_name=first_name, last_name=last_name, next_url=next_url)
        account = account_for_email(verified, first_name, last_name)
        if account is not None:
            return _sign_in(request, account.usager, next_url)
    informations = _route("reservation:informations")
    context = {
        "form": form,
        "next": next_url,
        "verified_email": verified,
        "back_url": _safe_url(request, "retour"),
        "booking_step": informations != "/" and next_url.startswith(informations),
    }
    return render(request, "reservation/identity/identity.html", context, status=422 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def login(request: UsagerRequest) -> HttpResponse:
    """« Se connecter » to « Mes rendez-vous »: the address alone. Whether it has an account is
    not said: a code leaves either way."""
    next_url = _safe_url(request, "next") or _route("reservation:my_rdvs")
    if request.usager is not None:
        return redirect(next_url)
    data = request.POST if request.method == "POST" else None
    form = LoginForm(data, initial={"email": _pending(request).get("email", "")})
    if form.is_valid():
        return _send_first_code(
            request, email=form.cleaned_data["email"], first_name="", last_name="", next_url=next_url
        )
    context = {"form": form, "next": next_url}
    return render(request, "reservation/identity/login.html", context, status=422 if form.errors else 200)


def refusal_text(refusal: CodeRefused) -> str:
    Reason = CodeRefused.Reason
    if refusal.reason == Reason.WRONG:
        return ngettext(
            "Code incorrect. Il vous reste %(n)s essai.",
            "Code incorrect. Il vous reste %(n)s essais.",
            refusal.attempts_left,
        ) % {"n": refusal.attempts_left}
    if refusal.reason == Reason.EXPIRED:
        return _("Ce code a expiré : il était valable 30 minutes. Demandez un nouveau code.")
    if refusal.reason == Reason.TOO_MANY_ATTEMPTS:
        return _("Trop d'essais avec ce code. Demandez un nouveau code.")
    if refusal.reason == Reason.USED:
        return _("Ce code a déjà servi. Demandez un nouveau code.")
    return _("Aucun code n'attend pour cette adresse. Demandez un nouveau code.")


def _code_page(request: UsagerRequest, form: CodeForm, pending: dict, *, status: int, resend_error: str = ""):
    identity_url = "reservation:identity" if pending.get("first_name") else "reservation:login"
    context = {
        "form": form,
        "email": pending["email"],
        "resend_error": resend_error,
        "back_url": reverse(identity_url, query={"next": pending.get("next") or _route("reservation:my_rdvs")}),
    }
    return render(request, "reservation/identity/code.html", context, status=status)


@login_not_required
@require_http_methods(["GET", "POST"])
def code(request: UsagerRequest) -> HttpResponse:
    """« Saisissez le code reçu »: names the address, takes the code; « Recevoir un nouveau code »
    (POST `action=resend`)."""
    pending = _pending(request)
    if request.usager is not None:  # signed in already (the form sent twice): go on
        return redirect(pending.get("next") or _route("reservation:my_rdvs"))
    email = pending.get("email")
    if not email:
        messages.info(request, _("Indiquez votre adresse e-mail pour recevoir un code."))
        return redirect("reservation:login")
    if _verified_email(pending):
        return redirect(reverse("reservation:identity", query={"next": pending.get("next", "")}))
    if request.method == "POST" and request.POST.get("action") == "resend":
        return _resend(request, pending)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        wait = wait_for(check_limits(request, email))
        if wait:
            return too_many(request, wait)
        try:
            usager = check_code(email, form.cleaned_data["code"], purpose=PURPOSE)
        except CodeRefused as refusal:
            form.add_error("code", refusal_text(refusal))
        else:
            return _code_checked(request, pending, usager)
    return _code_page(request, form, pending, status=422 if form.errors else 200)


def _code_checked(request: UsagerRequest, pending: dict, usager: Usager | None) -> HttpResponse:
    """The address is proven: sign its account in, or ask the names an account needs."""
    next_url = pending.get("next") or _route("reservation:my_rdvs")
    if usager is None:
        account = account_for_email(pending["email"], pending.get("first_name", ""), pending.get("last_name", ""))
        if account is None:
            _keep_pending(request, {**pending, "verified_at": timezone.now().isoformat()})
            messages.info(request, _("Votre adresse est vérifiée. Indiquez votre prénom et votre nom pour continuer."))
            return redirect(reverse("reservation:identity", query={"next": next_url}))
        usager = account.usager
    return _sign_in(request, usager, next_url)


def _resend(request: UsagerRequest, pending: dict) -> HttpResponse:
    wait = wait_for(send_limits(request, pending["email"]))
    if wait:
        return too_many(request, wait)
    try:
        send_code(pending["email"], ip=client_ip(request), purpose=PURPOSE)
    except TooSoon as refusal:
        text = ngettext(
            "Un code vient d'être envoyé. Vous pourrez en demander un nouveau dans %(n)s seconde.",
            "Un code vient d'être envoyé. Vous pourrez en demander un nouveau dans %(n)s secondes.",
            refusal.seconds,
        ) % {"n": refusal.seconds}
        response = _code_page(request, CodeForm(), pending, status=429, resend_error=text)
        response["Retry-After"] = str(refusal.seconds)
        return response
    messages.success(request, _("Un nouveau code a été envoyé à %(email)s.") % {"email": pending["email"]})
    return redirect("reservation:code")


@login_not_required
@require_POST
def logout(request: UsagerRequest) -> HttpResponse:
    """« Se déconnecter »: this device forgets the usager (the session and all it held)."""
    logout_usager(request)
    messages.success(request, _("Vous êtes déconnecté(e)."))
    return redirect(_route("reservation:home"))
