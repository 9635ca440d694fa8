import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.organisations.factories import OrganisationFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerProfile


def test_an_usager_cannot_be_its_own_responsible(organisation):
    usager = UsagerFactory(organisation=organisation)
    with pytest.raises(IntegrityError), transaction.atomic():
        Usager.objects.filter(pk=usager.pk).update(responsible=usager)


def test_an_usager_has_one_profile_per_organisation(organisation):
    usager = UsagerFactory(organisation=organisation)
    with pytest.raises(IntegrityError), transaction.atomic():
        UsagerProfile.objects.create(usager=usager, organisation=organisation)


def test_organisation_ids_follow_the_profiles_whatever_django_writes(organisation):
    usager = UsagerFactory(organisation=organisation)
    other = OrganisationFactory()
    stale = Usager.objects.get(pk=usager.pk)
    assert stale.organisation_ids == [organisation.pk]

    profile = UsagerProfile.objects.create(usager=usager, organisation=other)
    usager.refresh_from_db()
    assert usager.organisation_ids == sorted([organisation.pk, other.pk])

    stale.first_name = "Gaëlle"
    stale.save()  # writes back the old list: PostgreSQL corrects it
    stale.refresh_from_db()
    assert stale.organisation_ids == sorted([organisation.pk, other.pk])

    UsagerProfile.objects.filter(pk=profile.pk).update(deleted_at=timezone.now())
    usager.refresh_from_db()
    assert usager.organisation_ids == [organisation.pk]

    UsagerProfile.objects.filter(usager=usager).delete()
    usager.refresh_from_db()
    assert usager.organisation_ids == []


def test_bulk_created_profiles_update_their_usagers(organisation):
    usagers = UsagerFactory.create_batch(3)
    UsagerProfile.objects.bulk_create([UsagerProfile(usager=u, organisation=organisation) for u in usagers])
    assert set(Usager.objects.visible_in(organisation)) == set(usagers)


def test_age_counts_babies_in_months(organisation):
    today = timezone.localdate()
    baby = UsagerFactory(birth_date=today - datetime.timedelta(days=700))
    adult = UsagerFactory(birth_date=today.replace(year=today.year - 40) - datetime.timedelta(days=1))
    assert baby.age.endswith("mois")
    assert adult.age == "40 ans"
    assert UsagerFactory().age == ""
