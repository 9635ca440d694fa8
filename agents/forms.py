from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, PasswordResetForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from agents.models import Agent, AgentInvitation, AgentRole
from agents.services import send_password_reset
from organisations.models import Service
from rdv.forms import DsfrForm, DsfrFormMixin, DsfrModelForm

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

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        """Through the outbox (agents.services.send_password_reset), not straight to the SMTP."""
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        body = render_to_string(email_template_name, context)
        send_password_reset(to=to_email, subject=subject, body=body)


class AgentSetPasswordForm(DsfrFormMixin, SetPasswordForm):
    pass


# « Attribuez-lui un rôle »: what each role means, shown beside the choice (seed tutorial).
LEVEL_HINTS = {
    AgentRole.Level.ADMIN: _(
        "Vous lui permettez d'accéder aux paramètres. Il a accès à tous les agendas en lecture et modification."
    ),
    AgentRole.Level.BASIC: _(
        "Il n'a pas accès aux paramètres et a accès uniquement aux agendas des agents de son service."
    ),
}
SECRETARIAT_HINT = _(
    "A savoir : tous les agents du service secrétariat ont aussi accès à l'ensemble des agendas en lecture "
    "et modification."
)
RADIO_TEMPLATE = "dsfr/form_field_snippets/radioselect_snippet.html"


