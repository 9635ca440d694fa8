"""The figures of « Vos statistiques », every agent's page, read from the same summary as « Vos
statistiques globales » (stats/models.py), restricted to what the agent may see.

The summary keeps, besides every RDV once (`agent` NULL), the RDVs of each agent (`agent` set):
- « Mes statistiques », the RDVs the agent takes part in, are its own rows: exact, whatever
  the history, as the organisation page's agent filter.
- « Les agendas que vous consultez » are the rows of each agent whose agenda it may open
  (agents.permissions), one line per agent. Not one total: an RDV shared by two of those agents
  is in the rows of each, and the summary cannot tell them apart; a sum would count it twice.
  Those who open every agenda (admins, secrétariat) also get the organisation's line, from
  the NULL rows, which counts every RDV once.
- « À renseigner », the badge of the side menu: the agent's own RDVs started and still
  « Indéterminé ». The days before today are the summary's; today's started RDVs are counted
  directly (a day of the agent's RDVs at most). One query.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, Sum, Value
from django.utils import timezone

from agents.permissions import Membership
from organisations.models import Organisation
from rendezvous.models import Rdv
from stats.figures import _displayed
from stats.models import RdvStatusCount, RdvUnknownDayCount


def _start_of(day: dt.date, organisation: Organisation) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=organisation.tzinfo)


def status_counts_by_agent(
    organisation: Organisation, agent_ids: Iterable[int], now: dt.datetime
) -> dict[int, dict[str, int]]:
    """The RDVs of each agent in the organisation counted by what they read at `now` (the keys
    of `status_counts`, with the total): one query, whatever the number of agents and RDVs."""
    agent_ids = list(agent_ids)
    tomorrow = timezone.localdate(now, organisation.tzinfo) + dt.timedelta(days=1)
    rows = RdvStatusCount.objects.filter(organisation=organisation, agent_id__in=agent_ids)
    by_status = rows.values("agent_id", "status").annotate(n=Sum("count")).order_by()
    later = (
        RdvUnknownDayCount.objects.filter(organisation=organisation, agent_id__in=agent_ids, day__gte=tomorrow)
        .annotate(key=Value("later"))
        .values("agent_id", "key")
        .annotate(n=Sum("count"))
        .order_by()
    )
    # `agents` is the join of the filter: only the agents asked for, each RDV once per agent.
    today = (
        Rdv.objects.filter(
            organisation=organisation,
            agents__in=agent_ids,
            status=Rdv.Status.UNKNOWN,
            starts_at__gte=now,
            starts_at__lt=_start_of(tomorrow, organisation),
        )
        .annotate(key=Value("today"))
        .values("agents", "key")
        .annotate(n=Count("pk", output_field=IntegerField()))
        .order_by()
    )
    counts = {pk: dict.fromkeys(Rdv.Status.values, 0) | {"later": 0, "today": 0} for pk in agent_ids}
    for agent_id, key, n in by_status.union(later, today, all=True).values_list("agent_id", "status", "n"):
        counts[agent_id][key] += n or 0
    return {agent_id: _displayed(values) for agent_id, values in counts.items()}


# « À renseigner »'s badge, on every agent page: written in SQL, where the ORM spent ten times
# PostgreSQL's time building the statement (2.2 ms against 0.2 on the machine at its slowest).
TO_FILL_SQL = """
SELECT
    COALESCE((
        SELECT SUM(count) FROM stats_rdvunknowndaycount
        WHERE organisation_id = %(organisation)s AND agent_id = %(agent)s AND day < %(today)s
    ), 0)
    + (
        SELECT COUNT(*) FROM rendezvous_rdv rdv
        JOIN rendezvous_rdv_agents link ON link.rdv_id = rdv.id
        WHERE rdv.organisation_id = %(organisation)s AND link.agent_id = %(agent)s
            AND rdv.status = %(unknown)s AND rdv.starts_at >= %(today_start)s AND rdv.starts_at < %(now)s
    )
"""


def to_fill_count(membership: Membership, now: dt.datetime) -> int:
    """How many of the agent's own RDVs in the organisation are « À renseigner » at `now`: the
    list `?statut=a_renseigner&agent=<itself>` of « Tous les RDVs ». One query: the summary's
    rows of the days before today (an index range: organisation, agent, day) and today's RDVs
    already started."""
    organisation = membership.organisation
    today = timezone.localdate(now, organisation.tzinfo)
    params: dict[str, Any] = {
        "organisation": organisation.pk,
        "agent": membership.agent.pk,
        "today": today,
        "unknown": str(Rdv.Status.UNKNOWN),
        "today_start": _start_of(today, organisation),
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(TO_FILL_SQL, params)
        return int(cursor.fetchone()[0])
