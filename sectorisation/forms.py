"""The forms of the sectorisation: the commune search, and the territory settings' forms (a
sector's name, an area, an attribution, the CSV import, « Tester la sectorisation »)."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from agents.models import AgentRole
from organisations.models import Organisation, Territory
from rdv.forms import DsfrForm, DsfrModelForm, field_of
from sectorisation.communes import MAX_QUERY_LENGTH, MIN_QUERY_LENGTH, search_communes
from sectorisation.models import Sector
from sectorisation.names import normalise
from sectorisation.streets import street_key


class CommuneSearchForm(DsfrForm):
    q = forms.CharField(
        label=_("Votre commune ou code postal"),
        help_text=_("Par exemple : Noisiel, Saint-Étienne ou 77186"),
        max_length=MAX_QUERY_LENGTH,
        error_messages={"required": _("Indiquez le nom de votre commune ou son code postal.")},
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "address-level2", "spellcheck": "false"}),
    )

    def clean_q(self) -> str:
        query = self.cleaned_data["q"]
        if len(normalise(query).replace(" ", "")) < MIN_QUERY_LENGTH:
            raise ValidationError(
                _("Indiquez au moins %(count)s lettres du nom de la commune, ou %(count)s chiffres du code postal."),
                params={"count": MIN_QUERY_LENGTH},
                code="too_short",
            )
        return query


COMMUNE_HELP = _("Nom, code INSEE ou code postal de la commune, par exemple « Noisiel » ou « 77337 ».")


class CommuneField(forms.CharField):
    """A commune typed as people know it: an INSEE code, a postal code or a name. Ambiguous input
    gets the candidates in the error, so the agent can pick one without JavaScript."""

    def __init__(self, *, departement: str | None = None, **kwargs):
        self.departement = departement
        kwargs.setdefault("label", _("Commune"))
        kwargs.setdefault("help_text", COMMUNE_HELP)
        kwargs.setdefault("max_length", 100)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        matches = search_communes(text, departement=self.departement, limit=6)
        if len(matches) == 1:
            return matches[0]
        # A whole name, however written (« paris » among its arrondissements). A code designating
        # several communes is never settled silently: « 77186 » is Noisiel's postal code and
        # Fontainebleau's INSEE code.
        named = [commune for commune in matches if commune.search_name == normalise(text)]
        if len(named) == 1:
            return named[0]
        if not matches:
            where = _(" dans le département %(number)s") % {"number": self.departement} if self.departement else ""
            raise forms.ValidationError(
                _("Aucune commune ne correspond à « %(text)s »%(where)s.") % {"text": text, "where": where}
            )
        raise forms.ValidationError(
            _("Plusieurs communes correspondent : %(choices)s. Saisissez le nom complet ou le code INSEE de la bonne.")
            % {"choices": ", ".join(str(commune) for commune in matches[:5])}
        )


class SectorForm(DsfrModelForm):
    class Meta:
        model = Sector
        fields = ["name"]
        labels = {"name": _("Nom du secteur")}

    def __init__(self, *args, territory: Territory, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.territory = territory

    def clean_name(self) -> str:
        # The form leaves `territory` out, so Django skips the constraint on (territory, lower(name)):
        # checked here, compared as the constraint compares.
        name = self.cleaned_data["name"]
        taken = Sector.objects.filter(territory=self.instance.territory).alias(lower_name=Lower("name"))
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.filter(lower_name=Lower(Value(name))).exists():
            raise ValidationError(_("Un secteur de ce nom existe déjà dans le territoire."), code="unique")
        return name


class AreaForm(DsfrForm):
    commune = CommuneField()
    street = forms.CharField(
        label=_("Rue"),
        required=False,
        max_length=200,
        help_text=_("Laissez vide pour toute la commune. Une rue prime sur la commune entière."),
    )

    def __init__(self, *args, sector: Sector, **kwargs):
        super().__init__(*args, **kwargs)
        self.sector = sector
        field_of(self, "commune", CommuneField).departement = sector.territory.departement_number

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        commune, street = data.get("commune"), data.get("street", "")
        if street and not street_key(street):
            # « 12 bis » alone would be shown as a street but match the whole commune.
            self.add_error("street", _("Indiquez le nom de la rue, pas seulement un numéro."))
        elif commune and self.sector.areas.filter(commune=commune, street_key=street_key(street)).exists():
            self.add_error("street" if street else "commune", _("Cette zone fait déjà partie du secteur."))
        return data


class AttributionForm(DsfrForm):
    """To an organisation of the territory, or to one of its agents (« organisation:agent »)."""

    target = forms.ChoiceField(label=_("Attribuer à"))

    def __init__(self, *args, sector: Sector, **kwargs):
        super().__init__(*args, **kwargs)
        self.sector = sector
        organisations = list(Organisation.objects.filter(territory=sector.territory).order_by("name"))
        roles = (
            AgentRole.objects.filter(organisation__territory=sector.territory, agent__is_active=True)
            .select_related("agent", "organisation")
            .order_by("organisation__name", "agent__last_name", "agent__first_name")
        )
        by_organisation: dict[int, list[tuple[str, str]]] = {organisation.pk: [] for organisation in organisations}
        for role in roles:
            by_organisation[role.organisation_id].append(
                (f"{role.organisation_id}:{role.agent_id}", f"{role.agent.full_name} ({role.organisation.name})")
            )
        choices: list = [("", _("Choisir une organisation ou un agent"))]
        choices.append((_("Organisations"), [(str(o.pk), o.name) for o in organisations]))
        for organisation in organisations:
            if by_organisation[organisation.pk]:
                choices.append(
                    (_("Agents de %(name)s") % {"name": organisation.name}, by_organisation[organisation.pk])
                )
        field_of(self, "target", forms.ChoiceField).choices = choices

    def clean_target(self) -> tuple[int, int | None]:
        organisation, _sep, agent = self.cleaned_data["target"].partition(":")
        key = (int(organisation), int(agent) if agent else None)
        lookup = {"agent_id": key[1]} if key[1] else {"agent__isnull": True}
        if self.sector.attributions.filter(organisation_id=key[0], **lookup).exists():
            raise forms.ValidationError(_("Ce secteur est déjà attribué ainsi."))
        return key


class ImportForm(DsfrForm):
    file = forms.FileField(
        label=_("Fichier CSV des secteurs"),
        help_text=_("Colonnes : secteur ; commune ; rue ; organisation ; agent. Séparateur point-virgule ou virgule."),
    )


class TestForm(DsfrForm):
    commune = CommuneField(required=False)
    street = forms.CharField(
        label=_("Rue"),
        required=False,
        max_length=200,
        help_text=_("Une rue de la commune : un secteur qui la nomme prime sur la commune entière."),
    )
    address = forms.CharField(
        label=_("Adresse complète"),
        required=False,
        max_length=300,
        help_text=_("Avec un service de géocodage configuré : par exemple « 2 avenue du Général de Gaulle, Chelles »."),
    )

    def __init__(self, *args, territory: Territory, geocoding: bool, **kwargs):
        super().__init__(*args, **kwargs)
        commune = field_of(self, "commune", CommuneField)
        commune.departement = territory.departement_number
        if not geocoding:
            # Without a geocoder the commune is the only way to say where: required, and marked so.
            commune.required = True
            del self.fields["address"]

    def clean(self) -> dict:
        super().clean()
        data = self.cleaned_data
        if not data.get("commune") and not data.get("address") and not self.errors:
            raise forms.ValidationError(_("Indiquez une commune ou une adresse."))
        return data
