"""The fiche's « Historique des modifications »: every change of the usager's identity and of its
profile in the current organisation (notes, référents, removal), recorded by django-simple-history,
read in three queries whatever its length, and described field by field.

Views of a fiche are not recorded; changes are. The profiles of other organisations stay out:
their notes and référents are theirs.
"""

from datetime import date, datetime, timedelta
from typing import cast

from django.apps import apps
from django.db.models import Field, Model
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rdv.history import Change, HistoryEntry
from usagers.models import EDITABLE_FIELDS, Usager, UsagerProfile

USAGER_FIELDS = EDITABLE_FIELDS
PROFILE_FIELDS = ["notes", "deleted_at"]
SAME_SUBMISSION = timedelta(seconds=5)


def _field(model: type[Model], name: str) -> Field:
    return cast(Field, model._meta.get_field(name))


def _display(model: type[Model], name: str, value) -> str:
    if value in (None, ""):
        return "—"
    model_field = _field(model, name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Oui") if value else _("Non")
    if isinstance(value, datetime):
        return date_format(value, "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    if name == "phone":
        return getattr(value, "as_national", str(value))
    return str(value)


def _label(model: type[Model], name: str) -> str:
    return str(_field(model, name).verbose_name).capitalize()


def _author(record) -> str:
    user = record.history_user
    return user.full_name if user is not None else ""


def _entries(records, model, names, snapshots=None) -> list[HistoryEntry]:
    """Records oldest first; each compared with the one before it."""
    entries = []
    previous = None
    for record in records:
        if previous is None:
            action = _("Création de la fiche") if model is Usager else _("Ajout à l'organisation")
            changes: list[Change] = []
        else:
            action = _("Modification")
            changes = [
                Change(_label(model, name), _display(model, name, old), _display(model, name, new))
                for name in names
                if (old := getattr(previous, _attname(model, name))) != (new := getattr(record, _attname(model, name)))
            ]
            if snapshots is not None and snapshots.get(previous.history_id) != snapshots.get(record.history_id):
                changes.append(
                    Change(
                        _("Agent(s) référent(s)"),
                        ", ".join(sorted(snapshots.get(previous.history_id, []))) or "—",
                        ", ".join(sorted(snapshots.get(record.history_id, []))) or "—",
                    )
                )
            if not changes:
                previous = record
                continue
        entries.append(HistoryEntry(record.history_date, _author(record), action, changes))
        previous = record
    return entries


def _attname(model, name: str) -> str:
    return _field(model, name).attname


def _merge_saves_of_one_submission(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """One form submitted writes up to three records (identity, profile, référents) within the same
    second: shown as one line, whose action is the most significant one."""
    merged: list[HistoryEntry] = []
    for entry in sorted(entries, key=lambda e: e.date):
        last = merged[-1] if merged else None
        if last and last.author == entry.author and (entry.date - last.date) <= SAME_SUBMISSION:
            last.changes.extend(entry.changes)
            if last.action == _("Modification"):
                last.action = entry.action
        else:
            merged.append(HistoryEntry(entry.date, entry.author, entry.action, list(entry.changes)))
    return merged


def usager_history(usager: Usager, profile: UsagerProfile, limit: int | None = None) -> list[HistoryEntry]:
    """The changes of the usager and of its profile, newest first (`limit` of them if given)."""
    usager_records = list(usager.history.select_related("history_user").order_by("history_date", "history_id"))
    profile_records = list(profile.history.select_related("history_user").order_by("history_date", "history_id"))
    HistoricalReferents = apps.get_model("usagers", "HistoricalUsagerProfile_referents")
    snapshots: dict[int, set[str]] = {}
    for row in HistoricalReferents.objects.filter(history__in=[r.history_id for r in profile_records]).select_related(
        "agent"
    ):
        snapshots.setdefault(row.history_id, set()).add(row.agent.full_name)
    entries = _entries(usager_records, Usager, USAGER_FIELDS) + _entries(
        profile_records, UsagerProfile, PROFILE_FIELDS, snapshots
    )
    entries = _merge_saves_of_one_submission(entries)
    entries.reverse()
    return entries[:limit] if limit else entries
