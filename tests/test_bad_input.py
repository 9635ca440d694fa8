"""Bad input is a 4xx, never a 500 (issue 18, point 1): a NUL character anywhere in a request,
control characters in a form's text, dates out of any calendar's reach, a `next` that is not a
page of this site. Each cause is reproduced where it was found; tests/test_no_server_error.py
sweeps every agent page with the same values."""

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertRedirects

from rendezvous.models import Rdv
from rendezvous.online import book
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import form_data, open_day
from tests.reservation import search_helpers as public
from tests.reservation.search_helpers import sign_in_usager
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager

# Run once in CI, not again at the DST instant (.ci/run): a refused value is refused whatever the
# hour (the tests that need an instant hold their own).
pytestmark = [pytest.mark.django_db, pytest.mark.once]

NUL_PAGE_TITLE = "<h1>Demande invalide</h1>"


def org_url(name, organisation, **kwargs):
    return reverse(name, kwargs={"organisation_id": organisation.pk, **kwargs})


def assert_refused_nul(response):
    assert response.status_code == 400
    assertContains(response, NUL_PAGE_TITLE, status_code=400, html=True)


@pytest.fixture
def signed_in(client, admin_agent):
    client.force_login(admin_agent)
    return client


# ---------------------------------------------------------------------------------------------
# A NUL character: PostgreSQL refuses it in any text, so the request is refused as a whole (400)


def test_nul_in_the_usager_list_search(signed_in, organisation):
    assert_refused_nul(signed_in.get(org_url("usagers:list", organisation), {"q": "x\x00y"}))


def test_nul_in_the_live_search(signed_in, organisation):
    assert_refused_nul(signed_in.get(org_url("usagers:search", organisation), {"q": "x\x00y"}))


def test_nul_in_the_booking_wizard_usager_search(signed_in, organisation):
    motif = MotifFactory(organisation=organisation)
    assert_refused_nul(signed_in.get(org_url("rendezvous:usager_picker", organisation), {"q": "x\x00y"}))
    data = {"motif": motif.pk, "etape": "usagers", "action": "rechercher", "q": "x\x00y"}
    assert_refused_nul(signed_in.post(org_url("rendezvous:create", organisation), data))


def test_nul_in_modifier(signed_in, organisation, admin_agent):
    rdv = RdvFactory(organisation=organisation, agents=[admin_agent], notes="Avant")
    open_day(rdv, admin_agent)
    update = org_url("rendezvous:update", organisation, pk=rdv.pk)
    assert_refused_nul(signed_in.post(update, {**form_data(rdv), "action": "rechercher", "q": "x\x00y"}))
    assert_refused_nul(signed_in.post(update, form_data(rdv, notes="Apr\x00ès")))
    rdv.refresh_from_db()
    assert rdv.notes == "Avant"


def test_nul_in_trouver_un_creneau(signed_in, organisation, admin_agent):
    motif = MotifFactory(organisation=organisation)
    plage = PlageOuvertureFactory(organisation=organisation, agent=admin_agent, motifs=[motif])
    creneaux = org_url("rendezvous:creneaux", organisation)
    start = dt.datetime.combine(plage.first_day + dt.timedelta(days=1), dt.time(9)).strftime("%Y-%m-%dT%H:%M")
    slot = {"motif": motif.pk, "creneau": start, "agent": admin_agent.pk, "lieu": plage.lieu_id}
    assert_refused_nul(signed_in.get(creneaux, {**slot, "usagers": "", "q": "x\x00y", "action": "rechercher"}))
    assert_refused_nul(signed_in.get(creneaux, {"motif": f"{motif.pk}\x00"}))


def test_nul_in_a_text_post_writes_nothing(signed_in, organisation):
    data = {"first_name": "In\x00ès", "last_name": "Garrigue"}
    assert_refused_nul(signed_in.post(org_url("usagers:create", organisation), data))
    assert not Usager.objects.exists()


def test_nul_in_a_field_name(signed_in, organisation):
    assert_refused_nul(signed_in.post(org_url("usagers:create", organisation), {"first\x00name": "Inès"}))
    assert_refused_nul(signed_in.get(org_url("usagers:list", organisation) + "?q\x00=x"))
    upload = SimpleUploadedFile("secteurs.csv", b"secteur;commune\n", content_type="text/csv")
    assert_refused_nul(signed_in.post(org_url("sectorisation:import", organisation), {"fi\x00le": upload}))


