"""The rows of « Tous les RDVs »: their words (dates, links, names, computed once per page or per
row) and their HTML, written here rather than by the template engine.

Twenty rows of seven cells, each with two forms' fields, were half the page's CPU in the template
language (its loop, its variable lookups and its filters: 7 ms of 16 on 7 December 2026); plain
f-strings with the standard library's escape() write the same HTML in a tenth of that, as
`rendezvous.agenda.html` does for the agendas' grids. Every value is escaped.
tests/rendezvous/test_list_rows.py renders the former template beside this and compares the
HTML, for every status, names to escape, a row without lieu and the row of today."""

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from motifs.models import Motif
from rdv.links import url_for_pks
from rdv.templatetags.french import date as french_date
from rdv.words import numeric_date_time
from rendezvous.models import Rdv

# As rendezvous/templates/rendezvous/_status_badge.html colours a status (the RDV's page, an
# usager's RDVs; tests/rendezvous/test_list_rows.py compares them).
BADGE_CLASSES: dict[str, str] = {
    Rdv.Status.SEEN: " fr-badge--success",
    Rdv.Status.NOSHOW: " fr-badge--error",
    Rdv.Status.EXCUSED: " fr-badge--warning",
    Rdv.Status.REVOKED: " fr-badge--warning",
    Rdv.Status.WAITING: " fr-badge--info",
}


@functools.cache
def _weekdays(language: str | None) -> tuple[str, ...]:
    # The `date` filter's « D » (« Lun »), Monday first, once per language.
    monday = dt.date(2024, 1, 1)
    return tuple(french_date(monday + dt.timedelta(days=n), "D") for n in range(7))


@functools.cache
def _location_types(language: str | None) -> dict[str, str]:
    return {value: str(label) for value, label in Motif.LocationType.choices}


@functools.cache
def _status_options(language: str | None, current: str) -> str:
    """The <option>s of a row's « Statut du RDV », `current` selected."""
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == current else ""}>{escape(str(label))}</option>'
        for value, label in Rdv.Status.choices
    )


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


def _row_html(row: ListRow, hidden: str, language: str | None) -> str:
    rdv = row.rdv
    pk = str(rdv.pk)
    motif = escape(rdv.motif.name)
    when = escape(row.when)
    location_type = escape(row.location_type)
    service = rdv.motif.service
    place = escape(rdv.lieu.name) if rdv.lieu else location_type
    badge = BADGE_CLASSES.get(rdv.status, " fr-badge--new")
    today = ' id="aujourdhui"' if row.is_today else ""
    return (
        f"<tr{today}>"
        '<td><div class="fr-checkbox-group fr-checkbox-group--sm">'
        f'<input type="checkbox" id="choix-{pk}" name="rdvs" value="{pk}" form="statuts-groupes">'
        f'<label class="fr-label" for="choix-{pk}"><span class="fr-sr-only">Choisir le RDV du {when} ({motif})</span>'
        "</label></div></td>"
        f'<td><a href="{escape(row.detail_url)}">{escape(row.day_and_when)}</a><br>'
        f'<span class="fr-text--xs">{rdv.duration_in_min} min</span></td>'
        f'<td>{motif}<br><span class="fr-text--xs"><abbr title="{escape(service.name)}">'
        f"{escape(service.short_name)}</abbr> · {location_type}</span></td>"
        f"<td>{escape(row.usagers)}</td><td>{escape(row.agents)}</td><td>{place}</td>"
        f'<td><p class="fr-badge fr-badge--sm{badge} fr-badge--no-icon">{escape(row.display_status)}</p>'
        f'<form method="post" action="{escape(row.status_url)}" class="fr-mt-1w">{hidden}'
        f'<label class="fr-sr-only" for="statut-{pk}">Statut du RDV du {when}</label>'
        f'<select class="fr-select fr-select--sm" id="statut-{pk}" name="status">'
        f"{_status_options(language, rdv.status)}</select>"
        '<button type="submit" class="fr-btn fr-btn--sm fr-btn--tertiary fr-mt-1v">Changer le statut</button>'
        "</form></td></tr>"
    )


def rows_html(rows: Sequence[ListRow], words: ListWords, *, csrf_token: str, list_url: str) -> SafeString:
    """The table's rows: each with its box for « Changer le statut de plusieurs RDV », its cells,
    its status and the form that changes it (back to `list_url`)."""
    hidden = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
        f'<input type="hidden" name="next" value="{escape(list_url)}">'
    )
    return mark_safe("".join(_row_html(row, hidden, words.language) for row in rows))
