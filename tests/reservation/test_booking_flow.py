"""Steps 6 to 8 of « Prendre rendez-vous » for an identified usager: « Vos informations »,
« Vérifiez votre rendez-vous », the confirmation; a double click, a time taken meanwhile, a
tampered créneau, a proche of another family."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from motifs.models import Motif
from notifications.models import Notification
from rendezvous.models import Rdv
from tests.helpers import at_once, held_elsewhere
from tests.rendezvous.factories import RdvFactory
from tests.reservation.search_helpers import (
    MONDAY,
    NOISIEL,
    NOW,
    PARIS,
    lieu,
    online_motif,
    organisation,
    plage,
    seine_et_marne,
    sign_in_usager,
    url,
)
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerProfile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("communes")]
TUESDAY_930 = dt.datetime.combine(MONDAY + dt.timedelta(days=1), dt.time(9, 30))


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    territory = seine_et_marne()
    mds = organisation(territory, "MDS de Noisiel")
    place = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
    motif = online_motif(mds, "Consultation de puériculture")
    plage(motif, place)
    return {"organisation": mds, "lieu": place, "motif": motif}


@pytest.fixture
def usager():
    return UsagerFactory(first_name="Inès", last_name="Garrigue", email="ines@example.fr", phone="")


def choice(world, **extra) -> dict:
    motif = world["motif"]
    params = {
        "commune": NOISIEL,
        "motif": f"{motif.category_id}-{motif.location_type}",
        "lieu": world["lieu"].pk,
        "creneau": TUESDAY_930.strftime("%Y-%m-%dT%H:%M"),
    }
    if motif.location_type != Motif.LocationType.PUBLIC_OFFICE:
        params.pop("lieu")
        params["organisation"] = world["organisation"].pk
    return {**params, **extra}


def informations(client, world, data=None, **extra):
    if data is None:
        return client.get(url("informations", **choice(world, **extra)))
    return client.post(url("informations", **choice(world, **extra)), data)


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def book_through_the_pages(client, world, data=None) -> Rdv:
    response = informations(client, world, data or {"for_whom": "moi", "notify_by_email": "on"})
    assertRedirects(response, url("verify", **choice(world)), fetch_redirect_response=False)
    verify = client.get(url("verify", **choice(world)))
    response = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    rdv = Rdv.objects.get()
    assertRedirects(response, f"/rendez-vous/{rdv.pk}/confirmation/", fetch_redirect_response=False)
    return rdv


def test_an_anonymous_visitor_is_asked_its_identity_first(client, world):
    response = informations(client, world)
    assert response.status_code == 302
    assert response["Location"].startswith("/prendre-rdv/identite/?next=%2Fprendre-rdv%2Finformations%2F")


def test_booking_for_oneself(client, world, usager):
    sign_in_usager(client, usager)
    response = informations(client, world)
    assertContains(response, '<h1 class="fr-h3">Vos informations</h1>', html=True)
    assertNotContains(response, "Adresse du rendez-vous")
    rdv = book_through_the_pages(client, world, {"for_whom": "moi", "notify_by_email": "on"})
    assert (rdv.created_by, rdv.created_by_agent, rdv.lieu) == (Rdv.CreatedBy.USAGER, None, world["lieu"])
    assert rdv.starts_at == TUESDAY_930.replace(tzinfo=PARIS)
    assert [p.usager for p in rdv.participations.all()] == [usager]
    assert UsagerProfile.objects.filter(usager=usager, organisation=world["organisation"]).exists()
    assert list(Notification.objects.filter(rdv=rdv).values_list("channel", "to")) == [("email", "ines@example.fr")]
    page = client.get(f"/rendez-vous/{rdv.pk}/confirmation/")
    assertContains(page, "Votre rendez-vous est confirmé")
    assertContains(page, "Grande Allée des Bois, 77186 Noisiel")
    calendar = client.get(f"/rendez-vous/{rdv.pk}/calendrier.ics")
    assert calendar["Content-Type"] == "text/calendar; charset=utf-8"
    # The motif allows its name in messages (tests/notifications/test_ics.py: one that does not).
    assert "SUMMARY:RDV PMI : Consultation de puériculture — MDS de Noisiel" in calendar.content.decode()


def test_the_verify_page_says_it_is_not_booked_yet_and_offers_to_modify(client, world, usager):
    sign_in_usager(client, usager)
    informations(client, world, {"for_whom": "moi", "notify_by_email": "on"})
    page = client.get(url("verify", **choice(world)))
    assertContains(page, '<h1 class="fr-h3">Vérifiez votre rendez-vous</h1>', html=True)
    assertContains(page, "Votre rendez-vous n'est pas encore réservé : vérifiez puis confirmez.")
    assertContains(page, '<button type="submit" class="fr-btn">Confirmer le rendez-vous</button>', html=True)
    assert page.content.decode().count(">Modifier<") == 5
    assert not Rdv.objects.exists()


@pytest.mark.parametrize("typed", ["06 12 34 56 78", "+33612345678", "0612345678"])
def test_the_verify_page_shows_the_phone_as_a_french_number(client, world, usager, typed):
    """The phone is kept as +33… (E.164); « Vérifiez » shows it as the usager reads a number,
    however it was typed."""
    sign_in_usager(client, usager)
    informations(client, world, {"for_whom": "moi", "phone": typed, "notify_by_email": "on"})
    page = client.get(url("verify", **choice(world)))
    assertContains(page, "<dt>Téléphone</dt><dd>06 12 34 56 78 ")
    assertNotContains(page, "+33")


def test_booking_for_a_new_proche(client, world, usager):
    sign_in_usager(client, usager)
    rdv = book_through_the_pages(
        client,
        world,
        {
            "for_whom": "nouveau",
            "proche_first_name": "Lou",
            "proche_last_name": "Garrigue",
            "proche_birth_date": "2029-06-01",
            "phone": "06 12 34 56 78",
            "notify_by_sms": "on",
        },
    )
    proche = Usager.objects.get(first_name="Lou")
    assert (proche.responsible, proche.created_by, proche.birth_date) == (usager, "usager", dt.date(2029, 6, 1))
    assert [p.usager for p in rdv.participations.all()] == [proche]
    usager.refresh_from_db()
    assert (usager.phone.as_e164, usager.notify_by_sms, usager.notify_by_email) == ("+33612345678", True, False)


def test_a_new_proche_needs_its_names(client, world, usager):
    sign_in_usager(client, usager)
    response = informations(client, world, {"for_whom": "nouveau"})
    assert response.status_code == 422
    assertContains(response, "Indiquez le prénom du proche.", status_code=422)
    assertContains(response, "Indiquez le nom du proche.", status_code=422)


def test_a_proche_of_another_family_is_refused(client, world, usager):
    stranger = UsagerFactory(responsible=UsagerFactory())
    sign_in_usager(client, usager)
    response = informations(client, world, {"for_whom": str(stranger.pk)})
    assert response.status_code == 422
    assert not Rdv.objects.exists()


def test_sms_needs_a_phone(client, world, usager):
    sign_in_usager(client, usager)
    response = informations(client, world, {"for_whom": "moi", "notify_by_sms": "on"})
    assert response.status_code == 422
    assertContains(response, "Indiquez un numéro de portable pour recevoir les SMS.", status_code=422)


def test_a_phone_motif_needs_a_phone_and_a_home_motif_an_address(client, world, usager):
    sign_in_usager(client, usager)
    for location_type, label, message in (
        (Motif.LocationType.PHONE, "Numéro de téléphone", "Ce champ est obligatoire."),
        (Motif.LocationType.HOME, "Adresse du rendez-vous", "Ce champ est obligatoire."),
    ):
        motif = online_motif(world["organisation"], f"Entretien {location_type}", location_type)
        plage(motif, None)
        response = informations(client, {**world, "motif": motif}, {"for_whom": "moi"})
        assert response.status_code == 422, location_type
        assertContains(response, label, status_code=422)
        assertContains(response, message, status_code=422)


def test_instructions_must_be_accepted(client, world, usager):
    world["motif"].instructions_before = "Apportez le carnet de santé."
    world["motif"].save()
    sign_in_usager(client, usager)
    informations(client, world, {"for_whom": "moi"})
    verify = client.get(url("verify", **choice(world)))
    assertContains(verify, "Apportez le carnet de santé.")
    response = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    assert response.status_code == 422
    assertContains(response, "Cochez la case pour accepter les instructions avant de confirmer.", status_code=422)
    assert not Rdv.objects.exists()
    response = client.post(url("verify", **choice(world)), {"token": token_of(verify), "accept_instructions": "on"})
    assert response.status_code == 302 and Rdv.objects.count() == 1


def test_a_double_click_books_once(client, world, usager):
    sign_in_usager(client, usager)
    informations(client, world, {"for_whom": "moi"})
    verify = client.get(url("verify", **choice(world)))
    first = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    informations(client, world, {"for_whom": "moi"})
    second = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    assert Rdv.objects.count() == 1
    assert first["Location"] == second["Location"]


@pytest.mark.django_db(transaction=True)
def test_a_double_click_at_the_same_instant_books_once(client, world, usager):
    """The same form sent twice at the same instant, on two connections: one RDV. The twin waits
    for the first (the booking token's lock) or finds its RDV; both go to its confirmation."""
    sign_in_usager(client, usager)
    informations(client, world, {"for_whom": "moi"})
    data = {"token": token_of(client.get(url("verify", **choice(world))))}

    def click() -> str:
        twin = Client()
        for name, morsel in client.cookies.items():
            twin.cookies[name] = morsel.value
        return twin.post(url("verify", **choice(world)), data)["Location"]

    answers = at_once(click, click)
    rdv = Rdv.objects.get()
    assert answers == [f"/rendez-vous/{rdv.pk}/confirmation/"] * 2


@pytest.mark.django_db(transaction=True)
def test_a_time_being_booked_by_another_confirmation_is_refused_before_anything_is_written(client, world, usager):
    """Another confirmation holds the agent's time (its RDV not committed yet): this one answers
    « taken » at once, without waiting for it, and writes nothing (the phone and preferences it
    was given, the profile in the organisation)."""
    sign_in_usager(client, usager)
    before = (usager.phone, usager.notify_by_sms, usager.notify_by_email)
    informations(client, world, {"for_whom": "moi", "phone": "06 12 34 56 78", "notify_by_email": "on"})
    verify = client.get(url("verify", **choice(world)))
    agent = world["motif"].organisation.agent_roles.get().agent
    start = TUESDAY_930.replace(tzinfo=PARIS)
    with (
        held_elsewhere([agent.pk], (start, start + dt.timedelta(minutes=world["motif"].default_duration_in_min))),
        CaptureQueriesContext(connection) as queries,
    ):
        taken = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    assert taken.status_code == 302 and "/creneau/" in taken["Location"]
    written = [query["sql"] for query in queries if query["sql"].lstrip().startswith(("INSERT", "UPDATE"))]
    assert [sql for sql in written if "django_session" not in sql] == []
    usager.refresh_from_db()
    assert (usager.phone, usager.notify_by_sms, usager.notify_by_email) == before
    assert before != ("+33612345678", False, True)
    assert not UsagerProfile.objects.filter(usager=usager).exists()
    assert not Rdv.objects.exists()


def test_a_time_taken_meanwhile_sends_back_to_the_week(client, world, usager):
    sign_in_usager(client, usager)
    informations(client, world, {"for_whom": "moi"})
    verify = client.get(url("verify", **choice(world)))
    agent = world["motif"].organisation.agent_roles.get().agent
    RdvFactory(organisation=world["organisation"], agents=[agent], starts_at=TUESDAY_930.replace(tzinfo=PARIS))
    # Known before anything is written: no transaction, no agent's lock, the usager as it was.
    with CaptureQueriesContext(connection) as queries:
        taken = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    assert taken.status_code == 302
    written = [query["sql"] for query in queries if not query["sql"].lstrip("( \n").startswith("SELECT")]
    assert [sql for sql in written if "django_session" not in sql] == []
    assert not any("pg_advisory_xact_lock" in query["sql"] for query in queries)
    response = client.get(taken["Location"])
    assertContains(response, "Ce créneau vient d&#x27;être pris. Voici les prochains créneaux libres.")
    assert Rdv.objects.count() == 1


@pytest.mark.parametrize(
    "tampered",
    [
        {"creneau": "2030-03-05T09:10"},  # never offered
        {"creneau": "2030-03-05T13:00"},  # outside the plage
        {"creneau": "2030-03-31T02:30"},  # does not exist (clocks go forward)
        {"creneau": "1999-01-01T09:00"},
        {"lieu": "999999"},
        {"commune": "13055"},  # Marseille: the MDS de Noisiel is not offered there
    ],
)
def test_a_tampered_choice_books_nothing(client, world, usager, tampered):
    sign_in_usager(client, usager)
    response = informations(client, world, {"for_whom": "moi"}, **tampered)
    assert response.status_code == 302
    assert "/prendre-rdv/" in response["Location"] or response["Location"].startswith("/?")
    assert not Rdv.objects.exists()


def test_the_confirmation_of_another_familys_rdv_is_not_found(client, world, usager):
    other = RdvFactory(organisation=world["organisation"])
    sign_in_usager(client, usager)
    assert client.get(f"/rendez-vous/{other.pk}/confirmation/").status_code == 404
    assert client.get(f"/rendez-vous/{other.pk}/calendrier.ics").status_code == 404


def test_bookings_per_usager_and_day_are_limited(client, world, usager):
    sign_in_usager(client, usager)
    for attempt in range(10):
        informations(client, world, {"for_whom": "moi"})
        assert client.post(url("verify", **choice(world)), {"token": f"t{attempt}"}).status_code == 302
    informations(client, world, {"for_whom": "moi"})
    response = client.post(url("verify", **choice(world)), {"token": "t10"})
    assert response.status_code == 429
    assertContains(response, "Trop de demandes", status_code=429)
    assert Rdv.objects.count() == 1


def test_a_home_address_is_routed_again(client, world, usager):
    """À domicile, the address finally given must be one the organisation serves: checked by its
    postal code (no geocoder here)."""
    from tests.reservation.search_helpers import CHELLES, Level, sector

    territory = world["organisation"].territory
    chelles = organisation(territory, "MDS de Chelles")
    sector(territory, "Noisiel", [NOISIEL], world["organisation"])
    sector(territory, "Chelles", [CHELLES], chelles)
    motif = online_motif(
        world["organisation"], "Visite à domicile", Motif.LocationType.HOME, sectorisation_level=Level.ORGANISATION
    )
    plage(motif, None)
    home = {**world, "motif": motif}
    sign_in_usager(client, usager)
    for address, error in (
        ("3 rue de la Gare, 77500 Chelles", "MDS de Noisiel ne se déplace pas à cette adresse."),
        ("3 rue de la Gare, Noisiel", "Indiquez le code postal de l&#x27;adresse."),
    ):
        response = informations(client, home, {"for_whom": "moi", "address": address})
        assertContains(response, error, status_code=422)
    response = informations(client, home, {"for_whom": "moi", "address": "3 allée des Bois, 77186 Noisiel"})
    assert response.status_code == 302


def test_queries_of_the_last_steps(client, world, usager, django_assert_num_queries):
    """Bounded whatever the data. The lieu, its motif and the route are kept under the catalogue's
    number (reservation.catalogue) once a page of the wizard has read them; the proches are read
    only for a proche's RDV. Of the confirmation that finds its créneau taken, only what says so."""
    late = Client()
    sign_in_usager(late, UsagerFactory(email="late@example.fr"))
    informations(late, world, {"for_whom": "moi"})
    late_verify = late.get(url("verify", **choice(world)))
    sign_in_usager(client, usager)
    with django_assert_num_queries(5):  # the answers kept in the session: one UPDATE (rdv.sessions)
        informations(client, world, {"for_whom": "moi"})
    # The session, the usager, the catalogue's number, the créneau's engine (4 queries).
    with django_assert_num_queries(7):
        verify = client.get(url("verify", **choice(world)))
    # The RDV, its messages (to the usager at hand: not read again), its history; the plages for
    # the motif and their exceptions (read once, then kept under the catalogue's number), and
    # which of the agents whose plage covers the créneau are busy then, with the booking token in
    # the same statement; the lock on the booking token (a twin submission waits for this one),
    # the agent's time, then the engine's check that it is still offered. The new profile in one
    # statement, then its history (usagers.services.make_known_to). No savepoint but where an
    # error is recovered from (the RDV's insertion) or an agent may be released (held, then not
    # offered); its agents and the new profile's référents not read back for their history; the
    # agents to tell not read again; the session written in one UPDATE.
    with django_assert_num_queries(31):
        booked = client.post(url("verify", **choice(world)), {"token": token_of(verify)})
    assert booked.status_code == 302 and Rdv.objects.count() == 1
    # The session, the usager, the catalogue's number, one query that finds every agent who could
    # take it busy then and reads the booking token: no créneaux computed, no write, no lock.
    with django_assert_num_queries(4):
        taken = late.post(url("verify", **choice(world)), {"token": token_of(late_verify)})
    assert taken.status_code == 302 and "/creneau/" in taken["Location"]
