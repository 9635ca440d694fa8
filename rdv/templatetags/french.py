"""The template engine's French: a builtin library (TEMPLATES' `builtins` in rdv/settings.py), so
every template has it without `{% load %}`.

`date` replaces Django's filter of that name, with one difference: « 1er janvier » where Django
writes « 1 janvier » (rdv.words.first_of_month). Replacing it rather than adding a filter of
another name keeps every template, present and future, right without anyone having to remember."""

from django import template
from django.template.defaultfilters import date as django_date

from rdv.words import first_of_month, time_of_day

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    return first_of_month(django_date(value, arg))


@register.filter(expects_localtime=True, is_safe=False)
def heure(value):
    """« 14h15 » (rdv.words.time_of_day), in the current time zone."""
    if value in (None, ""):
        return ""
    return time_of_day(value)
