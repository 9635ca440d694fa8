"""The usager's page of one RDV, reached by the link of its messages (`/r/<token>`): nothing shown
before the first three letters of the last name; 5 wrong tries, then 15 minutes locked, per
token and per address; the same answer for an unknown token, an RDV over and wrong letters;
then the RDV, « Annuler » and « Déplacer » under the rules of « Mes rendez-vous »."""

import datetime as dt
import re
from importlib import import_module

import pytest
import time_machine
from django.conf import settings
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from notifications.models import Notification
from rendezvous.history import rdv_history
from rendezvous.models import Participation, Rdv
from reservation.link_check import LOCK_SECONDS, Tries, matches
from reservation.link_views import KEPT, VERIFIED
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, field_errors, find, find_all, text
from tests.reservation.search_helpers import NOW, TUESDAY, at, booked, lieu, online_motif, organisation, plage
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]
NO_MATCH = "Ces informations ne correspondent à aucun rendez-vous à venir."


@pytest.fixture
def world(territory):
    mds = organisation(territory, "MDS de Noisiel", phone="01 64 62 45 00")
    place = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
    motif = online_motif(
        mds,
        "Information préoccupante",
        instructions_after="Venez avec le carnet de santé.",
        show_name_in_messages=False,
    )
    plage(motif, place)
    return {"organisation": mds, "lieu": place, "motif": motif}


@pytest.fixture
def family():
    usager = UsagerFactory(first_name="Inès", last_name="Garrigue", email="ines@example.fr")
    return usager, UsagerFactory(first_name="Lou", last_name="Martin", responsible=usager)


def token_of(rdv: Rdv) -> str:
    return rdv.participations.get().link_token


def link(token: str, action: str = "") -> str:
    return f"/r/{token}" + (f"/{action}" if action else "")


def answer(client, token: str, letters: str, ip: str = "127.0.0.1"):
    return client.post(link(token), {"letters": letters}, REMOTE_ADDR=ip)


def verified(client, world, usager) -> tuple[Rdv, str]:
    rdv = booked(world, usager)
    token = token_of(rdv)
    assertRedirects(answer(client, token, "gar"), link(token), fetch_redirect_response=False)
    return rdv, token


def main_text(response) -> str:
    return text(find(dom(response), "main"))


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("Garrigue", "gar"),
        ("Garrigue", "GAR"),
        ("Garrigue", " Garrigue "),
        ("Éric", "eri"),
        ("Eric", "ÉRI"),
        ("Le Goff", "le g"),
        ("Le Goff", "LEG"),
        ("N'Diaye", "ndi"),
        ("Saint-Éloi", "SAI"),
        ("Œuvray", "oeu"),
        ("Ba", "ba"),
        ("Ba", "Ba"),
    ],
)
def test_the_first_three_letters_whatever_the_case_accents_and_spaces(name, typed):
    assert matches(typed, [name])


@pytest.mark.parametrize(
    ("name", "typed"), [("Garrigue", "gaz"), ("Garrigue", "ga"), ("Garrigue", "arr"), ("Ba", "b"), ("Ba", "bab")]
)
def test_other_letters_do_not_match(name, typed):
    assert not matches(typed, [name])


def test_nothing_shown_before_the_letters(client, world, family):
    rdv = booked(world, family[0])
    page = client.get(link(token_of(rdv)))
    assert page.status_code == 200
    for secret in ("Noisiel", "Grande Allée", "01 64 62 45 00", "9h30", "Garrigue", "Inès", "Information", "santé"):
        assertNotContains(page, secret)
    assert "PMI" not in main_text(page)  # the header's tagline names it for everyone
    assert "mars" not in main_text(page)
    field = find(dom(page), "input", name="letters")
    assert dict(field.attributes)["autocomplete"] == "off"
    assert main_text(page) == main_text(client.get(link("inconnu12345")))


def test_the_question_and_the_check_read_little(client, world, family, django_assert_num_queries):
    token = token_of(booked(world, family[0]))
    with django_assert_num_queries(0):  # a new visitor: no session yet
        client.get(link(token))
    with django_assert_num_queries(0):  # the token's format is known: no lookup
        answer(client, "x" * 17, "gar")
    with django_assert_num_queries(1):  # the participation with its usager and responsible
        answer(client, token, "abc")
    # The participation, then the new session: its key checked free, then written in a savepoint.
    with django_assert_num_queries(5):
        answer(client, token, "gar")


