"""The rows of « Tous les RDVs »: their words (dates, links, names), computed once per page or per
row; `rendezvous.agenda.html.list_rows_html` writes them."""

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import get_language

from motifs.models import Motif
from rdv.links import url_for_pks
from rdv.templatetags.french import date as french_date
from rdv.words import numeric_date_time
from rendezvous.models import Rdv


@functools.cache
def _weekdays(language: str | None) -> tuple[str, ...]:
    # The `date` filter's « D » (« Lun »), Monday first, once per language.
    monday = dt.date(2024, 1, 1)
    return tuple(french_date(monday + dt.timedelta(days=n), "D") for n in range(7))


@functools.cache
def _location_types(language: str | None) -> dict[str, str]:
    return {value: str(label) for value, label in Motif.LocationType.choices}


@dataclass(frozen=True, slots=True)
class ListWords:
    """What the rows of a page share, computed once per page: their links but for the RDV's id,
    the days' and the location types' words in the current language."""

    detail_url: Callable[[int], str]
    status_url: Callable[[int], str]
    weekdays: tuple[str, ...]
    location_types: dict[str, str]
    language: str | None

    @classmethod
    def of(cls, organisation_id: int) -> "ListWords":
        language = get_language()
        return cls(
            detail_url=url_for_pks("rendezvous:detail", organisation_id=organisation_id),
            status_url=url_for_pks("rendezvous:status", organisation_id=organisation_id),
            weekdays=_weekdays(language),
            location_types=_location_types(language),
            language=language,
        )


@dataclass(frozen=True, slots=True)
class ListRow:
    """One RDV of « Tous les RDVs », its words computed here: Django's date formatting, `reverse`
    and a choice's label took 130 µs a row, 15 as `ListWords` writes them
    (tests/rendezvous/test_list_words.py compares the words)."""

    rdv: Rdv
    display_status: str
    is_today: bool  # the first RDV from today on: « Aujourd'hui » leads to it
    when: str  # « 12/03/2027 9h30 »
    day_and_when: str  # « Ven 12/03/2027 9h30 »
    location_type: str
    usagers: str
    agents: str
    detail_url: str
    status_url: str

    @classmethod
    def of(
        cls,
        rdv: Rdv,
        now: dt.datetime,
        words: ListWords,
        *,
        is_today: bool,
        agents: list[str],
        usagers: list[str],
    ) -> "ListRow":
        starts_at = timezone.localtime(rdv.starts_at)
        when = numeric_date_time(starts_at)
        location_type = rdv.motif.location_type
        return cls(
            rdv=rdv,
            display_status=rdv.display_status(now),
            is_today=is_today,
            when=when,
            day_and_when=f"{words.weekdays[starts_at.weekday()]} {when}",
            location_type=words.location_types.get(location_type, location_type),
            usagers=", ".join(usagers) or "—",
            agents=", ".join(agents),
            detail_url=words.detail_url(rdv.pk),
            status_url=words.status_url(rdv.pk),
        )
