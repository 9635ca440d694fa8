"""rdv.forms: the choices of a model are read in one plain query (ListedChoiceIterator), never by a
server-side cursor, and a select is written as Django writes it (templates/django/forms/widgets)."""

import pytest
from django import forms
from django.db import connection
from django.forms.renderers import DjangoTemplates
from django.test.utils import CaptureQueriesContext

from organisations.models import Lieu
from rdv.forms import DsfrForm, ListedChoiceIterator
from tests.organisations.factories import LieuFactory

pytestmark = pytest.mark.django_db


class LieuForm(DsfrForm):
    lieu = forms.ModelChoiceField(queryset=Lieu.objects.none(), required=False)
    lieux = forms.ModelMultipleChoiceField(queryset=Lieu.objects.none(), required=False)

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("lieu", "lieux"):
            self.fields[name].queryset = Lieu.objects.filter(organisation=organisation).order_by("name")


def test_the_choices_of_a_queryset_set_in_init_are_read_in_one_plain_query(organisation):
    names = ["Antenne du Luzard", "Maison des solidarités"]
    lieux = [LieuFactory(organisation=organisation, name=name) for name in names]
    form = LieuForm(organisation=organisation)
    assert form.fields["lieu"].iterator is ListedChoiceIterator
    with CaptureQueriesContext(connection) as queries:
        html = str(form["lieu"])
    assert len(queries) == 1
    assert queries[0]["sql"].startswith("SELECT")  # not DECLARE … CURSOR WITH HOLD
    for lieu in lieux:
        assert f'<option value="{lieu.pk}">{lieu.name}</option>' in html
    assert [label for _value, label in form.fields["lieux"].choices] == names  # no empty choice


def test_a_select_is_written_as_django_writes_it(organisation):
    """Our select.html (its options inline) against Django's own, through its own renderer."""
    LieuFactory(organisation=organisation, name="Maison <des> solidarités")
    field = forms.ChoiceField(choices=[("Lieux", [("1", "Un"), ("2", "Deux & trois")]), ("3", "Quatre")])
    widget = field.widget
    ours = widget.render("choix", "2", attrs={"id": "id_choix", "required": True})
    django_s = widget.render("choix", "2", attrs={"id": "id_choix", "required": True}, renderer=DjangoTemplates())
    assert ours.split() == django_s.split()  # the same but for blank lines
    assert "Maison &lt;des&gt; solidarités" in str(LieuForm(organisation=organisation)["lieu"])
