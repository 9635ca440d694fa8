"""The emails that tell an RDV's agents what happened to it (« Mon compte »: Agent.rdv_notifications).

An usager booking or cancelling online is the main case: nobody else tells the agent its day
changed. A colleague posing, moving or cancelling one of its RDVs, or adding or removing it from
one, is the other. Each agent concerned whose choice asks for it (by whom, how soon) gets ONE
email per change, by email only, written in the caller's transaction like the usagers' messages
(invariant 5), delivered after its commit; nothing for an agent inactive or without an address.

These rows are not part of an usager's thread (`Notification.agent` set, `usager` empty): what
an agent reads does not depend on what it heard before; the row is sent as written, unless the
RDV was deleted or has started by then (claim._decide_for_agent). What an agent did waits the
same grace period as its messages to the usagers (services.grace_period): a correction within it
(« Absent excusé » then back to « Indéterminé », an RDV posed by mistake and cancelled) withdraws
the email still waiting instead of sending a second one, so nothing at all is sent.

The email names the usagers and the motif (agents may read them) but not its subject (a lock
screen), and links to the RDV's page for agents."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from agents.models import Agent
from motifs.models import Motif
from notifications.models import Notification
from notifications.queue import dispatch
from notifications.services import RdvSnapshot, grace_period, status_change_event
from organisations.models import Lieu
from rdv import words
from rendezvous.models import Rdv

Event = Notification.Event
Status = Notification.Status

SOON = dt.timedelta(hours=24)


class Change:
    """What happened to the RDV, as one agent lives it."""

    CREATED = "created"
    ADDED = "added"  # the agent was added to an RDV that existed
    UPDATED = "updated"
    REMOVED = "removed"  # the agent was taken off the RDV
    CANCELLED = "cancelled"
    RESTORED = "restored"  # back from a cancellation


# The row's event: whether the agent's RDV is on (created) or off (cancelled) for it, or changed.
EVENTS = {
    Change.CREATED: Event.CREATED,
    Change.ADDED: Event.CREATED,
    Change.RESTORED: Event.CREATED,
    Change.UPDATED: Event.UPDATED,
    Change.REMOVED: Event.CANCELLED,
    Change.CANCELLED: Event.CANCELLED,
}

SUBJECTS = {
    Change.CREATED: gettext_lazy("Nouveau RDV le %(date)s à %(time)s"),
    Change.ADDED: gettext_lazy("Nouveau RDV le %(date)s à %(time)s"),
    Change.UPDATED: gettext_lazy("RDV modifié : le %(date)s à %(time)s"),
    Change.REMOVED: gettext_lazy("RDV retiré de votre agenda : le %(date)s à %(time)s"),
    Change.CANCELLED: gettext_lazy("RDV annulé le %(date)s à %(time)s"),
    Change.RESTORED: gettext_lazy("RDV rétabli le %(date)s à %(time)s"),
}
ONLINE_SUBJECTS = {
    Change.CREATED: gettext_lazy("RDV réservé en ligne le %(date)s à %(time)s"),
    Change.CANCELLED: gettext_lazy("RDV annulé en ligne le %(date)s à %(time)s"),
}

# What happened, said by someone else (`who`: « Marie Dupont (agent) », « Inès GARRIGUE »)…
BY_AGENT = {
    Change.CREATED: gettext_lazy("%(who)s a créé ce RDV avec vous."),
    Change.ADDED: gettext_lazy("%(who)s vous a ajouté à ce RDV."),
    Change.UPDATED: gettext_lazy("%(who)s a modifié ce RDV."),
    Change.REMOVED: gettext_lazy("%(who)s vous a retiré de ce RDV."),
    Change.CANCELLED: gettext_lazy("%(who)s a annulé ce RDV (« %(status)s »)."),
    Change.RESTORED: gettext_lazy("%(who)s a rétabli ce RDV (« %(status)s »)."),
}
BY_USAGER = {
    Change.CREATED: gettext_lazy("%(who)s a réservé en ligne ce RDV avec vous."),
    Change.CANCELLED: gettext_lazy("%(who)s a annulé en ligne ce RDV."),
}
# … and by the agent itself.
BY_YOU = {
    Change.CREATED: gettext_lazy("Vous avez créé ce RDV."),
    Change.ADDED: gettext_lazy("Vous vous êtes ajouté à ce RDV."),
    Change.UPDATED: gettext_lazy("Vous avez modifié ce RDV."),
    Change.REMOVED: gettext_lazy("Vous vous êtes retiré de ce RDV."),
    Change.CANCELLED: gettext_lazy("Vous avez annulé ce RDV (« %(status)s »)."),
    Change.RESTORED: gettext_lazy("Vous avez rétabli ce RDV (« %(status)s »)."),
}


@dataclass(frozen=True)
class Told:
    """One agent to tell, and what happened to the RDV for it."""

    agent: Agent
    change: str


def notify_agents(
    rdv: Rdv,
    change: str,
    *,
    by: Agent | None,
    before: RdvSnapshot | None = None,
    agent_ids_before: Iterable[int] = (),
    now: dt.datetime | None = None,
    agents: list[Agent] | None = None,
) -> list[Notification]:
    """Writes, in the caller's transaction, the emails `change` (a `Change`) of `rdv` owes its
    agents, made by `by` (None: the usager itself, online). For Change.UPDATED, `before` and
    `agent_ids_before` say what the RDV was: a change of time, place, agents or usagers tells
    its agents (the ones added and removed too); a change of notes alone, or of a cancelled RDV,
    tells no one. Returns the rows written. `agents`: the RDV's agents when the caller has them
    (it has just written them), else they are read."""
    now = now or timezone.now()
    if rdv.starts_at <= now:
        return []
    if agents is None:
        agents = list(rdv.agents.all())
    if change == Change.UPDATED:
        if before is None:
            raise ValueError("An update is compared with the RDV as it was: pass `before`.")
        told = _told_of_update(rdv, agents, before, set(agent_ids_before))
    else:
        told = [Told(agent, change) for agent in agents]
    soon = _is_soon(rdv.starts_at, now) or (before is not None and _is_soon(before.starts_at, now))
    told = [
        entry
        for entry in told
        if entry.agent.is_active and entry.agent.email and entry.agent.wants_rdv_notification(by=by, soon=soon)
    ]
    if not told:
        return []
    leaves_at = now + grace_period() if by is not None else now
    context = _shared_context(rdv, agents, before)
    rows = []
    with transaction.atomic(savepoint=False):  # the caller's transaction, when there is one
        for entry in told:
            event = EVENTS[entry.change]
            # Change.CREATED is a new RDV's (rendezvous.services.insert_rdv): nothing waits.
            if entry.change != Change.CREATED and _withdraws_waiting(rdv, entry.agent, event, now):
                continue
            subject, body = _render(context, entry, by)
            rows.append(
                Notification(
                    organisation_id=rdv.organisation_id,
                    rdv=rdv,
                    rdv_starts_at=rdv.starts_at,
                    agent=entry.agent,
                    event=event,
                    channel=Notification.Channel.EMAIL,
                    to=entry.agent.email,
                    subject=subject,
                    body=body,
                    created_at=now,
                    next_attempt_at=leaves_at,
                )
            )
        if rows:
            Notification.objects.bulk_create(rows)
            ids = [row.pk for row in rows]
            countdown = int((leaves_at - now).total_seconds())
            transaction.on_commit(lambda: dispatch(ids, countdown=countdown), robust=True)
    return rows


def notify_agents_of_status(
    rdv: Rdv, old_status: str, *, by: Agent | None, now: dt.datetime | None = None
) -> list[Notification]:
    """A cancellation (« Absent excusé », « Annulé à l'initiative du service ») or a return from
    one; the other statuses say how the RDV went and tell the agents nothing."""
    event = status_change_event(old_status, rdv.status)  # the usagers' rule, written once
    if event is None:
        return []
    return notify_agents(rdv, Change.CANCELLED if event == Event.CANCELLED else Change.RESTORED, by=by, now=now)


def _is_soon(starts_at: dt.datetime, now: dt.datetime) -> bool:
    return now < starts_at <= now + SOON


def _told_of_update(rdv: Rdv, agents: list[Agent], before: RdvSnapshot, before_ids: set[int]) -> list[Told]:
    if rdv.is_cancelled:
        return []
    current_ids = {agent.pk for agent in agents}
    usager_ids = set(rdv.participations.values_list("usager_id", flat=True))
    if not before.moved(rdv) and usager_ids == before.usager_ids and current_ids == before_ids:
        return []
    told = [Told(agent, Change.UPDATED if agent.pk in before_ids else Change.ADDED) for agent in agents]
    removed = Agent.objects.filter(pk__in=before_ids - current_ids).order_by("pk")
    return told + [Told(agent, Change.REMOVED) for agent in removed]


def _withdraws_waiting(rdv: Rdv, agent: Agent, event: str, now: dt.datetime) -> bool:
    """A correction within the grace period: the email still waiting that this change undoes
    (its annulation for a return, its announcement for a cancellation), with those written after
    it, is dropped, and nothing new is owed. Locked, then checked again: a row a worker claimed
    meanwhile is « sending », and stays told."""
    opposite = {Event.CANCELLED: Event.CREATED, Event.CREATED: Event.CANCELLED}.get(event)
    if opposite is None:
        return False
    waiting = list(
        Notification.objects.select_for_update()
        .filter(rdv=rdv, agent=agent, status=Status.PENDING, attempts=0, next_attempt_at__gt=now)
        .order_by("pk")
        .values_list("pk", "event")
    )
    undone = [pk for pk, waiting_event in waiting if waiting_event == opposite]
    if not undone:
        return False
    dropped = [pk for pk, _event in waiting if pk >= undone[-1]]
    Notification.objects.filter(pk__in=dropped).update(
        status=Status.DROPPED, last_error=_("Annulée par une correction avant l'envoi.")
    )
    return True


def _when(starts_at: dt.datetime, organisation) -> tuple[str, str]:
    local = timezone.localtime(starts_at, organisation.tzinfo)
    return words.date_format(local, "l j F Y"), words.time_of_day(local)


def _where(rdv: Rdv, lieu) -> str:
    if rdv.motif.location_type == Motif.LocationType.PHONE:
        return _("Par téléphone")
    if rdv.motif.location_type == Motif.LocationType.HOME:
        return _("À domicile : %(address)s") % {"address": rdv.address} if rdv.address else _("À domicile")
    return f"{lieu.name}, {lieu.address}" if lieu is not None else ""


def _shared_context(rdv: Rdv, agents: list[Agent], before: RdvSnapshot | None) -> dict:
    """What every agent's email about this change says alike."""
    organisation = rdv.organisation
    date, time = _when(rdv.starts_at, organisation)
    participants = [p.usager for p in rdv.participations.select_related("usager__responsible").order_by("pk")]
    context = {
        "rdv": rdv,
        "organisation": organisation,
        "motif": rdv.motif,
        "date": date,
        "time": time,
        "where": _where(rdv, rdv.lieu),
        # « Lieu : » names a lieu only: « Par téléphone : … » and « À domicile : … » say it themselves.
        "at_lieu": rdv.motif.location_type == Motif.LocationType.PUBLIC_OFFICE,
        "usagers": ", ".join(usager.full_name for usager in participants),
        "agents": ", ".join(agent.full_name for agent in agents),
        "status": rdv.get_status_display(),
        # Who did it when no agent did: the usager who holds the account (a proche's responsible).
        "usager_author": participants[0].notification_recipient.full_name if participants else _("L'usager"),
        "url": settings.SITE_URL
        + reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk}),
        "account_url": settings.SITE_URL + reverse("agents:account"),
        "before": "",
    }
    if before is not None and before.moved(rdv):
        old_date, old_time = _when(before.starts_at, organisation)
        old_lieu = rdv.lieu if before.lieu_id == rdv.lieu_id else Lieu.objects.filter(pk=before.lieu_id).first()
        context["before"] = _("%(date)s à %(time)s, %(where)s") % {
            "date": old_date,
            "time": old_time,
            "where": _where(rdv, old_lieu) or "—",
        }
    return context


def _render(context: dict, entry: Told, by: Agent | None) -> tuple[str, str]:
    """The subject and text of the email telling `entry.agent` about the change."""
    status = context["status"]
    if by is None:
        subject = ONLINE_SUBJECTS.get(entry.change, SUBJECTS[entry.change])
        what = BY_USAGER.get(entry.change, BY_AGENT[entry.change]) % {"who": context["usager_author"], "status": status}
    elif by.pk == entry.agent.pk:
        subject, what = SUBJECTS[entry.change], BY_YOU[entry.change] % {"status": status}
    else:
        who = _("%(name)s (agent)") % {"name": by.full_name}
        subject, what = SUBJECTS[entry.change], BY_AGENT[entry.change] % {"who": who, "status": status}
    subject = str(subject) % {"date": context["date"], "time": context["time"]}
    body = render_to_string(
        "notifications/agent_email.txt", {**context, "agent": entry.agent, "what": what, "change": entry.change}
    )
    return subject[:200], body.strip()
