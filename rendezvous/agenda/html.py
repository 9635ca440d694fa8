"""The links of RDVs and time cells as the agendas print them: the one module of the project
that builds HTML by hand and marks it safe.

They are built here rather than in the templates: a busy week has hundreds of them, and plain
f-strings with the standard library's escape() are ten times faster than the template engine
(or format_html) for that. Every value is escaped, the constant labels included."""

from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from rendezvous.agenda.blocks import RdvBlock
from rendezvous.agenda.layout import DayColumn, MonthDay, TimeGrid
from rendezvous.models import Rdv


def _status_icon_html(block: RdvBlock) -> str:
    return f'<span class="{escape(block.icon)} fr-icon--xs" aria-hidden="true"></span> ' if block.icon else ""


def _who(block: RdvBlock) -> str:
    return escape(block.usagers or _("Sans usager"))


def grid_rdv_html(block: RdvBlock) -> SafeString:
    """An RDV in the day and week grids: a link whose text says time, usagers, motif, and the
    status when it is not the ordinary « À venir »."""
    status = escape(block.status_label)
    after_time = f' <strong class="rdv-agenda__rdv-status">{status}</strong>' if block.to_fill else ""
    after = (
        f' · <span class="rdv-agenda__rdv-status">{status}</span>' if block.show_status and not block.to_fill else ""
    )
    until = escape(_("à %(time)s") % {"time": block.end_label})
    return mark_safe(
        f'<a class="rdv-agenda__rdv {escape(block.css_class)}" href="{escape(block.url)}" '
        f'style="{escape(block.style)}">{_status_icon_html(block)}'
        f'<span class="rdv-agenda__rdv-time">{escape(block.start_label)}<span class="fr-sr-only"> {until}</span>'
        f"</span>{after_time} {_who(block)} · {escape(block.motif)}{after}</a>"
    )


def month_rdv_html(block: RdvBlock) -> SafeString:
    """An RDV in a day of the month: its time and usagers, the rest for screen readers."""
    status = (
        f'<span class="fr-sr-only">, </span><span class="rdv-agenda-month__status">{escape(block.status_label)}</span>'
        if block.show_status
        else ""
    )
    rest = escape(_("à %(time)s, %(motif)s") % {"time": block.end_label, "motif": block.motif})
    return mark_safe(
        f'<a class="rdv-agenda-month__rdv {escape(block.css_class)}" href="{escape(block.url)}" '
        f'style="background-color:{escape(block.background)};color:{escape(block.color)}">'
        f"{_status_icon_html(block)}{escape(block.short_text)}"
        f'<span class="fr-sr-only"> {rest}</span>{status}</a>'
    )


def team_rdv_html(block: RdvBlock, dom_id: str, *, csrf_token: str, next_url: str) -> SafeString:
    """An RDV of « Journée de l'équipe »: time, usagers, motif and lieu, status in words, and
    the one-click « En salle d'attente » when the status rules allow it now."""
    dom_id = escape(dom_id)
    button = ""
    if block.can_set_waiting:
        label = escape(_("En salle d'attente"))
        button = (
            f'<form method="post" action="{escape(block.status_url)}" class="rdv-team__action rdv-no-print">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
            f'<input type="hidden" name="status" value="{escape(Rdv.Status.WAITING.value)}">'
            f'<input type="hidden" name="next" value="{escape(next_url)}">'
            f'<button type="submit" class="fr-btn fr-btn--sm fr-btn--secondary" id="{dom_id}-attente" '
            f'aria-describedby="{dom_id}">{label}</button></form>'
        )
    return mark_safe(
        f'<li class="rdv-team__rdv {escape(block.css_class)}" style="border-left-color:{escape(block.background)}">'
        f'<a id="{dom_id}" href="{escape(block.url)}">'
        f"<strong>{escape(block.start_label)} – {escape(block.end_label)}</strong> "
        f'{_who(block)}<span class="rdv-team__motif">{escape(block.motif)} · {escape(block.place)}</span></a>'
        f'<p class="rdv-team__status">{_status_icon_html(block)}{escape(block.status_label)}</p>{button}</li>'
    )


def slots_html(column: DayColumn) -> SafeString:
    """The time cells of a day: links to « poser un RDV » at that time."""
    action = escape(_(": poser un RDV le %(day)s") % {"day": column.long_label})
    return mark_safe(
        "".join(
            f'<a class="rdv-agenda__slot" href="{escape(slot.url)}"><span class="rdv-agenda__slot-time">'
            f'{escape(slot.time_label)}</span><span class="fr-sr-only"> {action}</span></a>'
            for slot in column.slots
        )
    )


def write_grid_html(grid: TimeGrid) -> None:
    """Sets the links of the grid's RDVs (`RdvBlock.html`) and time cells (`DayColumn.slots_html`)."""
    for column in grid.columns:
        for block in column.rdvs:
            block.html = grid_rdv_html(block)
        column.slots_html = slots_html(column)


def write_month_html(weeks: list[list[MonthDay]]) -> None:
    """Sets the links of the RDVs of a month's days (`RdvBlock.html`)."""
    for week in weeks:
        for day in week:
            for block in day.rdvs:
                block.html = month_rdv_html(block)
