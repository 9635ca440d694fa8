"""The question the link of a message asks before showing its RDV (reservation.link_views)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rdv.forms import DsfrForm
from reservation.link_check import letters


class LinkCheckForm(DsfrForm):
    """The first three letters of the last name. Longer answers are fine (the whole name): only
    the first three letters count. The field's own errors (nothing typed, no letter) do not
    count as a try: they say nothing about the RDV."""

    letters = forms.CharField(
        label=_("Les trois premières lettres du nom de famille"),
        help_text=_(
            "De la personne qui a rendez-vous, ou le vôtre si vous l'avez pris pour un proche. "
            "Par exemple : MAR pour Martin."
        ),
        max_length=150,
        error_messages={
            "required": _("Indiquez les trois premières lettres du nom de famille."),
            "max_length": _("Indiquez seulement les trois premières lettres du nom de famille."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def clean_letters(self) -> str:
        typed = self.cleaned_data["letters"]
        if not letters(typed):
            raise ValidationError(_("Indiquez des lettres, par exemple MAR pour Martin."), code="no_letter")
        return typed
