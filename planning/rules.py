"""The bridge between the recurrence stored on plages and absences (an RFC 5545 rule in
django-recurrence's field) and `planning.recurrence.Rule`, which the expander reads."""

import datetime as dt
from typing import Any

import recurrence as django_recurrence

from planning.recurrence import Frequency, Rule

# django-recurrence's weekday constants, Monday first as in `planning.recurrence`.
WEEKDAYS = (
    django_recurrence.MO,
    django_recurrence.TU,
    django_recurrence.WE,
    django_recurrence.TH,
    django_recurrence.FR,
    django_recurrence.SA,
    django_recurrence.SU,
)


def rule_from_recurrence(value: Any) -> Rule | None:
    """The `Rule` a django-recurrence value holds, or None when it holds none.

    Supports exactly what the forms offer: one RRULE, weekly on weekdays or monthly on the nth
    weekday (BYDAY=2TU, or BYDAY=TU;BYSETPOS=2), INTERVAL, an optional UNTIL. Anything else
    raises ValueError rather than being silently misread.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = django_recurrence.deserialize(value)
    if not value.rrules:
        return None
    if len(value.rrules) > 1 or value.exrules or value.rdates or value.exdates:
        raise ValueError("Only one RRULE, without EXRULE, RDATE or EXDATE, is supported.")
    rrule = value.rrules[0]
    until = _until_date(rrule.until)
    weekdays = [django_recurrence.to_weekday(day) for day in rrule.byday]
    if rrule.freq == django_recurrence.WEEKLY:
        return Rule(
            Frequency.WEEKLY,
            interval=rrule.interval,
            weekdays=tuple(sorted({day.number for day in weekdays})),
            until=until,
        )
    if rrule.freq == django_recurrence.MONTHLY:
        if len(weekdays) != 1:
            raise ValueError("A monthly rule needs exactly one weekday.")
        nth = weekdays[0].index
        if nth is None and rrule.bysetpos:
            nth = rrule.bysetpos[0] if isinstance(rrule.bysetpos, list | tuple) else rrule.bysetpos
        return Rule(Frequency.MONTHLY, interval=rrule.interval, weekdays=(weekdays[0].number,), nth=nth, until=until)
    raise ValueError(f"Unsupported frequency {rrule.freq}.")


def _until_date(until: dt.datetime | dt.date | None) -> dt.date | None:
    # `recurrence_from_rule` writes UNTIL as 23:59:59 UTC of the last day: reading it back in UTC
    # gives that day whatever the current time zone. A date-only UNTIL is read as it is.
    if until is None:
        return None
    if isinstance(until, dt.datetime):
        if until.tzinfo is not None:
            return until.astimezone(dt.UTC).date()
        return until.date()
    return until


def recurrence_from_rule(rule: Rule | None) -> django_recurrence.Recurrence | None:
    """The django-recurrence value for a `Rule` (the inverse of `rule_from_recurrence`)."""
    if rule is None:
        return None
    until = dt.datetime.combine(rule.until, dt.time(23, 59, 59), tzinfo=dt.UTC) if rule.until else None
    if rule.frequency is Frequency.WEEKLY:
        byday = [WEEKDAYS[day] for day in rule.weekdays]
        freq = django_recurrence.WEEKLY
    else:
        assert rule.nth is not None
        byday = [django_recurrence.Weekday(rule.weekdays[0], rule.nth)]
        freq = django_recurrence.MONTHLY
    return django_recurrence.Recurrence(
        rrules=[django_recurrence.Rule(freq, interval=rule.interval, byday=byday, until=until)]
    )
