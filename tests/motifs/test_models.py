import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from motifs.models import REFERENTIEL, Motif, MotifCategory
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import OrganisationFactory, service

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once

D = Motif.BookingDelay


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"default_duration_in_min": 0}, "La durée par défaut doit être comprise entre 1 et 480 minutes."),
        ({"default_duration_in_min": 481}, "La durée par défaut doit être comprise entre 1 et 480 minutes."),
        ({"color": "red"}, "La couleur doit être au format #RRVVBB."),
        (
            {"min_booking_delay": D.ONE_MONTH, "max_booking_delay": D.ONE_WEEK},
            "Le délai minimum de réservation doit être inférieur au délai maximum de réservation.",
        ),
        (
            {"location_type": Motif.LocationType.HOME, "for_secretariat": True},
            "Un RDV à domicile ne peut pas être effectué par le service secrétariat.",
        ),
    ],
)
def test_the_database_holds_each_rule_with_a_french_message(db, fields, message):
    motif = MotifFactory.build(organisation=OrganisationFactory(), category=MotifCategoryFactory(), **fields)
    with pytest.raises(ValidationError) as error:
        motif.validate_constraints()
    assert message in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        motif.save()


def test_an_active_motif_name_is_unique_per_organisation_service_and_type(db):
    motif = MotifFactory()
    duplicate = MotifFactory.build(organisation=motif.organisation, category=motif.category, service=motif.service)
    with pytest.raises(ValidationError) as error:
        duplicate.validate_constraints()
    assert "Un motif de ce nom existe déjà pour ce service et ce type de RDV dans l'organisation." in str(error.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    motif.archive()
    duplicate.save()  # the archived one no longer holds the name


def test_queryset_scopes_and_filters(db):
    organisation = OrganisationFactory()
    pmi_online = MotifFactory(organisation=organisation, online=True)
    social = MotifFactory(organisation=organisation, service=service("Social"))
    archived = MotifFactory(organisation=organisation, archived=True, online=True)
    MotifFactory(online=True)  # another organisation's
    motifs = Motif.objects.for_organisation(organisation)
    assert set(motifs) == {pmi_online, social, archived}
    assert set(motifs.active()) == {pmi_online, social}
    assert set(motifs.archived()) == {archived}
    assert set(motifs.active().bookable_online()) == {pmi_online}
    assert set(motifs.for_service(service("Social"))) == {social}


def test_booking_delays_go_from_30_minutes_to_one_year_in_seconds():
    values = [value for value, _label in D.choices]
    assert values == sorted(values)
    assert values[0] == 30 * 60 and D.ONE_YEAR == 365 * 24 * 3600
    labels = [str(label) for _value, label in D.choices]
    assert labels[0] == "30 minutes" and labels[-1] == "1 an" and "1 semaine" in labels and "1 mois" in labels


def test_the_referentiel_is_loaded_by_the_migration(db):
    MotifCategory.objects.ensure_referentiel()  # no-op after the data migration, needed after a flush
    names = set(MotifCategory.objects.values_list("name", flat=True))
    assert {name for name, _service in REFERENTIEL} <= names
    assert len(REFERENTIEL) >= 20
    assert MotifCategory.objects.get(name="Pesée").service == service("PMI")
    assert MotifCategory.objects.get(name="Accompagnement RSA").service == service("Social")
