"""What a worker reads to claim and record a batch of outbox rows (notifications.claim,
notifications.delivery), in fixed SQL: the rows it locks with their RDV and usager, those RDVs'
participations, the other messages of those RDVs, what each address was sent in the day, and the
messages held back behind the rows sent.

A worker sending one message (a confirmation, as soon as its RDV is booked) spent about 13 ms of
CPU on it, two thirds in `claim`, and most of that in the ORM building these five statements
(the rows' seven joins alone, 3 ms), not in PostgreSQL answering them. Each function returns
what the ORM query named in its docstring returned; tests/notifications/test_claim_reads.py
compares them on the same rows."""

import datetime as dt
from collections.abc import Collection, Iterable
from typing import Any

from django.db import connection, models
from django.db.transaction import TransactionManagementError

from motifs.models import Motif
from notifications.models import Notification
from organisations.models import Lieu, Organisation, Service, Territory
from rdv.db import columns, models_from_row
from rendezvous.models import Participation, Rdv
from usagers.models import Usager

Status = Notification.Status

NOTIFICATIONS = Notification._meta.db_table
TO = connection.ops.quote_name("to")  # a reserved word

# The rows to claim, each with the models its checks and texts read, in this order.
ROW_MODELS: tuple[type[models.Model], ...] = (Notification, Rdv, Motif, Service, Organisation, Territory, Lieu, Usager)
ROWS_SQL = f"""
SELECT {", ".join(columns(model, str(model._meta.model_name)) for model in ROW_MODELS)}
FROM {NOTIFICATIONS} AS notification
LEFT JOIN {Rdv._meta.db_table} AS rdv ON rdv.id = notification.rdv_id
LEFT JOIN {Motif._meta.db_table} AS motif ON motif.id = rdv.motif_id
LEFT JOIN {Service._meta.db_table} AS service ON service.id = motif.service_id
LEFT JOIN {Organisation._meta.db_table} AS organisation ON organisation.id = rdv.organisation_id
LEFT JOIN {Territory._meta.db_table} AS territory ON territory.id = organisation.territory_id
LEFT JOIN {Lieu._meta.db_table} AS lieu ON lieu.id = rdv.lieu_id
LEFT JOIN {Usager._meta.db_table} AS usager ON usager.id = notification.usager_id
WHERE notification.id = ANY(%(ids)s) AND notification.status = ANY(%(due)s)
    AND notification.next_attempt_at <= %(now)s
ORDER BY notification.id
FOR UPDATE OF notification SKIP LOCKED
"""

# An RDV's participations, each with its usager and that usager's responsible (a proche's).
PARTICIPATIONS_SQL = f"""
SELECT {columns(Participation, "participation")}, {columns(Usager, "usager")}, {columns(Usager, "responsible")}
FROM {Participation._meta.db_table} AS participation
JOIN {Usager._meta.db_table} AS usager ON usager.id = participation.usager_id
LEFT JOIN {Usager._meta.db_table} AS responsible ON responsible.id = usager.responsible_id
WHERE participation.rdv_id = ANY(%s)
ORDER BY participation.id
"""

KNOWN_FIELDS = (
    "id",
    "rdv_id",
    "usager_id",
    "agent_id",
    "channel",
    "event",
    "status",
    "next_attempt_at",
    "rdv_starts_at",
)
KNOWN_SQL = f"""
SELECT {", ".join(KNOWN_FIELDS)} FROM {NOTIFICATIONS}
WHERE rdv_id = ANY(%(rdvs)s) AND NOT status = ANY(%(over)s)
ORDER BY id
"""

SENT_TODAY_SQL = f"""
SELECT {TO}, count(*) FROM {NOTIFICATIONS}
WHERE {TO} = ANY(%(addresses)s) AND agent_id IS NULL AND NOT event = ANY(%(not_about_an_rdv)s)
    AND NOT id = ANY(%(batch)s)
    AND (status = %(sending)s OR (status = %(sent)s AND sent_at > %(since)s))
GROUP BY {TO}
"""

FOLLOWERS_SQL = f"""
SELECT id, rdv_id, usager_id, channel FROM {NOTIFICATIONS}
WHERE rdv_id = ANY(%(rdvs)s) AND agent_id IS NULL AND status = %(pending)s AND attempts = 0
"""


def _rows(sql: str, parameters: Any) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def _cache(instance: models.Model, name: str, related: models.Model | None) -> None:
    """`instance.<name>` is `related` without a query, as select_related leaves it."""
    instance._meta.get_field(name).set_cached_value(instance, related)  # type: ignore[union-attr]


