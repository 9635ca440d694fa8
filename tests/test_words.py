"""The French words the pages, forms and messages share (issue 17, « Words »): each rule is one
helper (rdv/words.py, rdv/forms.py, the templates' `date` filter), and the source is walked for
the forms those helpers replace, so that a new page cannot write them again."""

import datetime as dt
import re
from pathlib import Path

import pytest
from django import forms
from django.template import engines
from django.urls import get_resolver, reverse
from django.utils import translation

from motifs.models import Motif
from rdv.forms import EMPTY_CHOICE, NEGATIVE_DURATION, DsfrForm, DsfrFormMixin, DsfrModelForm, MinutesField
from rdv.words import date_format, de, first_of_month, time_of_day, weekdays_phrase

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {".venv", "node_modules", "tests", "staticfiles", ".git"}


def project_files(*suffixes: str) -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*")
        if path.suffix in suffixes and not SKIPPED.intersection(path.relative_to(ROOT).parts)
    )


@pytest.mark.parametrize(
    "name, said",
    [
        ("Inès MOREAU", "d'Inès MOREAU"),
        ("Élodie MARTIN", "d'Élodie MARTIN"),
        ("Hélène DUPRÉ", "d'Hélène DUPRÉ"),
        ("Yanis BENALI", "d'Yanis BENALI"),
        ("Camille GARRIGUE", "de Camille GARRIGUE"),
    ],
)
def test_de_is_elided_before_a_vowel_or_a_mute_h(name, said):
    assert de(name) == said


@pytest.mark.parametrize(
    "written, said",
    [
        ("vendredi 1 janvier 2027", "vendredi 1er janvier 2027"),
        ("du 1 août au 11 août", "du 1er août au 11 août"),
        ("21 mars", "21 mars"),
        ("1 RDV", "1 RDV"),
        ("01/01/2027", "01/01/2027"),
    ],
)
def test_the_first_day_of_a_month_is_an_ordinal(written, said):
    assert first_of_month(written) == said


def test_dates_say_1er_in_templates_and_in_python():
    translation.activate("fr")
    template = engines["django"].from_string('{{ day|date:"l j F Y" }}, {{ other|date:"j F" }}')
    assert template.render({"day": dt.date(2027, 1, 1), "other": dt.date(2027, 3, 11)}) == (
        "vendredi 1er janvier 2027, 11 mars"
    )
    assert date_format(dt.date(2027, 5, 1), "j F Y") == "1er mai 2027"


def test_times_are_written_14h15_by_the_helper_and_by_django_s_formats():
    translation.activate("fr")
    assert time_of_day(dt.time(14, 15)) == "14h15"
    assert time_of_day(dt.datetime(2027, 1, 1, 9, 5, tzinfo=dt.UTC)) == "9h05"
    assert time_of_day(dt.time(0, 30)) == "0h30"
    template = engines["django"].from_string('{{ t|time }} {{ t|heure }} {{ d|date:"SHORT_DATETIME_FORMAT" }}')
    assert template.render({"t": dt.time(14, 15), "d": dt.datetime(2027, 1, 2, 13, 15, tzinfo=dt.UTC)}) == (
        "14h15 14h15 02/01/2027 à 14h15"
    )


def test_a_morning_time_is_written_9h00_not_09h00_by_the_helper_and_by_django_s_formats():
    """French typography (and the original product) writes « 9h00 »: agent and usager pages alike."""
    translation.activate("fr")
    assert time_of_day(dt.time(9, 0)) == "9h00"
    template = engines["django"].from_string(
        '{{ t|time }} {{ t|heure }} {{ d|date:"SHORT_DATETIME_FORMAT" }} {{ d|date:"DATETIME_FORMAT" }}'
    )
    assert template.render({"t": dt.time(9, 0), "d": dt.datetime(2027, 1, 2, 8, 5, tzinfo=dt.UTC)}) == (
        "9h00 9h00 02/01/2027 à 9h05 2 janvier 2027 à 9h05"
    )


@pytest.mark.parametrize(
    "days, said",
    [((0,), "le lundi"), ((0, 3), "les lundis et jeudis"), ((0, 1, 3), "les lundis, mardis et jeudis")],
)
def test_weekdays_of_a_repetition_are_plural(days, said):
    assert weekdays_phrase(days) == said


# A time people read is « 14h15 »; « H:i » and « %H:%M » are for what machines read: an ISO
# date-time (…T14:15) or an <input type="time">.
MACHINE_TIME = re.compile(r"T\{\{|\\TH:i|T%H:%M|format=\"%H:%M\"")
MACHINE_TIME_FILES = {"organisations/forms.py"}  # opening hours stored as ISO times


