import datetime
from typing import Any

from django import forms
from django.db.models import Value
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from organisations.models import TIME_ZONE_CHOICES, WEEKDAYS, Lieu, Organisation
from organisations.services import geocode
from rdv.forms import DsfrModelForm, field_of
from rdv.phone import FrenchPhoneNumberField

HALF_DAYS = (("morning", _("matin")), ("afternoon", _("après-midi")))


def _time_field(label: str) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("Saisissez une heure valide, par exemple 08:30.")},
    )


class OrganisationForm(DsfrModelForm):
    """« Votre organisation »: what usagers read when nothing can be booked online."""

    website = forms.URLField(
        label=_("Site web"),
        required=False,
        assume_scheme="https",
        help_text=_("Adresse complète, par exemple https://www.departement.fr/pmi"),
    )

    class Meta:
        model = Organisation
        fields = ["name", "phone", "email", "website", "time_zone", "usager_cancel_limit_hours"]
        help_texts = {
            "phone": _("Affiché aux usagers pour qu'ils puissent toujours joindre le service."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        time_zone_field = field_of(self, "time_zone", forms.ChoiceField)
        time_zone_field.choices = [
            ("", _("Celui du territoire (%(tz)s)") % {"tz": self.instance.territory.time_zone}),
            *TIME_ZONE_CHOICES,
        ]
        hours = self.instance.opening_hours or {}
        for day, day_label in WEEKDAYS:
            ranges = dict(zip(("morning", "afternoon"), hours.get(day) or [], strict=False))
            for half, half_label in HALF_DAYS:
                for bound, bound_label in (("start", _("de")), ("end", _("à"))):
                    name = f"{day}_{half}_{bound}"
                    self.fields[name] = _time_field(f"{day_label} {half_label} {bound_label}")
                    if half in ranges:
                        value = ranges[half][0 if bound == "start" else 1]
                        self.initial[name] = datetime.time.fromisoformat(value)

    def opening_hours_rows(self):
        """[(day label, [(half label, [start field, end field]), …]), …] for the template."""
        return [
            (
                label,
                [
                    (half_label, [self[f"{day}_{half}_start"], self[f"{day}_{half}_end"]])
                    for half, half_label in HALF_DAYS
                ],
            )
            for day, label in WEEKDAYS
        ]

    def identity_fields(self):
        return [self[name] for name in self.Meta.fields]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        opening_hours = {}
        for day, _day_label in WEEKDAYS:
            ranges: list[list[str]] = []
            for half, _half_label in HALF_DAYS:
                start_name, end_name = f"{day}_{half}_start", f"{day}_{half}_end"
                start, end = cleaned.get(start_name), cleaned.get(end_name)
                if start_name in self.errors or end_name in self.errors:
                    continue
                if bool(start) != bool(end):
                    missing = end_name if start else start_name
                    self.add_error(missing, _("Indiquez le début et la fin de la plage horaire."))
                    continue
                if start and end:
                    if end <= start:
                        self.add_error(end_name, _("L'heure de fin doit être après l'heure de début."))
                        continue
                    if ranges and start < datetime.time.fromisoformat(ranges[-1][1]):
                        self.add_error(start_name, _("L'après-midi doit commencer après la fin de la matinée."))
                        continue
                    ranges.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
            if ranges:
                opening_hours[day] = ranges
        cleaned["opening_hours"] = opening_hours
        return cleaned

    def save(self, commit=True):
        self.instance.opening_hours = self.cleaned_data["opening_hours"]
        return super().save(commit=commit)


LIEU_NAME_TAKEN = _("Un lieu actif de l'organisation porte déjà ce nom.")


def active_lieu_named(organisation: Organisation, name: str, *, exclude_pk: int | None = None) -> bool:
    """Is `name` taken by an active lieu of the organisation? Compared as the database
    constraint compares it (lower(name)), so "mds" and "MDS" collide."""
    lieux = Lieu.objects.for_organisation(organisation).active().alias(lower_name=Lower("name"))
    if exclude_pk is not None:
        lieux = lieux.exclude(pk=exclude_pk)
    return lieux.filter(lower_name=Lower(Value(name))).exists()


class LieuForm(DsfrModelForm):
    """« Vos lieux »: a place where agents hold consultations (MDS, tiers lieu)."""

    phone = FrenchPhoneNumberField(
        label=_("Téléphone"),
        required=False,
        help_text=_("Le numéro auquel les usagers peuvent joindre ce lieu, s'il en a un."),
    )

    class Meta:
        model = Lieu
        fields = ["name", "address", "phone"]
        labels = {"name": _("Nom"), "address": _("Adresse")}
        help_texts = {
            "name": _("Tel que les agents et les usagers le connaissent, par exemple «\u00a0MDS de Noisiel\u00a0»."),
            "address": _(
                "Numéro, voie, code postal et commune, "
                "par exemple «\u00a08 Rue Pierre Mendès France, 77200 Torcy\u00a0»."
            ),
        }

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.organisation = organisation

    def clean_name(self):
        name = self.cleaned_data["name"]
        # Archived lieux may share a name with an active one: they take no new RDVs.
        if self.instance.is_active and active_lieu_named(self.instance.organisation, name, exclude_pk=self.instance.pk):
            raise forms.ValidationError(LIEU_NAME_TAKEN, code="unique")
        return name

    def save(self, commit=True):
        if "address" in self.changed_data or self.instance.pk is None:
            # Coordinates of the former address would be wrong: without a geocoder they go.
            coordinates = geocode(self.instance.address)
            self.instance.latitude, self.instance.longitude = coordinates or (None, None)
        return super().save(commit=commit)
