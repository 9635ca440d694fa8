import datetime as dt
import re
from typing import TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.forms.models import ModelChoiceIterator
from django.forms.utils import ErrorList
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBoundField
from dsfr.utils import dsfr_input_class_attr

from rdv.dates import within_bounds

DATE_OUT_OF_BOUNDS = _("Saisissez une date entre 1900 et 2100.")
CONTROL_CHARACTER = _(
    "Ce champ contient un caractère invisible (caractère de contrôle) : retirez-le ou retapez le texte."
)

# Unicode's control characters (C0, DEL, C1). A browser never sends one in a one-line field; a
# multi-line field keeps tabs and line breaks. Pasted from elsewhere, the others are invisible on
# screen and break what reads the text later (an email's subject, an SMS, a CSV export).
ONE_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
MULTILINE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
one_line_text = RegexValidator(ONE_LINE_CONTROL, CONTROL_CHARACTER, code="control_character", inverse_match=True)
multiline_text = RegexValidator(MULTILINE_CONTROL, CONTROL_CHARACTER, code="control_character", inverse_match=True)


def validate_date_within_bounds(value: dt.date) -> None:
    """Every date a form reads, between 1900 and 2100 (rdv.dates)."""
    if not within_bounds(value):
        raise ValidationError(DATE_OUT_OF_BOUNDS, code="date_out_of_bounds")


def guard(field: forms.Field) -> None:
    """The checks every field of the project gets, whichever form declares it and however (on the
    class, by a ModelForm, added in __init__): dates within bounds, text without control
    characters (passwords aside: they are compared, never shown or sent)."""
    if isinstance(field, forms.DateField | forms.DateTimeField):
        validator = validate_date_within_bounds
    elif isinstance(field, forms.CharField) and not isinstance(field.widget, forms.PasswordInput):
        validator = multiline_text if isinstance(field.widget, forms.Textarea) else one_line_text
    else:
        return
    if validator not in field.validators:
        field.validators.append(validator)


# The prompt of a select with nothing chosen yet, as the DSFR writes it, instead of Django's
# « --------- ». A form may name the choice instead: `empty_label = _("Sélectionnez un lieu")`.
EMPTY_CHOICE = _("Sélectionner une option")
DJANGO_EMPTY_LABEL = "---------"


def prompt_empty_choice(field: forms.Field) -> None:
    """Django's « --------- » empty choice, of a ModelChoiceField or of a model field's choices
    (BLANK_CHOICE_DASH), replaced by a French prompt."""
    if isinstance(field, forms.ModelChoiceField):
        if field.empty_label == DJANGO_EMPTY_LABEL:
            field.empty_label = EMPTY_CHOICE
    elif isinstance(field, forms.ChoiceField):
        choices = list(field.choices)
        if any(value == "" and label == DJANGO_EMPTY_LABEL for value, label in choices):
            field.choices = [
                (value, EMPTY_CHOICE if label == DJANGO_EMPTY_LABEL else label) for value, label in choices
            ]


NEGATIVE_DURATION = _("Une durée ne peut pas être négative : saisissez un nombre de minutes, par exemple 30.")


class MinutesField(forms.IntegerField):
    """A duration in minutes. A negative one is said to be so, rather than « at least 1 » or
    « greater than or equal to 0 », which hide the minus sign typed by mistake."""

    def validate(self, value):
        super().validate(value)
        if value is not None and value < 0:
            raise ValidationError(NEGATIVE_DURATION, code="negative_duration")


class ListedChoiceIterator(ModelChoiceIterator):
    """Django's ModelChoiceIterator reads the choices with `QuerySet.iterator()`: on PostgreSQL a
    server-side cursor WITH HOLD (DECLARE, FETCH, CLOSE: three round trips, and the rows copied
    when the transaction ends) for the few dozen agents, motifs or lieux of a select. One plain
    query instead, as fresh as the cursor was (a clone of the queryset each time)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():
            yield self.choice(obj)


def list_choices(field: forms.Field) -> None:
    """A ModelChoiceField with Django's own iterator reads its choices by ListedChoiceIterator (a
    queryset set later, in a form's __init__, keeps it)."""
    if isinstance(field, forms.ModelChoiceField) and field.iterator is ModelChoiceIterator:
        field.iterator = ListedChoiceIterator
        field.widget.choices = field.choices


class DsfrErrorList(ErrorList):
    """Errors as DSFR error texts (<p class="fr-error-text">), read with their field."""

    template_name = "includes/errorlist.html"


CHECKBOX_TEMPLATE = "includes/fields/checkbox.html"


class BoundField(DsfrBoundField):
    @property
    def template_name(self):
        # Decided when rendering, so it holds for fields a form adds after __init__ too.
        if not self.field.template_name and self.widget_type == "checkbox":
            return CHECKBOX_TEMPLATE
        return super().template_name


class DsfrFormMixin:
    """Renders a form with DSFR markup: labels, hints, errors on the field at fault. A single
    checkbox gets our own template, without dsfr's « (Optionnel) » mark: a checkbox is never
    mandatory. Every form of the project uses it: it also bounds dates and refuses control
    characters in text (`guard`), each an error in French on the field, and no select offers
    Django's « --------- » (`prompt_empty_choice`), and the choices of a model read in one query
    (`list_choices`)."""

    template_name = "dsfr/form_snippet.html"
    bound_field_class: type[forms.BoundField] | None = BoundField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("error_class", DsfrErrorList)
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            prompt_empty_choice(field)
            list_choices(field)
        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)
            # dsfr's snippets read `group_class`, which it sets on selects and radios only.
            if not hasattr(visible.field.widget, "group_class"):
                visible.field.widget.group_class = "fr-input-group"

    def full_clean(self):
        # Here rather than in __init__: some forms add fields after it (« Répéter… »).
        for field in self.fields.values():
            guard(field)
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                dsfr_input_class_attr(self[name])


class DsfrForm(DsfrFormMixin, forms.Form):
    pass


class DsfrModelForm(DsfrFormMixin, forms.ModelForm):
    pass


FieldT = TypeVar("FieldT", bound=forms.Field)


def field_of(form: forms.BaseForm, name: str, kind: type[FieldT]) -> FieldT:
    """The form's own copy of its field `name`, typed as `kind` (a form's `fields` are typed as
    plain `Field`s): `field_of(self, "lieu", forms.ModelChoiceField).queryset = …`."""
    found = form.fields[name]
    if not isinstance(found, kind):
        raise TypeError(f"{name} is a {type(found).__name__}, not a {kind.__name__}")
    return found
