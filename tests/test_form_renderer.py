"""rdv.form_renderer writes the widgets in Python: to the same characters as their templates,
whatever the values, the attributes and the choices, and only where the template is the one it
copies."""

import datetime as dt

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.test import override_settings
from django.utils.functional import lazy
from django.utils.safestring import mark_safe
from hypothesis import given, settings
from hypothesis import strategies as st

from rdv.form_renderer import WIDGETS, FormRenderer

TEMPLATES = TemplatesSetting()
PYTHON = FormRenderer()

HOSTILE = ["", " ", "<b>&amp;\"'</b>", "{{ x }}", "{% if %}", "é\u00a0ü 漢字", "\x7f", "a\nb", "100%", "%s", "%(a)s"]
texts = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20))
values = st.one_of(
    texts,
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    texts.map(mark_safe),
    texts.map(lazy(str, str)),
    st.tuples(st.integers(), st.integers()),
)
attr_names = st.one_of(st.sampled_from(["id", "class", "required", "disabled", "aria-describedby", "data-x"]), texts)
attrs = st.dictionaries(attr_names, st.one_of(st.just(True), st.just(False), values), max_size=5)
choice_values = st.one_of(texts, st.integers(), st.none())
labels = st.one_of(
    texts,
    st.integers(),
    texts.map(mark_safe),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1)),
    # Hypothesis takes naive bounds and adds the time zone itself.
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)),  # noqa: DTZ001
)
flat_choices = st.lists(st.tuples(choice_values, labels), max_size=6)
choices = st.lists(
    st.one_of(
        st.tuples(choice_values, labels),
        st.tuples(st.one_of(texts, labels), st.lists(st.tuples(choice_values, labels), max_size=3)),  # an optgroup
    ),
    max_size=6,
)

INPUTS = [
    forms.TextInput,
    forms.EmailInput,
    forms.URLInput,
    forms.NumberInput,
    forms.HiddenInput,
    forms.DateInput,
    forms.TimeInput,
    forms.DateTimeInput,
    lambda attrs=None: forms.PasswordInput(attrs, render_value=True),
    lambda attrs=None: forms.TextInput({**(attrs or {}), "type": "tel"}),
    forms.SearchInput,
    forms.ColorInput,
    forms.TelInput,
    forms.CheckboxInput,
    forms.Textarea,
]


def both(widget: forms.Widget, name: str, value, attrs: dict) -> tuple[str, str]:
    return (
        widget.render(name, value, attrs=attrs, renderer=PYTHON),
        widget.render(name, value, attrs=attrs, renderer=TEMPLATES),
    )


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(INPUTS), name=texts, value=values, widget_attrs=attrs, render_attrs=attrs)
def test_an_input_is_written_as_its_template_writes_it(kind, name, value, widget_attrs, render_attrs):
    python, template = both(kind(attrs=widget_attrs), name, value, render_attrs)
    assert python == template


@settings(max_examples=200, deadline=None)
@given(name=texts, value=st.one_of(choice_values, st.lists(choice_values)), options=choices, widget_attrs=attrs)
def test_a_select_is_written_as_its_template_writes_it(name, value, options, widget_attrs):
    for kind in (forms.Select, forms.SelectMultiple, forms.NullBooleanSelect):
        if kind is forms.NullBooleanSelect:
            widget, chosen = kind(attrs=widget_attrs), None if isinstance(value, list) else value
        else:
            widget, chosen = kind(widget_attrs, choices=options), value
        python, template = both(widget, name, chosen, {"id": "id_choix"})
        assert python == template


@settings(max_examples=50, deadline=None)
@given(options=flat_choices, thousands=st.booleans(), value=values)
def test_the_choices_of_a_field_are_written_as_their_template_writes_them(options, thousands, value):
    """Numbers, dates and times as labels, localized as a template localizes them."""
    field = forms.ChoiceField(choices=options, required=False)
    with override_settings(USE_THOUSAND_SEPARATOR=thousands):
        assert field.widget.render("choix", value, renderer=PYTHON) == field.widget.render(
            "choix", value, renderer=TEMPLATES
        )
        assert forms.NumberInput().render("n", value, renderer=PYTHON) == forms.NumberInput().render(
            "n", value, renderer=TEMPLATES
        )
    assert field.widget.render("choix", None, renderer=PYTHON) == field.widget.render("choix", None, renderer=TEMPLATES)


def test_each_widget_template_of_django_is_written_in_python():
    """Fails when Django's widget templates or the project's select.html change: check each
    writer against its template again, then update its fingerprint in rdv.form_renderer."""
    assert PYTHON.set_aside == []
    assert {WIDGETS + name for name in ("text.html", "checkbox.html", "select.html", "textarea.html")} <= set(
        PYTHON.written
    )
    assert WIDGETS + "radio.html" not in PYTHON.written  # an option's own template each: templates


def test_a_select_whose_options_have_their_own_template_is_rendered_by_it():
    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    widget = Custom(choices=[("1", "Un")])
    python, template = both(widget, "choix", "1", {})
    assert python == template
    assert '<label><input type="select"' in python  # input_option.html, through the template


@pytest.mark.parametrize(
    ("name", "widget"),
    [("text.html", forms.TextInput()), ("attrs.html", forms.TextInput()), ("select_option.html", forms.Select())],
)
def test_a_widget_template_overridden_is_rendered_by_the_override(tmp_path, settings, name, widget):
    """Wherever the override is (here a folder of TEMPLATES' DIRS, read before the others)."""
    folder = tmp_path / "django" / "forms" / "widgets"
    folder.mkdir(parents=True)
    (folder / name).write_text("<i>overridden</i>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    renderer = FormRenderer()
    assert WIDGETS + name in renderer.set_aside
    widget.choices = [("1", "Un")]
    python = widget.render("nom", "1", renderer=renderer)
    assert python == widget.render("nom", "1", renderer=TemplatesSetting())
    # The project's select.html writes Django's options itself (see its comment): not overridden.
    assert ("overridden" in python) is (name != "select_option.html")


def test_what_only_the_template_engine_does_is_left_to_it():
    """A callable is called by the template; an attribute « items » is read instead of the
    attributes' items() (the template fails, as it did before the writers)."""
    python, template = both(forms.TextInput(attrs={"data-x": lambda: "appelée"}), "nom", "", {})
    assert python == template == '<input type="text" name="nom" data-x="appelée">'
    select = forms.Select(choices=[(lambda: "v", lambda: "étiquette")])
    assert select.render("choix", None, renderer=PYTHON) == select.render("choix", None, renderer=TEMPLATES)
    with pytest.raises(ValueError):
        forms.TextInput(attrs={"items": "x"}).render("nom", "", renderer=PYTHON)
