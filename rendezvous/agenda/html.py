"""The columns of the time grids (headings, bands, RDV blocks with their tooltips, time cells),
the month's RDVs as the agendas print them, and the rows of « Tous les RDVs »: the one module of
the project that builds HTML by hand and marks it safe (tests/test_house_rules.py).

They are built here rather than in the templates: a busy week has hundreds of blocks and cells,
the team's day thirty columns, and plain f-strings with the standard library's escape() are ten
times faster than the template engine (or format_html) for that. Twenty rows of « Tous les RDVs »,
seven cells and two forms' fields each, were half that page's CPU in the template language (its
loop, variable lookups and filters: 7 ms of 16 on 7 December 2026). Every value is escaped, the
constant labels included. The templates keep the page around them (rendezvous/agenda/,
rendezvous/list.html)."""

import functools
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from rendezvous.agenda.bands import Band
from rendezvous.agenda.blocks import RdvBlock, badge_class
from rendezvous.agenda.layout import DayColumn, MonthDay, TimeGrid
from rendezvous.listing import ListRow, ListWords
from rendezvous.models import Rdv

ABSENCE_ICON = (
    '<span class="fr-icon-calendar-close-fill fr-icon--xs rdv-agenda__absence-icon" aria-hidden="true"></span>'
)


def _status_icon_html(block: RdvBlock) -> str:
    return f'<span class="{escape(block.icon)} fr-icon--xs" aria-hidden="true"></span> ' if block.icon else ""


def _who(block: RdvBlock) -> str:
    return escape(block.usagers or _("Sans usager"))


def _absence_words(block: RdvBlock) -> str:
    return _("pendant l'absence « %(title)s »") % {"title": block.in_absence.removeprefix(_("Absence : "))}


def _tooltip(block: RdvBlock, tip_id: str) -> str:
    """The whole RDV in words, shown on hover and on focus by CSS alone (no script), and read by
    screen readers as the link's description (aria-describedby): the motif and the lieu. Its
    first line (time, usagers) and its last (status, absence) repeat the link's words: screen
    readers skip them. Its lines carry no class (`.rdv-agenda__tip > span`: hundreds on a page)."""
    place = f" · {escape(block.place)}" if block.place else ""
    more = []
    if block.show_status:
        more.append(escape(block.status_label))
    if block.in_absence:
        more.append(f"{ABSENCE_ICON} {escape(capfirst(_absence_words(block)))}")
    more_html = f'<span aria-hidden="true">{" · ".join(more)}</span>' if more else ""
    return (
        f'<span class="rdv-agenda__tip" role="tooltip" id="{escape(tip_id)}">'
        f'<span aria-hidden="true"><strong>{escape(block.start_label)} – '
        f"{escape(block.end_label)}</strong> {_who(block)}</span>"
        f"<span><strong>{escape(block.motif)}</strong>{place}</span>{more_html}</span>"
    )


def _rdv_link(block: RdvBlock, *, link_id: str, tip_id: str) -> str:
    """The link of an RDV on a time grid. Its words: time, usagers, motif, the status when it is
    not the ordinary « À venir », the absence it falls in. A short block shows its time and
    usagers; the rest shows in the tooltip."""
    status = escape(block.status_label)
    # After the motif: the first two lines keep the time and the usagers; the icon before the
    # time says « À renseigner », « Vu »… at a glance.
    after = f' · <span class="rdv-agenda__rdv-status">{status}</span>' if block.show_status else ""
    absence_icon = f" {ABSENCE_ICON}" if block.in_absence else ""
    absence = f'<span class="fr-sr-only">, {escape(_absence_words(block))}</span>' if block.in_absence else ""
    until = escape(_("à %(time)s") % {"time": block.end_label})
    link_id_attr = f' id="{escape(link_id)}"' if link_id else ""
    if block.highlighted:
        # « Voir dans l'agenda »: the RDV the agent came to see, said to screen readers too.
        link_id_attr += ' aria-current="true"'
    return (
        f'<a class="rdv-agenda__rdv {escape(block.css_class)}"{link_id_attr} href="{escape(block.url)}" '
        f'style="background-color:{escape(block.background)};color:{escape(block.color)}" '
        f'aria-describedby="{escape(tip_id)}">{_status_icon_html(block)}'
        f'<span class="rdv-agenda__rdv-time">{escape(block.start_label)}<span class="fr-sr-only"> {until}</span>'
        f"</span>{absence_icon} {_who(block)}"
        f'<span class="rdv-agenda__rdv-motif"> · {escape(block.motif)}</span>{after}{absence}</a>'
    )


