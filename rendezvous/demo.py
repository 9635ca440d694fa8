"""Demo RDVs: for every demo agent with plages d'ouverture, RDVs inside the occurrences of its
plages from the Monday of this week to two weeks ahead (in the plage's lieu, with one of its
motifs), and past RDVs on the same weekly slots of the three previous weeks, never two at the same
time for an agent. Past RDVs take every status, the earliest past one of this week stays
« À renseigner », the morning's are « Vu », « En salle d'attente » or still to fill. Usagers of
the organisation, sometimes a proche with its responsible. Deterministic; built once (a second
run finds RDVs in the demo organisations and leaves them as the agents left them)."""

import datetime as dt

from django.utils import timezone

from agents.models import Agent
from planning.intervals import Window
from planning.models import PlageOuverture
from rendezvous.models import Participation, Rdv
from usagers.models import Usager

FUTURE_DAYS = 14
PAST_WEEKS = 3
PAST_STATUSES = [
    Rdv.Status.SEEN,
    Rdv.Status.SEEN,
    Rdv.Status.NOSHOW,
    Rdv.Status.EXCUSED,
    Rdv.Status.UNKNOWN,  # « À renseigner »
    Rdv.Status.SEEN,
    Rdv.Status.REVOKED,
    Rdv.Status.SEEN,
    Rdv.Status.WAITING,  # left « En salle d'attente »: the agent forgot to say « Vu »
]
# The past days of this week: the earliest stays « À renseigner », so that it shows on the agenda.
THIS_WEEK_STATUSES = [
    Rdv.Status.UNKNOWN,
    Rdv.Status.SEEN,
    Rdv.Status.NOSHOW,
    Rdv.Status.SEEN,
    Rdv.Status.EXCUSED,
    Rdv.Status.UNKNOWN,
    Rdv.Status.SEEN,
    Rdv.Status.REVOKED,
]
# Earlier today: seen, in the waiting room, or not filled in yet.
TODAY_STATUSES = [Rdv.Status.SEEN, Rdv.Status.WAITING, Rdv.Status.UNKNOWN]
# Minutes after a plage's start where the demo puts RDVs (a free slot is left now and then).
SLOT_OFFSETS = (0, 60, 120)
NOTES = ["", "", "Premier rendez-vous.", "", "Apporter le carnet de santé.", "", "Suivi mensuel.", ""]


def build(ctx: dict) -> None:
    organisations = list(ctx["organisations"].values())
    if Rdv.objects.filter(organisation__in=organisations).exists():
        return
    now = timezone.now()
    for organisation in organisations:
        _build_organisation(organisation, now)


def _build_organisation(organisation, now: dt.datetime) -> None:
    responsibles = list(Usager.objects.visible_in(organisation).filter(responsible__isnull=True).order_by("pk")[:120])
    proches = {}
    for proche in Usager.objects.visible_in(organisation).filter(responsible__in=responsibles).order_by("pk"):
        proches.setdefault(proche.responsible_id, proche)
    if not responsibles:
        return
    tz = organisation.tzinfo
    today = timezone.localdate(now, tz)
    monday = today - dt.timedelta(days=today.weekday())
    this_week = dt.datetime.combine(monday, dt.time(), tzinfo=tz)
    window = Window(this_week, now + dt.timedelta(days=FUTURE_DAYS))
    history_start = now - dt.timedelta(weeks=PAST_WEEKS)
    plages = PlageOuverture.objects.for_organisation(organisation).select_related("lieu").prefetch_related("motifs")
    counter = 0
    agents = Agent.objects.filter(pk__in=plages.values("agent")).order_by("pk")
    for agent in agents:
        taken: set[dt.datetime] = set()
        slots = []
        for occurrence in plages.filter(agent=agent).occurrences(window):
            motifs = sorted(occurrence.event.motifs.all(), key=lambda m: m.pk)
            if not motifs:
                continue
            for weeks_back in range(PAST_WEEKS + 1):
                start = occurrence.start - dt.timedelta(weeks=weeks_back)
                # This week's own occurrences are in the window: copies go to earlier weeks only,
                # and no further back than the weeks the statistics step repeats (stats.demo).
                if weeks_back and not history_start <= start < this_week:
                    continue
                end = occurrence.end - dt.timedelta(weeks=weeks_back)
                for offset in SLOT_OFFSETS:
                    starts_at = start + dt.timedelta(minutes=offset)
                    if starts_at in taken:
                        continue
                    taken.add(starts_at)
                    slots.append((starts_at, end, occurrence.event, motifs))
        slots.sort(key=lambda slot: slot[0])
        past_this_week = today_past = past_before = 0
        for starts_at, end, plage, motifs in slots:
            motif = motifs[counter % len(motifs)]
            if starts_at + dt.timedelta(minutes=motif.default_duration_in_min) > end or (counter % 4 == 3):
                counter += 1  # a free slot here and there
                continue
            usager = responsibles[counter % len(responsibles)]
            usagers = [usager]
            proche = proches.get(usager.pk)
            if proche is not None and counter % 3 == 0:
                usagers = [proche, usager]
            status = Rdv.Status.UNKNOWN
            if starts_at < now:
                if timezone.localdate(starts_at, tz) == today:
                    status = TODAY_STATUSES[today_past % len(TODAY_STATUSES)]
                    today_past += 1
                elif starts_at >= this_week:
                    status = THIS_WEEK_STATUSES[past_this_week % len(THIS_WEEK_STATUSES)]
                    past_this_week += 1
                else:
                    status = PAST_STATUSES[past_before % len(PAST_STATUSES)]
                    past_before += 1
            elif counter % 11 == 0:
                status = Rdv.Status.EXCUSED
            _create(organisation, agent, plage, motif, starts_at, usagers, status, counter)
            counter += 1


def _create(organisation, agent, plage, motif, starts_at, usagers, status, counter) -> None:
    rdv = Rdv(
        organisation=organisation,
        motif=motif,
        lieu=plage.lieu if motif.location_type == "public_office" else None,
        starts_at=starts_at,
        duration_in_min=motif.default_duration_in_min,
        notes=NOTES[counter % len(NOTES)],
        address=usagers[-1].address if motif.location_type == "home" else "",
        status=status,
        created_by=Rdv.CreatedBy.USAGER if counter % 5 == 0 else Rdv.CreatedBy.AGENT,
        created_by_agent=None if counter % 5 == 0 else agent,
    )
    if status != Rdv.Status.UNKNOWN:
        rdv.status_changed_at = starts_at + dt.timedelta(minutes=motif.default_duration_in_min)
    rdv._history_user = None if counter % 5 == 0 else agent
    rdv.save()
    rdv.agents.set([agent])
    for usager in usagers:
        Participation.objects.create(rdv=rdv, usager=usager)
