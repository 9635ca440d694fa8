"""Checking and rebuilding the summary on a live database (`python manage.py stats_summary`).

The triggers keep the summary exact (migration 0002_summary_triggers); this is how an operator
proves it, or repairs it after restoring a table by hand, without trusting the triggers: each
table is compared row by row with the direct counts (`stats_expected_*`, the SQL functions the
rebuild also uses) of the same snapshot. Outside a transaction the comparison runs in one
REPEATABLE READ transaction, so RDVs booked meanwhile never show as a difference: the summary
changes in the same transactions as the RDVs.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from organisations.models import Organisation


@dataclass(frozen=True)
class SummaryTable:
    name: str
    expected: str  # the SQL function of the direct counts for one organisation
    columns: tuple[str, ...]


TABLES = [
    SummaryTable(
        "stats_rdvmonthcount",
        "stats_expected_rdv_month",
        ("organisation_id", "agent_id", "month", "motif_id", "lieu_id", "created_by", "count"),
    ),
    SummaryTable(
        "stats_rdvstatuscount",
        "stats_expected_rdv_status",
        ("organisation_id", "agent_id", "motif_id", "lieu_id", "status", "count"),
    ),
    SummaryTable(
        "stats_rdvunknowndaycount",
        "stats_expected_rdv_unknown_day",
        ("organisation_id", "agent_id", "day", "motif_id", "lieu_id", "count"),
    ),
    SummaryTable("stats_usagermonthcount", "stats_expected_usager_month", ("organisation_id", "month", "count")),
]


@dataclass(frozen=True)
class Difference:
    table: str
    organisation_id: int
    missing: int  # direct-count rows the summary lacks or holds with another count
    unexpected: int  # summary figures no direct count gives (a wrong count, a stale figure)


def _organisation_ids(organisation_ids: list[int] | None) -> list[int]:
    if organisation_ids is not None:
        return sorted(organisation_ids)
    return list(Organisation.objects.order_by("pk").values_list("pk", flat=True))


def check(*, organisation_ids: list[int] | None = None) -> list[Difference]:
    """Every difference between the summary and the direct counts (none: the summary is exact),
    for the organisations given or all; rows of organisations that no longer exist count as
    unexpected (organisation_id as found)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        differences = []
        ids = _organisation_ids(organisation_ids)
        for table in TABLES:
            columns = ", ".join(table.columns)
            # Each figure is the sum of its stripes (stats.models): a row per figure, as the
            # direct counts give them (none for a figure of 0).
            keys = ", ".join(column for column in table.columns if column != "count")
            summed = f"""
                SELECT {keys}, sum(count)::integer FROM {table.name} WHERE organisation_id = %(org)s
                GROUP BY {keys} HAVING sum(count) <> 0
            """
            for organisation_id in ids:
                cursor.execute(
                    f"""
                        SELECT
                            (SELECT count(*) FROM (
                                SELECT {columns} FROM {table.expected}(%(org)s) EXCEPT ALL {summed}
                            ) AS missing),
                            (SELECT count(*) FROM ({summed} EXCEPT ALL
                                SELECT {columns} FROM {table.expected}(%(org)s)
                            ) AS unexpected)
                        """,
                    {"org": organisation_id},
                )
                missing, unexpected = cursor.fetchone()
                if missing or unexpected:
                    differences.append(Difference(table.name, organisation_id, missing, unexpected))
            if organisation_ids is None:
                cursor.execute(
                    f"""
                        SELECT organisation_id, count(*) FROM {table.name}
                        WHERE organisation_id NOT IN (SELECT id FROM organisations_organisation)
                        GROUP BY organisation_id ORDER BY organisation_id
                        """
                )
                differences += [Difference(table.name, org, 0, count) for org, count in cursor.fetchall()]
    return differences


def rebuild(*, organisation_ids: list[int] | None = None) -> int:
    """Recompute the summary of the organisations given, or of all (then also drop the rows of
    organisations that no longer exist): one transaction per organisation, during which RDV
    changes wait (`stats_rebuild` locks the counted tables). Returns how many it rebuilt."""
    ids = _organisation_ids(organisation_ids)
    for organisation_id in ids:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT stats_rebuild(%s)", [organisation_id])
    if organisation_ids is None:
        with transaction.atomic(), connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(
                    f"DELETE FROM {table.name} WHERE organisation_id NOT IN (SELECT id FROM organisations_organisation)"
                )
    return len(ids)