def grid_rdv_html(block: RdvBlock, dom_id: str, *, action: str = "", anchor: bool = True) -> SafeString:
    """An RDV on a time grid (the agenda's day and week, the team's day): a list item placed at
    its time, holding its link, its tooltip and, on the team's day, `action` (a form). `anchor`:
    a highlighted RDV carries the page's anchor (false for its other agents' columns)."""
    classes = "rdv-agenda__item"
    if block.lanes > 1:
        classes += " rdv-agenda__item--narrow"
    if block.tip_up:
        classes += " rdv-agenda__item--up"
    if action:
        classes += " rdv-agenda__item--action"
    tip_id = f"{dom_id}-detail"
    # The anchor of « Voir dans l'agenda » (#rdv-<pk>): the page opens scrolled to it.
    anchor_id = f' id="rdv-{block.pk}"' if block.highlighted and anchor else ""
    return mark_safe(
        f'<li class="{classes}"{anchor_id} style="{escape(block.style)}">'
        f"{_rdv_link(block, link_id=dom_id if action else '', tip_id=tip_id)}{_tooltip(block, tip_id)}{action}</li>"
    )


def month_rdv_html(block: RdvBlock) -> SafeString:
    """An RDV in a day of the month: its time and usagers, the rest for screen readers."""
    status = (
        f'<span class="fr-sr-only">, </span><span class="rdv-agenda-month__status">{escape(block.status_label)}</span>'
        if block.show_status
        else ""
    )
    rest = escape(_("à %(time)s, %(motif)s") % {"time": block.end_label, "motif": block.motif})
    absence = (
        f'{ABSENCE_ICON}<span class="fr-sr-only">, {escape(_absence_words(block))}</span>' if block.in_absence else ""
    )
    current = f' id="rdv-{block.pk}" aria-current="true"' if block.highlighted else ""
    return mark_safe(
        f'<a class="rdv-agenda-month__rdv {escape(block.css_class)}"{current} href="{escape(block.url)}" '
        f'style="background-color:{escape(block.background)};color:{escape(block.color)}">'
        f"{_status_icon_html(block)}{escape(block.short_text)}"
        f'<span class="fr-sr-only"> {rest}</span>{status}{absence}</a>'
    )


# The page's one form that the « En salle d'attente » buttons submit (rendezvous/agenda/_team_grid.html
# holds it, with the CSRF token and the page to come back to).
WAITING_FORM_ID = "equipe-attente"


def waiting_button_html(block: RdvBlock, dom_id: str) -> str:
    """« En salle d'attente » in one click on the team's day, when the status rules allow it
    now: an icon button on the RDV's block, named by its words and described by the RDV's link.
    It submits the page's one form (WAITING_FORM_ID: the CSRF token, the status, the page to come
    back to) to the RDV's status page: a form per RDV repeated them hundreds of times."""
    label = escape(_("En salle d'attente"))
    dom_id = escape(dom_id)
    return (
        f'<button form="{WAITING_FORM_ID}" formaction="{escape(block.status_url)}" class="rdv-agenda__waiting" '
        f'title="{label}" aria-describedby="{dom_id}"><span class="fr-icon-time-line fr-icon--sm" '
        f'aria-hidden="true"></span><span class="fr-sr-only">{label}</span></button>'
    )


def slots_html(column: DayColumn, slots: list[tuple[str, str]]) -> str:
    """The time cells of a column: links to « poser un RDV » at that time (with that agent on
    the team's day); `slots` from `TimeGrid.slots`, its words escaped once for every column.
    Hundreds on a page: no class (`.rdv-agenda__slots > a` and its first span in the CSS)."""
    link = escape(column.slot_link)
    action = escape(column.slot_action)
    return "".join(
        f'<a href="{link}{time}"><span>{label}</span><span class="fr-sr-only"> {action}</span></a>'
        for label, time in slots
    )


