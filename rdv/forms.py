from typing import TypeVar

from django import forms
from django.forms.utils import ErrorList
from dsfr.forms import DsfrBoundField
from dsfr.utils import dsfr_input_class_attr


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
    mandatory."""

    template_name = "dsfr/form_snippet.html"
    bound_field_class: type[forms.BoundField] | None = BoundField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("error_class", DsfrErrorList)
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for visible in self.visible_fields():
            dsfr_input_class_attr(visible)
            # dsfr's snippets read `group_class`, which it sets on selects and radios only.
            if not hasattr(visible.field.widget, "group_class"):
                visible.field.widget.group_class = "fr-input-group"

    def full_clean(self):
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
