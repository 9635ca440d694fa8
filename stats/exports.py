"""Exports of « Vos statistiques globales »: each table as CSV or XLSX, and the RDVs of a period.

CSV files are what French spreadsheets open without a question: UTF-8 with a BOM, « ; » between
fields. XLSX files are written by openpyxl in write-only mode (rows streamed, never a whole sheet
in memory). The RDVs are read in one streamed query (agents' ids in an array, their names from
one dictionary), so an export of 100 000 RDVs takes seconds: it runs in a Celery task
(stats.tasks) that records its progress every few thousand rows.
"""

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook  # type: ignore[import-untyped]

from motifs.models import Motif
from organisations.models import Organisation
from rendezvous.models import Rdv, displayed_statuses
from stats.figures import Filters, rdvs_for
from stats.periods import Period

PROGRESS_EVERY = 5000
CHUNK = 2000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_rows(block) -> list[list[Any]]:
    """A chart's table (stats.views.ChartBlock) as rows: the header, one row per series, the
    totals; the same words as the page's table."""
    header = [str(block.dimension), *(bucket.long for bucket in block.figures.buckets), _("Total")]
    rows = [header]
    for series in block.figures.series:
        rows.append([str(series.label), *series.values, series.total])
    if len(block.figures.series) > 1:
        rows.append([_("Total"), *block.figures.bucket_totals, block.figures.total])
    return rows


def write_csv(out: IO[bytes], rows: Iterable[list[Any]]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, delimiter=";")
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    text.flush()
    text.detach()
    return count


def write_xlsx(out: IO[bytes], rows: Iterable[list[Any]], *, title: str) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    count = 0
    for row in rows:
        sheet.append(row)
        count += 1
    workbook.save(out)
    return count


def rdv_header(*, with_usagers: bool) -> list[str]:
    header = [
        _("Date"),
        _("Heure"),
        _("Lieu"),
        _("Motif"),
        _("Service"),
        _("Type"),
        _("Agents"),
        _("Statut"),
        _("Créé par"),
        _("Créé le"),
    ]
    return [*header, _("Usagers")] if with_usagers else header


def rdv_rows(
    *, organisation: Organisation, period: Period, filters: Filters, with_usagers: bool, now: dt.datetime
) -> tuple[int, Iterator[list[Any]]]:
    """How many RDVs take place in the period (by their start, in the organisation's time zone),
    and their rows, streamed, in order of start."""
    start, end = period.bounds(organisation.tzinfo)
    rdvs = rdvs_for(organisation, filters).filter(starts_at__gte=start, starts_at__lt=end)
    total = rdvs.count()
    # Dates formatted and names joined by PostgreSQL: the rows reach Python as ready strings,
    # without a datetime or a list to build per RDV (an export of 100 000 RDVs takes seconds).
    tz = organisation.tz_name
    columns: dict[str, Any] = {
        "day": RawSQL("to_char(rendezvous_rdv.starts_at AT TIME ZONE %s, 'DD/MM/YYYY')", [tz]),
        "time": RawSQL("to_char(rendezvous_rdv.starts_at AT TIME ZONE %s, 'HH24:MI')", [tz]),
        "started": RawSQL("rendezvous_rdv.starts_at < %s", [now]),
        "created": RawSQL("to_char(rendezvous_rdv.created_at AT TIME ZONE %s, 'DD/MM/YYYY')", [tz]),
        "agent_names": RawSQL(AGENT_NAMES, []),
    }
    if with_usagers:
        columns["usager_names"] = RawSQL(USAGER_NAMES, [])
    values = (
        rdvs.order_by("starts_at", "pk")
        .annotate(**columns)
        .values_list(
            "day",
            "time",
            "lieu__name",
            "motif__name",
            "motif__service__name",
            "motif__location_type",
            "status",
            "started",
            "created_by",
            "created",
            "agent_names",
            *(["usager_names"] if with_usagers else []),
        )
    )
    return total, _rows(values, with_usagers)


AGENT_NAMES = """(
    SELECT string_agg(btrim(agent.first_name || ' ' || agent.last_name), ', '
                      ORDER BY agent.last_name, agent.first_name, agent.id)
    FROM rendezvous_rdv_agents AS link JOIN agents_agent AS agent ON agent.id = link.agent_id
    WHERE link.rdv_id = rendezvous_rdv.id
)"""
USAGER_NAMES = """(
    SELECT string_agg(btrim(usager.first_name || ' ' || usager.last_name), ', '
                      ORDER BY usager.last_name, usager.first_name, usager.id)
    FROM rendezvous_participation AS participation
    JOIN usagers_usager AS usager ON usager.id = participation.usager_id
    WHERE participation.rdv_id = rendezvous_rdv.id
)"""


def _rows(values, with_usagers: bool) -> Iterator[list[Any]]:
    types = {key: str(label) for key, label in Motif.LocationType.choices}
    statuses = displayed_statuses()
    creators = {key: str(label) for key, label in Rdv.CreatedBy.choices}
    to_come, to_fill = _("À venir"), _("À renseigner")
    unknown = Rdv.Status.UNKNOWN.value
    for row in values.iterator(chunk_size=CHUNK):
        day, time, lieu, motif, service, location_type, status, started, created_by, created, agents, *usagers = row
        kind = types[location_type]
        line = [
            day,
            time,
            lieu or kind,
            motif,
            service,
            kind,
            agents or "",
            (to_fill if started else to_come) if status == unknown else statuses[status],
            creators[created_by],
            created,
        ]
        if with_usagers:
            line.append(usagers[0] or "")
        yield line


def write_rdvs(
    out: IO[bytes],
    *,
    organisation: Organisation,
    period: Period,
    filters: Filters,
    with_usagers: bool,
    format: str,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Writes the period's RDVs to `out` as CSV or XLSX; calls `progress(done, total)` at the
    start, every few thousand rows and at the end. Returns how many RDVs it wrote."""
    total, rows = rdv_rows(
        organisation=organisation, period=period, filters=filters, with_usagers=with_usagers, now=now or timezone.now()
    )
    report = progress or (lambda done, total: None)
    report(0, total)

    def counted() -> Iterator[list[Any]]:
        yield rdv_header(with_usagers=with_usagers)
        for done, row in enumerate(rows, 1):
            yield row
            if done % PROGRESS_EVERY == 0:
                report(done, total)

    written = write_xlsx(out, counted(), title=_("RDV")) - 1 if format == "xlsx" else write_csv(out, counted()) - 1
    report(written, total)
    return written