def test_nul_on_the_login_page(client, basic_agent, password):
    # django-axes writes a failed attempt with its user agent to the database: that one was a 500.
    assert_refused_nul(client.post(reverse("agents:login"), {"username": "a\x00@b.fr", "password": password}))
    data = {"username": basic_agent.email, "password": "mauvais-mot-de-passe"}
    assert_refused_nul(client.post(reverse("agents:login"), data, HTTP_USER_AGENT="Mozilla\x00"))


@pytest.mark.parametrize("login", ["agents:login", "admin:login"])
def test_a_very_long_username_on_a_login_page(client, db, login):
    """Found by the fuzz (tests/fuzz): the Django admin's login form does not bound the username,
    and django-axes wrote the failed attempt's to a column of 255 characters: a 500. The attempt
    is now counted for its first 254 characters (no agent's email is longer)."""
    username = "é" * 5_000
    response = client.post(reverse(login), {"username": username, "password": "mauvais-mot-de-passe"})
    assert response.status_code == 200
    assert all(len(attempt.username) <= 254 for attempt in AccessAttempt.objects.all())


def test_nul_in_a_url_segment(client, db):
    assert_refused_nul(client.get("/calendrier/abc\x00def.ics"))
    assert_refused_nul(client.get("/invitation/abc%00def/"))


def test_a_cookie_with_nul_is_dropped(client, organisation, basic_agent):
    """Browsers never hold such a cookie: a forged one is ignored, as if absent."""
    home = org_url("organisations:home", organisation)
    forged = Client()
    forged.cookies["sessionid"] = "abcdefgh\x00ijkl"
    assert forged.get(reverse("agents:login")).status_code == 200
    assert forged.get(home).status_code == 302
    client.force_login(basic_agent)
    client.cookies["rdv_usager"] = "\x00"
    assert client.get(home).status_code == 200


def test_the_refusal_is_a_french_page_without_the_value(client, db):
    response = client.get(reverse("agents:login"), {"next": "<script>\x00"})
    assert_refused_nul(response)
    assertContains(response, "caractère nul", status_code=400)
    assert b"<script>" not in response.content


# ---------------------------------------------------------------------------------------------
# Control characters in a form's text: refused on the field, in French


def test_control_characters_are_refused_on_the_field(signed_in, organisation):
    response = signed_in.post(org_url("usagers:create", organisation), {"first_name": "In\x1bès", "last_name": "G"})
    assert response.status_code == 422
    assert response.context["form"].errors["first_name"] == [
        "Ce champ contient un caractère invisible (caractère de contrôle) : retirez-le ou retapez le texte."
    ]
    assert not Usager.objects.exists()


def test_a_line_break_is_refused_on_a_one_line_field_only(signed_in, organisation):
    data = {"first_name": "Inès\nX", "last_name": "Garrigue", "notes": "Première ligne\r\n\tseconde ligne"}
    response = signed_in.post(org_url("usagers:create", organisation), data)
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["first_name"]
    response = signed_in.post(org_url("usagers:create", organisation), {**data, "first_name": "Inès"})
    assert response.status_code == 302
    assert Usager.objects.get().profiles.get().notes == "Première ligne\r\n\tseconde ligne"


# ---------------------------------------------------------------------------------------------
# Far dates: bounded in every form (1900 to 2100) and in the URLs


FAR = ["9999-12-31", "0001-01-01"]
BOUNDS_ERROR = "Saisissez une date entre 1900 et 2100."


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("field", ["du", "au"])
def test_far_dates_in_the_rdv_list_filters(signed_in, organisation, admin_agent, field, day):
    RdvFactory(organisation=organisation, agents=[admin_agent])
    response = signed_in.get(org_url("rendezvous:list", organisation), {field: day})
    assert response.status_code == 422  # as the plages', absences' and motifs' lists answer
    assert response.context["form"].errors[field] == [BOUNDS_ERROR]


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("field", ["first_day", "until"])
def test_far_dates_of_a_plage(signed_in, organisation, admin_agent, field, day):
    lieu_ = PlageOuvertureFactory(organisation=organisation, agent=admin_agent).lieu
    data = {
        "title": "Consultation",
        "lieu": lieu_.pk,
        "first_day": "2030-03-04",
        "start_time": "09:00",
        "end_time": "12:00",
        "repeat": "on",
        "interval": "1",
        "frequency": "weekly",
        "weekdays": ["0"],
        field: day,
    }
    response = signed_in.post(org_url("planning:plage_create", organisation, agent_id=admin_agent.pk), data)
    assert response.status_code == 422
    assert response.context["form"].errors[field] == [BOUNDS_ERROR]


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("field", ["first_day", "end_day", "until"])
def test_far_dates_of_an_absence(signed_in, organisation, admin_agent, field, day):
    data = {
        "title": "Formation",
        "first_day": "2030-03-04",
        "start_time": "09:00",
        "end_day": "2030-03-05",
        "end_time": "17:00",
        "repeat": "on",
        "interval": "1",
        "weekdays": ["0"],
        field: day,
    }
    response = signed_in.post(org_url("planning:absence_create", organisation, agent_id=admin_agent.pk), data)
    assert response.status_code == 422
    assert response.context["form"].errors[field] == [BOUNDS_ERROR]