class HintedRadioSelect(forms.RadioSelect):
    """DSFR radios, each with an optional hint text under its label. (Our own option template:
    Django's, which wins over django-dsfr's in the template search, draws bare browser radios.)"""

    option_template_name = "agents/widgets/hinted_radio_option.html"

    def __init__(self, *args, hints: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.hints = hints or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["hint"] = self.hints.get(str(value), "")
        return option


class DsfrCheckboxSelectMultiple(forms.CheckboxSelectMultiple):
    """DSFR checkboxes (see HintedRadioSelect for why our own option template)."""

    option_template_name = "agents/widgets/checkbox_option.html"


class LevelField(forms.ChoiceField):
    """« Attribuez-lui un rôle »: Administrateur or Utilisateur, each with what it allows."""

    template_name = RADIO_TEMPLATE

    def __init__(self, *, label: str):
        super().__init__(
            label=label,
            choices=AgentRole.Level.choices,
            widget=HintedRadioSelect(hints={str(k): v for k, v in LEVEL_HINTS.items()}),
            error_messages={
                "required": _("Choisissez un rôle."),
                "invalid_choice": _("Choisissez un rôle de la liste."),
            },
        )


class InvitationForm(DsfrForm):
    """« Invitez un professionnel »."""

    email = forms.EmailField(
        label=_("Adresse e-mail"),
        max_length=254,
        help_text=_("Format attendu : nom@domaine.fr"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        error_messages={"invalid": INVALID_EMAIL, "required": _("Saisissez l'adresse e-mail du professionnel.")},
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.order_by("is_secretariat", "name"),
        widget=HintedRadioSelect,
        template_name=RADIO_TEMPLATE,
        help_text=SECRETARIAT_HINT,
        empty_label=None,
        error_messages={
            "required": _("Choisissez le service auquel appartient cet agent."),
            "invalid_choice": _("Choisissez un service de la liste."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"] = LevelField(label=str(_("Rôle")))
        self.initial.setdefault("level", AgentRole.Level.BASIC)


class AgentRoleForm(DsfrForm):
    """« modifier »: the agent's services and its role in this organisation (its memberships
    elsewhere are not this admin's to change)."""

    services = forms.ModelMultipleChoiceField(
        label=_("Services"),
        queryset=Service.objects.order_by("is_secretariat", "name"),
        widget=DsfrCheckboxSelectMultiple,
        template_name="dsfr/form_field_snippets/checkboxselectmultiple_snippet.html",
        help_text=SECRETARIAT_HINT,
        error_messages={
            "required": _("Choisissez au moins un service."),
            "invalid_choice": _("Choisissez un service de la liste."),
            "invalid_pk_value": _("Choisissez un service de la liste."),
        },
    )

    def __init__(self, *args, role: AgentRole, **kwargs):
        kwargs.setdefault("initial", {"services": list(role.services.all()), "level": role.level})
        super().__init__(*args, **kwargs)
        self.fields["level"] = LevelField(label=str(_("Rôle de %(agent)s")) % {"agent": role.agent.full_name})


def _password_rules() -> str:
    return " ".join(str(text) for text in password_validation.password_validators_help_texts())


class AcceptInvitationForm(DsfrForm):
    """The person invited names itself and chooses its password."""

    first_name = forms.CharField(
        label=_("Prénom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
        error_messages={"required": _("Saisissez votre prénom.")},
    )
    last_name = forms.CharField(
        label=_("Nom"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
        error_messages={"required": _("Saisissez votre nom.")},
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        help_text=lazy(_password_rules, str)(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Choisissez un mot de passe.")},
    )
    password_confirmation = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Saisissez à nouveau le mot de passe.")},
    )

    def __init__(self, *args, invitation: AgentInvitation, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        password = cleaned.get("password")
        confirmation = cleaned.get("password_confirmation")
        if password and confirmation and password != confirmation:
            self.add_error("password_confirmation", _("Les deux mots de passe ne sont pas identiques."))
        if password:
            # The validators compare the password with the future account's name and email.
            future = Agent(
                email=self.invitation.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(password, future)
            except ValidationError as error:
                self.add_error("password", error)
        return cleaned


# « Mon compte »: the signed-in agent's own name, password and notifications.


class AccountNameForm(DsfrModelForm):
    """The name colleagues and usagers read (agendas, emails); the address is the login and
    stays as the organisation invited it."""

    class Meta:
        model = Agent
        fields = ["first_name", "last_name"]
        labels = {"first_name": _("Prénom"), "last_name": _("Nom")}
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
        }
        error_messages = {
            "first_name": {"required": _("Saisissez votre prénom.")},
            "last_name": {"required": _("Saisissez votre nom.")},
        }


class AccountPasswordForm(DsfrFormMixin, PasswordChangeForm):
    """Django's check of the current password and of the new one's rules, with our wording (the
    rules as one hint, like the invitation's form)."""

    old_password = forms.CharField(
        label=_("Mot de passe actuel"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": _("Saisissez votre mot de passe actuel.")},
    )
    new_password1 = forms.CharField(
        label=_("Nouveau mot de passe"),
        strip=False,
        help_text=lazy(_password_rules, str)(),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Choisissez un nouveau mot de passe.")},
    )
    new_password2 = forms.CharField(
        label=_("Confirmation du nouveau mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": _("Saisissez à nouveau le nouveau mot de passe.")},
    )

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": _("Le mot de passe actuel est incorrect. Saisissez-le à nouveau."),
        "password_mismatch": _("Les deux mots de passe ne sont pas identiques."),
    }


class RadioChoiceField(forms.ChoiceField):
    """Choices as DSFR radios (see HintedRadioSelect)."""

    template_name = RADIO_TEMPLATE


class RdvNotificationsForm(DsfrModelForm):
    """Which changes of its RDVs the agent is told of by email (Agent.rdv_notifications)."""

    rdv_notifications = RadioChoiceField(
        label=_("Être prévenu par email des changements de mes RDV"),
        help_text=_(
            "Un RDV pris ou annulé en ligne par un usager, déplacé ou annulé par un collègue : un email par "
            "changement, avec un lien vers le RDV."
        ),
        choices=Agent.RdvNotifications.choices,
        widget=HintedRadioSelect,
        error_messages={
            "required": _("Choisissez quand être prévenu."),
            "invalid_choice": _("Choisissez une option de la liste."),
        },
    )

    class Meta:
        model = Agent
        fields = ["rdv_notifications"]
