"""Forms of the RDV creation by an agent: the wizard « Directement sur l'agenda de l'agent »
(motif, then usagers and notes, then date, lieu and agents) and « Trouver un créneau ».

Every step validates again what the earlier ones chose, carried in hidden fields: the querysets
are those the membership may use, so another organisation's motif, agent, usager or lieu is an
error on its field."""

import datetime as dt
from collections.abc import Iterable
from typing import cast

from django import forms
from django.forms.models import ModelChoiceIteratorValue
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from agents.permissions import Membership, agents_with_visible_agenda
from motifs.models import Motif
from organisations.models import Lieu
from rdv.forms import DsfrForm, field_of
from rendezvous.forms import MAX_AHEAD, AgentsChoiceField, RdvScheduleForm, home_address_field
from usagers.permissions import usagers_visible_to

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def motif_label(motif: Motif) -> str:
    return f"{motif.name} ({motif.get_location_type_display()})"


class MotifField(forms.ChoiceField):
    """The motifs offered, grouped by service; cleans to the Motif."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Motif"))
        kwargs.setdefault(
            "error_messages",
            {
                "required": _("Choisissez un motif."),
                "invalid_choice": _("Ce motif n'existe pas ou ne peut pas être réservé ici."),
            },
        )
        super().__init__(**kwargs)
        self.motifs: dict[str, Motif] = {}

    def set_motifs(self, motifs: Iterable[Motif], shown: Iterable[Motif] | None = None) -> None:
        """`motifs` with their service loaded, in the order to show; `shown`, some of them, the
        only ones listed (« Trouver un créneau » narrows the list to the agents chosen), the
        others still accepted."""
        # A new dict, never an update: Django copies a form's fields shallowly (Field.__deepcopy__),
        # so a dict filled in place would be shared by every form of the process, and grow with
        # the motifs of every organisation.
        motifs = list(motifs)
        self.motifs = {str(motif.pk): motif for motif in motifs}
        groups: dict[str, list[tuple[str, str]]] = {}
        for motif in motifs if shown is None else shown:
            groups.setdefault(motif.service.name, []).append((str(motif.pk), motif_label(motif)))
        self.choices = [("", _("Sélectionnez un motif")), *sorted(groups.items())]

    def valid_value(self, value) -> bool:
        return str(value) in self.motifs

    def clean(self, value):
        value = super().clean(value)
        return self.motifs.get(value) if value else None


class MotifStepForm(DsfrForm):
    """Step 1: « Choisissez le motif du rendez-vous »."""

    motif = MotifField()

    def __init__(self, *args, motifs: Iterable[Motif], **kwargs):
        super().__init__(*args, **kwargs)
        field_of(self, "motif", MotifField).set_motifs(motifs)


class StepAddressField(forms.CharField):
    """The address of an RDV « à domicile » on the usagers step: shown as required, an empty
    value an error only when the step continues (`enforced`), not while usagers are added."""

    enforced = True

    def validate(self, value):
        if self.enforced:
            super().validate(value)


class UsagersStepForm(DsfrForm):
    """Step 2: the usagers (one or more: a proche with its responsible, for example) and free
    notes. `q` is the search field; picking and removing usagers are buttons of the form.
    `with_address`: also the address of an RDV « à domicile », required to continue."""

    usagers = forms.ModelMultipleChoiceField(
        label=_("Usagers"),
        queryset=Agent.objects.none(),
        required=False,
        widget=forms.MultipleHiddenInput,
        error_messages={
            "invalid_choice": _("Cet usager n'existe pas ou n'est pas connu de votre organisation."),
            "invalid_pk_value": _("Cet usager n'existe pas ou n'est pas connu de votre organisation."),
        },
    )
    q = forms.CharField(
        label=_("Usagers"),
        required=False,
        max_length=100,
        help_text=_("Tapez le prénom ou le nom de l'usager, puis cliquez sur son nom."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    notes = forms.CharField(
        label=_("Notes libres"),
        required=False,
        max_length=5000,
        help_text=_("Pour contextualiser le RDV."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    address = home_address_field(StepAddressField)

    def __init__(
        self, *args, membership: Membership, require_usagers: bool = False, with_address: bool = False, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.require_usagers = require_usagers
        field_of(self, "usagers", forms.ModelMultipleChoiceField).queryset = usagers_visible_to(membership)
        if with_address:
            field_of(self, "address", StepAddressField).enforced = require_usagers
        else:
            del self.fields["address"]

    def clean_usagers(self):
        usagers = list(self.cleaned_data["usagers"])
        if self.require_usagers and not usagers:
            raise forms.ValidationError(_("Choisissez au moins un usager : tapez son nom dans le champ « Usagers »."))
        return usagers


class BookingForm(RdvScheduleForm):
    """Step 3: « Vérifiez ou modifiez la date, l'horaire et la durée proposée », the lieu (sur
    place) or the address (à domicile), the agents; then « Créer RDV »."""

    address = home_address_field(required=False)
    field_order = ["date", "time", "duration_in_min", "lieu", "address", "agents"]

    def __init__(self, *args, membership: Membership, motif: Motif, now: dt.datetime | None = None, **kwargs):
        super().__init__(*args, organisation=membership.organisation, motif=motif, now=now, **kwargs)
        field_of(self, "agents", AgentsChoiceField).queryset = agents_with_visible_agenda(membership).order_by(
            "last_name", "first_name"
        )
        field_of(self, "lieu", forms.ModelChoiceField).empty_label = _("Sélectionnez un lieu")
        # By phone or at home: no lieu, whatever is posted.
        self.fields["lieu"].disabled = motif.location_type != Motif.LocationType.PUBLIC_OFFICE
        self.fields["lieu"].error_messages["invalid_choice"] = _("Ce lieu n'existe pas ou n'est plus ouvert.")
        self.fields["address"].required = motif.location_type == Motif.LocationType.HOME
        self.fields["address"].error_messages["required"] = _("Indiquez l'adresse du domicile de l'usager.")

    def clean(self):
        data = super().clean()
        if self.motif.location_type != Motif.LocationType.PUBLIC_OFFICE:
            data["lieu"] = None
        if self.motif.location_type != Motif.LocationType.HOME:
            data["address"] = ""
        return data


class CreneauxForm(DsfrForm):
    """« Trouver un créneau »: a motif (required), a start date, agents and lieux (optional)."""

    motif = MotifField()
    a_partir_du = forms.DateField(label=_("À partir du"), required=False, widget=DATE_WIDGET)
    agents = AgentsChoiceField(
        label=_("Agent(s)"),
        queryset=Agent.objects.none(),
        required=False,
        help_text=_("Facultatif : tous les agents si aucun n'est coché."),
        error_messages={
            "invalid_choice": _("Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."),
            "invalid_pk_value": _("Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."),
        },
    )
    lieux = forms.ModelMultipleChoiceField(
        label=_("Lieu(x)"),
        queryset=Lieu.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        template_name="dsfr/form_field_snippets/checkboxselectmultiple_snippet.html",
        help_text=_("Facultatif : tous les lieux si aucun n'est coché."),
        error_messages={
            "invalid_choice": _("Ce lieu n'existe pas ou n'est plus ouvert."),
            "invalid_pk_value": _("Ce lieu n'existe pas ou n'est plus ouvert."),
        },
    )

    def clean_a_partir_du(self):
        day = self.cleaned_data["a_partir_du"]
        today = timezone.localtime(timezone.now(), self.organisation.tzinfo).date()
        if day is not None and not (dt.date(2000, 1, 1) <= day <= today + MAX_AHEAD):
            raise forms.ValidationError(_("Choisissez une date dans les cinq prochaines années."))
        return day

    def __init__(
        self,
        *args,
        membership: Membership,
        motifs: Iterable[Motif],
        agents: list[Agent],
        shown_motifs: Iterable[Motif] | None = None,
        motif_help: str = "",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.organisation = membership.organisation
        field_of(self, "motif", MotifField).set_motifs(motifs, shown_motifs)
        # The bound field, made by DsfrFormMixin's __init__, keeps its own copy of the hint.
        self.fields["motif"].help_text = self["motif"].help_text = motif_help
        agents_field = field_of(self, "agents", AgentsChoiceField)
        agents_field.queryset = agents_with_visible_agenda(membership).order_by("last_name", "first_name")
        agents_field.organisation = membership.organisation
        # The agents are loaded once by the view, with their services here: the choices (and the
        # widget's service groups, read from `value.instance`) reuse them.
        field = cast(AgentsChoiceField, self.fields["agents"])
        field.choices = [
            (ModelChoiceIteratorValue(agent.pk, agent), field.label_from_instance(agent)) for agent in agents
        ]
        lieux = field_of(self, "lieux", forms.ModelMultipleChoiceField)
        lieux.queryset = Lieu.objects.for_organisation(membership.organisation).active().order_by("name")
        self.active_lieux = list(lieux.queryset)
        lieux.choices = [(lieu.pk, lieu.name) for lieu in self.active_lieux]
        self.fields["lieux"].widget.option_template_name = "usagers/widgets/checkbox_option.html"
