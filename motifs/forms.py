from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from motifs.models import MAX_DURATION_IN_MIN, Motif, MotifCategory
from organisations.models import Service
from rdv.forms import DsfrForm, DsfrModelForm, MinutesField, field_of

LOCATION_TYPE_HINTS = {
    Motif.LocationType.PUBLIC_OFFICE: _("C'est un RDV en présentiel qui aura lieu au lieu sélectionné."),
    Motif.LocationType.PHONE: _(
        "L'usager sera notifié que le RDV se passera par téléphone, au numéro indiqué dans son profil."
    ),
    Motif.LocationType.HOME: _("L'usager sera notifié que le RDV aura lieu à l'adresse remplie dans son profil."),
}


class HintedRadioSelect(forms.RadioSelect):
    """DSFR radio buttons, each with its explanation under its label."""

    option_template_name = "motifs/widgets/radio_option.html"

    def __init__(self, *args, hints=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.hints = hints or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["hint"] = self.hints.get(value, "")
        return option


class MotifForm(DsfrModelForm):
    """« Créer un motif » / modify one, grouped in the seed's sections.

    Every rule the database holds is checked here first, so that the error lands on the field at
    fault rather than as a form-wide message.
    """

    class Meta:
        model = Motif
        fields = [
            "service",
            "category",
            "default_duration_in_min",
            "color",
            "location_type",
            "follow_up",
            "for_secretariat",
            "bookable_online",
            "min_booking_delay",
            "max_booking_delay",
            "sectorisation_level",
            "notifications_disabled",
            "show_name_in_messages",
            "instructions_before",
            "instructions_after",
        ]
        labels = {
            "service": _("Service"),
            "category": _("Nom"),
            "default_duration_in_min": _("Durée par défaut en minutes"),
            "color": _("Couleur"),
            "location_type": _("Choisissez le type de RDV adapté"),
            "follow_up": _("RDV de suivi"),
            "for_secretariat": _("Le RDV pourra être effectué par le service secrétariat"),
            "bookable_online": _("RDV en ligne"),
            "min_booking_delay": _("Délai minimum de réservation"),
            "max_booking_delay": _("Délai maximum de réservation"),
            "notifications_disabled": _("Désactiver toutes les notifications des usagers par email et par SMS"),
            "show_name_in_messages": _("Afficher le nom du motif dans les messages"),
            "instructions_before": _("Instructions à accepter avant la prise du rendez-vous"),
            "instructions_after": _("Indications affichées après la confirmation du rendez-vous"),
        }
        help_texts = {
            "service": _("Choisissez le service concerné."),
            "category": _(
                "Choisissez un nom dans la liste proposée. Si le motif que vous souhaitez créer n'est pas compris "
                "dans ce référentiel, adressez-vous à l'équipe RDV-Solidarités afin qu'il y soit ajouté."
            ),
            "default_duration_in_min": _(
                "Cette durée permet de proposer des créneaux aux usagers pour la prise de RDV en ligne. "
                "Si c'est le professionnel qui pose le RDV, la durée du RDV peut être modifiée."
            ),
            "color": _("Les RDV de ce motif apparaitront dans la couleur choisie sur le calendrier."),
            "follow_up": _(
                "Le motif est réservé aux usagers bénéficiant d'un accompagnement et pour lesquels on a nommé un "
                "référent sur leur fiche usager. Lors de la prise de RDV en ligne, l'usager accède uniquement aux "
                "disponibilités de son agent référent."
            ),
            "for_secretariat": _("Impossible pour un RDV « À domicile » : l'option apparait alors grisée."),
            "bookable_online": _("Laissez la case non cochée si vous souhaitez que seuls les agents posent les RDV."),
            "min_booking_delay": _(
                "Par exemple 1 heure : l'usager verra les créneaux disponibles jusqu'à une heure avant le RDV."
            ),
            "max_booking_delay": _(
                "Par exemple 3 mois : l'usager verra tous les créneaux disponibles sur les trois prochains mois."
            ),
            "notifications_disabled": _(
                "Cochez si vous souhaitez désactiver toutes les notifications aux usagers pour les RDV de ce motif."
            ),
            "show_name_in_messages": _(
                "Le nom du motif figure alors dans le texte des emails envoyés aux usagers et sur la page du RDV "
                "ouverte depuis leurs messages ; il n'apparaît jamais dans les SMS ni dans l'objet des emails, qui "
                "peuvent être lus par un proche. Décochez si le nom révèle une situation personnelle. Pour les noms "
                "sensibles du référentiel, la case est décochée à la création du motif : vous pourrez la cocher "
                "ensuite en modifiant le motif."
            ),
            "instructions_before": _("Elles apparaissent avant la confirmation du RDV par l'usager."),
            "instructions_after": _(
                "Elles apparaissent sur la page de confirmation et dans l'email de confirmation envoyé à l'usager."
            ),
        }
        widgets = {
            "default_duration_in_min": forms.NumberInput(attrs={"max": MAX_DURATION_IN_MIN, "step": 1}),
            "color": forms.TextInput(attrs={"type": "color", "class": "fr-input rdv-color-input"}),
            "location_type": HintedRadioSelect(hints=LOCATION_TYPE_HINTS),
            "instructions_before": forms.Textarea(attrs={"rows": 4}),
            "instructions_after": forms.Textarea(attrs={"rows": 4}),
        }
        field_classes = {"default_duration_in_min": MinutesField}

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        if self.instance.pk is None:
            self.instance.organisation = organisation
        service_field = field_of(self, "service", forms.ModelChoiceField)
        service_field.queryset = Service.objects.order_by("name")
        service_field.empty_label = _("Sélectionnez un service")
        # A name withdrawn from the référentiel stays on the motifs that already carry it.
        categories = MotifCategory.objects.select_related("service").order_by("name")
        if self.instance.category_id:
            categories = categories.filter(Q(is_active=True) | Q(pk=self.instance.category_id))
        else:
            categories = categories.active()
        category_field = field_of(self, "category", forms.ModelChoiceField)
        category_field.queryset = categories
        category_field.choices = self._grouped_category_choices(categories)
        # motif_form.js keeps this group whatever the service chosen.
        category_field.widget.attrs["data-shared-group"] = _("Tous les services")
        self.fields["location_type"].widget.attrs["data-home-value"] = Motif.LocationType.HOME
        if self.instance.pk is None:
            # motif_form.js unticks and greys the box while a sensitive name is chosen (save() decides).
            sensitive = [str(category.pk) for category in categories if category.sensitive]
            self.fields["show_name_in_messages"].widget.attrs["data-sensitive-categories"] = " ".join(sensitive)
        # The model field is a PositiveSmallIntegerField, whose form field would say min="0".
        self.fields["default_duration_in_min"].widget.attrs["min"] = 1

    @staticmethod
    def _grouped_category_choices(categories):
        """The référentiel in groups: each service's names, then those shared by every service."""
        groups: dict[str, list[tuple[int, str]]] = {}
        shared = []
        for category in categories:
            if category.service is None:
                shared.append((category.pk, category.name))
            else:
                groups.setdefault(category.service.name, []).append((category.pk, category.name))
        choices: list = [("", _("Sélectionnez un nom"))]
        choices += [(service_name, names) for service_name, names in sorted(groups.items())]
        if shared:
            choices.append((_("Tous les services"), shared))
        return choices

    def clean_color(self):
        return self.cleaned_data["color"].lower()

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        service = cleaned.get("service")
        category = cleaned.get("category")
        location_type = cleaned.get("location_type")

        if cleaned.get("for_secretariat") and location_type == Motif.LocationType.HOME:
            self.add_error(
                "for_secretariat",
                _(
                    "Un RDV à domicile ne peut pas être effectué par le service secrétariat : "
                    "décochez cette case ou choisissez un autre type de RDV."
                ),
            )

        min_delay, max_delay = cleaned.get("min_booking_delay"), cleaned.get("max_booking_delay")
        if min_delay is not None and max_delay is not None and min_delay >= max_delay:
            self.add_error(
                "max_booking_delay",
                _("Le délai maximum de réservation doit être supérieur au délai minimum de réservation."),
            )

        if service and category:
            if category.service_id is not None and category.service_id != service.pk:
                self.add_error(
                    "category",
                    _("Le nom « %(name)s » est réservé au service %(service)s dans le référentiel.")
                    % {"name": category.name, "service": category.service.name},
                )
            elif location_type and not self.instance.is_archived and self._duplicates(service, category, location_type):
                self.add_error(
                    "category",
                    _(
                        "Le motif « %(name)s » (%(type)s) existe déjà pour le service %(service)s : "
                        "modifiez-le plutôt que d'en créer un second."
                    )
                    % {
                        "name": category.name,
                        "type": Motif.LocationType(location_type).label,
                        "service": service.name,
                    },
                )
        return cleaned

    def _duplicates(self, service, category, location_type) -> bool:
        return (
            Motif.objects.for_organisation(self.organisation)
            .active()
            .filter(service=service, category=category, location_type=location_type)
            .exclude(pk=self.instance.pk)
            .exists()
        )

    def save(self, commit=True):
        motif = super().save(commit=False)
        if motif.pk is None or "category" in self.changed_data:
            motif.use_category(self.cleaned_data["category"])
        if motif.pk is None:
            motif.follow_category_discretion()
        if commit:
            motif.save()
        return motif

    def fieldsets(self):
        """The seed's sections, in its order: title, explanation, fields, and the fields laid out
        side by side in two columns."""
        return [
            {
                "title": _("Configuration générale"),
                "hint": "",
                "fields": [self[name] for name in ("service", "category", "default_duration_in_min", "color")],
                "columns": {"default_duration_in_min", "color"},
            },
            {"title": _("Type de RDV"), "hint": "", "fields": [self["location_type"]], "columns": set()},
            {"title": _("RDV de suivi"), "hint": "", "fields": [self["follow_up"]], "columns": set()},
            {
                "title": _("RDV secrétariat"),
                "hint": _(
                    "Les membres du service Secrétariat pourront poser des RDV dans leur agenda et configurer "
                    "les plages d'ouverture avec ce motif."
                ),
                "fields": [self["for_secretariat"]],
                "columns": set(),
            },
            {
                "title": _("Prise de RDV en ligne par les usagers"),
                "hint": _("Ce motif sera disponible à la réservation en ligne par les usagers."),
                "fields": [
                    self[name]
                    for name in ("bookable_online", "min_booking_delay", "max_booking_delay", "sectorisation_level")
                ],
                "columns": {"min_booking_delay", "max_booking_delay"},
            },
            {
                "title": _("Notifications des usagers par email et SMS"),
                "hint": "",
                "fields": [self["notifications_disabled"], self["show_name_in_messages"]],
                "columns": set(),
            },
            {
                "title": _("Instructions"),
                "hint": _(
                    "Ces instructions sont affichées à l'usager avant et après sa prise de RDV. Laissez ces champs "
                    "vides si vous ne souhaitez pas donner d'instructions."
                ),
                "fields": [self["instructions_before"], self["instructions_after"]],
                "columns": set(),
            },
        ]


class MotifFilterForm(DsfrForm):
    """The list's filters, read from the query string (so they survive pagination)."""

    ONLINE_YES, ONLINE_NO = "oui", "non"
    ACTIVE, ARCHIVED, ALL = "actifs", "archives", "tous"

    service = forms.ModelChoiceField(
        label=_("Service"),
        queryset=Service.objects.order_by("name"),
        required=False,
        empty_label=_("Tous les services"),
    )
    online = forms.ChoiceField(
        label=_("RDV en ligne"),
        required=False,
        choices=[("", _("En ligne ou non")), (ONLINE_YES, _("En ligne")), (ONLINE_NO, _("Pas en ligne"))],
    )
    status = forms.ChoiceField(
        label=_("Archivage"),
        required=False,
        choices=[(ACTIVE, _("Motifs actifs")), (ARCHIVED, _("Motifs archivés")), (ALL, _("Tous les motifs"))],
    )

    def filter(self, motifs):
        """Applies the valid filters; an invalid one is ignored (its error shows on its field)."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("service"):
            motifs = motifs.for_service(data["service"])
        if data.get("online") == self.ONLINE_YES:
            motifs = motifs.bookable_online()
        elif data.get("online") == self.ONLINE_NO:
            motifs = motifs.filter(bookable_online=False)
        status = data.get("status") or self.ACTIVE
        if status == self.ACTIVE:
            motifs = motifs.active()
        elif status == self.ARCHIVED:
            motifs = motifs.archived()
        return motifs
