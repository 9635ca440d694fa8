from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rdv.forms import DsfrFormMixin

LOCKOUT_MESSAGE = _(
    "Trop de tentatives de connexion échouées : par sécurité, la connexion à ce compte depuis votre "
    "poste est bloquée pendant 15 minutes. Réessayez plus tard, ou choisissez « Mot de passe oublié ? »."
)


INVALID_EMAIL = _("Saisissez une adresse e-mail valide, par exemple nom@domaine.fr.")


class LoginForm(DsfrFormMixin, AuthenticationForm):
    username = forms.EmailField(
        label=_("Adresse e-mail"),
        help_text=_("Format attendu : nom@domaine.fr"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
        error_messages={"invalid": INVALID_EMAIL, "required": _("Saisissez votre adresse e-mail.")},
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Saisissez votre mot de passe.")},
    )

    error_messages = {
        # The same message for an unknown email and a wrong password: a login form must not
        # tell who has an account.
        "invalid_login": _("Adresse e-mail ou mot de passe incorrect."),
        "inactive": _("Ce compte est désactivé. Adressez-vous à un administrateur de votre organisation."),
        "locked": LOCKOUT_MESSAGE,
    }

    def get_invalid_login_error(self):
        if getattr(self.request, "axes_locked_out", False):
            return ValidationError(self.error_messages["locked"], code="locked")
        return super().get_invalid_login_error()


class AgentPasswordResetForm(DsfrFormMixin, PasswordResetForm):
    email = forms.EmailField(
        label=_("Adresse e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
        error_messages={"invalid": INVALID_EMAIL},
    )


class AgentSetPasswordForm(DsfrFormMixin, SetPasswordForm):
    pass
