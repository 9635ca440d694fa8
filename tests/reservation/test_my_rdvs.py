"""« Mes rendez-vous »: the usager's and its proches' RDVs, never another family's; « Annuler » and
« Déplacer » until the organisation's limit, the phone number past it."""

import pytest
import time_machine
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from rendezvous.history import rdv_history
from rendezvous.models import Rdv
from tests.rendezvous.factories import RdvFactory
from tests.reservation.search_helpers import (
    NOW,
    TUESDAY,
    at,
    booked,
    lieu,
    online_motif,
    organisation,
    plage,
    seine_et_marne,
    sign_in_usager,
)
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    territory = seine_et_marne()
    mds = organisation(territory, "MDS de Noisiel", phone="01 64 62 45 00")
    place = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
    motif = online_motif(mds, "Consultation de puériculture")
    plage(motif, place)
    return {"organisation": mds, "lieu": place, "motif": motif}


@pytest.fixture
def family():
    usager = UsagerFactory(first_name="Inès", last_name="Garrigue", email="ines@example.fr")
    return usager, UsagerFactory(first_name="Lou", last_name="Garrigue", responsible=usager)


def test_signed_out_visitors_are_asked_to_sign_in(client):
    response = client.get("/mes-rendez-vous/")
    assert response.status_code == 302
    assert response["Location"].startswith("/mes-rendez-vous/connexion/?next=")


def test_the_family_rdvs_and_only_them(client, world, family, django_assert_num_queries):
    usager, proche = family
    mine, theirs = booked(world, usager), booked(world, proche, 10)
    stranger = booked(world, UsagerFactory(), 11)
    sign_in_usager(client, usager)
    with django_assert_num_queries(5):
        page = client.get("/mes-rendez-vous/")
    for rdv in (mine, theirs):
        assertContains(page, f'id="rdv-{rdv.pk}"')
    assertNotContains(page, f'id="rdv-{stranger.pk}"')
    assertContains(page, "Pour : Lou GARRIGUE")
    assertContains(page, "Grande Allée des Bois, 77186 Noisiel")
    for verb in ("annuler", "deplacer"):
        assert client.get(f"/mes-rendez-vous/{stranger.pk}/{verb}/").status_code == 404
        assert client.post(f"/mes-rendez-vous/{stranger.pk}/{verb}/").status_code == 404
    stranger.refresh_from_db()
    assert stranger.status == Rdv.Status.UNKNOWN


def test_cancel_asks_then_cancels(client, world, family):
    usager, _proche = family
    rdv = booked(world, usager)
    sign_in_usager(client, usager)
    page = client.get(f"/mes-rendez-vous/{rdv.pk}/annuler/")
    assertContains(page, '<button type="submit" class="fr-btn">Annuler le rendez-vous</button>', html=True)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN
    response = client.post(f"/mes-rendez-vous/{rdv.pk}/annuler/")
    assertRedirects(response, "/mes-rendez-vous/", fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED
    assert rdv_history(rdv)[-1].author == "l'usager"


def test_past_the_limit_the_phone_number_instead(client, world, family):
    usager, _proche = family
    rdv = booked(world, usager)
    sign_in_usager(client, usager)
    with time_machine.travel(at(6), tick=False):
        page = client.get("/mes-rendez-vous/")
        assertContains(page, "Pour annuler ou déplacer ce rendez-vous, appelez le 01 64 62 45 00.")
        assertNotContains(page, f"/mes-rendez-vous/{rdv.pk}/annuler/")
        response = client.get(f"/mes-rendez-vous/{rdv.pk}/annuler/")
        assertContains(response, "Appelez le 01 64 62 45 00.", status_code=409)
        client.post(f"/mes-rendez-vous/{rdv.pk}/annuler/")
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN


def test_move_to_another_time(client, world, family):
    usager, _proche = family
    rdv = booked(world, usager)
    sign_in_usager(client, usager)
    week = client.get(f"/mes-rendez-vous/{rdv.pk}/deplacer/")
    assertContains(week, f'href="?creneau={TUESDAY.isoformat()}T10:00"')
    confirm = client.get(f"/mes-rendez-vous/{rdv.pk}/deplacer/", {"creneau": f"{TUESDAY.isoformat()}T10:00"})
    assertContains(confirm, "Confirmer le déplacement")
    assertContains(confirm, "Garder mon rendez-vous")
    response = client.post(
        f"/mes-rendez-vous/{rdv.pk}/deplacer/", {"creneau": f"{TUESDAY.isoformat()}T10:00", "token": "move-1"}
    )
    moved = Rdv.objects.exclude(pk=rdv.pk).get()
    assertRedirects(response, f"/rendez-vous/{moved.pk}/confirmation/", fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert (rdv.status, moved.starts_at, moved.status) == (Rdv.Status.EXCUSED, at(10), Rdv.Status.UNKNOWN)


def test_moving_to_a_time_taken_meanwhile_keeps_the_rdv(client, world, family):
    usager, _proche = family
    rdv = booked(world, usager)
    agent = rdv.agents.get()
    RdvFactory(organisation=world["organisation"], agents=[agent], starts_at=at(11))
    sign_in_usager(client, usager)
    response = client.post(
        f"/mes-rendez-vous/{rdv.pk}/deplacer/", {"creneau": f"{TUESDAY.isoformat()}T11:00", "token": "move-2"}
    )
    assertRedirects(response, f"/mes-rendez-vous/{rdv.pk}/deplacer/", fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN
    assert Rdv.objects.count() == 2
