"""« Mon profil » for an identified usager: its identity and contact details, its notification
channels, its proches (added or corrected here), and a change of email address that takes effect
only once a code sent to the new address is typed."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from reservation.identity_forms import CodeForm
from reservation.identity_views import check_limits, refusal_text, send_limits
from reservation.limits import client_ip, too_many, wait_for
from reservation.profile_forms import EmailChangeForm, ProcheForm, ProfileForm
from usagers.identity import CodeRefused, TooSoon, check_code, send_code
from usagers.middleware import UsagerRequest, proches_of
from usagers.models import EmailCode, Usager, UsagerAccount, normalise_email

NEW_EMAIL = "profile_new_email"
PURPOSE = EmailCode.Purpose.EMAIL_CHANGE


def _signed_in(request: UsagerRequest) -> Usager | HttpResponse:
    if request.usager is None:
        return redirect(reverse("reservation:login", query={"next": request.get_full_path()}))
    return request.usager


@login_not_required
@require_http_methods(["GET", "POST"])
def profile(request: UsagerRequest) -> HttpResponse:
    usager = _signed_in(request)
    if isinstance(usager, HttpResponse):
        return usager
    form = ProfileForm(request.POST or None, instance=usager)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Vos informations ont été enregistrées."))
        return redirect("reservation:profile")
    proches = proches_of(usager)
    context = {
        "form": form,
        "proches": proches,
        "account_email": getattr(getattr(usager, "account", None), "email", usager.email),
        "back_url": reverse("reservation:my_rdvs"),
    }
    return render(request, "reservation/profile/profile.html", context, status=422 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def proche(request: UsagerRequest, pk: int | None = None) -> HttpResponse:
    """A proche added (no pk) or corrected: only one's own."""
    usager = _signed_in(request)
    if isinstance(usager, HttpResponse):
        return usager
    instance = None
    if pk is not None:
        instance = get_object_or_404(Usager.objects.filter(responsible=usager, anonymised_at__isnull=True), pk=pk)
    form = ProcheForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if instance is None:
            saved.responsible = usager
            saved.created_by = Usager.CreatedBy.USAGER
        saved.save()
        messages.success(request, _("%(name)s a été enregistré(e).") % {"name": saved.full_name})
        return redirect("reservation:profile")
    context = {"form": form, "proche": instance, "back_url": reverse("reservation:profile")}
    return render(request, "reservation/profile/proche.html", context, status=422 if form.errors else 200)


@login_not_required
@require_http_methods(["GET", "POST"])
def email_change(request: UsagerRequest) -> HttpResponse:
    """The new address, then the code sent to it; the account's address changes only then."""
    usager = _signed_in(request)
    if isinstance(usager, HttpResponse):
        return usager
    pending = request.usager_session.get(NEW_EMAIL, "")
    if request.method == "POST" and "code" in request.POST and pending:
        code_form = CodeForm(request.POST)
        if code_form.is_valid():
            wait = wait_for(check_limits(request, pending))
            if wait:
                return too_many(request, wait)
            try:
                check_code(pending, code_form.cleaned_data["code"], purpose=PURPOSE)
            except CodeRefused as refused:
                code_form.add_error("code", refusal_text(refused))
            else:
                return _apply_email(request, usager, pending)
        context = {"code_form": code_form, "email": pending, "back_url": reverse("reservation:profile")}
        return render(request, "reservation/profile/email_code.html", context, status=422)
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = normalise_email(form.cleaned_data["email"])
        if UsagerAccount.objects.for_email(email).exclude(usager=usager).exists():
            form.add_error("email", _("Cette adresse est déjà celle d'un autre compte."))
        else:
            wait = wait_for(send_limits(request, email))
            if wait:
                return too_many(request, wait)
            try:
                send_code(email, ip=client_ip(request), purpose=PURPOSE)
            except TooSoon as too_soon:
                return too_many(request, too_soon.seconds)
            request.usager_session[NEW_EMAIL] = email
            context = {"code_form": CodeForm(), "email": email, "back_url": reverse("reservation:profile")}
            return render(request, "reservation/profile/email_code.html", context)
    context = {"form": form, "back_url": reverse("reservation:profile")}
    return render(request, "reservation/profile/email.html", context, status=422 if form.errors else 200)


def _apply_email(request: UsagerRequest, usager: Usager, email: str) -> HttpResponse:
    try:
        with transaction.atomic():
            UsagerAccount.objects.update_or_create(usager=usager, defaults={"email": email})
            usager.email = email
            usager.save(update_fields=["email"])
    except IntegrityError:
        messages.error(request, _("Cette adresse est déjà celle d'un autre compte."))
        return redirect("reservation:email_change")
    request.usager_session.pop(NEW_EMAIL, None)
    messages.success(request, _("Votre adresse e-mail est désormais %(email)s.") % {"email": email})
    return redirect("reservation:profile")
