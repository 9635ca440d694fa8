"""Demo RDVs: for every demo agent with plages d'ouverture, RDVs inside the occurrences of its
plages of the next two weeks (in the plage's lieu, with one of its motifs), and past RDVs on the
same weekly slots of the three previous weeks, with every status. Usagers of the organisation,
sometimes a proche with its responsible. Deterministic; built once (a second run finds RDVs in
the demo organisations and leaves them as the agents left them)."""

import datetime as dt

from django.utils import timezone

from agents.models import Agent
from planning.models import PlageOuverture, Window
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
CONTEXTS = ["", "", "Premier rendez-vous.", "", "Apporter le carnet de santé.", "", "Suivi mensuel.", ""]


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
    window = Window(now, now + dt.timedelta(days=FUTURE_DAYS))
    plages = PlageOuverture.objects.for_organisation(organisation).select_related("lieu").prefetch_related("motifs")
    counter = 0
    agents = Agent.objects.filter(pk__in=plages.values("agent")).order_by("pk")
    for agent in agents:
        occurrences = plages.filter(agent=agent).occurrences(window)
        for occurrence in occurrences:
            plage = occurrence.event
            motifs = sorted(plage.motifs.all(), key=lambda m: m.pk)
            if not motifs:
                continue
            for weeks_back in range(PAST_WEEKS + 1):
                start = occurrence.start - dt.timedelta(weeks=weeks_back)
                end = occurrence.end - dt.timedelta(weeks=weeks_back)
                if weeks_back and start >= now:
                    continue
                for slot in range(2):
                    motif = motifs[(counter + slot) % len(motifs)]
                    starts_at = start + dt.timedelta(minutes=60 * slot)
                    if starts_at + dt.timedelta(minutes=motif.default_duration_in_min) > end:
                        continue
                    usager = responsibles[counter % len(responsibles)]
                    usagers = [usager]
                    proche = proches.get(usager.pk)
                    if proche is not None and counter % 3 == 0:
                        usagers = [proche, usager]
                    status = Rdv.Status.UNKNOWN
                    if starts_at < now:
                        status = PAST_STATUSES[counter % len(PAST_STATUSES)]
                        if timezone.localdate(starts_at, organisation.tzinfo) == timezone.localdate(
                            now, organisation.tzinfo
                        ):
                            status = Rdv.Status.WAITING if counter % 2 else Rdv.Status.SEEN
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
        context=CONTEXTS[counter % len(CONTEXTS)],
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
