"""Loading the shipped `data/communes.csv` (see `data/derive_communes.py`) into `Commune` and
`FormerCommune`.

Idempotent: rows are upserted by INSEE code (former communes by code and name), and a row is only
written when something in it changed, so loading twice writes nothing, and a newer CSV updates
names, postal codes and populations in place. Rows no longer in the file are left alone: sectors may
still name them.

It runs in the data migration `0002_load_communes` with the historical models (hence the models as
parameters), in `manage.py load_communes` and in the benchmark. Every test database runs the
migration, so it must be quick: the rows go through COPY into a temporary table, then one
INSERT … ON CONFLICT DO UPDATE per table, about a second for 35 000 communes (`bulk_create` with
`update_conflicts` took 8 seconds, most of it building a statement with 300 000 parameters).
Table and column names come from the models given, so the SQL follows the models.
"""

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from sectorisation.models import Commune, CommuneKind, FormerCommune, Zone, postal_code_prefixes
from sectorisation.names import normalise

COMMUNES_CSV = Path(__file__).resolve().parent / "data" / "communes.csv"
COMMUNE_FIELDS = [
    "insee_code",
    "name",
    "departement",
    "zone",
    "kind",
    "parent",
    "postal_codes",
    "postal_code_prefixes",
    "population",
    "search_name",
]
FORMER_FIELDS = ["insee_code", "name", "commune", "search_name"]


@dataclass(frozen=True)
class LoadedCounts:
    communes: int  # in the file
    former_communes: int
    written: int  # rows inserted or changed by this load


def read_rows(path: Path = COMMUNES_CSV) -> Iterator[dict[str, str]]:
    """The CSV's rows as dicts, its leading « # » comment (source, version, licence) skipped."""
    with path.open(encoding="utf-8", newline="") as file:
        yield from csv.DictReader(line for line in file if not line.startswith("#"))


def parse_former(value: str) -> Iterator[tuple[str, str]]:
    """(code, name) pairs of the `former` column: « 01018|01091=Châtillon-en-Michaille »."""
    for item in filter(None, value.split("|")):
        code, _, name = item.partition("=")
        yield code, name


def load_communes(
    *,
    path: Path = COMMUNES_CSV,
    commune_model: Any = Commune,
    former_model: Any = FormerCommune,
    using: str = DEFAULT_DB_ALIAS,
) -> LoadedCounts:
    """Upsert every commune and former commune of `path`. `commune_model` and `former_model` are
    the models to write through: the current ones, or a migration's historical ones."""
    communes: list[tuple] = []
    former_communes: list[tuple] = []
    for row in read_rows(path):
        code = row["insee_code"]
        postal_codes = row["postal_codes"].split()
        communes.append(
            (
                code,
                row["name"],
                row["departement"],
                row["zone"] or Zone.METRO.value,
                (CommuneKind.ARRONDISSEMENT if row["parent"] else CommuneKind.COMMUNE).value,
                row["parent"] or None,
                postal_codes,
                postal_code_prefixes(postal_codes),
                int(row["population"]) if row["population"] else None,
                normalise(row["name"]),
            )
        )
        former_communes.extend(
            (former_code, name, code, normalise(name)) for former_code, name in parse_former(row["former"])
        )
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        written = _upsert(cursor, commune_model, COMMUNE_FIELDS, ["insee_code"], communes)
        written += _upsert(cursor, former_model, FORMER_FIELDS, ["insee_code", "name"], former_communes)
    return LoadedCounts(communes=len(communes), former_communes=len(former_communes), written=written)


def _upsert(cursor, model, fields: list[str], unique_fields: list[str], rows: Sequence[tuple]) -> int:
    """INSERT `rows` (values of `fields`, in order) into `model`'s table, updating the row of the
    same `unique_fields` when one of its values differs. Returns the number of rows written."""
    quote = cursor.db.ops.quote_name
    table = quote(model._meta.db_table)
    staging = quote(f"{model._meta.db_table}_loading")
    columns = [quote(model._meta.get_field(name).column) for name in fields]
    unique = {quote(model._meta.get_field(name).column) for name in unique_fields}
    updated = [column for column in columns if column not in unique]
    listed = ", ".join(columns)
    cursor.execute(f"CREATE TEMPORARY TABLE {staging} AS SELECT {listed} FROM {table} WITH NO DATA")
    with cursor.copy(f"COPY {staging} ({listed}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {staging} "
        f"ON CONFLICT ({', '.join(sorted(unique))}) DO UPDATE "
        f"SET {', '.join(f'{column} = EXCLUDED.{column}' for column in updated)} "
        f"WHERE ({', '.join(f'{table}.{column}' for column in updated)}) "
        f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{column}' for column in updated)})"
    )
    written = cursor.rowcount
    cursor.execute(f"DROP TABLE {staging}")
    return written