def test_the_right_letters_open_the_rdv(client, world, family, django_assert_num_queries):
    usager, _proche = family
    _rdv, token = verified(client, world, usager)
    # Sent again once passed, even wrong: the page, the check kept.
    assertRedirects(answer(client, token, "xyz"), link(token), fetch_redirect_response=False)
    # The usager's session, the participation with its RDV and all the page shows, its usagers.
    with django_assert_num_queries(3):
        page = client.get(link(token))
    root = dom(page)
    assert text(find(root, "h2", class_="fr-card__title")) == "Mardi 5 mars 2030 à 9h30"
    assert text(find(root, id="statut")) == "À venir"
    card = [text(item) for item in find_all(find(root, "ul", class_="rdv-recap"), "li")]
    assert card == [
        "PMI (Protection Maternelle Infantile) — Sur place",
        "MDS de Noisiel, Grande Allée des Bois, 77186 Noisiel",
        "MDS de Noisiel — 01 64 62 45 00",
        "Pour : Inès",
    ]
    assertContains(page, "Venez avec le carnet de santé.")
    assertContains(
        page,
        f'<a class="fr-btn fr-btn--tertiary" href="{link(token, "annuler")}">Annuler le rendez-vous</a>',
        html=True,
    )
    assertNotContains(page, "Information préoccupante")


def test_the_motif_name_when_the_motif_allows_it(client, world, family):
    world["motif"].show_name_in_messages = True
    world["motif"].save(update_fields=["show_name_in_messages"])
    _rdv, token = verified(client, world, family[0])
    page = client.get(link(token))
    recap = find(dom(page), "ul", class_="rdv-recap")
    assert text(find_all(recap, "li")[0]) == "Information préoccupante — Sur place"


def test_a_proche_s_link_opens_with_its_responsible_s_name_or_its_own(client, world, family):
    _usager, proche = family
    token = token_of(booked(world, proche))
    assertRedirects(answer(client, token, "Gar"), link(token), fetch_redirect_response=False)
    assertContains(client.get(link(token)), "Pour : Lou")
    other = token_of(booked(world, proche, 10))
    assertRedirects(answer(client, other, "MAR"), link(other), fetch_redirect_response=False)


def test_the_same_answer_for_wrong_letters_an_unknown_token_and_an_rdv_over(client, world, family):
    usager, _proche = family
    rdv = booked(world, usager)
    wrong = answer(client, token_of(rdv), "xyz")
    unknown = answer(client, "AbCdEfGhIjKl", "gar")
    with time_machine.travel(at(10, 1), tick=False):  # the RDV ended at 10:00
        over = answer(client, token_of(rdv), "gar")
    assert {wrong.status_code, unknown.status_code, over.status_code} == {422}
    assert field_errors(wrong, "letters") == field_errors(unknown, "letters") == field_errors(over, "letters")
    assert field_errors(wrong, "letters") == [NO_MATCH]
    assert main_text(wrong) == main_text(unknown) == main_text(over)


def test_an_rdv_cancelled_by_the_service_says_so(client, family):
    rdv = RdvFactory(revoked=True, usagers=[family[0]])
    token = token_of(rdv)
    assertRedirects(answer(client, token, "gar"), link(token), fetch_redirect_response=False)
    page = client.get(link(token))
    assert text(find(dom(page), id="statut")) == "Annulé à l'initiative du service"
    for action in ("annuler", "deplacer"):
        assertNotContains(page, link(token, action))


def test_an_anonymised_usager_s_link_leads_nowhere(client, world, family):
    usager, _proche = family
    rdv = booked(world, usager)
    type(usager).objects.filter(pk=usager.pk).update(anonymised_at=NOW)
    assert field_errors(answer(client, token_of(rdv), "gar"), "letters") == [NO_MATCH]


def test_five_wrong_tries_lock_the_link_for_15_minutes(client, world, family):
    rdv = booked(world, family[0])
    token = token_of(rdv)
    for n in range(5):
        assert answer(client, token, "abc", ip=f"10.0.0.{n}").status_code == 422
    locked = answer(client, token, "gar", ip="10.0.0.9")  # another address, the right letters
    assert (locked.status_code, locked["Retry-After"]) == (429, "900")
    assert text(find(dom(locked), role="alert")) == "Trop d'essais. Réessayez dans 15 minutes."
    with time_machine.travel(NOW + dt.timedelta(minutes=14, seconds=30), tick=False):
        still = answer(client, token, "gar")
        assert text(find(dom(still), role="alert")) == "Trop d'essais. Réessayez dans 1 minute."
    with time_machine.travel(NOW + dt.timedelta(minutes=15, seconds=1), tick=False):
        assertRedirects(answer(client, token, "gar"), link(token), fetch_redirect_response=False)


