"""« Mon profil »: identity, phone, channels, proches (one's own only), and an email change that
takes effect once the code sent to the new address is typed."""

import pytest
import time_machine
from pytest_django.asserts import assertContains, assertRedirects

from tests.reservation.search_helpers import NOW, sign_in_usager
from tests.reservation.test_identity_views import code_sent_to
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerAccount

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def usager():
    usager = UsagerFactory(first_name="Inès", last_name="Garrigue", email="ines@example.fr", phone="")
    UsagerAccount.objects.create(usager=usager, email="ines@example.fr")
    return usager


def test_signed_out_visitors_are_asked_to_sign_in(client):
    for path in ("/mon-profil/", "/mon-profil/proches/nouveau/", "/mon-profil/adresse-e-mail/"):
        assert client.get(path)["Location"].startswith("/mes-rendez-vous/connexion/?next=")


def test_the_usager_edits_its_profile(client, usager):
    sign_in_usager(client, usager)
    page = client.get("/mon-profil/")
    assertContains(page, '<h1 class="fr-h3">Mon profil</h1>', html=True)
    data = {"first_name": "Inès", "last_name": "Garrigue-Roux", "phone": "06 12 34 56 78", "address": "1 rue X"}
    response = client.post("/mon-profil/", {**data, "notify_by_sms": "on"})
    assertRedirects(response, "/mon-profil/", fetch_redirect_response=False)
    usager.refresh_from_db()
    assert (usager.last_name, usager.phone.as_e164, usager.notify_by_sms, usager.notify_by_email) == (
        "Garrigue-Roux",
        "+33612345678",
        True,
        False,
    )


def test_sms_without_a_phone_is_refused(client, usager):
    sign_in_usager(client, usager)
    response = client.post("/mon-profil/", {"first_name": "Inès", "last_name": "Garrigue", "notify_by_sms": "on"})
    assertContains(response, "Indiquez un numéro de portable pour recevoir les SMS.", status_code=422)
    usager.refresh_from_db()
    assert usager.notify_by_sms is True and not usager.phone  # unchanged: the factory's default


def test_proches_are_added_and_corrected_but_only_ones_own(client, usager):
    sign_in_usager(client, usager)
    response = client.post(
        "/mon-profil/proches/nouveau/", {"first_name": "Lou", "last_name": "Garrigue", "birth_date": "2025-09-14"}
    )
    assertRedirects(response, "/mon-profil/", fetch_redirect_response=False)
    lou = Usager.objects.get(first_name="Lou")
    assert (lou.responsible, lou.created_by) == (usager, "usager")
    client.post(f"/mon-profil/proches/{lou.pk}/", {"first_name": "Louis", "last_name": "Garrigue"})
    lou.refresh_from_db()
    assert lou.first_name == "Louis"
    stranger = UsagerFactory(responsible=UsagerFactory())
    assert client.get(f"/mon-profil/proches/{stranger.pk}/").status_code == 404
    assert client.post(f"/mon-profil/proches/{stranger.pk}/", {"first_name": "X", "last_name": "Y"}).status_code == 404
    stranger.refresh_from_db()
    assert stranger.first_name != "X"
    response = client.post(
        "/mon-profil/proches/nouveau/", {"first_name": "Zoé", "last_name": "G", "birth_date": "2999-01-01"}
    )
    assertContains(response, "La date de naissance ne peut pas être dans le futur.", status_code=422)


def test_the_email_changes_only_once_the_code_is_typed(client, usager):
    sign_in_usager(client, usager)
    page = client.post("/mon-profil/adresse-e-mail/", {"email": "ines.nouvelle@example.fr"})
    assertContains(page, "<strong>ines.nouvelle@example.fr</strong>", html=True)
    usager.refresh_from_db()
    assert usager.email == "ines@example.fr"
    wrong = client.post(
        "/mon-profil/adresse-e-mail/",
        {"code": "000000" if code_sent_to("ines.nouvelle@example.fr") != "000000" else "111111"},
    )
    assertContains(wrong, "Code incorrect. Il vous reste 4 essais.", status_code=422)
    response = client.post("/mon-profil/adresse-e-mail/", {"code": code_sent_to("ines.nouvelle@example.fr")})
    assertRedirects(response, "/mon-profil/", fetch_redirect_response=False)
    usager.refresh_from_db()
    assert usager.email == "ines.nouvelle@example.fr"
    assert usager.account.email == "ines.nouvelle@example.fr"


def test_an_address_of_another_account_is_refused(client, usager):
    other = UsagerFactory(email="autre@example.fr")
    UsagerAccount.objects.create(usager=other, email="autre@example.fr")
    sign_in_usager(client, usager)
    response = client.post("/mon-profil/adresse-e-mail/", {"email": "Autre@Example.fr"})
    assertContains(response, "Cette adresse est déjà celle d&#x27;un autre compte.", status_code=422)
