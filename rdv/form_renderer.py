"""The project's form renderer: Django's templates (TemplatesSetting), except the widgets every
form draws — inputs, checkboxes, selects, text areas — which are written here, in Python, to the
same characters as their templates.

A widget's template is the smallest piece of a page and the most repeated one: each field
includes two or three of them (the widget, `input.html`, `attrs.html`), each option of a select
one more. Interpreted by Django's template engine they were a quarter of the public booking
form « Vos informations » (8.1 ms of CPU in process, 6.1 written here) and 5 ms of « Tous les
RDVs » (its filters; 29.9 → 24.8 ms), pages that 50 usagers or 20 agents open at the same
instant (measured on 7 December 2026, both renderers alternated in one process).

Each writer copies a template as it reads today, Django 5.2's own (or, for `select.html`, the
project's): when the renderer starts, it reads the templates the engine would render, and a
writer whose templates read otherwise (Django upgraded, the project's select.html edited, an
override by the project or an application) is not used; its templates are. A writer also hands
over to the template what only the template engine does the way it does: a callable value
(called by the template) and an attribute named « items » (which the template reads instead of
the attributes' `items()`). `tests/test_form_renderer.py` compares writers and templates on
random and hostile values, and fails when a writer is set aside (its templates changed)."""

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import TemplatesSetting
from django.template import TemplateDoesNotExist
from django.template.base import render_value_in_context
from django.template.context import Context
from django.template.defaultfilters import stringformat
from django.utils.html import escape
from django.utils.safestring import SafeData

WIDGETS = "django/forms/widgets/"
# The templates that are only `{% include "django/forms/widgets/input.html" %}`.
INPUT_KINDS = ("checkbox", "color", "date", "datetime", "email", "hidden", "number", "password", "search")
INPUT_KINDS += ("tel", "text", "time", "url")
SELECT_OPTION = WIDGETS + "select_option.html"
ATTRS = WIDGETS + "attrs.html"

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


def _templated(widget: Mapping[str, Any]) -> bool:
    """What the template engine alone renders as it does: a callable value or attribute, an
    attribute named « items »."""
    attrs = widget["attrs"]
    return callable(widget["value"]) or "items" in attrs or any(callable(value) for value in attrs.values())


def write_input(widget: Mapping[str, Any]) -> str | None:
    if _templated(widget):
        return None
    value = f' value="{_formatted(widget["value"])}"' if _is_not_none(widget["value"]) else ""
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def write_textarea(widget: Mapping[str, Any]) -> str | None:
    if _templated(widget):
        return None
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


def write_select(widget: Mapping[str, Any]) -> str | None:
    """The project's select.html. An option with a template of its own: None (the template)."""
    if _templated(widget):
        return None
    parts = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if callable(group_name):
            return None
        if group_name:
            parts.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != SELECT_OPTION or callable(option["label"]) or _templated(option):
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

# Each writer, with the templates it copies and the first 16 hexadecimal digits of the SHA-256 of
# each one's text as copied.
INCLUDES_INPUT = "7d7a5bc4ccc075bb"
WRITERS: list[tuple[Writer, dict[str, str]]] = [
    (
        write_input,
        {
            **{f"{WIDGETS}{kind}.html": INCLUDES_INPUT for kind in INPUT_KINDS},
            WIDGETS + "input.html": "770cf3acba1c18b6",
            ATTRS: "f729483efe44660f",
        },
    ),
    (write_textarea, {WIDGETS + "textarea.html": "02fd58fa1a57514d", ATTRS: "f729483efe44660f"}),
    (
        write_select,
        {WIDGETS + "select.html": "8807f84189eaf7f4", SELECT_OPTION: "37fa6c7742580aa3", ATTRS: "f729483efe44660f"},
    ),
]


def fingerprint(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


class FormRenderer(TemplatesSetting):
    """TemplatesSetting, with the widgets above written in Python where the templates the engine
    finds read as the writers copied them."""

    def __init__(self):
        super().__init__()
        self.written: dict[str, Writer] = {}
        self.set_aside: list[str] = []  # the templates that changed, for the tests to name
        for writer, copied in WRITERS:
            changed = [name for name, expected in copied.items() if self._fingerprint(name) != expected]
            if changed:
                self.set_aside += changed
                continue
            for name in copied:
                if name not in (ATTRS, SELECT_OPTION):  # included by the others, never a widget's
                    self.written[name] = writer

    def _fingerprint(self, name: str) -> str | None:
        try:
            return fingerprint(self.get_template(name).template.source)
        except TemplateDoesNotExist:
            return None

    def render(self, template_name, context, request=None):
        writer = self.written.get(template_name)
        if writer is not None:
            written = writer(context["widget"])
            if written is not None:
                return written
        return super().render(template_name, context, request)