def test_five_wrong_tries_lock_the_address_even_on_unknown_tokens(client, world, family):
    token = token_of(booked(world, family[0]))
    for n in range(5):
        assert answer(client, f"inconnu{n}", "gar").status_code == 422
    assert answer(client, token, "gar").status_code == 429
    assertRedirects(answer(client, token, "gar", ip="10.1.1.1"), link(token), fetch_redirect_response=False)


def test_a_right_answer_gives_its_try_back_and_old_mistakes_are_forgotten(client, world, family):
    usager, proche = family
    tokens = [token_of(booked(world, person, hour)) for person, hour in ((usager, 9), (proche, 10), (usager, 11))]
    for _n in range(4):
        answer(client, "inconnu", "abc")
    assert answer(client, tokens[0], "gar").status_code == 302
    assert answer(client, tokens[1], "mar").status_code == 302
    with time_machine.travel(NOW + dt.timedelta(minutes=31), tick=False):
        for _n in range(4):
            answer(client, "inconnu", "abc")
        assert answer(client, tokens[2], "gar").status_code == 302


def test_parallel_tries_never_compare_more_than_five():
    """Five requests reserved their try and have not answered yet: the sixth waits."""
    pending = [Tries([("token", "AbCdEfGhIjKl"), ("ip", "10.0.0.1")]) for _n in range(6)]
    assert [tries.reserve() for tries in pending] == [0, 0, 0, 0, 0, LOCK_SECONDS]


def test_without_redis_the_check_waits(client, world, family, settings):
    token = token_of(booked(world, family[0]))
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}}
    refused = answer(client, token, "gar")
    assert (refused.status_code, refused["Retry-After"]) == (429, "60")
    assert text(find(dom(refused), role="alert")) == (
        "La vérification est momentanément indisponible. Réessayez dans 1 minute."
    )


def test_mistyped_answers_are_not_tries(client, world, family):
    token = token_of(booked(world, family[0]))
    for typed in ("", "123", "-- '"):
        page = answer(client, token, typed)
        assert page.status_code == 422
        assert field_errors(page, "letters") != [NO_MATCH]
    for _n in range(4):
        answer(client, token, "abc")
    assert answer(client, token, "gar").status_code == 302


def test_the_check_is_kept_in_the_usager_s_session_for_that_token_only(client, world, family):
    usager, _proche = family
    _rdv, token = verified(client, world, usager)
    other = token_of(booked(world, usager, 11))
    session = import_module(settings.SESSION_ENGINE).SessionStore(
        client.cookies[settings.USAGER_SESSION_COOKIE_NAME].value
    )
    assert session[VERIFIED] == [token]
    assert "sessionid" not in client.cookies  # never the agents' session
    assert find_all(dom(client.get(link(other))), "input", name="letters")  # each token its own check
    for action in ("annuler", "deplacer"):
        assertRedirects(client.get(link(other, action)), link(other), fetch_redirect_response=False)
    assert not find_all(dom(client.get(link(token))), "input", name="letters")


def test_the_session_keeps_a_bounded_list(client, world, family):
    usager, _proche = family
    tokens = [
        token_of(
            RdvFactory(organisation=world["organisation"], motif=world["motif"], starts_at=at(8, n), usagers=[usager])
        )
        for n in range(KEPT + 1)
    ]
    for token in tokens:
        answer(client, token, "gar")  # a right answer gives its try back: no lock
    session = import_module(settings.SESSION_ENGINE).SessionStore(
        client.cookies[settings.USAGER_SESSION_COOKIE_NAME].value
    )
    assert session[VERIFIED] == tokens[::-1][:KEPT]