@pytest.mark.parametrize("day", [*FAR, "2101-01-06", "1899-12-25", "2030-02-30"])
@pytest.mark.parametrize("kind", ["plage", "absence"])
def test_far_dates_in_an_occurrence_url_are_a_404(signed_in, organisation, admin_agent, kind, day):
    factory = PlageOuvertureFactory if kind == "plage" else AbsenceFactory
    event = factory(organisation=organisation, agent=admin_agent, weekly=True, weekdays=(0, 1, 2, 3, 4, 5, 6))
    name = f"planning:{kind}_occurrence"
    path = org_url(name, organisation, agent_id=admin_agent.pk, pk=event.pk, day="2030-03-04")
    assert signed_in.get(path.replace("2030-03-04", day)).status_code == 404


@pytest.mark.parametrize("day", FAR)
def test_far_dates_to_move_an_occurrence(signed_in, organisation, admin_agent, day):
    event = AbsenceFactory(organisation=organisation, agent=admin_agent, weekly=True, weekdays=(0, 1, 2, 3, 4, 5, 6))
    occurrence = org_url(
        "planning:absence_occurrence", organisation, agent_id=admin_agent.pk, pk=event.pk, day=event.first_day
    )
    data = {"action": "move", "start_day": day, "start_time": "09:00", "end_day": day, "end_time": "10:00"}
    response = signed_in.post(occurrence, data)
    assert response.status_code == 422
    assert response.context["move_form"].errors["start_day"] == [BOUNDS_ERROR]
    assert not event.exceptions.exists()


@pytest.mark.parametrize("day", FAR)
def test_far_dates_in_modifier(signed_in, organisation, admin_agent, day):
    rdv = RdvFactory(organisation=organisation, agents=[admin_agent])
    starts_at = rdv.starts_at
    response = signed_in.post(org_url("rendezvous:update", organisation, pk=rdv.pk), form_data(rdv, date=day))
    assert response.status_code == 422
    assert response.context["form"].errors["date"] == [BOUNDS_ERROR]
    rdv.refresh_from_db()
    assert rdv.starts_at == starts_at


@pytest.mark.parametrize("day", FAR)
def test_far_dates_in_the_agenda_and_trouver_un_creneau(signed_in, organisation, admin_agent, day):
    agenda = org_url("rendezvous:agenda_agent", organisation, agent_id=admin_agent.pk)
    for view in ("jour", "semaine", "mois"):
        assert signed_in.get(agenda, {"date": day, "vue": view}).status_code == 400
    assert signed_in.get(org_url("rendezvous:agenda_secretariat", organisation), {"date": day}).status_code == 400
    motif = MotifFactory(organisation=organisation)
    response = signed_in.get(org_url("rendezvous:creneaux", organisation), {"motif": motif.pk, "a_partir_du": day})
    assert response.status_code == 422


@pytest.mark.parametrize("birth_date", FAR)
def test_far_birth_dates(signed_in, organisation, birth_date):
    data = {"first_name": "Inès", "last_name": "Garrigue", "birth_date": birth_date}
    response = signed_in.post(org_url("usagers:create", organisation), data)
    assert response.status_code == 422
    assert not Usager.objects.exists()


@pytest.mark.parametrize("creneau", ["0001-01-01T00:00", "9999-12-31T23:59", "2101-01-01T10:00"])
def test_far_dates_when_an_usager_moves_its_rdv(client, db, creneau):
    with time_machine.travel(public.NOW, tick=False):
        mds = public.organisation(public.seine_et_marne(), "MDS de Noisiel")
        place = public.lieu(mds, "MDS de Noisiel")
        motif = public.online_motif(mds, "Consultation de puériculture")
        public.plage(motif, place)
        usager = UsagerFactory(email="ines@example.fr")
        start = dt.datetime.combine(public.MONDAY + dt.timedelta(days=1), dt.time(9, 30), tzinfo=public.PARIS)
        rdv = book(motif=motif, start=start, lieu=place, usagers=[usager], booking_token="tok")
        sign_in_usager(client, usager)
        move = reverse("reservation:move", kwargs={"pk": rdv.pk})
        # The far time is dropped: the week to choose from, as without it.
        response = client.get(move, {"creneau": creneau})
        assert response.status_code == 200
        assert response.templates[0].name == client.get(move).templates[0].name
        assert "chosen" not in response.context
        client.post(move, {"creneau": creneau, "token": "move"})
    assert Rdv.objects.get() == rdv


