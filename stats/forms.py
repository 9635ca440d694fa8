import datetime as dt
from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from motifs.models import Motif
from organisations.models import Lieu, Organisation, Service
from rdv.dates import add_months
from rdv.forms import DsfrForm, field_of
from stats.figures import Filters
from stats.periods import MAX_BARS, Grain, Period, months_between

DEFAULT_MONTHS = 12
MAX_MONTHS = 60
EARLIEST_MONTH = dt.date(2000, 1, 1)
MONTH_FORMAT = _("Saisissez un mois au format AAAA-MM, par exemple 2025-03.")


class MonthField(forms.DateField):
    """A month typed as AAAA-MM (what `<input type="month">` sends), as the 1st of that month."""

    input_formats = ["%Y-%m"]
    widget = forms.DateInput(attrs={"type": "month", "placeholder": "AAAA-MM"}, format="%Y-%m")
    default_error_messages = {"invalid": MONTH_FORMAT}


def _id_choices(empty: str | Promise, rows: list[tuple[int, str]]) -> list[tuple[str, str | Promise]]:
    return [("", empty)] + [(str(pk), label) for pk, label in rows]


class PeriodForm(DsfrForm):
    """The months shown by the charts, optional: by default the last 12 months, the current one
    included, in the organisation's time zone; a start alone gives the 12 months from it; at
    most 5 years, by month, quarter or year."""

    debut = MonthField(label=_("Du mois de"), required=False, help_text=MONTH_FORMAT)
    fin = MonthField(label=_("Au mois de"), required=False, help_text=MONTH_FORMAT)
    par = forms.ChoiceField(
        label=_("Regrouper par"),
        required=False,
        choices=[("", _("Automatique")), *Grain.choices],
        help_text=_("Par mois jusqu'à 24 mois, par trimestre au-delà."),
    )
    service = forms.ChoiceField(label=_("Service"), required=False)
    filter_names: tuple[str, ...] = ("service",)

    def __init__(self, *args, today: dt.date, **kwargs):
        self.current_month = today.replace(day=1)
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        first, last = data.get("debut"), data.get("fin")
        for name, month in (("debut", first), ("fin", last)):
            if month is not None and month < EARLIEST_MONTH:
                self.add_error(name, _("Choisissez un mois à partir de janvier 2000."))
            elif month is not None and month > self.current_month:
                self.add_error(name, _("Choisissez au plus tard le mois en cours."))
        if self.errors:
            return data
        if last is None:
            last = min(add_months(first, DEFAULT_MONTHS - 1), self.current_month) if first else self.current_month
        if first is None:
            first = max(add_months(last, -(DEFAULT_MONTHS - 1)), EARLIEST_MONTH)
        if first > last:
            self.add_error("fin", _("Le mois de fin doit être le mois de début ou un mois suivant."))
            return data
        if months_between(first, last) > MAX_MONTHS:
            self.add_error("fin", _("La période ne peut pas dépasser %(months)s mois.") % {"months": MAX_MONTHS})
            return data
        period = Period(first, last)
        grain = Grain(data["par"]) if data.get("par") else period.default_grain()
        if period.bars(grain) > MAX_BARS:
            self.add_error(
                "par",
                _("Par mois, la période ne peut pas dépasser %(months)s mois : regroupez par trimestre ou par année.")
                % {"months": MAX_BARS},
            )
            return data
        data["period"], data["grain"] = period, grain
        return data

    @property
    def period(self) -> Period | None:
        return self.cleaned_data.get("period") if self.is_valid() else None

    @property
    def grain(self) -> Grain:
        return self.cleaned_data["grain"]

    @property
    def filters(self) -> Filters:
        """The filters chosen, or none when the form is not valid."""
        if not self.is_bound or not self.is_valid():
            return Filters()
        data = self.cleaned_data
        return Filters(
            **{
                f"{name}_id": int(data[name]) if data.get(name) else None
                for name in ("service", "lieu", "motif", "agent")
            }
        )


class StatsForm(PeriodForm):
    """The period and the filters of an organisation's page. The filters name the organisation's
    services, lieux, motifs and agents: another organisation's id is refused like a wrong one.
    Three queries (motifs with their services, lieux, agents), whatever is chosen."""

    lieu = forms.ChoiceField(label=_("Lieu"), required=False)
    motif = forms.ChoiceField(label=_("Motif"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    filter_names = ("service", "lieu", "motif", "agent")

    def __init__(self, *args, today: dt.date, organisation: Organisation, **kwargs):
        super().__init__(*args, today=today, **kwargs)
        motifs = list(Motif.objects.for_organisation(organisation).select_related("service").order_by("name", "pk"))
        services = sorted({(m.service_id, m.service.name) for m in motifs}, key=lambda row: (row[1], row[0]))
        lieux = Lieu.objects.for_organisation(organisation).order_by("name", "pk").values_list("pk", "name")
        agents = Agent.objects.for_organisation(organisation).order_by("last_name", "first_name", "pk")
        field_of(self, "service", forms.ChoiceField).choices = _id_choices(_("Tous les services"), services)
        field_of(self, "lieu", forms.ChoiceField).choices = _id_choices(_("Tous les lieux"), list(lieux))
        field_of(self, "motif", forms.ChoiceField).choices = _id_choices(
            _("Tous les motifs"), [(m.pk, str(m)) for m in motifs]
        )
        field_of(self, "agent", forms.ChoiceField).choices = _id_choices(
            _("Tous les agents"), [(a.pk, str(a)) for a in agents]
        )


class TerritoryStatsForm(PeriodForm):
    """The period and the service of the territory's page: one query (the services of the
    territory's motifs)."""

    def __init__(self, *args, today: dt.date, organisations: list[Organisation], **kwargs):
        super().__init__(*args, today=today, **kwargs)
        services = (
            Service.objects.filter(motifs__organisation__in=organisations)
            .distinct()
            .order_by("name", "pk")
            .values_list("pk", "name")
        )
        field_of(self, "service", forms.ChoiceField).choices = _id_choices(_("Tous les services"), list(services))


class PersonalStatsForm(PeriodForm):
    """The period of « Vos statistiques »: the figures are the agent's own, no filter. No query."""

    service = None  # type: ignore[assignment]
    filter_names = ()
