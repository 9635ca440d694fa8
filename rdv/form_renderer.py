"""The project's form renderer: Django's templates (TemplatesSetting), except the widgets every
form draws — inputs, checkboxes, selects, text areas — which are written here, in Python, to the
same characters as their templates.

A widget's template is the smallest piece of a page and the most repeated one: each field
includes two or three of them (the widget, `input.html`, `attrs.html`), each option of a select
one more. Interpreted by Django's template engine they were about a third of the public booking
form « Vos informations » (2.4 ms of 7) and 4 ms of « Tous les RDVs » (its filters), pages that
50 usagers or 20 agents open at the same instant. Written here they take a tenth of that.

Only the templates that are still Django's own (or, for `select.html`, the project's) are
written here: a template overridden later, by the project or an application, is rendered as
usual, since `WRITTEN` is checked against the origin of each template when the renderer starts.
`tests/test_form_renderer.py` compares every writer with its template, on every widget of the
project's forms and on hostile values."""

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.forms.renderers import TemplatesSetting
from django.template import TemplateDoesNotExist
from django.template.base import render_value_in_context
from django.template.context import Context
from django.template.defaultfilters import stringformat
from django.utils.html import escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
DJANGO_WIDGETS = Path(django.__file__).parent / "forms" / "templates" / "django" / "forms" / "widgets"
PROJECT_WIDGETS = Path(settings.BASE_DIR) / "templates" / "django" / "forms" / "widgets"
# The templates that are only `{% include "django/forms/widgets/input.html" %}`.
INPUT_KINDS = ("checkbox", "color", "date", "datetime", "email", "hidden", "number", "password", "search")
INPUT_KINDS += ("tel", "text", "time", "url")
SELECT_OPTION = WIDGETS + "select_option.html"

# What {{ value }} does in a template: localized, then escaped unless already safe.
_CONTEXT = Context(autoescape=True)


def _text(value: Any) -> str:
    return render_value_in_context(value, _CONTEXT)


def _formatted(value: Any) -> str:
    """{{ value|stringformat:'s' }}: `stringformat` keeps a safe value safe, escapes the rest."""
    text = stringformat(value, "s")
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: Mapping[str, Any]) -> str:
    """attrs.html: ` name="value"`, ` name` for True, nothing for False."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _is_not_none(value: Any) -> bool:
    """{% if value != None %}, as the template's `if` reads it (an error is False)."""
    try:
        return bool(value != None)  # noqa: E711 (the template compares with !=, not `is`)
    except Exception:
        return False


def write_input(widget: Mapping[str, Any]) -> str | None:
    value = f' value="{_formatted(widget["value"])}"' if _is_not_none(widget["value"]) else ""
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def write_textarea(widget: Mapping[str, Any]) -> str | None:
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def write_select(widget: Mapping[str, Any]) -> str | None:
    """The project's select.html. An option with a template of its own: None (the template)."""
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != SELECT_OPTION:
                return None
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_text(option['label'])}</option>"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


Writer = Callable[[Mapping[str, Any]], str | None]

# Each writer, with the templates it stands for and where each must come from.
WRITERS: list[tuple[Writer, dict[str, Path]]] = [
    (
        write_input,
        {
            **{f"{WIDGETS}{kind}.html": DJANGO_WIDGETS / f"{kind}.html" for kind in INPUT_KINDS},
            WIDGETS + "input.html": DJANGO_WIDGETS / "input.html",
            WIDGETS + "attrs.html": DJANGO_WIDGETS / "attrs.html",
        },
    ),
    (
        write_textarea,
        {
            WIDGETS + "textarea.html": DJANGO_WIDGETS / "textarea.html",
            WIDGETS + "attrs.html": DJANGO_WIDGETS / "attrs.html",
        },
    ),
    (
        write_select,
        {
            WIDGETS + "select.html": PROJECT_WIDGETS / "select.html",
            SELECT_OPTION: DJANGO_WIDGETS / "select_option.html",
            WIDGETS + "attrs.html": DJANGO_WIDGETS / "attrs.html",
        },
    ),
]


class FormRenderer(TemplatesSetting):
    """TemplatesSetting, with the widgets above written in Python where their templates are the
    ones the writers copy."""

    def __init__(self):
        super().__init__()
        self.written: dict[str, Writer] = {}
        for writer, origins in WRITERS:
            if all(self._origin(name) == path for name, path in origins.items()):
                for name in origins:
                    if name not in (WIDGETS + "attrs.html", SELECT_OPTION):
                        self.written[name] = writer

    def _origin(self, name: str) -> Path | None:
        try:
            return Path(self.get_template(name).origin.name)
        except TemplateDoesNotExist:
            return None

    def render(self, template_name, context, request=None):
        writer = self.written.get(template_name)
        if writer is not None:
            written = writer(context["widget"])
            if written is not None:
                return written
        return super().render(template_name, context, request)
