"""What several apps ask of PostgreSQL beyond the ORM."""

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


def commit_without_waiting_for_the_disk() -> None:
    """Within the current transaction: its COMMIT returns before PostgreSQL has flushed it to the
    disk (`synchronous_commit = off` for this transaction only); the WAL writer flushes it a
    fraction of a second later. A crash of the database server in between loses that
    transaction whole, never half of it, and never corrupts anything; other sessions see it at
    once. Only for bookkeeping that the next run redoes when it is lost: on a disk that flushes in
    3 ms, a worker recording each message of a large batch spends more time waiting for the disk
    than working (bench_notifications)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def model_from_row(model: type[M], values: Sequence[Any]) -> M:
    """An instance of `model` from `values`, its concrete fields' columns in their order, as a
    raw query read them: each value converted as the ORM's compiler converts it (JSON decoded,
    phone numbers parsed…). For a hot read written in SQL whose rows are still models."""
    names, plan = _conversions(model)
    converted = list(values)
    if len(converted) != len(names):
        raise ValueError(f"{len(names)} columns expected for {model.__name__}, {len(converted)} read")
    for position, column, converters in plan:
        value = converted[position]
        for converter in converters:
            value = converter(value, column, connection)
        converted[position] = value
    return model.from_db(connection.alias, names, converted)


def models_from_row(
    models_in_order: Sequence[type[models.Model]], row: Sequence[Any]
) -> tuple[list[models.Model | None], Sequence[Any]]:
    """The instances of `models_in_order` whose columns (each as `columns` lists them) follow each
    other at the start of `row`, and the values after them; None for a model that a LEFT JOIN did
    not find (its primary key NULL). For a read that joins several models in one row, as
    select_related does."""
    instances: list[models.Model | None] = []
    start = 0
    for model in models_in_order:
        names, _plan = _conversions(model)
        values = row[start : start + len(names)]
        start += len(names)
        found = values[names.index(model._meta.pk.attname)] is not None
        instances.append(model_from_row(model, values) if found else None)
    return instances, row[start:]


@functools.cache
def _conversions(model: type[models.Model]) -> tuple[list[str], list[tuple[int, Any, list]]]:
    """`model`'s concrete fields' attnames, and the converters of those that have any, as the
    compiler finds them (PostgreSQL's backend adds none: they are the fields' own `from_db_value`),
    found once per model rather than for every row (a worker reads its batches' rows by the
    thousand)."""
    plan = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            plan.append((position, column, converters))
    return [field.attname for field in model._meta.concrete_fields], plan


def partial_model(model: type[M], columns: Sequence[str], values: Sequence[Any]) -> M:
    """An instance of `model` with only `columns` (attnames) loaded, the others deferred as
    `only()` leaves them. Unlike `model_from_row`, no converter runs: for columns that need none
    (ids, texts, numbers, timestamps), on rows read by the hundred (an agenda's RDVs)."""
    loaded = dict(zip(columns, values, strict=True))
    names = [field.attname for field in model._meta.concrete_fields if field.attname in loaded]
    return model.from_db(connection.alias, names, [loaded[name] for name in names])


def columns(model: type[models.Model], alias: str) -> str:
    """`model`'s concrete columns, qualified by `alias`, in the order `model_from_row` reads them."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)