def lock_due(ids: Collection[int], now: dt.datetime) -> list[Notification]:
    """The rows among `ids` due at `now` that no other transaction holds, locked, oldest first:
    `Notification.objects.select_for_update(skip_locked=True, of=("self",))
    .select_related("rdv__motif__service", "rdv__organisation__territory", "rdv__lieu", "usager")
    .filter(pk__in=ids).due(now).order_by("pk")`. Inside the caller's transaction, which keeps the
    locks: outside one, they would be released at once (the ORM refuses it, so does this)."""
    if connection.get_autocommit():
        raise TransactionManagementError("lock_due locks rows: call it inside a transaction.")
    found = []
    for row in _rows(ROWS_SQL, {"ids": list(ids), "due": list(Notification.IN_PROGRESS), "now": now}):
        (notification, rdv, motif, service, organisation, territory, lieu, usager), _ = models_from_row(ROW_MODELS, row)
        assert isinstance(notification, Notification)
        if isinstance(rdv, Rdv):
            _cache(motif, "service", service)  # type: ignore[arg-type]
            _cache(organisation, "territory", territory)  # type: ignore[arg-type]
            for name, related in (("motif", motif), ("organisation", organisation), ("lieu", lieu)):
                _cache(rdv, name, related)
        _cache(notification, "rdv", rdv)
        _cache(notification, "usager", usager)
        found.append(notification)
    return found


def prefetch_participations(rdvs: Iterable[Rdv | None]) -> None:
    """Each RDV's participations, by id, with their usagers and those usagers' responsibles, in
    its prefetch cache: as `prefetch_related_objects(rdvs, Prefetch("participations",
    queryset=Participation.objects.select_related("usager__responsible").order_by("pk")))`, for
    one object per RDV (a batch's: `notifications.claim.Batch`)."""
    by_id = {rdv.pk: rdv for rdv in rdvs if rdv is not None}
    if not by_id:
        return
    found: dict[int, list[Participation]] = {pk: [] for pk in by_id}
    for row in _rows(PARTICIPATIONS_SQL, [list(by_id)]):
        (participation, usager, responsible), _ = models_from_row((Participation, Usager, Usager), row)
        assert isinstance(participation, Participation)
        _cache(usager, "responsible", responsible)  # type: ignore[arg-type]
        _cache(participation, "usager", usager)
        _cache(participation, "rdv", by_id[participation.rdv_id])
        found[participation.rdv_id].append(participation)
    for pk, rdv in by_id.items():
        # The prefetch's own queryset: ordered, its clones with the same relations.
        queryset = rdv.participations.select_related("usager__responsible").order_by("pk")
        queryset._result_cache, queryset._prefetch_done = found[pk], True  # type: ignore[attr-defined]
        rdv.__dict__.setdefault("_prefetched_objects_cache", {})["participations"] = queryset


def known_about(rdv_ids: Collection[int]) -> list[tuple]:
    """The messages about those RDVs, neither dropped nor failed, oldest first: the values of
    KNOWN_FIELDS, as `Notification.objects.filter(rdv_id__in=rdv_ids).exclude(status__in=[DROPPED,
    FAILED]).order_by("pk").values_list(*KNOWN_FIELDS)`."""
    if not rdv_ids:
        return []
    return _rows(KNOWN_SQL, {"rdvs": list(rdv_ids), "over": [Status.DROPPED, Status.FAILED]})


def sent_today(addresses: Collection[str], batch: Collection[int], since: dt.datetime) -> dict[str, int]:
    """How many messages about an RDV each address was sent since `since`, or is being sent,
    outside the rows `batch`: as `Notification.objects.filter(to__in=addresses, agent__isnull=True)
    .exclude(event__in=NOT_ABOUT_AN_RDV).exclude(pk__in=batch).filter(Q(status=SENDING) |
    Q(status=SENT, sent_at__gt=since)).values_list("to").annotate(count=Count("pk")).order_by()`."""
    parameters = {
        "addresses": list(addresses),
        "not_about_an_rdv": list(Notification.NOT_ABOUT_AN_RDV),
        "batch": list(batch),
        "sending": Status.SENDING,
        "sent": Status.SENT,
        "since": since,
    }
    return dict(_rows(SENT_TODAY_SQL, parameters))


def pending_first_tries(rdv_ids: Collection[int | None]) -> list[tuple[int, int, int | None, str]]:
    """The messages to usagers about those RDVs that wait for their first try, as (id, rdv_id,
    usager_id, channel), in no order: as `Notification.objects.filter(rdv_id__in=rdv_ids,
    agent__isnull=True, status=PENDING, attempts=0).values_list("pk", "rdv_id", "usager_id",
    "channel")`."""
    return _rows(FOLLOWERS_SQL, {"rdvs": list(rdv_ids), "pending": Status.PENDING})  # type: ignore[return-value]
