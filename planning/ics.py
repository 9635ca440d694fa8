"""An agent's planning as an RFC 5545 calendar (webcal), built with `icalendar`.

Each plage d'ouverture and absence is one VEVENT with its RRULE in the organisation's time zone
(DTSTART;TZID=…, and the VTIMEZONE that defines it), EXDATE for its cancelled occurrences and a
VEVENT with RECURRENCE-ID for each moved one: Thunderbird, Google Calendar and Outlook expand it
themselves, so the feed stays small whatever the series' length.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from agents.models import Agent
from planning.models import Absence, PlageOuverture, RecurringEvent
from planning.recurrence import Frequency, Rule, occurrence_dates

# Series finished longer ago than this are left out of the feed.
HISTORY = dt.timedelta(days=92)
ICAL_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def agent_calendar(agent: Agent, *, today: dt.date | None = None) -> bytes:
    today = today or timezone.now().date()
    since = today - HISTORY
    calendar = Calendar()
    calendar.add("prodid", "-//RDV Solidarités//Planning des agents//FR")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{settings.SITE_NAME} — {agent.full_name}")
    plages = (
        PlageOuverture.objects.for_agent(agent)
        .active_on(since, dt.date.max)
        .select_related("organisation__territory", "lieu")
        .prefetch_related("exceptions", "motifs")
        .order_by("pk")
    )
    for plage in plages:
        description = ", ".join(motif.name for motif in plage.motifs.all())
        location = f"{plage.lieu.name}, {plage.lieu.address}" if plage.lieu else ""
        _add_series(
            calendar,
            plage,
            uid=f"plage-{plage.pk}@rdv-solidarites",
            summary=f"{plage.title} ({plage.organisation.name})",
            description=description,
            location=location,
            transparent=True,
        )
    absences = (
        Absence.objects.for_agent(agent)
        .active_on(since, dt.date.max)
        .select_related("organisation__territory")
        .prefetch_related("exceptions")
        .order_by("pk")
    )
    for absence in absences:
        _add_series(
            calendar,
            absence,
            uid=f"absence-{absence.pk}@rdv-solidarites",
            summary=f"Absence : {absence.title}",
            description="",
            location="",
            transparent=False,
        )
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _rrule(rule: Rule, until: dt.datetime | None) -> dict:
    if rule.frequency is Frequency.WEEKLY:
        value: dict = {"freq": "WEEKLY", "byday": [ICAL_WEEKDAYS[day] for day in rule.weekdays], "wkst": "MO"}
    else:
        value = {"freq": "MONTHLY", "byday": [f"{rule.nth}{ICAL_WEEKDAYS[rule.weekdays[0]]}"]}
    if rule.interval > 1:
        value["interval"] = rule.interval
    if until is not None:
        value["until"] = until
    return value


def _add_series(
    calendar: Calendar,
    event: RecurringEvent,
    *,
    uid: str,
    summary: str,
    description: str,
    location: str,
    transparent: bool,
) -> None:
    tz = event.organisation.tzinfo
    rule = event.rule
    span = dt.timedelta(days=event.span_days)
    # DTSTART must be the series' first occurrence (RFC 5545 leaves a mismatch undefined).
    first = next(
        occurrence_dates(event.first_day, rule, event.first_day, event.first_day + dt.timedelta(days=800)), None
    )
    if first is None:
        return
    stamp = timezone.now().astimezone(dt.UTC)

    def base(start: dt.datetime, end: dt.datetime) -> Event:
        vevent = Event()
        vevent.add("uid", uid)
        vevent.add("dtstamp", stamp)
        vevent.add("summary", summary)
        vevent.add("dtstart", start)
        vevent.add("dtend", end)
        vevent.add("transp", "TRANSPARENT" if transparent else "OPAQUE")
        if description:
            vevent.add("description", description)
        if location:
            vevent.add("location", location)
        return vevent

    master = base(
        dt.datetime.combine(first, event.start_time, tzinfo=tz),
        dt.datetime.combine(first + span, event.end_time, tzinfo=tz),
    )
    exceptions = list(event.exceptions.all())  # type: ignore[attr-defined]
    if rule is not None:
        # UNTIL in UTC, at the last occurrence's start: inclusive, and exact in every time zone.
        until = dt.datetime.combine(rule.until, event.start_time, tzinfo=tz).astimezone(dt.UTC) if rule.until else None
        master.add("rrule", _rrule(rule, until))
        cancelled = [e.original_date for e in exceptions if e.is_cancelled]
        if cancelled:
            master.add("exdate", [dt.datetime.combine(day, event.start_time, tzinfo=tz) for day in sorted(cancelled)])
    calendar.add_component(master)
    if rule is None:
        return
    for exception in exceptions:
        if exception.is_cancelled:
            continue
        moved = base(exception.starts_at.astimezone(tz), exception.ends_at.astimezone(tz))
        moved.add("recurrence-id", dt.datetime.combine(exception.original_date, event.start_time, tzinfo=tz))
        calendar.add_component(moved)
