"""Phone numbers as French agents and usagers type them, in métropole and overseas.

Overseas départements share France's ten-digit national format (0262…, 0692…, 0596…) but have
their own country codes (+262, +596…): parsed as metropolitan numbers they are either invalid or,
worse, valid but wrong (0596 12 34 56 would become +33 5 96…). So a national number is read as
overseas when it is valid there, as metropolitan otherwise; a number with a + prefix is read as is.
"""

import copy
import functools
from typing import TYPE_CHECKING, Any

import phonenumbers
from django.conf import settings
from django.core import validators
from django.utils.translation import gettext_lazy as _
from phonenumber_field import formfields, modelfields, widgets
from phonenumber_field.phonenumber import PhoneNumber, to_python

# Overseas regions that dial with France's trunk prefix 0 (Guadeloupe, Saint-Barthélemy,
# Saint-Martin, Guyane, Martinique, La Réunion, Mayotte, Saint-Pierre-et-Miquelon). New Caledonia,
# French Polynesia and Wallis-et-Futuna numbers have no trunk prefix: they are typed with +687, +689, +681.
OVERSEAS_REGIONS = ("GP", "BL", "MF", "GF", "MQ", "RE", "YT", "PM")


def parse_french_phone_number(value: str) -> PhoneNumber | None:
    """The valid number `value` means, in métropole or overseas, or None."""
    for region in (*OVERSEAS_REGIONS, "FR"):
        try:
            number = PhoneNumber.from_string(value, region=region)
        except phonenumbers.NumberParseException:
            continue
        if number.is_valid():
            return number
    return None


def display_phone(number: PhoneNumber | None) -> str:
    """« 01 23 45 67 89 » in métropole and overseas (« 0692 12 34 56 »), « +687 … » elsewhere;
    "" for no number."""
    if not number:
        return ""
    region = phonenumbers.region_code_for_number(number)
    return number.as_national if region in (*OVERSEAS_REGIONS, "FR") else number.as_international


class FrenchPhoneNumberWidget(widgets.RegionalPhoneNumberWidget):
    """Shows a number as it was typed: national when it has the 0 trunk prefix, international
    otherwise (+687…), so that saving the form again reads the same number back."""

    def format_value(self, value):
        number = value if isinstance(value, PhoneNumber) else to_python(value, region="FR")
        if isinstance(number, PhoneNumber) and number.is_valid():
            return display_phone(number)
        return super().format_value(value)


class FrenchPhoneNumberField(formfields.PhoneNumberField):
    """A phone number form field that accepts metropolitan and overseas French numbers."""

    widget = FrenchPhoneNumberWidget

    default_error_messages = {
        "invalid": _("Saisissez un numéro de téléphone valide, par exemple 01 23 45 67 89 ou 0692 12 34 56."),
    }

    def __init__(self, *args, **kwargs):
        kwargs["region"] = "FR"
        # The model field passes its own messages, English ones included: ours are the French ones.
        kwargs.pop("error_messages", None)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in validators.EMPTY_VALUES:
            return self.empty_value
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return self.empty_value
            number = parse_french_phone_number(value)
            # An unparsable value stays a PhoneNumber without number: the validator rejects it.
            return number if number is not None else PhoneNumber(raw_input=value)
        return super().to_python(value)


@functools.lru_cache(maxsize=4096)
def _stored_number(value: str, default_region: str | None) -> PhoneNumber | str | None:
    # The default region reads a stored text without « + » (a number the library found invalid
    # is stored as typed): part of the key, as a test may change it.
    return to_python(value)


class PhoneNumberField(modelfields.PhoneNumberField):
    """django-phonenumber-field's model field, each stored number parsed once per process.

    The library parses the stored number of each row it reads (about 0.1 ms each): an agenda
    reads its plages and absences with their organisation and lieu, each with its phone number,
    so that a week's agenda parsed about 20 of them, 2 ms of its CPU. The same stored text always
    parses to the same number: each row gets its own copy of the kept one (a copy costs a twentieth
    of a parse), so that changing one never changes another. Migrations see the library's field
    (`deconstruct`): nothing changes in the database."""

    if TYPE_CHECKING:  # the library's field is untyped: its attribute stays Any, as it was

        def __get__(self, instance: Any, owner: Any) -> Any: ...

        def __set__(self, instance: Any, value: Any) -> None: ...

    def from_db_value(self, value, expression, connection):
        if not value:
            return to_python(value)
        number = _stored_number(value, getattr(settings, "PHONENUMBER_DEFAULT_REGION", None))
        return copy.copy(number) if isinstance(number, PhoneNumber) else number

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "phonenumber_field.modelfields.PhoneNumberField", args, kwargs
