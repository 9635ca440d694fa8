import datetime as dt
from itertools import groupby
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from dsfr.utils import dsfr_input_class_attr

from agents.permissions import motifs_received_by
from motifs.models import Motif
from organisations.models import Lieu
from planning.models import Absence, PlageOuverture, RecurringEvent
from planning.recurrence import Frequency, Rule
from planning.rules import recurrence_from_rule
from rdv.forms import DsfrForm, DsfrModelForm, field_of
from rdv.words import date_format, weekdays_phrase

WEEKDAY_CHOICES = [
    (0, _("Lundi")),
    (1, _("Mardi")),
    (2, _("Mercredi")),
    (3, _("Jeudi")),
    (4, _("Vendredi")),
    (5, _("Samedi")),
    (6, _("Dimanche")),
]
WEEKDAY_NAMES = dict(WEEKDAY_CHOICES)
NTH_CHOICES = [(1, _("1er")), (2, _("2e")), (3, _("3e")), (4, _("4e")), (-1, _("dernier"))]
NTH_NAMES = dict(NTH_CHOICES)
INTERVAL_CHOICES = [(n, str(n)) for n in range(1, 6)]

END_BEFORE_START = _("L'heure de fin doit être après l'heure de début.")
UNTIL_BEFORE_FIRST_DAY = _("La fin de la répétition ne peut pas précéder le premier jour.")
NO_WEEKDAY = _("Choisissez au moins un jour de la semaine.")
FIRST_DAY_IN_PAST = _(
    "Le premier jour ne peut pas être passé : une plage d'ouverture ouvre des créneaux à venir. "
    "Choisissez aujourd'hui ou un jour suivant."
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME_WIDGET = forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M")


def local_date(day: dt.date) -> str:
    return date_format(day, "l j F Y")


def describe_rule(rule: Rule | None) -> str:
    """« Toutes les 2 semaines, les lundis et jeudis, jusqu'au 31 décembre 2026 »."""
    if rule is None:
        return str(_("Une seule fois"))
    if rule.frequency is Frequency.WEEKLY:
        days_text = weekdays_phrase(rule.weekdays)
        if rule.interval == 1:
            text = str(_("Chaque semaine, %(days)s")) % {"days": days_text}
        else:
            text = str(_("Toutes les %(n)s semaines, %(days)s")) % {"n": rule.interval, "days": days_text}
    else:
        assert rule.nth is not None
        day_text = f"{NTH_NAMES[rule.nth]} {str(WEEKDAY_NAMES[rule.weekdays[0]]).lower()}"
        if rule.interval == 1:
            text = str(_("Chaque mois, le %(day)s")) % {"day": day_text}
        else:
            text = str(_("Tous les %(n)s mois, le %(day)s")) % {"n": rule.interval, "day": day_text}
    if rule.until:
        text += ", " + str(_("jusqu'au %(date)s")) % {"date": date_format(rule.until, "j F Y")}
    return text


class RecurringEventForm(DsfrModelForm):
    """What the plage and absence forms share: the « Répéter… » part. Without JavaScript every
    field shows; static/js/planning_form.js hides those that do not apply."""

    repeat_label = _("Répéter…")
    allow_monthly = False
    recurrence_field_names = ("frequency", "interval", "weekdays", "nth", "month_weekday", "until")

    instance: RecurringEvent

    if TYPE_CHECKING:
        # ModelForm's hook, which django-stubs does not declare: the subclasses extend it.
        def _post_clean(self) -> None: ...

    def add_recurrence_fields(self) -> None:
        self.fields["repeat"] = forms.BooleanField(label=self.repeat_label, required=False)
        self.fields["interval"] = forms.TypedChoiceField(
            label=_("Répéter toutes les"), choices=INTERVAL_CHOICES, coerce=int, initial=1
        )
        if self.allow_monthly:
            self.fields["frequency"] = forms.ChoiceField(
                label=_("Période"),
                choices=[(Frequency.WEEKLY.value, _("semaine(s)")), (Frequency.MONTHLY.value, _("mois"))],
                initial=Frequency.WEEKLY.value,
            )
        self.fields["weekdays"] = forms.TypedMultipleChoiceField(
            label=_("Répéter les"),
            choices=WEEKDAY_CHOICES,
            coerce=int,
            required=False,
            widget=WeekdayCheckboxes,
        )
        # django-stubs does not declare Field.template_name (Django 5.0's per-field template).
        self.fields["weekdays"].template_name = "planning/fields/checkboxes.html"  # type: ignore[attr-defined]
        if self.allow_monthly:
            self.fields["nth"] = forms.TypedChoiceField(label=_("Chaque mois, le"), choices=NTH_CHOICES, coerce=int)
            self.fields["month_weekday"] = forms.TypedChoiceField(
                label=_("Jour du mois"), choices=WEEKDAY_CHOICES, coerce=int
            )
        self.fields["until"] = forms.DateField(
            label=_("Jusqu'au"),
            required=False,
            widget=DATE_WIDGET,
            help_text=_("Finir la répétition ce jour-là. Si aucune fin, laisser vide."),
        )
        for name in ("repeat", *self.recurrence_field_names):
            if name in self.fields:
                # What DsfrFormMixin does for the fields declared on the class.
                dsfr_input_class_attr(self[name])
                if not hasattr(self.fields[name].widget, "group_class"):
                    self.fields[name].widget.group_class = "fr-input-group"
        rule = self.instance.rule if self.instance.pk else None
        if rule is not None:
            self.initial.update(
                {
                    "repeat": True,
                    "interval": rule.interval,
                    "frequency": rule.frequency.value,
                    "weekdays": list(rule.weekdays) if rule.frequency is Frequency.WEEKLY else [],
                    "nth": rule.nth or 1,
                    "month_weekday": rule.weekdays[0],
                    "until": rule.until,
                }
            )

    def clean_rule(self, first_day: dt.date | None) -> Rule | None:
        """The rule the « Répéter… » fields describe, errors put on the field at fault."""
        data = self.cleaned_data
        if not data.get("repeat"):
            return None
        frequency = Frequency(data.get("frequency") or Frequency.WEEKLY.value)
        interval = data.get("interval") or 1
        until = data.get("until")
        valid = True
        if until is not None and first_day is not None and until < first_day:
            self.add_error("until", UNTIL_BEFORE_FIRST_DAY)
            valid = False
        if frequency is Frequency.WEEKLY:
            weekdays = tuple(sorted(set(data.get("weekdays") or ())))
            if not weekdays:
                self.add_error("weekdays", NO_WEEKDAY)
                return None
            if not valid:
                return None
            return Rule(Frequency.WEEKLY, interval=interval, weekdays=weekdays, until=until)
        nth, weekday = data.get("nth"), data.get("month_weekday")
        if nth is None or weekday is None or not valid:
            return None
        return Rule(Frequency.MONTHLY, interval=interval, weekdays=(weekday,), nth=nth, until=until)


class WeekdayCheckboxes(forms.CheckboxSelectMultiple):
    template_name = "planning/widgets/weekday_checkboxes.html"


class MotifCheckboxes(forms.CheckboxSelectMultiple):
    """Motifs as checkboxes, grouped under their service's name."""

    template_name = "planning/widgets/motif_checkboxes.html"


class PlageOuvertureForm(RecurringEventForm):
    """« Créer une plage d'ouverture » and its modification."""

    repeat_label = _("Répéter la plage d'ouverture…")
    allow_monthly = True

    instance: PlageOuverture

    class Meta:
        model = PlageOuverture
        fields = ["title", "lieu", "first_day", "start_time", "end_time", "motifs"]
        labels = {
            "title": _("Nom"),
            "lieu": _("Lieu"),
            "first_day": _("Premier jour"),
            "start_time": _("Commence à"),
            "end_time": _("Termine à"),
            "motifs": _("Motifs"),
        }
        help_texts = {
            "title": _("Par exemple : « consultation de PMI », « permanence sociale ». Uniquement visible en interne."),
            "lieu": _(
                "Où les consultations sont réalisées. Facultatif si tous les motifs sont par téléphone ou à domicile."
            ),
            "first_day": _("Date à laquelle commence cette plage d'ouverture."),
            "motifs": _("Cochez tous les motifs traités sur cette plage d'ouverture."),
        }
        widgets = {
            "first_day": DATE_WIDGET,
            "start_time": TIME_WIDGET,
            "end_time": TIME_WIDGET,
            "motifs": MotifCheckboxes,
        }
        error_messages = {
            "motifs": {
                "invalid_choice": _("Ce motif n'existe pas dans l'organisation ou n'est plus proposé."),
                "required": _("Cochez au moins un motif."),
            },
            "lieu": {"invalid_choice": _("Choisissez un lieu actif de l'organisation.")},
        }

    def __init__(self, *args, organisation, agent, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = organisation
        if self.instance.pk is None:
            self.instance.organisation = organisation
            self.instance.agent = agent
        lieux = Lieu.objects.for_organisation(organisation).active()
        if self.instance.lieu_id:
            # A lieu archived since stays on the plages that already name it.
            lieux = Lieu.objects.for_organisation(organisation).filter(pk=self.instance.lieu_id) | lieux
        lieu_field = field_of(self, "lieu", forms.ModelChoiceField)
        lieu_field.queryset = lieux.by_name()
        lieu_field.empty_label = _("Aucun lieu (motifs par téléphone ou à domicile)")
        # The motifs the plage's agent may receive (its services', and for the secrétariat those
        # it may do): a PMI agent's plage offers no motif of the service social.
        motifs = motifs_received_by(self.instance.agent, Motif.objects.for_organisation(organisation).active())
        if self.instance.pk:
            motifs = motifs | Motif.objects.for_organisation(organisation).filter(plages_ouverture=self.instance)
        motifs = motifs.distinct().select_related("service").order_by("service__name", "name", "location_type", "pk")
        motifs_field = field_of(self, "motifs", forms.ModelMultipleChoiceField)
        motifs_field.queryset = motifs
        motifs_field.choices = [
            (service_name, [(motif.pk, str(motif)) for motif in group])
            for service_name, group in groupby(motifs, key=lambda motif: motif.service.name)
        ]
        motifs_field.template_name = "planning/fields/checkboxes.html"  # type: ignore[attr-defined]
        self.add_recurrence_fields()

    def clean_first_day(self) -> dt.date:
        """A plage d'ouverture is planned from today on: one starting on a past day is refused
        (the list shows current plages first, the agenda this week: it would vanish once
        saved). A plage already saved keeps its first day, even past, when it is modified."""
        first_day = self.cleaned_data["first_day"]
        today = timezone.localdate(timezone=self.organisation.tzinfo)
        kept = self.instance.pk is not None and first_day == self.initial.get("first_day")
        if first_day < today and not kept:
            raise forms.ValidationError(FIRST_DAY_IN_PAST, code="first_day_in_past")
        return first_day

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start_time"), data.get("end_time")
        if start is not None and end is not None and end <= start:
            self.add_error("end_time", END_BEFORE_START)
        motifs = data.get("motifs") or []
        if not data.get("lieu") and "lieu" not in self.errors:
            on_site = [motif for motif in motifs if motif.location_type == Motif.LocationType.PUBLIC_OFFICE]
            if on_site:
                self.add_error(
                    "lieu",
                    _("Choisissez un lieu : le motif « %(motif)s » se passe sur place.") % {"motif": on_site[0].name},
                )
        self.rule = self.clean_rule(data.get("first_day"))
        return data

    def _post_clean(self):
        super()._post_clean()
        self.instance.recurrence = recurrence_from_rule(self.rule)
        self.instance.recurrence_ends_on = self.instance.derive_ends_on()
        if self.errors:
            return
        overlap = self.instance.find_overlap()
        if overlap is None:
            return
        other, day = overlap
        if other.organisation_id == self.organisation.pk:
            message = _("Cette plage chevauche la plage d'ouverture « %(title)s » le %(date)s.") % {
                "title": other.title,
                "date": local_date(day),
            }
        else:
            message = _(
                "Cette plage chevauche une plage d'ouverture de l'agent dans une autre organisation le %(date)s."
            ) % {"date": local_date(day)}
        self.add_error("start_time", message)


class AbsenceForm(RecurringEventForm):
    """« Créer une absence » and its modification."""

    instance: Absence

    class Meta:
        model = Absence
        fields = ["title", "first_day", "start_time", "end_day", "end_time"]
        labels = {
            "title": _("Nom"),
            "first_day": _("Commence le"),
            "start_time": _("Commence à"),
            "end_day": _("Termine le"),
            "end_time": _("Termine à"),
        }
        help_texts = {
            "title": _(
                "Par exemple « Formation premiers secours », ou simplement « Absence ». Uniquement visible en interne."
            ),
            "end_day": _("Laisser vide pour une absence d'une journée."),
        }
        widgets = {
            "first_day": DATE_WIDGET,
            "start_time": TIME_WIDGET,
            "end_day": DATE_WIDGET,
            "end_time": TIME_WIDGET,
        }

    def __init__(self, *args, organisation, agent, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.instance.organisation = organisation
            self.instance.agent = agent
        self.fields["end_day"].required = False
        self.add_recurrence_fields()

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        first_day, end_day = data.get("first_day"), data.get("end_day")
        if first_day is not None and end_day is None and "end_day" not in self.errors:
            data["end_day"] = end_day = first_day
        start, end = data.get("start_time"), data.get("end_time")
        if first_day and end_day and end_day < first_day:
            self.add_error("end_day", _("La fin de l'absence ne peut pas précéder son début."))
        elif first_day and end_day == first_day and start is not None and end is not None and end <= start:
            self.add_error("end_time", _("La fin de l'absence doit être après son début."))
        self.rule = self.clean_rule(first_day)
        return data

    def _post_clean(self):
        super()._post_clean()
        self.instance.recurrence = recurrence_from_rule(self.rule)
        self.instance.recurrence_ends_on = self.instance.derive_ends_on()


class PlanningFilterForm(DsfrForm):
    """The lists' filters: current or past, and for plages the lieu."""

    CURRENT, PAST = "current", "past"

    period = forms.ChoiceField(
        label=_("Période"),
        choices=[(CURRENT, _("En cours et à venir")), (PAST, _("Passées"))],
        required=False,
    )
    lieu = forms.ModelChoiceField(label=_("Lieu"), queryset=Lieu.objects.none(), required=False)

    def __init__(self, *args, organisation, with_lieu: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if with_lieu:
            lieu_field = field_of(self, "lieu", forms.ModelChoiceField)
            lieu_field.queryset = Lieu.objects.for_organisation(organisation).by_name()
            lieu_field.empty_label = _("Tous les lieux")
        else:
            del self.fields["lieu"]

    def filter(self, queryset, today: dt.date):
        if not self.is_valid():
            return queryset.current(today)
        past = self.cleaned_data.get("period") == self.PAST
        queryset = queryset.past(today) if past else queryset.current(today)
        if self.cleaned_data.get("lieu"):
            queryset = queryset.filter(lieu=self.cleaned_data["lieu"])
        return queryset


class MoveOccurrenceForm(DsfrForm):
    """« Déplacer cette occurrence »: new local day and times, in the organisation's time zone."""

    start_day = forms.DateField(label=_("Commence le"), widget=DATE_WIDGET)
    start_time = forms.TimeField(label=_("Commence à"), widget=TIME_WIDGET)
    end_day = forms.DateField(label=_("Termine le"), widget=DATE_WIDGET)
    end_time = forms.TimeField(label=_("Termine à"), widget=TIME_WIDGET)

    # BaseForm's cache of bound fields, which django-stubs does not declare.
    _bound_fields_cache: dict[str, forms.BoundField]

    def __init__(self, *args, event: RecurringEvent, original_date: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        self.original_date = original_date
        if isinstance(event, PlageOuverture):
            # A plage occurrence stays within one day.
            del self.fields["end_day"]
            self.fields["start_day"].label = _("Jour")
            self._bound_fields_cache.pop("start_day", None)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        tz = self.event.organisation.tzinfo
        start_day, start_time, end_time = data.get("start_day"), data.get("start_time"), data.get("end_time")
        end_day = data.get("end_day", start_day) if "end_day" in self.fields else start_day
        if start_day is None or start_time is None or end_day is None or end_time is None:
            return data
        self.starts_at = dt.datetime.combine(start_day, start_time, tzinfo=tz)
        self.ends_at = dt.datetime.combine(end_day, end_time, tzinfo=tz)
        if self.ends_at <= self.starts_at:
            self.add_error("end_time", END_BEFORE_START)
            return data
        if isinstance(self.event, PlageOuverture):
            clash = self.event.find_overlap_of_moved(self.starts_at, self.ends_at, self.original_date)
            if clash is not None:
                self.add_error(
                    "start_time",
                    _("Ce créneau chevauche la plage d'ouverture « %(title)s ».") % {"title": clash.title},
                )
        return data
