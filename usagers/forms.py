from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from rdv.forms import DsfrModelForm
from rdv.phone import FrenchPhoneNumberField
from usagers.models import EDITABLE_FIELDS, IDENTITY_FIELDS, Usager, UsagerProfile


class ReferentsWidget(forms.CheckboxSelectMultiple):
    option_template_name = "usagers/widgets/checkbox_option.html"
    inline = True


class ReferentsField(forms.ModelMultipleChoiceField):
    widget = ReferentsWidget
    template_name = "dsfr/form_field_snippets/checkboxselectmultiple_snippet.html"

    def label_from_instance(self, obj: Agent) -> str:
        return obj.full_name or obj.email


class ProfileFieldsMixin(forms.Form):
    """The organisation's own fields, kept on its `UsagerProfile`: référents and notes."""

    referents = ReferentsField(
        label=_("Agent(s) référent(s)"),
        queryset=Agent.objects.none(),
        required=False,
        help_text=_("Les agents qui accompagnent cet usager : les autres agents, dont le secrétariat, le savent."),
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 5}))

    def set_up_profile_fields(self, organisation, profile: UsagerProfile | None) -> None:
        cast(ReferentsField, self.fields["referents"]).queryset = (
            Agent.objects.for_organisation(organisation).active().order_by("last_name", "first_name")
        )
        if profile is not None and not self.is_bound:
            self.initial["notes"] = profile.notes
            self.initial["referents"] = list(profile.referents.all())


DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UsagerForm(ProfileFieldsMixin, DsfrModelForm):
    """An « usager en charge »: only the first and last names are required."""

    phone = FrenchPhoneNumberField(label=_("Numéro de téléphone"), required=False)

    class Meta:
        model = Usager
        fields = EDITABLE_FIELDS
        labels = {
            "notify_by_email": _("Recevoir les notifications par email"),
            "notify_by_sms": _("Recevoir les notifications par SMS"),
        }
        help_texts = {
            "birth_date": _("Format attendu : JJ/MM/AAAA"),
            "email": _("Format attendu : nom@domaine.fr"),
            "phone": _("Par exemple 06 12 34 56 78 ou 0692 12 34 56"),
        }
        widgets = {"birth_date": DATE_WIDGET}

    def __init__(self, *args, organisation, profile: UsagerProfile | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_up_profile_fields(organisation, profile)
        self.fields["email"].error_messages["invalid"] = _(
            "Saisissez une adresse email valide, par exemple nom@domaine.fr."
        )
        self.fields["number_of_children"].widget.attrs["min"] = 0
        for name, choices in (
            ("caisse", Usager.Caisse.choices),
            ("family_situation", Usager.FamilySituation.choices),
            ("housing", Usager.Housing.choices),
        ):
            cast(forms.ChoiceField, self.fields[name]).choices = [("", _("Non renseigné")), *choices]

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def rows(self):
        """The form's layout, as the seed's screenshot shows it: pairs of fields side by side."""
        pairs = [
            ("first_name", "last_name"),
            ("birth_name", "birth_date"),
            ("email",),
            ("phone",),
            ("address",),
            ("referents",),
            ("caisse", "case_number"),
            ("family_situation", "number_of_children"),
            ("housing",),
            ("notes",),
            ("notify_by_email", "notify_by_sms"),
        ]
        return [[self[name] for name in pair] for pair in pairs]


class ProcheForm(ProfileFieldsMixin, DsfrModelForm):
    """A proche: a child or a dependent adult of an usager en charge. It has no email, phone or
    notification preferences of its own: its responsible receives them."""

    class Meta:
        model = Usager
        # Its own address: a child in care or an adult in an institution may live elsewhere
        # (an RDV « à domicile » reads it first, then its responsible's).
        fields = [*IDENTITY_FIELDS, "address"]
        help_texts = {
            "birth_date": _("Format attendu : JJ/MM/AAAA"),
            "address": _("Celle de l'usager en charge à la création : modifiez-la si le proche vit ailleurs."),
        }
        widgets = {"birth_date": DATE_WIDGET}

    def __init__(self, *args, organisation, profile: UsagerProfile | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_up_profile_fields(organisation, profile)

    def rows(self):
        pairs = [("first_name", "last_name"), ("birth_name", "birth_date"), ("address",), ("referents",), ("notes",)]
        return [[self[name] for name in pair] for pair in pairs]