def test_no_page_or_message_writes_a_time_14_15():
    offenders = []
    for path in project_files(".html", ".txt", ".py"):
        name = str(path.relative_to(ROOT))
        if name in MACHINE_TIME_FILES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"[HG]:i|%H:%M", line) and not MACHINE_TIME.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


# « 09h00 »: Django's `H\hi` (a template's `time`/`date` filter, a format module), strftime's or
# an f-string's `%H` or `02d` before an « h » (« %Hh%M », « {value:%H}h », « {hour:02d}h »). A
# time people read is `G\hi` or rdv.words.time_of_day; `%H` stays for what machines read
# (« %Y%m%dT%H%M%SZ » in an ICS file).
ZERO_PADDED_HOUR = re.compile(r"H\\{1,2}h|%H\}?h|02d\}?h")


def test_no_page_or_message_writes_a_time_09h00():
    offenders = []
    for path in project_files(".html", ".txt", ".py", ".js"):
        name = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ZERO_PADDED_HOUR.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize(
    "line",
    [
        '{{ rdv.starts_at|time:"H\\hi" }}',
        '{{ rdv.starts_at|date:"d/m/Y à H\\hi" }}',
        'TIME_FORMAT = r"H\\hi"',
        'TIME_FORMAT = "H\\\\hi"',
        'f"{value:%H}h{value:%M}"',
        'value.strftime("%Hh%M")',
        'f"{value.hour:02d}h{value.minute:02d}"',
        '"%02dh%02d" % (hour, minute)',
    ],
)
def test_the_walk_for_09h00_catches_each_way_of_writing_it(line):
    assert ZERO_PADDED_HOUR.search(line)


@pytest.mark.parametrize(
    "line", ['{{ t|time:"G\\hi" }}', 'moment.strftime("%Y%m%dT%H%M%SZ")', 'format="%H:%M"', "{{ t|heure }}"]
)
def test_the_walk_for_09h00_leaves_the_right_forms_alone(line):
    assert not ZERO_PADDED_HOUR.search(line)


# The text of a button, or of a link drawn as one, up to its first tag or template variable.
BUTTON_TEXT = re.compile(r"<(?:button\b[^>]*|a\b[^>]*class=\"[^\"]*\bfr-btn\b[^\"]*\"[^>]*)>\s*([^<{]+)", re.IGNORECASE)


def test_button_labels_start_with_a_capital_as_the_dsfr_writes_them():
    offenders = []
    for path in project_files(".html"):
        for label in BUTTON_TEXT.findall(path.read_text(encoding="utf-8")):
            label = label.strip()
            if label and label[0].islower():
                offenders.append(f"{path.relative_to(ROOT)}: « {label} »")
    assert offenders == []


def project_form_classes() -> list[type]:
    assert get_resolver().url_patterns  # imports every view, and so every form the pages use
    found, todo = [], [forms.BaseForm]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.split(".")[0] in {path.name for path in ROOT.iterdir() if path.is_dir()}:
                found.append(cls)
    return found


def test_every_form_of_the_project_is_a_dsfr_form():
    """DsfrFormMixin gives every select a French prompt instead of « --------- » (and the DSFR
    markup, the date bounds, the control characters refused): no form goes without it."""
    classes = project_form_classes()
    assert len(classes) > 30
    offenders = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in classes
        if not issubclass(cls, DsfrFormMixin) and not cls.__name__.endswith("Mixin")
    ]
    assert offenders == []


class Choices(DsfrForm):
    optional = forms.ModelChoiceField(queryset=Motif.objects.none(), required=False)
    kind = forms.ChoiceField(choices=[("", "---------"), ("a", "A")], required=False)


class MotifKindForm(DsfrModelForm):
    class Meta:
        model = Motif
        fields = ["sectorisation_level"]


def test_no_select_offers_django_s_dashes():
    html = str(Choices()) + str(MotifKindForm())
    assert "---------" not in html
    assert f">{EMPTY_CHOICE}</option>" in html


@pytest.mark.parametrize("value, error", [("-15", NEGATIVE_DURATION), ("abc", None)])
def test_a_negative_duration_says_so(value, error):
    field = MinutesField(min_value=1)
    with pytest.raises(forms.ValidationError) as raised:
        field.clean(value)
    if error is not None:
        assert raised.value.messages == [str(error)]


@pytest.mark.django_db
def test_a_motif_of_negative_duration_is_told_so(organisation):
    from motifs.forms import MotifForm

    form = MotifForm(data={"default_duration_in_min": "-15"}, organisation=organisation)
    assert form.errors["default_duration_in_min"] == [str(NEGATIVE_DURATION)]


@pytest.mark.django_db
def test_after_se_deconnecter_the_login_page_says_so(client, basic_agent):
    client.force_login(basic_agent)
    response = client.post(reverse("agents:logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("agents:login")
    assert [str(message) for message in response.context["messages"]] == ["Vous êtes déconnecté(e)."]
