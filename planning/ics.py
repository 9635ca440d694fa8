"""An agent's planning as an RFC 5545 calendar (webcal), built with `icalendar`.

Each plage d'ouverture and absence is one VEVENT with its RRULE in the organisation's time zone
(DTSTART;TZID=…, and the VTIMEZONE that defines it), EXDATE for its cancelled occurrences and a
VEVENT with RECURRENCE-ID for each moved one: Thunderbird, Google Calendar and Outlook expand it
themselves, so the feed stays small whatever the series' length.

The agent's RDVs, in the organisations it belongs to, from `RDV_HISTORY` ago to `RDV_AHEAD` from
now, are one VEVENT each, in UTC. The feed leaves our system (it is read by third-party calendar
services), so an RDV says no more than the agent needs to find it: « RDV – <motif> », the lieu,
and a link to its page, which asks to sign in. Never the usagers' names, phone numbers or
addresses (an RDV at home shows « À domicile »), nor the notes. A cancelled RDV stays, marked
STATUS:CANCELLED and transparent: clients that keep events by UID (Outlook's imports, sync tools)
update theirs instead of keeping a stale busy time, and the agent sees the freed time.
"""

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from agents.models import Agent, AgentRole
from motifs.models import Motif
from planning.models import Absence, PlageOuverture, RecurringEvent
from planning.recurrence import Frequency, Rule, occurrence_dates
from rendezvous.models import Rdv

# Series finished longer ago than this are left out of the feed.
HISTORY = dt.timedelta(days=92)
ICAL_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RDV_HISTORY = dt.timedelta(days=30)
RDV_AHEAD = dt.timedelta(days=366)
# SEQUENCE counts seconds from this date: it grows at each change and fits RFC 5545's 32 bits
# until 2088 (seconds since 1970 would overflow in 2038).
SEQUENCE_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def agent_calendar(agent: Agent, *, today: dt.date | None = None, now: dt.datetime | None = None) -> bytes:
    """The agent's plages, absences and RDVs, in six queries whatever their number: plages, their
    exceptions and motifs; absences and their exceptions; RDVs with their motif and lieu."""
    now = now or timezone.now()
    today = today or now.date()
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
    _add_rdvs(calendar, agent, now)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def _add_rdvs(calendar: Calendar, agent: Agent, now: dt.datetime) -> None:
    rdvs = (
        Rdv.objects.for_agents([agent])
        .filter(organisation__in=AgentRole.objects.filter(agent=agent).values("organisation"))
        .filter(starts_at__gte=now - RDV_HISTORY, starts_at__lt=now + RDV_AHEAD)
        .select_related("motif", "lieu", "organisation")
        .order_by("starts_at", "pk")
    )
    stamp = now.astimezone(dt.UTC)
    for rdv in rdvs:
        cancelled = rdv.is_cancelled
        vevent = Event()
        vevent.add("uid", f"rdv-{rdv.pk}@rdv-solidarites")
        vevent.add("dtstamp", stamp)
        vevent.add("dtstart", rdv.starts_at.astimezone(dt.UTC))
        vevent.add("dtend", rdv.ends_at.astimezone(dt.UTC))
        vevent.add("summary", f"{'RDV annulé' if cancelled else 'RDV'} – {rdv.motif.name}")
        vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        vevent.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
        vevent.add("location", _rdv_location(rdv))
        url = settings.SITE_URL + reverse(
            "rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk}
        )
        vevent.add("url", url)
        vevent.add("description", f"{rdv.organisation.name}\nDétails du RDV (connexion requise) : {url}")
        vevent.add("last-modified", rdv.updated_at.astimezone(dt.UTC))
        vevent.add("sequence", max(0, int((rdv.updated_at - SEQUENCE_EPOCH).total_seconds())))
        calendar.add_component(vevent)


def _rdv_location(rdv: Rdv) -> str:
    """Where the agent goes: the lieu; never the usager's address or phone number."""
    if rdv.motif.location_type == Motif.LocationType.PUBLIC_OFFICE and rdv.lieu is not None:
        return f"{rdv.lieu.name}, {rdv.lieu.address}"
    return str(Motif.LocationType(rdv.motif.location_type).label)


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
