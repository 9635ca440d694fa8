"""« Afficher l'historique des actions »: every creation, change and status change of an RDV, by
whom and when, with the values before and after. Consecutive HistoricalRdv rows are compared with
`diff_against`; the agents (a many-to-many field) are compared from the prefetched rows. A bounded
number of queries whatever the length of the history."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.models import Agent
from motifs.models import Motif
from organisations.models import Lieu
from rdv.history import Change, HistoryEntry
from rendezvous.models import BY_USAGER, Rdv

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
}


def _display(name: str, value, names: dict, tz) -> str:
    if value in (None, ""):
        return "—"
    if name == "starts_at":
        return f"{timezone.localtime(value, tz):%d/%m/%Y %H:%M}"
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
            entries.append(HistoryEntry(record.history_date, _author(record, rdv), _("Création"), changes))
        else:
            delta = record.diff_against(previous, included_fields=FIELDS)
            changes = [
                Change(str(LABELS[c.field]), _display(c.field, c.old, names, tz), _display(c.field, c.new, names, tz))
                for c in delta.changes
            ]
            old_agents, new_agents = agents_text(previous), agents_text(record)
            if old_agents != new_agents:
                if old_agents == "—" and len(entries) == 1 and not changes:
                    # The agents are set just after the creation: part of it.
                    entries[0].changes.append(Change(str(LABELS["agents"]), "", new_agents))
                else:
                    changes.append(Change(str(LABELS["agents"]), old_agents, new_agents))
            if changes:
                status_only = [c.label for c in changes] == [str(LABELS["status"])]
                action = _("Changement de statut") if status_only else _("Modification")
                entries.append(HistoryEntry(record.history_date, _author(record, rdv), action, changes))
        previous = record
    return entries
