"""What online booking offers an address, kept in memory between requests while it cannot have
changed.

Each step of « Prendre rendez-vous » needs the address's route (sectorisation.routing.route, up
to three queries) and the motifs offered to it (reservation.offer.offered_motifs, one query with
two subqueries). Building those queries costs more than everything else on the page, and their
answer changes only when an administrator changes a motif, a plage, a lieu, an organisation, a
sector or an agent's role: never when an usager books. The database numbers those changes (the
`reservation_catalogue` row, which triggers on every table these answers read update in the
writing transaction; see the migration 0001_catalogue_version), so a page reads that number (one
query) and reuses the answers computed under the same number, in this process.

The answers are never stale: a change committed gives a new number before anyone can read it, and
the numbers come from a sequence, so an answer computed inside a transaction that rolled back sits
under a number nobody will read again. The slots themselves are never kept: they change with
every booking (planning.creneaux reads them at each page, and the confirmation again under the
agents' locks).

What is kept does not depend on who asks: a « RDV de suivi » is then kept or dropped for the
usager (reservation.offer.for_usager)."""

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

from motifs.models import Motif
from reservation.offer import Offer, for_usager, offered_motifs
from sectorisation.communes import resolve_commune
from sectorisation.models import Commune
from sectorisation.routing import Route, has_street_sectors, route
from usagers.models import Usager

T = TypeVar("T")

# Answers kept per process: a few per commune asked about today, each a few kilobytes (the plages
# of a motif at a lieu, with their exceptions to come: a few dozen rows).
MAX_ENTRIES = 2000

_lock = threading.Lock()
_kept: OrderedDict[tuple, object] = OrderedDict()


def version() -> int:
    """The number of the catalogue's state as this transaction sees it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM reservation_catalogue WHERE id = 1")
        return cursor.fetchone()[0]


def _remember(key: tuple, compute: Callable[[], T]) -> T:
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _kept[key] = value
        while len(_kept) > MAX_ENTRIES:
            _kept.popitem(last=False)
    return value


def forget() -> None:
    """Empties this process's memory (tests that change the catalogue behind the triggers)."""
    with _lock:
        _kept.clear()


def _route(current: int, commune: Commune, street: str) -> Route:
    return _remember(("route", current, commune.pk, street), lambda: route(commune, street))


def commune(code: str, *, current: int) -> Commune | None:
    """sectorisation.communes.resolve_commune, kept under the catalogue's number `current` (the
    communes' tables have the trigger too: only their loader writes them)."""
    return _remember(("commune", current, code), lambda: resolve_commune(code))


def street_sectors(commune: Commune, *, current: int) -> bool:
    """sectorisation.routing.has_street_sectors, kept under the catalogue's number `current`."""
    return _remember(("street-sectors", current, commune.pk), lambda: has_street_sectors(commune))


def routed(commune: Commune, street: str = "", *, current: int | None = None) -> Route:
    """sectorisation.routing.route, kept while the catalogue has not changed (`current`: its
    number, when the caller has just read it)."""
    return _route(version() if current is None else current, commune, street)


def kept(current: int, key: tuple, compute: Callable[[], T]) -> T:
    """`compute()`, kept under the catalogue's number `current`: for answers that read only the
    tables the number follows (reservation.selection: a lieu and its motif, the plages that may
    receive the motif there)."""
    return _remember(("kept", current, *key), compute)


def offer(
    commune: Commune,
    street: str,
    *,
    usager: Usager | None,
    today: dt.date,
    organisation_id: int | None = None,
    current: int | None = None,
) -> Offer:
    """reservation.offer.offer_for for the address: one query when nothing has changed since it
    was last asked in this process (two when the offer holds a « RDV de suivi » for an
    identified usager). `current`: the catalogue's number, when the caller has just read it."""
    current = version() if current is None else current
    address_route = _route(current, commune, street)
    motifs: tuple[Motif, ...] = _remember(
        ("motifs", current, commune.pk, street, today, organisation_id),
        lambda: offered_motifs(address_route, today=today, organisation_id=organisation_id),
    )
    return for_usager(Offer(route=address_route, motifs=motifs), usager)
