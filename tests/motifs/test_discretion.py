"""« Afficher le nom du motif dans les messages »: on for ordinary names of the référentiel, off
for its sensitive ones when a motif is created (form, demo, migration of existing motifs); an
admin may change it afterwards."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from motifs.models import SENSITIVE_NAMES, Motif, MotifCategory
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import service

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = [pytest.mark.django_db, pytest.mark.once]

D = Motif.BookingDelay


def create_url(organisation):
    return reverse("motifs:create", kwargs={"organisation_id": organisation.pk})


def edit_url(motif):
    return reverse("motifs:edit", kwargs={"organisation_id": motif.organisation_id, "motif_id": motif.pk})


def data(category, **changes):
    values = {
        "service": category.service.pk if category.service else service("PMI").pk,
        "category": category.pk,
        "default_duration_in_min": "30",
        "color": "#6a6af4",
        "location_type": "public_office",
        "min_booking_delay": str(D.HALF_HOUR),
        "max_booking_delay": str(D.THREE_MONTHS),
        "sectorisation_level": "departement",
        **changes,
    }
    return {key: value for key, value in values.items() if value is not None}


@pytest.fixture
def referentiel(db):
    MotifCategory.objects.ensure_referentiel()  # no-op after the migrations, needed after a flush


@pytest.fixture
def ordinary(referentiel):
    return MotifCategory.objects.get(name="Pesée")


@pytest.fixture
def sensitive(referentiel):
    return MotifCategory.objects.get(name="Information préoccupante")


def test_the_referentiels_sensitive_names_are_marked(referentiel):
    marked = set(MotifCategory.objects.filter(sensitive=True).values_list("name", flat=True))
    assert marked == SENSITIVE_NAMES
    assert {"Information préoccupante", "Consultation de planification familiale"} <= marked


def test_the_form_shows_the_setting_with_the_notifications(client, organisation, admin_agent, sensitive):
    client.force_login(admin_agent)
    html = client.get(create_url(organisation)).content.decode()
    assert "Afficher le nom du motif dans les messages" in html
    assert "il n&#x27;apparaît jamais dans les SMS ni dans l&#x27;objet des emails" in html
    # After « Désactiver toutes les notifications… », in the same section.
    section = html.split("Notifications des usagers par email et SMS")[1].split("</fieldset>")[0]
    assert 'name="notifications_disabled"' in section and 'name="show_name_in_messages"' in section
    # motif_form.js greys the box out while a sensitive name is chosen.
    sensitive_ids = html.split('data-sensitive-categories="')[1].split('"')[0].split()
    assert str(sensitive.pk) in sensitive_ids
    assert len(sensitive_ids) == len(SENSITIVE_NAMES)


def test_a_new_motif_of_an_ordinary_name_shows_it_when_the_box_is_ticked(client, organisation, admin_agent, ordinary):
    client.force_login(admin_agent)
    assert client.post(create_url(organisation), data(ordinary, show_name_in_messages="on")).status_code == 302
    assert Motif.objects.get().show_name_in_messages is True


def test_a_new_motif_of_a_sensitive_name_hides_it_whatever_the_box(client, organisation, admin_agent, sensitive):
    client.force_login(admin_agent)
    response = client.post(create_url(organisation), data(sensitive, show_name_in_messages="on"))
    assert response.status_code == 302
    assert Motif.objects.get().show_name_in_messages is False


def test_an_admin_may_show_a_sensitive_name_afterwards_or_hide_an_ordinary_one(
    client, organisation, admin_agent, sensitive, ordinary
):
    client.force_login(admin_agent)
    hidden = MotifFactory(organisation=organisation, category=sensitive, show_name_in_messages=False)
    assert client.post(edit_url(hidden), data(sensitive, show_name_in_messages="on")).status_code == 302
    hidden.refresh_from_db()
    assert hidden.show_name_in_messages is True
    shown = MotifFactory(organisation=organisation, category=ordinary, service=service("PMI"))
    assert client.post(edit_url(shown), data(ordinary)).status_code == 302  # box left unticked
    shown.refresh_from_db()
    assert shown.show_name_in_messages is False


def test_the_migration_hides_the_name_of_existing_motifs_of_a_sensitive_name_only(organisation):
    sensitive_category = MotifCategoryFactory(name="Information préoccupante")
    MotifCategory.objects.filter(pk=sensitive_category.pk).update(sensitive=False)  # as before the migration
    ordinary = MotifFactory(organisation=organisation, category=MotifCategoryFactory(name="Pesée"))
    hidden = MotifFactory(organisation=organisation, category=sensitive_category)
    migration = importlib.import_module("motifs.migrations.0004_discretion")
    migration.mark_sensitive(apps, None)
    assert MotifCategory.objects.get(pk=sensitive_category.pk).sensitive is True
    assert Motif.objects.get(pk=ordinary.pk).show_name_in_messages is True
    assert Motif.objects.get(pk=hidden.pk).show_name_in_messages is False
