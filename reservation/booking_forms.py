"""The forms of « Vos informations » and « Vérifiez votre rendez-vous »: only what the motif needs
(a phone for « par téléphone », an address for « à domicile »), for the usager or one of its
proches or a new proche named on the same page."""

from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from motifs.models import Motif
from rdv.forms import DsfrForm, field_of
from usagers.models import Usager, validate_birth_date

ME = "moi"
NEW_PROCHE = "nouveau"


class InformationsForm(DsfrForm):
    for_whom = forms.ChoiceField(label=_("Pour qui est ce rendez-vous ?"), widget=forms.RadioSelect)
    proche_first_name = forms.CharField(label=_("Prénom du proche"), max_length=150, required=False)
    proche_last_name = forms.CharField(label=_("Nom du proche"), max_length=150, required=False)
    proche_birth_date = forms.DateField(
        label=_("Date de naissance du proche"),
        required=False,
        validators=[validate_birth_date],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Format attendu : JJ/MM/AAAA"),
    )
    phone = PhoneNumberField(
        label=_("Numéro de téléphone"),
        region="FR",
        required=False,
        help_text=_("Un numéro de portable permet de recevoir les confirmations et rappels par SMS."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    address = forms.CharField(
        label=_("Adresse du rendez-vous"),
        max_length=300,
        required=False,
        help_text=_("Numéro, rue, code postal et commune : l'agent viendra à cette adresse."),
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
    )
    notify_by_email = forms.BooleanField(label=_("Recevoir la confirmation et le rappel par e-mail"), required=False)
    notify_by_sms = forms.BooleanField(label=_("Recevoir la confirmation et le rappel par SMS"), required=False)

    def __init__(self, *args, usager: Usager, proches: list[Usager], motif: Motif, **kwargs):
        super().__init__(*args, **kwargs)
        self.usager, self.motif = usager, motif
        self.proches = {str(proche.pk): proche for proche in proches}
        choices = [(ME, f"{usager.full_name} (moi)")]
        choices += [(pk, proche.full_name) for pk, proche in self.proches.items()]
        choices.append((NEW_PROCHE, str(_("Un nouveau proche (enfant, personne que j'accompagne)"))))
        field_of(self, "for_whom", forms.ChoiceField).choices = choices
        if motif.location_type == Motif.LocationType.PHONE:
            self.fields["phone"].required = True
            self.fields["phone"].help_text = _("L'agent vous appellera à ce numéro.")
        if motif.location_type == Motif.LocationType.HOME:
            self.fields["address"].required = True
        else:
            del self.fields["address"]

    def clean_proche_first_name(self) -> str:
        return self.cleaned_data["proche_first_name"].strip()

    def clean_proche_last_name(self) -> str:
        return self.cleaned_data["proche_last_name"].strip()

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if data.get("for_whom") == NEW_PROCHE:
            for name, message in (
                ("proche_first_name", _("Indiquez le prénom du proche.")),
                ("proche_last_name", _("Indiquez le nom du proche.")),
            ):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, message)
        if data.get("notify_by_sms") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Indiquez un numéro de portable pour recevoir les SMS."))
        return data

    def pending(self) -> dict:
        """What the confirmation will write, kept in the usager's session meanwhile (JSON)."""
        data = self.cleaned_data
        birth_date = data.get("proche_birth_date")
        return {
            "for_whom": data["for_whom"],
            "proche_first_name": data.get("proche_first_name", ""),
            "proche_last_name": data.get("proche_last_name", ""),
            "proche_birth_date": birth_date.isoformat() if birth_date else "",
            "phone": data["phone"].as_e164 if data.get("phone") else "",
            "address": data.get("address", ""),
            "notify_by_email": bool(data.get("notify_by_email")),
            "notify_by_sms": bool(data.get("notify_by_sms")),
        }


class ConfirmForm(DsfrForm):
    """« Confirmer le rendez-vous »: the token that makes a double click book once, and the
    instructions to accept when the motif has some."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    accept_instructions = forms.BooleanField(
        label=_("J'ai lu et j'accepte ces instructions"),
        required=True,
        error_messages={"required": _("Cochez la case pour accepter les instructions avant de confirmer.")},
    )

    def __init__(self, *args, motif: Motif, **kwargs):
        super().__init__(*args, **kwargs)
        if not motif.instructions_before.strip():
            del self.fields["accept_instructions"]