def test_the_bounds_themselves_are_accepted(signed_in, organisation, admin_agent):
    RdvFactory(organisation=organisation, agents=[admin_agent])
    response = signed_in.get(org_url("rendezvous:list", organisation), {"du": "1900-01-01", "au": "2100-12-31"})
    assert response.status_code == 200
    assert not response.context["form"].errors


# ---------------------------------------------------------------------------------------------
# `next`: resolved and checked before anything is written; anything else goes to the RDV's page


@pytest.mark.parametrize(
    "next_url", ["0", "rendezvous:list", "https://evil.example/", "//evil.example/", "/nulle-part/", "javascript:x"]
)
def test_a_bad_next_on_a_status_change_goes_to_the_rdv(signed_in, organisation, admin_agent, next_url):
    rdv = RdvFactory(organisation=organisation, agents=[admin_agent])
    response = signed_in.post(
        org_url("rendezvous:status", organisation, pk=rdv.pk), {"status": "excused", "next": next_url}
    )
    assertRedirects(response, org_url("rendezvous:detail", organisation, pk=rdv.pk), fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED


def test_a_good_next_on_a_status_change_is_followed(signed_in, organisation, admin_agent):
    rdv = RdvFactory(organisation=organisation, agents=[admin_agent])
    list_url = org_url("rendezvous:list", organisation) + "?statut=a_venir&page=1"
    response = signed_in.post(
        org_url("rendezvous:status", organisation, pk=rdv.pk), {"status": "excused", "next": list_url}
    )
    assertRedirects(response, list_url, fetch_redirect_response=False)


def test_the_next_of_a_status_change_is_checked_before_the_change(signed_in, organisation, admin_agent, monkeypatch):
    """A `next` that cannot be resolved fails before the write, never after it."""
    from rendezvous.views import rdv as rdv_views

    rdv = RdvFactory(organisation=organisation, agents=[admin_agent])
    calls = []
    original = rdv_views.change_status

    def change_status(**kwargs):
        calls.append(("change", kwargs["status"]))
        return original(**kwargs)

    real_local_url = rdv_views.local_url

    def local_url(request, candidate):
        calls.append(("next", candidate))
        return real_local_url(request, candidate)

    monkeypatch.setattr(rdv_views, "change_status", change_status)
    monkeypatch.setattr(rdv_views, "local_url", local_url)
    signed_in.post(org_url("rendezvous:status", organisation, pk=rdv.pk), {"status": "excused", "next": "0"})
    assert calls == [("next", "0"), ("change", "excused")]


@pytest.mark.parametrize("next_url", ["0", "/nulle-part/", "https://evil.example/"])
def test_a_bad_next_after_creating_an_usager_goes_to_its_page(signed_in, organisation, next_url):
    response = signed_in.post(
        org_url("usagers:create", organisation), {"first_name": "Nour", "last_name": "Haddad", "next": next_url}
    )
    created = Usager.objects.get(last_name="Haddad")
    assertRedirects(response, org_url("usagers:detail", organisation, pk=created.pk), fetch_redirect_response=False)


@pytest.mark.parametrize("next_url", ["0", "/nulle-part/", "https://evil.example/"])
def test_a_bad_next_for_an_usager_signed_in_goes_to_its_rdvs(client, organisation, next_url):
    sign_in_usager(client, UsagerFactory(organisation=organisation, with_email=True))
    response = client.get(reverse("reservation:identity"), {"next": next_url})
    assertRedirects(response, reverse("reservation:my_rdvs"), fetch_redirect_response=False)


def test_another_agent_cannot_use_next_to_leave_the_site(client, organisation):
    agent = AgentFactory(organisation=organisation, admin=True)
    client.force_login(agent)
    rdv = RdvFactory(organisation=organisation, agents=[agent])
    response = client.post(
        org_url("rendezvous:status", organisation, pk=rdv.pk),
        {"status": "excused", "next": "http://testserver.evil.example/"},
    )
    assert response["Location"] == org_url("rendezvous:detail", organisation, pk=rdv.pk)


def test_a_browser_gets_the_400_page(db):
    """What a browser gets, exceptions not raised into the test: the page, not a 500."""
    assert Client(raise_request_exception=False).get("/invitation/a%00/").status_code == 400
