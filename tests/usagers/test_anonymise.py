import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notify
from rendezvous.models import Rdv
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import EmailCode, Usager, UsagerAccount, UsagerProfile

LONG_AGO = timezone.now() - datetime.timedelta(days=3 * 365)
LONG = datetime.timedelta(days=1)


def age(usager, when=LONG_AGO):
    """Pretends everything about this usager (and its profiles) happened `when`."""
    Usager.objects.filter(pk=usager.pk).update(created_at=when)
    Usager.history.model.objects.filter(id=usager.pk).update(history_date=when)
    UsagerProfile.history.model.objects.filter(usager_id=usager.pk).update(history_date=when)


def run(*args) -> str:
    out = io.StringIO()
    call_command("anonymise_usagers", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_family(organisation, basic_agent):
    responsible = UsagerFactory(
        organisation=organisation, complete=True, notes="Suivi social", referents=[basic_agent], last_name="Hénault"
    )
    proche = UsagerFactory(organisation=organisation, responsible=responsible, first_name="Léo", last_name="Hénault")
    age(responsible)
    age(proche)
    return responsible, proche


def test_anonymises_families_without_change_for_two_years_keeping_statistics(organisation, old_family):
    responsible, proche = old_family
    recent = UsagerFactory(organisation=organisation, complete=True)

    assert "2 usager(s) anonymisés" in run()

    responsible.refresh_from_db()
    proche.refresh_from_db()
    for usager in (responsible, proche):
        assert usager.anonymised_at is not None
        assert (usager.first_name, usager.last_name, usager.email, str(usager.phone)) == ("Usager", "Anonymisé", "", "")
        assert usager.history.count() == 0
    assert responsible.address == responsible.case_number == responsible.birth_name == ""
    # What statistics count is kept.
    assert responsible.birth_date == datetime.date(1987, 1, 1)
    assert responsible.caisse == "caf" and responsible.number_of_children == 2
    profile = responsible.profiles.get()
    assert profile.organisation == organisation
    assert profile.notes == ""
    assert not profile.referents.exists()
    assert not UsagerProfile.history.model.objects.filter(usager_id=responsible.pk).exists()
    # Anonymised usagers leave the base.
    assert list(Usager.objects.visible_in(organisation)) == [recent]
    recent.refresh_from_db()
    assert recent.anonymised_at is None and recent.email


def test_a_recent_change_in_the_family_keeps_it(organisation, old_family):
    responsible, proche = old_family
    proche.first_name = "Léon"
    proche.save()
    assert "0 usager(s)" in run()
    responsible.refresh_from_db()
    assert responsible.anonymised_at is None


def test_a_recent_change_of_profile_keeps_it(organisation, old_family, basic_agent):
    responsible, _proche = old_family
    profile = responsible.profiles.get()
    profile.notes = "Nouvelle note"
    profile.save()
    assert "0 usager(s)" in run()


def test_years_is_configurable(organisation, old_family):
    assert "0 usager(s)" in run("--years", "5")
    assert "2 usager(s)" in run("--years", "1")


def test_dry_run_changes_nothing(organisation, old_family):
    responsible, _proche = old_family
    assert "2 usager(s) seraient anonymisés" in run("--dry-run")
    responsible.refresh_from_db()
    assert responsible.anonymised_at is None and responsible.last_name == "Hénault"


def test_is_idempotent_and_works_batch_by_batch(organisation):
    for _ in range(5):
        age(UsagerFactory(organisation=organisation, with_email=True))
    assert "5 usager(s) anonymisés (5 famille(s)" in run("--batch-size", "2")
    assert "0 usager(s)" in run()
    assert Usager.objects.filter(anonymised_at__isnull=False).count() == 5


def test_removed_usagers_are_erased_once_the_period_has_passed(organisation):
    usager = UsagerFactory(organisation=organisation)
    UsagerProfile.objects.filter(usager=usager).update(deleted_at=LONG_AGO)
    age(usager)
    run()
    usager.refresh_from_db()
    assert usager.anonymised_at is not None


def test_the_messages_sent_to_an_anonymised_family_are_erased_but_counted(organisation, old_family):
    responsible, proche = old_family
    rdv = RdvFactory(organisation=organisation, usagers=[responsible, proche])
    notify(rdv, Notification.Event.CREATED)
    Rdv.objects.filter(pk=rdv.pk).update(starts_at=LONG_AGO, ends_at=LONG_AGO + datetime.timedelta(minutes=30))
    assert Notification.objects.filter(usager=responsible).count() == 2

    run()

    rows = Notification.objects.filter(usager=responsible)
    assert [(row.channel, row.to, row.subject, row.body) for row in rows] == [
        ("email", "", "", ""),
        ("sms", "", "", ""),
    ]


def test_the_online_account_and_its_codes_go_with_the_family(organisation, old_family):
    responsible, _proche = old_family
    UsagerAccount.objects.create(usager=responsible, email="Famille.Henault@example.fr", last_login_at=LONG_AGO)
    stranger = UsagerFactory(organisation=organisation)
    UsagerAccount.objects.create(usager=stranger, email="autre@example.fr")
    for email in ("famille.henault@example.fr", "autre@example.fr"):
        EmailCode.objects.create(
            email=email, purpose=EmailCode.Purpose.LOGIN, code_hash="x", expires_at=timezone.now() + LONG
        )

    assert "2 usager(s) anonymisés" in run()

    assert list(UsagerAccount.objects.values_list("email", flat=True)) == ["autre@example.fr"]
    assert list(EmailCode.objects.values_list("email", flat=True)) == ["autre@example.fr"]


def test_signing_in_online_is_activity_that_keeps_the_family(organisation, old_family):
    responsible, _proche = old_family
    UsagerAccount.objects.create(usager=responsible, email="famille@example.fr", last_login_at=timezone.now())
    assert "0 usager(s)" in run()
    assert UsagerAccount.objects.filter(usager=responsible).exists()
