import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from rdv.dates import add_months
from rdv.forms import DsfrForm
from stats.figures import Period, months_between

DEFAULT_MONTHS = 12
MAX_MONTHS = 24
EARLIEST_MONTH = dt.date(2000, 1, 1)
MONTH_FORMAT = _("Saisissez un mois au format AAAA-MM, par exemple 2025-03.")


class MonthField(forms.DateField):
    """A month typed as AAAA-MM (what `<input type="month">` sends), as the 1st of that month."""

    input_formats = ["%Y-%m"]
    widget = forms.DateInput(attrs={"type": "month", "placeholder": "AAAA-MM"}, format="%Y-%m")
    default_error_messages = {"invalid": MONTH_FORMAT}


class PeriodForm(DsfrForm):
    """The months shown by the charts, both optional: by default the last 12 months, the current
    one included, in the organisation's time zone; a start alone gives the 12 months from it."""

    debut = MonthField(label=_("Du mois de"), required=False, help_text=MONTH_FORMAT)
    fin = MonthField(label=_("Au mois de"), required=False, help_text=MONTH_FORMAT)

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
        elif months_between(first, last) > MAX_MONTHS:
            self.add_error("fin", _("La période ne peut pas dépasser %(months)s mois.") % {"months": MAX_MONTHS})
        else:
            data["period"] = Period(first, last)
        return data

    @property
    def period(self) -> Period | None:
        return self.cleaned_data.get("period") if self.is_valid() else None
