"""The forms of the usager's identification: « Votre identité » (prénom, nom, adresse e-mail),
« Se connecter » (the address alone) and the code received by email."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rdv.forms import DsfrForm

CODE_FORMAT = re.compile(r"[0-9]{6}")
# Longer than anything a person pastes: refused before any other work.
CODE_MAX_INPUT = 40


def _email_field() -> forms.EmailField:
    return forms.EmailField(
        label=_("Adresse e-mail"),
        max_length=254,
        help_text=_("Nous y enverrons un code à 6 chiffres. Format attendu : nom@domaine.fr"),
        error_messages={"invalid": _("Saisissez une adresse e-mail valide, au format nom@domaine.fr.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false", "autocapitalize": "none"}),
    )


class IdentityForm(DsfrForm):
    """« Votre identité ». `verified_email`: the address was proven already (a code typed on
    « Se connecter » for an address that has no account yet): only the names are asked."""

    first_name = forms.CharField(
        label=_("Prénom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Nom"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    email = _email_field()

    def __init__(self, *args, verified_email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        if verified_email:
            del self.fields["email"]


class LoginForm(DsfrForm):
    email = _email_field()


class CodeForm(DsfrForm):
    """Pasting works: spaces (« 123 456 », a non-breaking space, a line feed) are ignored."""

    code = forms.CharField(
        label=_("Code à 6 chiffres"),
        help_text=_("Reçu par email. Format attendu : 6 chiffres, par exemple 123456"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def clean_code(self) -> str:
        raw = self.cleaned_data["code"]
        code = "".join(raw.split()) if len(raw) <= CODE_MAX_INPUT else ""
        if not CODE_FORMAT.fullmatch(code):
            raise ValidationError(_("Saisissez les 6 chiffres du code reçu par email."), code="format")
        return code