def _heading(column: DayColumn, kind: str) -> str:
    """The column's heading: the day (a link to its day view in a week), or the agent (a link to
    its day) on the team's day; « Aujourd'hui » and a closed day's holiday on the agenda."""
    if kind == "jour":
        title = escape(capfirst(column.long_label))
    elif kind == "equipe":
        title = f'<a href="{escape(column.url)}">{escape(column.label)}</a>'
    else:
        title = (
            f'<a href="{escape(column.url)}"><span aria-hidden="true">{escape(column.label)}</span>'
            f'<span class="fr-sr-only">{escape(column.long_label)}</span></a>'
        )
    if kind != "equipe":
        if column.is_today:
            today = escape(_("Aujourd'hui"))
            title += f' <span class="fr-badge fr-badge--sm fr-badge--info fr-badge--no-icon">{today}</span>'
        if column.closed:
            closed = _("Fermé : %(holiday)s") % {"holiday": column.closed}
            title += f' <span class="rdv-agenda__closed">{escape(closed)}</span>'
    return f'<h2 class="rdv-agenda__day-title" id="{escape(column.anchor)}" tabindex="-1">{title}</h2>'


def _note(band: Band) -> str:
    """A plage, an absence or a busy block in words: « 9h00 – 12h00 Consultation de PMI » and
    its lieu; « Occupé (autre organisation) de 14h00 à 15h00 »."""
    time = f'<span class="rdv-nowrap">{escape(band.time_label)}</span>'
    title = f"<strong>{escape(band.title)}</strong>"
    words = f"{title} {time}" if band.kind == "busy" else f"{time} {title}"
    if band.detail:
        words += f' <span class="rdv-agenda__note-detail">{escape(band.detail)}</span>'
    return f'<li class="rdv-agenda__note rdv-agenda__note--{escape(band.kind)}">{words}</li>'


def _all_day(band: Band) -> str:
    span = f' <span class="rdv-agenda__note-detail">{escape(band.time_label)}</span>' if band.several_days else ""
    return (
        f'<p class="rdv-agenda__all-day-item rdv-agenda__note--{escape(band.kind)}">'
        f'<span class="fr-sr-only">{escape(_("Toute la journée :"))} </span>{escape(band.title)}{span}</p>'
    )


def _band(band: Band) -> str:
    """A band on the grid, for the eyes: the column's heading says it in words."""
    label = f"<p>{escape(band.title)}</p>" if band.show_label and not band.all_day else ""
    return (
        f'<div class="rdv-agenda__band rdv-agenda__band--{escape(band.kind)}" style="{escape(band.style)}" '
        f'aria-hidden="true">{label}</div>'
    )


def column_html(column: DayColumn, grid: TimeGrid, number: int, slots: list[tuple[str, str]]) -> SafeString:
    """A column of the grid, three cells in the page's order: its heading with its plages and
    absences in words, its « Toute la journée » cell, its hours with the bands, the RDVs, the
    current time and the time cells (the keyboard meets its RDVs before its cells)."""
    anchor = escape(column.anchor)
    place = f"grid-column:{number}"
    today = column.is_today and grid.kind != "equipe"
    notes = column.notes
    head = (
        f'<div class="rdv-agenda__head{" rdv-agenda__head--today" if today else ""}" data-column="{anchor}" '
        f'style="{place};grid-row:1">{_heading(column, grid.kind)}'
        + (f'<ul class="rdv-agenda__notes">{"".join(_note(band) for band in notes)}</ul>' if notes else "")
        + "</div>"
    )
    all_day = ""
    if grid.has_all_day:
        all_day = (
            f'<div class="rdv-agenda__all-day" data-column="{anchor}" style="{place};grid-row:2">'
            f"{''.join(_all_day(band) for band in column.all_day)}</div>"
        )
    classes = "rdv-agenda__day"
    if today:
        classes += " rdv-agenda__day--today"
    if column.closed:
        classes += " rdv-agenda__day--closed"
    if column.tips_end:
        classes += " rdv-agenda__day--end"
    rdvs = ""
    if column.rdvs:
        label = (
            _("RDV de %(agent)s") % {"agent": column.label}
            if grid.kind == "equipe"
            else _("RDV du %(day)s") % {"day": column.long_label}
        )
        rdvs = (
            f'<ul class="fr-raw-list rdv-agenda__rdvs" aria-label="{escape(label)}">'
            f"{''.join(block.html for block in column.rdvs)}</ul>"
        )
    now = (
        f'<div class="rdv-agenda__now" style="{escape(column.now_style)}">'
        f'<span class="fr-sr-only">{escape(column.now_label)}</span></div>'
        if column.now_style
        else ""
    )
    day = (
        f'<div class="{classes}" data-column="{anchor}" style="{place};grid-row:3;height:{grid.height}">'
        f"{''.join(_band(band) for band in column.bands)}{rdvs}{now}"
        f'<div class="rdv-agenda__slots">{slots_html(column, slots)}</div></div>'
    )
    return mark_safe(head + all_day + day)


