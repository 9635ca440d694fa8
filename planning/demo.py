"""Demo planning: every PMI or social worker of the demo gets weekly plages d'ouverture from the
Monday of this week, with its organisation's motifs and lieux, and a few absences (one over
several days, one recurring, one past), so that agendas and online booking show realistic
availability. One occurrence is cancelled to show single-occurrence changes."""

import datetime as dt

from django.utils import timezone

from agents.demo import AGENTS
from agents.models import Agent
from motifs.models import Motif
from organisations.models import Lieu, Organisation
from planning.models import Absence, PlageOuverture, PlageOuvertureException
from planning.recurrence import Frequency, Rule
from planning.rules import recurrence_from_rule

MON, TUE, WED, THU, FRI = range(5)
PLACE, PHONE, HOME = Motif.LocationType.PUBLIC_OFFICE, Motif.LocationType.PHONE, Motif.LocationType.HOME

# (title, weekdays, start, end, lieu index or None, motif location type, months until the end or None)
PLAGES = {
    "PMI": [
        ("Consultation de PMI", (MON, THU), "09:00", "12:00", 0, PLACE, None),
        ("Permanence puériculture", (TUE,), "14:00", "17:00", 2, PLACE, 6),
        ("Entretiens téléphoniques", (FRI,), "09:00", "11:30", None, PHONE, None),
    ],
    "Social": [
        ("Permanence sociale", (TUE, THU), "09:00", "12:00", 0, PLACE, None),
        ("Accueil social", (MON,), "14:00", "17:00", 1, PLACE, 6),
        ("Visites à domicile", (WED,), "09:00", "12:00", None, HOME, None),
    ],
}
# An agent's second organisation: one afternoon, clear of the plages above.
SECOND_ORGANISATION_PLAGE = ("Consultation de PMI", (WED,), "14:00", "17:00", 0, PLACE, None)


def build(ctx: dict) -> None:
    organisations: dict[str, Organisation] = ctx["organisations"]
    for email, _first, _last, roles in AGENTS:
        agent = Agent.objects.get(email__iexact=email)
        for index, (key, (_level, services)) in enumerate(roles.items()):
            service = next((name for name in services if name in PLAGES), None)
            if service is None:
                continue
            organisation = organisations[key]
            plages = PLAGES[service] if index == 0 else [SECOND_ORGANISATION_PLAGE]
            created = [_plage(organisation, agent, service, row) for row in plages]
            if index == 0:
                _absences(organisation, agent)
                _cancel_one_occurrence(next((plage for plage in created if plage), None))


def _monday(organisation: Organisation) -> dt.date:
    today = timezone.localdate(timezone=organisation.tzinfo)
    return today - dt.timedelta(days=today.weekday())


def _months_later(day: dt.date, months: int) -> dt.date:
    return day + dt.timedelta(days=round(months * 30.5))


def _plage(organisation, agent, service, row) -> PlageOuverture | None:
    title, weekdays, start, end, lieu_index, location_type, months = row
    motifs = list(
        Motif.objects.for_organisation(organisation)
        .active()
        .filter(service__short_name=service, location_type=location_type)
    )
    if not motifs:
        return None  # the motifs step made none: nothing to offer on this plage
    lieu = None
    if lieu_index is not None:
        lieux = list(Lieu.objects.for_organisation(organisation).active().order_by("pk"))
        if not lieux:
            return None
        lieu = lieux[min(lieu_index, len(lieux) - 1)]
    first_day = _monday(organisation)
    until = _months_later(first_day, months) if months else None
    plage, _ = PlageOuverture.objects.update_or_create(
        organisation=organisation,
        agent=agent,
        title=title,
        defaults={
            "lieu": lieu,
            "first_day": first_day,
            "start_time": dt.time.fromisoformat(start),
            "end_time": dt.time.fromisoformat(end),
            "recurrence": recurrence_from_rule(Rule(Frequency.WEEKLY, weekdays=weekdays, until=until)),
        },
    )
    plage.motifs.set(motifs)
    return plage


def _absences(organisation, agent) -> None:
    monday = _monday(organisation)
    rows = [
        # A training over three days, in three weeks.
        ("Formation premiers secours", monday + dt.timedelta(weeks=3), "09:00", dt.timedelta(days=2), "17:00", None),
        # A team meeting every other Friday afternoon for six months.
        (
            "Réunion d'équipe",
            monday + dt.timedelta(days=FRI),
            "14:00",
            dt.timedelta(0),
            "16:00",
            Rule(Frequency.WEEKLY, interval=2, weekdays=(FRI,), until=_months_later(monday, 6)),
        ),
        # Past: shows under « Passées ».
        ("Congés", monday - dt.timedelta(weeks=4), "08:00", dt.timedelta(days=4), "18:00", None),
    ]
    for title, first_day, start, span, end, rule in rows:
        Absence.objects.update_or_create(
            organisation=organisation,
            agent=agent,
            title=title,
            defaults={
                "first_day": first_day,
                "start_time": dt.time.fromisoformat(start),
                "end_day": first_day + span,
                "end_time": dt.time.fromisoformat(end),
                "recurrence": recurrence_from_rule(rule),
            },
        )


def _cancel_one_occurrence(plage: PlageOuverture | None) -> None:
    """Next week's first occurrence is cancelled: the plage's page shows it as « Annulée »."""
    if plage is None or plage.rule is None:
        return
    next_monday = plage.first_day + dt.timedelta(weeks=1)
    window = plage.local_window(next_monday, next_monday + dt.timedelta(days=6))
    occurrences = plage.expand(window, exceptions=[])
    if occurrences:
        PlageOuvertureException.objects.update_or_create(
            plage=plage,
            original_date=occurrences[0].original_date,
            defaults={"starts_at": None, "ends_at": None},
        )
    # Exceptions of earlier demo runs, left behind as the weeks passed, are of no interest.
    PlageOuvertureException.objects.filter(plage=plage).exclude(
        original_date__in=[o.original_date for o in occurrences[:1]]
    ).delete()
