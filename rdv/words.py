"""French wording that several apps share, in one place: « de » elided before a vowel or a mute h,
« 1er janvier », « les lundis et jeudis », times as « 14h15 ». The templates' `date` filter goes
through `first_of_month` too (rdv/templatetags/french.py, a builtin of the template engine), so no
page writes « 1 janvier »; tests/test_words.py walks the templates and modules for the forms
these helpers replace."""

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

from django.utils import formats
from django.utils.translation import gettext as _

ELIDING = set("aeiouyh")

MONTHS = "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
# « 1 janvier », not « 11 janvier » nor « 21 janvier »: the 1 stands alone before a month's name.
FIRST_OF_MONTH = re.compile(rf"(?<!\w)1 (?=(?:{MONTHS})\b)", re.IGNORECASE)

# Monday first, as datetime.weekday() counts them.
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def de(words: str) -> str:
    """« d'Inès MOREAU », « d'Hélène DUPRÉ », « de Camille GARRIGUE »."""
    first = unicodedata.normalize("NFD", words[:1]).encode("ascii", "ignore").decode().lower()
    return f"d'{words}" if first in ELIDING else f"de {words}"


def first_of_month(text: str) -> str:
    """« 1er janvier » wherever a formatted date wrote « 1 janvier »: French says the first day
    of a month as an ordinal, the others as cardinals."""
    return FIRST_OF_MONTH.sub("1er ", text)


def date_format(value: dt.date | dt.datetime, format_string: str) -> str:
    """Django's `formats.date_format`, with « 1er » for the first day of a month. Python code
    formats the dates people read with it (the templates' `date` filter does the same)."""
    return first_of_month(formats.date_format(value, format_string))


def time_of_day(value: dt.datetime | dt.time) -> str:
    """« 14h15 », « 9h00 »: how every page, message and warning writes a time, never « 14:15 »
    nor « 09h00 » (French typography does not pad the hour; Django's `G\\hi` in templates).
    A datetime is written as it is: convert it to the organisation's time zone first."""
    return f"{value.hour}h{value.minute:02d}"


def numeric_date_time(value: dt.datetime) -> str:
    """« 01/03/2027 14h15 » (the templates' `d/m/Y G\\hi`), in the value's own time zone."""
    return f"{value:%d/%m/%Y} {time_of_day(value)}"


def short_date_time(value: dt.datetime) -> str:
    """« 01/03/2027 à 14h15 », in the value's own time zone (convert it first)."""
    return f"{value:%d/%m/%Y} à {time_of_day(value)}"


def weekdays_phrase(weekdays: Iterable[int]) -> str:
    """« le lundi » for one day, « les lundis et jeudis », « les lundis, mardis et jeudis » for
    several (the days of a weekly repetition, 0 for Monday)."""
    names = [WEEKDAYS[day] for day in weekdays]
    if len(names) == 1:
        return _("le %(day)s") % {"day": names[0]}
    plural = [f"{name}s" for name in names]
    return _("les %(days)s et %(last)s") % {"days": ", ".join(plural[:-1]), "last": plural[-1]}