def test_cancel_asks_then_cancels(client, world, family):
    usager, _proche = family
    rdv, token = verified(client, world, usager)
    # The confirmation left (an annulation of an RDV never announced is not sent).
    Notification.objects.filter(rdv=rdv).update(status=Notification.Status.SENT, sent_at=NOW)
    page = client.get(link(token, "annuler"))
    assertContains(page, '<button type="submit" class="fr-btn">Annuler le rendez-vous</button>', html=True)
    assertNotContains(page, "Information préoccupante")
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN
    assertRedirects(client.post(link(token, "annuler")), link(token), fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED
    assert rdv_history(rdv)[-1].author == "l'usager"
    assert Notification.objects.filter(rdv=rdv, event=Notification.Event.CANCELLED, to="ines@example.fr").exists()
    page = client.get(link(token))
    assert text(find(dom(page), id="statut")) == "Annulé"
    assertNotContains(page, link(token, "annuler"))
    replayed = client.post(link(token, "annuler"), follow=True)
    assertContains(replayed, "<p>Ce rendez-vous est annulé.</p>", html=True)
    assert Notification.objects.filter(rdv=rdv, event=Notification.Event.CANCELLED).count() == 1


def test_nothing_changes_without_the_check(client, world, family):
    rdv = booked(world, family[0])
    token = token_of(rdv)
    for action in ("annuler", "deplacer"):
        response = client.post(link(token, action), {"creneau": f"{TUESDAY.isoformat()}T10:00", "token": "x"})
        assertRedirects(response, link(token), fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert (rdv.status, Rdv.objects.count()) == (Rdv.Status.UNKNOWN, 1)


def test_move_then_the_new_rdv_s_link(client, world, family):
    usager, _proche = family
    rdv, token = verified(client, world, usager)
    week = client.get(link(token, "deplacer"))
    assertContains(week, f'href="?creneau={TUESDAY.isoformat()}T10:00"')
    confirm = client.get(link(token, "deplacer"), {"creneau": f"{TUESDAY.isoformat()}T10:00"})
    assertContains(confirm, "Confirmer le déplacement")
    rdv.refresh_from_db()
    assert (rdv.status, Rdv.objects.count()) == (Rdv.Status.UNKNOWN, 1)  # a GET changes nothing
    data = {"creneau": f"{TUESDAY.isoformat()}T10:00", "token": "move-1"}
    response = client.post(link(token, "deplacer"), data)
    moved = Rdv.objects.exclude(pk=rdv.pk).get()
    new_token = token_of(moved)
    assert new_token != token
    assertRedirects(response, link(new_token), fetch_redirect_response=False)
    page = client.get(link(new_token))  # checked with the old one
    assert text(find(dom(page), "h2", class_="fr-card__title")) == "Mardi 5 mars 2030 à 10h00"
    assert text(find(dom(client.get(link(token))), id="statut")) == "Annulé"
    # The confirmation sent twice (a double click): the same new RDV.
    assertRedirects(client.post(link(token, "deplacer"), data), link(new_token), fetch_redirect_response=False)
    assert Rdv.objects.count() == 2


def test_past_the_limit_the_phone_number_instead(client, world, family):
    rdv = booked(world, family[0])
    token = token_of(rdv)
    with time_machine.travel(at(6), tick=False):
        answer(client, token, "gar")
        page = client.get(link(token))
        assert text(find(dom(page), id="appeler")) == (
            "Ce rendez-vous ne peut plus être annulé ni déplacé en ligne (moins de 4 h avant). "
            "Appelez le 01 64 62 45 00."
        )
        assertNotContains(page, link(token, "annuler"))
        assertContains(client.get(link(token, "annuler")), "Appelez le 01 64 62 45 00.", status_code=409)
        client.post(link(token, "annuler"))
        assertRedirects(client.get(link(token, "deplacer")), link(token), fetch_redirect_response=False)
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN


@pytest.mark.parametrize(
    "token",
    ["x" * 10_000, "%C3%A9t%C3%A9", "%FF%FE", "..", "a b", "<script>", "'; DROP TABLE", "%E2%80%AE" * 20],
)
def test_hostile_tokens_get_the_ordinary_answer(client, token):
    assert client.get(link(token)).status_code == 200
    page = answer(client, token, "gar")
    assert (page.status_code, field_errors(page, "letters")) == (422, [NO_MATCH])
    for action in ("annuler", "deplacer"):
        assert client.post(link(token, action)).status_code == 302


def test_a_nul_character_is_refused(client):
    assert client.get("/r/abc%00def").status_code == 400
    assert client.post("/r/abcdef", {"letters": "ga\x00r"}).status_code == 400


def test_an_rdv_over_is_forgotten_by_the_session(client, world, family):
    rdv = booked(world, family[0])
    token = token_of(rdv)
    with time_machine.travel(at(9, 45), tick=False):
        answer(client, token, "gar")
        assert text(find(dom(client.get(link(token))), id="statut")) == "En cours"
    with time_machine.travel(at(10, 1), tick=False):
        assert find_all(dom(client.get(link(token))), "input", name="letters")
    session = import_module(settings.SESSION_ENGINE).SessionStore(
        client.cookies[settings.USAGER_SESSION_COOKIE_NAME].value
    )
    assert session[VERIFIED] == []


def test_each_participation_has_its_own_token():
    assert Participation._meta.get_field("link_token").unique
    assert re.fullmatch(r"[A-Za-z0-9_-]{12}", Participation._meta.get_field("link_token").default())
