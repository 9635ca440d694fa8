"""Demo history for « Vos statistiques globales »: a year of past RDVs and of new usagers, so that
the monthly charts have something to show.

The RDVs step books the weeks around today; this step repeats its past RDVs on the same weekly
slots (same agent, motif, lieu, usagers) over the previous twelve months, fewer in summer and in
the first months (the platform's adoption), with every status, created by agents, by usagers
online and by prescripteurs, a few days to a few weeks before they took place. Every demo RDV
gets such a creation date, and the organisations' usagers creation dates spread over 30 months.
Deterministic; built once (a second run finds the history and leaves it)."""

import datetime as dt
import math

from django.db.models import OuterRef, Subquery
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from rendezvous.demo import PAST_WEEKS
from rendezvous.models import Participation, Rdv
from usagers.models import UsagerProfile

# The RDVs step fills the last three weeks: they are repeated 3, 6, … 51 weeks earlier.
STRIDE_WEEKS = PAST_WEEKS
LAST_WEEK_BACK = 52
USAGER_MONTHS = 30
# Out of 20 past RDVs: 14 « Vu », 2 « Absent excusé », 2 « Absent non excusé », 1 « Annulé à
# l'initiative du service », 1 left without status (« À renseigner »).
STATUSES = [Rdv.Status.SEEN] * 14 + [Rdv.Status.EXCUSED] * 2 + [Rdv.Status.NOSHOW] * 2
STATUSES += [Rdv.Status.REVOKED, Rdv.Status.UNKNOWN]
# Share of the weekly slots taken, by month: quieter in summer and at Christmas.
MONTH_SHARE = {1: 85, 2: 80, 3: 90, 4: 80, 5: 75, 6: 80, 7: 50, 8: 30, 9: 95, 10: 90, 11: 85, 12: 60}


def build(ctx: dict) -> None:
    now = timezone.now()
    for organisation in ctx["organisations"].values():
        rdvs = Rdv.objects.for_organisation(organisation)
        if rdvs.filter(starts_at__lt=now - dt.timedelta(weeks=PAST_WEEKS + 1)).exists():
            continue
        _backdate(list(rdvs.order_by("pk")), now)
        _repeat_past_rdvs(organisation, now)
        _spread_usager_profiles(organisation, now)


def _creation(rdv: Rdv, index: int, now: dt.datetime) -> tuple[str, dt.datetime]:
    """Who created the RDV and when: agents 7 times out of 10, usagers online a quarter of the
    time (further ahead), prescripteurs now and then."""
    kind = index % 20
    if kind < 14:
        created_by, days_before = Rdv.CreatedBy.AGENT, index % 15
    elif kind < 19:
        created_by, days_before = Rdv.CreatedBy.USAGER, 2 + index % 25
    else:
        created_by, days_before = Rdv.CreatedBy.PRESCRIPTEUR, 5 + index % 10
    created_at = rdv.starts_at - dt.timedelta(days=days_before, hours=1 + index % 7, minutes=index * 7 % 60)
    return created_by, min(created_at, now - dt.timedelta(minutes=5 + index % 600))


def _backdate(rdvs: list[Rdv], now: dt.datetime) -> None:
    for index, rdv in enumerate(rdvs):
        rdv.created_at = _creation(rdv, index, now)[1]
    Rdv.objects.bulk_update(rdvs, ["created_at"], batch_size=500)


def _repeat_past_rdvs(organisation, now: dt.datetime) -> None:
    tz = organisation.tzinfo
    templates = list(
        Rdv.objects.for_organisation(organisation)
        .filter(starts_at__lt=now, starts_at__gte=now - dt.timedelta(weeks=STRIDE_WEEKS))
        .prefetch_related("agents", "participations")
        .order_by("starts_at", "pk")
    )
    copies: list[tuple[Rdv, Rdv]] = []
    index = 0
    for weeks_back in range(STRIDE_WEEKS, LAST_WEEK_BACK, STRIDE_WEEKS):
        adoption = 100 - 40 * weeks_back // LAST_WEEK_BACK  # 60 % a year ago, 100 % now
        for position, template in enumerate(templates):
            # The same wall-clock time on the same weekday, whatever the DST change in between.
            starts_at = timezone.localtime(template.starts_at, tz) - dt.timedelta(weeks=weeks_back)
            share = MONTH_SHARE[starts_at.month] * adoption // 100
            if (position * 37 + weeks_back * 11) % 100 >= share:
                continue
            rdv = Rdv(
                organisation=organisation,
                motif_id=template.motif_id,
                lieu_id=template.lieu_id,
                starts_at=starts_at,
                duration_in_min=template.duration_in_min,
                ends_at=starts_at + dt.timedelta(minutes=template.duration_in_min),
                address=template.address,
                status=STATUSES[index % len(STATUSES)],
            )
            rdv.created_by, created_at = _creation(rdv, index, now)
            rdv.created_at = created_at
            if rdv.created_by == Rdv.CreatedBy.AGENT:
                rdv.created_by_agent = next(iter(template.agents.all()), None)
            if rdv.status != Rdv.Status.UNKNOWN:
                rdv.status_changed_at = rdv.ends_at
            copies.append((rdv, template))
            index += 1
    if not copies:
        return
    created_at = [rdv.created_at for rdv, _template in copies]
    rdvs = bulk_create_with_history([rdv for rdv, _template in copies], Rdv, batch_size=500)
    # bulk_create stamps `created_at` (auto_now_add) with the current time: put the dates back.
    for rdv, when in zip(rdvs, created_at, strict=True):
        rdv.created_at = when
    Rdv.objects.bulk_update(rdvs, ["created_at"], batch_size=500)
    Rdv.history.model.objects.filter(id__in=[rdv.pk for rdv in rdvs]).update(
        history_date=Subquery(Rdv.objects.filter(pk=OuterRef("id")).values("created_at")[:1])
    )
    Rdv.agents.through.objects.bulk_create(
        [
            Rdv.agents.through(rdv_id=rdv.pk, agent_id=agent.pk)
            for rdv, (_copy, template) in zip(rdvs, copies, strict=True)
            for agent in template.agents.all()
        ],
        batch_size=1000,
    )
    bulk_create_with_history(
        [
            Participation(rdv_id=rdv.pk, usager_id=participation.usager_id)
            for rdv, (_copy, template) in zip(rdvs, copies, strict=True)
            for participation in template.participations.all()
        ],
        Participation,
        batch_size=1000,
    )


def _spread_usager_profiles(organisation, now: dt.datetime) -> None:
    """Usagers met over the last 30 months, a few more each month."""
    profiles = list(UsagerProfile.objects.filter(organisation=organisation).order_by("pk"))
    for index, profile in enumerate(profiles):
        share = (index * 7 % len(profiles)) / len(profiles)
        months_back = int(USAGER_MONTHS * (1 - math.sqrt(share)))
        profile.created_at = now - dt.timedelta(days=30 * months_back + index * 13 % 30, hours=index % 9)
    UsagerProfile.objects.bulk_update(profiles, ["created_at"], batch_size=500)