def print_html(column: DayColumn) -> SafeString:
    """« Imprimer la liste du jour »: an agent's day as a list, for paper."""
    lines = [f'<h2 class="fr-h6">{escape(column.label)}</h2>']
    for band in column.all_day:
        lines.append(f"<p>{escape(_('Toute la journée :'))} {escape(band.title)}</p>")
    for band in column.notes:
        detail = f" · {escape(band.detail)}" if band.detail else ""
        lines.append(f"<p>{escape(band.time_label)} · {escape(band.title)}{detail}</p>")
    items = []
    for block in column.rdvs:
        words = [f"{_who(block)} · {escape(block.motif)}"]
        if block.place:
            words.append(escape(block.place))
        words.append(escape(block.status_label))
        if block.in_absence:
            words.append(escape(block.in_absence))
        items.append(
            f"<li><strong>{escape(block.start_label)} – {escape(block.end_label)}</strong> {' · '.join(words)}</li>"
        )
    if not items:
        items.append(f"<li>{escape(_('Aucun RDV'))}</li>")
    return mark_safe(f'<section class="rdv-team__print">{"".join(lines)}<ol>{"".join(items)}</ol></section>')


def write_grid_html(grid: TimeGrid) -> None:
    """Sets the blocks of the grid's RDVs (`RdvBlock.html`, unless the caller wrote them), then
    each column (`DayColumn.html`)."""
    slots = [(escape(label), escape(time)) for label, time in grid.slots]
    for number, column in enumerate(grid.columns, start=2):
        for block in column.rdvs:
            if not block.html:
                block.html = grid_rdv_html(block, f"rdv-{block.pk}-{column.anchor}")
        column.html = column_html(column, grid, number, slots)


def write_month_html(weeks: list[list[MonthDay]]) -> None:
    """Sets the links of the RDVs of a month's days (`RdvBlock.html`)."""
    for week in weeks:
        for day in week:
            for block in day.rdvs:
                block.html = month_rdv_html(block)


# « Tous les RDVs »


@functools.cache
def _status_options(language: str | None, current: str) -> str:
    """The <option>s of a row's « Statut du RDV », `current` selected."""
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == current else ""}>{escape(str(label))}</option>'
        for value, label in Rdv.Status.choices
    )


def _row_html(row: ListRow, hidden: str, language: str | None) -> str:
    rdv = row.rdv
    pk = str(rdv.pk)
    motif = escape(rdv.motif.name)
    when = escape(row.when)
    location_type = escape(row.location_type)
    service = rdv.motif.service
    place = escape(rdv.lieu.name) if rdv.lieu else location_type
    badge = badge_class(rdv.status)
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


def list_rows_html(rows: Sequence[ListRow], words: ListWords, *, csrf_token: str, list_url: str) -> SafeString:
    """The rows of « Tous les RDVs »: each with its box for « Changer le statut de plusieurs RDV »,
    its cells, its status and the form that changes it (back to `list_url`). The same HTML as the
    template that wrote them before (tests/rendezvous/test_list_rows.py compares them, for every
    status, names to escape, a row without lieu and the row of today)."""
    hidden = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
        f'<input type="hidden" name="next" value="{escape(list_url)}">'
    )
    return mark_safe("".join(_row_html(row, hidden, words.language) for row in rows))
