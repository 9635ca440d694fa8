"""« Afficher l'historique des actions »: every creation, change and status change of an RDV, by
whom and when, with the values before and after. Consecutive HistoricalRdv rows are compared with
`diff_against`; the agents (a many-to-many field) are compared from the prefetched rows; the
usagers, whose participations keep their own history, are read from it: each participation added
or removed belongs to the RDV's record written just before it (the creation writes the RDV and
its agents in one record, then its participations; « modifier » the same), so that the creation
names the usagers it was posed for and a modification the usagers it added or removed. An RDV
created before December 2026 has a record without agents, then one for them: both are its
creation. A bounded number of queries whatever the length of the history."""

import bisect

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.models import Agent
from motifs.models import Motif
from organisations.models import Lieu
from rdv import words
from rdv.history import Change, HistoryEntry
from rendezvous.models import BY_USAGER, Participation, Rdv
from usagers.models import Usager

FIELDS = ["starts_at", "duration_in_min", "lieu", "motif", "notes", "address", "status"]
LABELS = {
    "starts_at": gettext_lazy("Date et heure"),
    "duration_in_min": gettext_lazy("Durée"),
    "lieu": gettext_lazy("Lieu"),
    "motif": gettext_lazy("Motif"),
    "notes": gettext_lazy("Notes"),
    "address": gettext_lazy("Adresse"),
    "status": gettext_lazy("Statut"),
    "agents": gettext_lazy("Agents"),
    "usagers": gettext_lazy("Usagers"),
}


def _display(name: str, value, names: dict, tz) -> str:
    if value in (None, ""):
        return "—"
    if name == "starts_at":
        return words.short_date_time(timezone.localtime(value, tz))
    if name == "duration_in_min":
        return _("%(n)s min") % {"n": value}
    if name == "status":
        return str(Rdv.Status(value).label)
    if name in ("lieu", "motif"):
        return names[name].get(value, "—")
    return str(value)


def _author(record, rdv: Rdv) -> str:
    if record.history_user_id:
        return record.history_user.full_name if record.history_user else _("un agent supprimé")
    if record.history_change_reason == BY_USAGER or (
        record.history_type == "+" and rdv.created_by == Rdv.CreatedBy.USAGER
    ):
        return _("l'usager")
    return _("inconnu")


def rdv_history(rdv: Rdv) -> list[HistoryEntry]:
    """The actions on `rdv`, oldest first."""
    tz = rdv.organisation.tzinfo
    records = list(rdv.history.select_related("history_user").order_by("history_id"))
    through = Rdv.history.model._meta.get_field("historicalrdv_agents").related_model
    agents_of: dict[int, list[int]] = {}
    for history_id, agent_id in through.objects.filter(history__in=[r.history_id for r in records]).values_list(
        "history_id", "agent_id"
    ):
        agents_of.setdefault(history_id, []).append(agent_id)
    lieu_ids = {r.lieu_id for r in records if r.lieu_id}
    motif_ids = {r.motif_id for r in records}
    agent_ids = {agent_id for ids in agents_of.values() for agent_id in ids}
    names = {
        "lieu": dict(Lieu.objects.filter(pk__in=lieu_ids).values_list("pk", "name")),
        "motif": dict(Motif.objects.filter(pk__in=motif_ids).values_list("pk", "name")),
    }
    agent_names = {a.pk: a.full_name for a in Agent.objects.filter(pk__in=agent_ids)}

    def agents_text(record) -> str:
        names_ = sorted(agent_names.get(agent_id, "?") for agent_id in agents_of.get(record.history_id, []))
        return ", ".join(names_) or "—"

    usagers_after = _usagers_after(records)
    usager_names = {u.pk: u.full_name for u in Usager.objects.filter(pk__in=set().union(*usagers_after.values()))}

    def usagers_text(record) -> str:
        names_ = sorted(usager_names.get(usager_id, "?") for usager_id in usagers_after.get(record.history_id, ()))
        return ", ".join(names_) or "—"

    def value(record, name):
        return getattr(record, f"{name}_id" if name in ("lieu", "motif") else name)

    entries = []
    previous = None
    for record in records:
        if previous is None:
            changes = [
                Change(str(LABELS[name]), "", _display(name, value(record, name), names, tz))
                for name in FIELDS
                if value(record, name) not in (None, "")
            ]
            agents = agents_text(record)
            if agents != "—":  # written with its agents (rdv.historical.record)
                changes.append(Change(str(LABELS["agents"]), "", agents))
            if usagers_text(record) != "—":
                changes.append(Change(str(LABELS["usagers"]), "", usagers_text(record)))
            entries.append(HistoryEntry(record.history_date, _author(record, rdv), _("Création"), changes))
        else:
            delta = record.diff_against(previous, included_fields=FIELDS)
            changes = [
                Change(str(LABELS[c.field]), _display(c.field, c.old, names, tz), _display(c.field, c.new, names, tz))
                for c in delta.changes
            ]
            old_agents, new_agents = agents_text(previous), agents_text(record)
            old_usagers, new_usagers = usagers_text(previous), usagers_text(record)
            if old_agents == "—" and len(entries) == 1 and not changes and new_agents != "—":
                # The agents, then the usagers, are set just after the creation: part of it.
                entries[0].changes.append(Change(str(LABELS["agents"]), "", new_agents))
                if old_usagers != new_usagers:
                    entries[0].changes = [c for c in entries[0].changes if c.label != str(LABELS["usagers"])]
                    entries[0].changes.append(Change(str(LABELS["usagers"]), "", new_usagers))
            else:
                if old_agents != new_agents:
                    changes.append(Change(str(LABELS["agents"]), old_agents, new_agents))
                if old_usagers != new_usagers:
                    changes.append(Change(str(LABELS["usagers"]), old_usagers, new_usagers))
            if changes:
                status_only = [c.label for c in changes] == [str(LABELS["status"])]
                action = _("Changement de statut") if status_only else _("Modification")
                entries.append(HistoryEntry(record.history_date, _author(record, rdv), action, changes))
        previous = record
    return entries


def _usagers_after(records: list) -> dict[int, frozenset[int]]:
    """The usagers of the RDV after each of its history `records` (by `history_id`): its
    participations' additions and removals, each counted with the RDV's last record written
    before it (none before the first: counted with it). One query."""
    if not records:
        return {}
    rows = (
        Participation.history.filter(rdv_id=records[0].id)
        .order_by("history_date", "history_id")
        .values_list("history_date", "history_type", "usager_id")
    )
    dates = [record.history_date for record in records]
    by_record: dict[int, list[tuple[str, int]]] = {}
    for history_date, history_type, usager_id in rows:
        index = max(bisect.bisect_right(dates, history_date) - 1, 0)
        by_record.setdefault(index, []).append((history_type, usager_id))
    current: set[int] = set()
    after = {}
    for index, record in enumerate(records):
        for history_type, usager_id in by_record.get(index, []):
            if history_type == "+":
                current.add(usager_id)
            elif history_type == "-":
                current.discard(usager_id)
        after[record.history_id] = frozenset(current)
    return after
