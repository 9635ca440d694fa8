"""The usager's own information (« Mon profil »): identity, phone, address, how it wants to be
told, its proches, and a new email address (checked by a code before it replaces the old one)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from rdv.forms import DsfrForm, DsfrModelForm
from usagers.models import Usager, validate_birth_date


class ProfileForm(DsfrModelForm):
    class Meta:
        model = Usager
        fields = ["first_name", "last_name", "phone", "address", "notify_by_email", "notify_by_sms"]
        labels = {
            "first_name": _("Prénom"),
            "last_name": _("Nom"),
            "phone": _("Numéro de téléphone"),
            "address": _("Adresse"),
            "notify_by_email": _("Recevoir les confirmations et rappels par e-mail"),
            "notify_by_sms": _("Recevoir les confirmations et rappels par SMS"),
        }
        help_texts = {"phone": _("Un numéro de portable permet de recevoir les SMS.")}

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("notify_by_sms") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Indiquez un numéro de portable pour recevoir les SMS."))
        return data


class ProcheForm(DsfrModelForm):
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        validators=[validate_birth_date],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Format attendu : JJ/MM/AAAA"),
    )

    class Meta:
        model = Usager
        fields = ["first_name", "last_name", "birth_date"]
        labels = {"first_name": _("Prénom"), "last_name": _("Nom")}


class EmailChangeForm(DsfrForm):
    email = forms.EmailField(
        label=_("Nouvelle adresse e-mail"),
        max_length=254,
        help_text=_("Un code vous sera envoyé à cette adresse pour la vérifier."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
