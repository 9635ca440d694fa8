"""django-simple-history's `HistoricalRecords`, used by every model with a history, without two
costs it pays on each record written (measured on an usager's booking, where they were a third of
its CPU, the agent's lock held meanwhile):

- its `history` descriptor built a new manager class (`Manager.from_queryset`, which inspects
  every method of the queryset) on each access, and it accesses it for each record written: the
  class is built once per model here;
- the many-to-many rows of a record (an RDV's agents, a profile's référents) were read through
  the record's `instance`, an object rebuilt from the record, which reads the model's excluded
  fields from the database (an RDV's booking token: one query per record); then through a join
  that loaded both related objects. They are read here by their ids, one query, the same rows
  written.

`record(instance, history_type)` writes one record when the caller chose when: an RDV is created
with its agents in one « + » record (`rendezvous.services.insert_rdv`) instead of a « + » without
them, then a « ~ » for them."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import models
from simple_history import models as simple_history
from simple_history.manager import HistoryDescriptor
from simple_history.signals import post_create_historical_m2m_records, pre_create_historical_m2m_records


class KeptHistoryDescriptor(HistoryDescriptor):
    """The model's history manager, its class built on first use and kept."""

    def __get__(self, instance, owner):
        manager_class = self.__dict__.get("_manager_class")
        if manager_class is None:
            manager_class = self.__dict__["_manager_class"] = self.manager_class.from_queryset(self.queryset_class)
        return manager_class(self.model, instance)


class HistoricalRecords(simple_history.HistoricalRecords):
    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                KeptHistoryDescriptor(descriptor.model, descriptor.manager_class, descriptor.queryset_class),
            )
            sender._meta.history_records = self

    def post_save(self, instance, created, using=None, **kwargs):
        # Just inserted, it has no many-to-many rows yet (they need its id): none to read.
        with _known_m2m_rows(instance, NONE_YET if created else None):
            super().post_save(instance, created, using=using, **kwargs)

    def create_historical_record_m2ms(self, history_instance, instance):
        known = instance.__dict__.get(KNOWN_M2M_ROWS)
        for field in history_instance._history_m2m_fields:
            m2m_history_model = self.m2m_models[field]
            through_model = field.remote_field.through
            attnames = [f.attname for f in through_model._meta.fields]
            if known is NONE_YET:
                rows: Iterable[dict[str, Any]] = []
            elif known is not None and field.name in known:
                rows = [{name: getattr(row, name) for name in attnames} for row in known[field.name]]
            else:
                rows = through_model.objects.filter(**{field.m2m_field_name(): instance.pk}).values(*attnames)
            insert_rows = [m2m_history_model(history=history_instance, **row) for row in rows]
            sent = {
                "sender": m2m_history_model,
                "history_instance": history_instance,
                "instance": instance,
                "field": field,
            }
            pre_create_historical_m2m_records.send(rows=insert_rows, **sent)
            created_rows = m2m_history_model.objects.bulk_create(insert_rows)
            post_create_historical_m2m_records.send(created_rows=created_rows, **sent)


def record(
    instance: models.Model,
    history_type: str,
    m2m_rows: Mapping[str, Sequence[models.Model]] | None = None,
    **kwargs: Any,
) -> None:
    """One history record of `instance` (« + », « ~ » or « - »), with its many-to-many rows as
    stored now: for a caller that saved it with `skip_history_when_saving`. `m2m_rows`: those
    rows (the through model's instances, by field name), when the caller has just written them
    all; else they are read. Nothing when the history is off (`SIMPLE_HISTORY_ENABLED`), as for
    simple_history's own records."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    with _known_m2m_rows(instance, m2m_rows):
        instance._meta.history_records.create_historical_record(instance, history_type, **kwargs)  # type: ignore[attr-defined]


# The many-to-many rows of the record being written, when known without reading them: the
# through model's instances by field name (`record`), or NONE_YET for an instance just inserted.
KNOWN_M2M_ROWS = "_history_known_m2m_rows"
NONE_YET: Mapping[str, Sequence[models.Model]] = {}


@contextmanager
def _known_m2m_rows(instance: models.Model, rows: Mapping[str, Sequence[models.Model]] | None) -> Iterator[None]:
    """`rows` for the records written meanwhile, then what was there before (a save within a
    history record's signals finds its own)."""
    before = instance.__dict__
    had, previous = KNOWN_M2M_ROWS in before, before.get(KNOWN_M2M_ROWS)
    before[KNOWN_M2M_ROWS] = rows
    try:
        yield
    finally:
        if had:
            before[KNOWN_M2M_ROWS] = previous
        else:
            del before[KNOWN_M2M_ROWS]
