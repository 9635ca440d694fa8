"""The usager's answers so far, carried in the query string until identification (so a link can
be shared and the back link keeps them): one parsed, validated object per request, and the URLs
of the next and previous questions built from it.

Parameters (all optional, each validated; an invalid one is dropped, never an error page):
- `commune`: INSEE code where the usager lives; `rue`: its street, asked only where the commune
  has sectors by street (`NO_STREET` when the usager gave none);
- `org`: an organisation's public link (`/org/<id>-<slug>/`) limits the offer to it;
- `service`: Service id; `motif`: `<category id>-<location type>`, one card for the motifs of
  that name and type in every organisation offered;
- `lieu`: Lieu id (sur place), or `organisation`: Organisation id (par téléphone, à domicile);
- `semaine`: the Monday of the week shown; `creneau`: the start chosen, local time ISO
  (`2026-12-15T09:30`), in the organisation's time zone.
"""

import datetime as dt
import re
from dataclasses import dataclass, fields, replace
from typing import Any

from django.http import QueryDict
from django.urls import reverse

from rdv.dates import within_bounds

MOTIF_KEY = re.compile(r"^(\d{1,9})-(public_office|phone|home)$")
INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
MAX_STREET = 200
# `rue` when the usager was asked its street and gave none: the whole commune's sectors apply.
NO_STREET = "-"


def _int(value: str | None) -> int | None:
    if value and value.isdigit() and len(value) <= 9:
        return int(value)
    return None


def parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


def parse_local_datetime(value: str | None) -> dt.datetime | None:
    """A naive local time `AAAA-MM-JJTHH:MM` between 1900 and 2100: 0001-01-01T00:00 in Paris is
    still year 0 in UTC, an overflow wherever it is compared or converted."""
    try:
        parsed = dt.datetime.fromisoformat(value) if value and len(value) == 16 else None
    except ValueError:
        return None
    return parsed if parsed is None or (parsed.tzinfo is None and within_bounds(parsed)) else None


@dataclass(frozen=True)
class Choice:
    commune: str = ""
    rue: str = ""
    org: int | None = None
    service: int | None = None
    motif: str = ""  # `<category id>-<location type>`
    lieu: int | None = None
    organisation: int | None = None
    semaine: dt.date | None = None
    creneau: dt.datetime | None = None  # naive: wall-clock time of the organisation

    @classmethod
    def from_query(cls, query: QueryDict) -> "Choice":
        commune = query.get("commune", "").strip().upper()
        motif = query.get("motif", "").strip()
        rue = query.get("rue", "").replace("\x00", "").strip()[:MAX_STREET]
        return cls(
            commune=commune if INSEE.match(commune) else "",
            rue=rue,
            org=_int(query.get("org")),
            service=_int(query.get("service")),
            motif=motif if MOTIF_KEY.match(motif) else "",
            lieu=_int(query.get("lieu")),
            organisation=_int(query.get("organisation")),
            semaine=parse_date(query.get("semaine")),
            creneau=parse_local_datetime(query.get("creneau")),
        )

    @property
    def category_id(self) -> int | None:
        found = MOTIF_KEY.match(self.motif)
        return int(found.group(1)) if found else None

    @property
    def location_type(self) -> str:
        found = MOTIF_KEY.match(self.motif)
        return found.group(2) if found else ""

    def with_(self, **changes: Any) -> "Choice":
        return replace(self, **changes)

    def before(self, name: str) -> "Choice":
        """The answers given before the question `name` (a field): a new answer to a question
        makes those of the later ones moot."""
        names = [item.name for item in fields(self)]
        later = fields(self)[names.index(name) :]
        cleared: dict[str, Any] = {item.name: item.default for item in later}
        return replace(self, **cleared)

    def params(self) -> dict[str, str]:
        """The non-empty answers, as query-string parameters, in a stable order."""
        out = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == "":
                continue
            if isinstance(value, dt.datetime):
                out[item.name] = value.strftime("%Y-%m-%dT%H:%M")
            elif isinstance(value, dt.date):
                out[item.name] = value.isoformat()
            else:
                out[item.name] = str(value)
        return out

    def url(self, name: str, **kwargs: Any) -> str:
        """The URL of the step `name` (a `reservation:` route) carrying these answers."""
        params = self.params()
        return reverse(f"reservation:{name}", kwargs=kwargs or None, query=params or None)
