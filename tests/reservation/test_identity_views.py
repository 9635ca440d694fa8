"""The usager's identification pages: « Votre identité », « Se connecter », the code page,
« Se déconnecter », their rate limits, and the wall between the usagers' session and the agents'."""

import datetime as dt
import math
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertRedirects

from notifications.models import Notification
from reservation import identity_views
from tests.usagers.factories import UsagerFactory
from usagers.middleware import USAGER_KEY
from usagers.models import EmailCode, Usager, UsagerAccount

pytestmark = pytest.mark.django_db

EMAIL = "lea.martin@exemple.fr"
NOON = dt.datetime(2026, 12, 15, 12, 0, tzinfo=dt.UTC)
NEXT = "/prendre-rdv/informations/?motif=3-public_office&creneau=2026-12-16T09:30"
COOKIE = "rdv_usager"


def identity_url(next_url: str = NEXT) -> str:
    return reverse("reservation:identity", query={"next": next_url})


def code_url() -> str:
    return reverse("reservation:code")


def code_sent_to(email: str) -> str:
    row = Notification.objects.filter(to=email, event=Notification.Event.LOGIN_CODE).latest("pk")
    return re.search(r"\b([0-9]{6})\b", row.body).group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def ask_code(client: Client, email: str = EMAIL, **names):
    data = {"first_name": "Léa", "last_name": "Martin", "email": email, **names}
    return client.post(identity_url(), data)


def sign_in(client: Client, email: str = EMAIL):
    ask_code(client, email)
    return client.post(code_url(), {"code": code_sent_to(email)})


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def error_of(response, field: str = "code") -> list[str]:
    return response.context["form"].errors.get(field, [])


# « Votre identité » → the code → signed in.


def test_identity_page_asks_names_and_email(client):
    response = client.get(identity_url())
    assertContains(response, '<h1 class="fr-h3">Votre identité</h1>', html=True)
    assertContains(response, '<button type="submit" class="fr-btn">Recevoir un code</button>', html=True)
    assert list(response.context["form"].fields) == ["first_name", "last_name", "email"]
    assert response.context["booking_step"] is True


def test_asking_a_code_sends_it_and_names_the_address(client, clock):
    response = ask_code(client, "Lea.Martin@Exemple.fr")
    assertRedirects(response, code_url(), fetch_redirect_response=False)
    assert (EmailCode.objects.get().email, Notification.objects.get().to) == (EMAIL, EMAIL)
    page = client.get(code_url())
    assertContains(page, f"<strong>{EMAIL}</strong>", html=True)
    field = page.context["form"]["code"]
    assert (field.field.widget.attrs["inputmode"], field.field.widget.attrs["autocomplete"]) == (
        "numeric",
        "one-time-code",
    )
    assert (Usager.objects.count(), UsagerAccount.objects.count()) == (0, 0)  # nothing before the code


def test_the_right_code_creates_the_usager_once_and_signs_it_in(client, clock):
    ask_code(client)
    code = code_sent_to(EMAIL)
    response = client.post(code_url(), {"code": f" {code[:3]} {code[3:]}\n"})  # pasted with spaces
    assertRedirects(response, NEXT, fetch_redirect_response=False)
    usager = Usager.objects.get()
    assert (usager.first_name, usager.last_name, usager.email, usager.created_by) == (
        "Léa",
        "Martin",
        EMAIL,
        Usager.CreatedBy.USAGER,
    )
    assert response.wsgi_request.usager == usager
    assert UsagerAccount.objects.get().last_login_at == NOON
    # The form sent again: already signed in, nothing new.
    replay = client.post(code_url(), {"code": code})
    assertRedirects(
        replay,
        "/prendre-rdv/informations/?motif=3-public_office&creneau=2026-12-16T09:30",
        fetch_redirect_response=False,
    )
    assert (Usager.objects.count(), UsagerAccount.objects.count()) == (1, 1)


def test_the_code_form_replayed_from_another_device_creates_nothing(client, clock):
    ask_code(client)
    code = code_sent_to(EMAIL)
    other = Client()
    other.cookies[COOKIE] = client.cookies[COOKIE].value  # the session before the sign-in
    client.post(code_url(), {"code": code})
    replay = other.post(code_url(), {"code": code})
    assert replay.status_code == 302  # the old key is worth nothing: back to « Se connecter »
    assert replay.wsgi_request.usager is None
    assert Usager.objects.count() == 1


def test_a_signed_in_usager_goes_on_at_once(client, clock):
    sign_in(client)
    response = client.get(identity_url("/mes-rendez-vous/"))
    assertRedirects(response, "/mes-rendez-vous/", fetch_redirect_response=False)


def test_a_returning_usager_is_recognised_with_its_proches(client, clock, organisation):
    usager = UsagerFactory(organisation=organisation, email="LEA.MARTIN@exemple.fr", first_name="Léa")
    proche = UsagerFactory(organisation=organisation, responsible=usager)
    client.post(reverse("reservation:login"), {"email": EMAIL})
    response = client.post(code_url(), {"code": code_sent_to(EMAIL)})
    assertRedirects(response, reverse("reservation:my_rdvs"), fetch_redirect_response=False)
    assert response.wsgi_request.usager == usager
    assert list(Usager.objects.filter(responsible=response.wsgi_request.usager)) == [proche]
    assert Usager.objects.count() == 2


def test_login_with_an_unknown_address_asks_the_names_after_the_code(client, clock):
    client.post(reverse("reservation:login"), {"email": EMAIL})
    response = client.post(code_url(), {"code": code_sent_to(EMAIL)})
    assertRedirects(response, identity_url("/mes-rendez-vous/"), fetch_redirect_response=False)
    page = client.get(identity_url("/mes-rendez-vous/"))
    assert list(page.context["form"].fields) == ["first_name", "last_name"]
    assertContains(page, f"<strong>{EMAIL}</strong>", html=True)
    done = client.post(identity_url("/mes-rendez-vous/"), {"first_name": "Léa", "last_name": "Martin"})
    assertRedirects(done, "/mes-rendez-vous/", fetch_redirect_response=False)
    assert done.wsgi_request.usager.email == EMAIL
    assert EmailCode.objects.count() == 1  # no second code


def test_login_page(client):
    response = client.get(reverse("reservation:login"))
    assertContains(response, '<h1 class="fr-h3">Se connecter</h1>', html=True)
    assert list(response.context["form"].fields) == ["email"]


def test_next_must_stay_on_the_site(client, clock):
    ask_code(client)
    client.post(identity_url("https://ailleurs.example/piege"), {"first_name": "L", "last_name": "M", "email": EMAIL})
    response = client.post(code_url(), {"code": code_sent_to(EMAIL)})
    assertRedirects(response, reverse("reservation:my_rdvs"), fetch_redirect_response=False)


def test_the_code_page_without_a_code_asked_sends_to_login(client):
    response = client.get(code_url())
    assertRedirects(response, reverse("reservation:login"), fetch_redirect_response=False)


# Errors on the code field.


def test_a_wrong_code_says_how_many_tries_are_left(client, clock):
    ask_code(client)
    response = client.post(code_url(), {"code": other_code(code_sent_to(EMAIL))})
    assert response.status_code == 422
    assert error_of(response) == ["Code incorrect. Il vous reste 4 essais."]
    assert response.wsgi_request.usager is None


def test_the_fifth_wrong_code_ends_that_code(client, clock):
    ask_code(client)
    code = code_sent_to(EMAIL)
    for _ in range(4):
        client.post(code_url(), {"code": other_code(code)})
    response = client.post(code_url(), {"code": other_code(code)})
    assert error_of(response) == ["Trop d'essais avec ce code. Demandez un nouveau code."]
    assert error_of(client.post(code_url(), {"code": code})) == [
        "Trop d'essais avec ce code. Demandez un nouveau code."
    ]


def test_an_expired_code(client, clock):
    ask_code(client)
    code = code_sent_to(EMAIL)
    clock.shift(dt.timedelta(minutes=30))
    response = client.post(code_url(), {"code": code})
    assert error_of(response) == ["Ce code a expiré : il était valable 30 minutes. Demandez un nouveau code."]


@pytest.mark.parametrize("typed", ["12345", "1234567", "12a456", "", "1" * 5000, "12\x1b3456", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused_on_the_field(client, clock, typed):
    ask_code(client)
    response = client.post(code_url(), {"code": typed})
    assert response.status_code == 422
    assert len(error_of(response)) == 1
    assert EmailCode.objects.get().attempts == 0


def test_a_code_with_a_nul_character_is_a_bad_request(client, clock):
    # Refused with the whole request (rdv.middleware.RefuseNulMiddleware): no try counted.
    ask_code(client)
    assert client.post(code_url(), {"code": "12\x003456"}).status_code == 400
    assert EmailCode.objects.get().attempts == 0


# « Recevoir un nouveau code ».


def test_a_new_code_is_refused_before_60_seconds(client, clock):
    ask_code(client)
    clock.shift(dt.timedelta(seconds=45))
    response = client.post(code_url(), {"action": "resend"})
    assert (response.status_code, response["Retry-After"]) == (429, "15")
    assertContains(
        response,
        '<div class="fr-alert fr-alert--error fr-alert--sm fr-mb-2w" role="alert" id="erreur-nouveau-code">'
        "<p>Un code vient d'être envoyé. Vous pourrez en demander un nouveau dans 15 secondes.</p></div>",
        html=True,
        status_code=429,
    )
    assert EmailCode.objects.count() == 1


def test_a_new_code_after_60_seconds_replaces_the_first(client, clock):
    ask_code(client)
    first = code_sent_to(EMAIL)
    clock.shift(dt.timedelta(seconds=60))
    response = client.post(code_url(), {"action": "resend"})
    assertRedirects(response, code_url(), fetch_redirect_response=False)
    newest = code_sent_to(EMAIL)
    assert EmailCode.objects.filter(replaced=False).count() == 1
    if first != newest:
        assert error_of(client.post(code_url(), {"code": first})) == ["Code incorrect. Il vous reste 4 essais."]
    assert client.post(code_url(), {"code": newest}).status_code == 302


def test_asking_again_within_the_minute_goes_to_the_code_already_sent(client, clock):
    ask_code(client)
    clock.shift(dt.timedelta(seconds=20))
    response = ask_code(client)
    assertRedirects(response, code_url(), fetch_redirect_response=False)
    assert EmailCode.objects.count() == 1


# Rate limits.


def retry_minutes(response) -> int:
    return max(math.ceil(int(response["Retry-After"]) / 60), 1)


def assert_too_many(response):
    minutes = retry_minutes(response)
    unit = "minute" if minutes == 1 else "minutes"
    assertContains(response, f"<p>Trop de demandes. Réessayez dans {minutes} {unit}.</p>", html=True, status_code=429)


def test_brute_force_on_one_address_is_stopped(client, clock):
    ask_code(client)
    code = code_sent_to(EMAIL)
    statuses = [client.post(code_url(), {"code": other_code(code)}).status_code for _ in range(10)]
    assert statuses == [422] * 10  # 5 tries, then « Trop d'essais » with that code
    blocked = client.post(code_url(), {"code": code})
    assert_too_many(blocked)
    # From another network too: the limit is the address's.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    elsewhere.cookies[COOKIE] = client.cookies[COOKIE].value
    assert_too_many(elsewhere.post(code_url(), {"code": code}))


def test_tries_per_ip_are_limited(client, clock):
    ask_code(client)
    for index in range(12):  # 12 people behind the same address, 5 wrong tries each
        person = Client()
        email = f"usager{index}@exemple.fr"
        ask_code(person, email)
        wrong = other_code(code_sent_to(email))
        assert [person.post(code_url(), {"code": wrong}).status_code for _ in range(5)] == [422] * 5
    assert_too_many(client.post(code_url(), {"code": code_sent_to(EMAIL)}))
    assert Usager.objects.count() == 0


def test_codes_per_address_are_limited(clock):
    # Asked again within the minute, the code already sent is used, but the asks count.
    for index in range(5):
        assert ask_code(Client(REMOTE_ADDR=f"198.51.100.{index}")).status_code == 302
    assert_too_many(ask_code(Client(REMOTE_ADDR="198.51.100.99")))
    assert EmailCode.objects.count() == 1


def test_codes_per_ip_are_limited(client, clock):
    for index in range(30):
        assert ask_code(client, f"usager{index}@exemple.fr").status_code == 302
    assert_too_many(ask_code(client, "encore@exemple.fr"))
    # Another address is not concerned.
    assert ask_code(Client(REMOTE_ADDR="198.51.100.1"), "encore@exemple.fr").status_code == 302


def test_limits_start_again_with_a_new_window(clock):
    for index in range(6):
        response = ask_code(Client(REMOTE_ADDR=f"198.51.100.{index}"))
    clock.shift(dt.timedelta(seconds=int(response["Retry-After"])))
    assert ask_code(Client(REMOTE_ADDR="198.51.100.50")).status_code == 302


# Sessions: 30 days, their own cookie, never an agent's.


def test_the_usager_cookie_lasts_30_days_httponly_lax(client, clock, settings):
    settings.SESSION_COOKIE_SECURE = True
    ask_code(client)
    before = client.cookies[COOKIE].value
    response = client.post(code_url(), {"code": code_sent_to(EMAIL)})
    cookie = response.cookies[COOKIE]
    assert (cookie["max-age"], cookie["httponly"], cookie["samesite"], cookie["secure"], cookie["path"]) == (
        30 * 24 * 3600,
        True,
        "Lax",
        True,
        "/",
    )
    assert cookie.value != before  # a new key at the sign-in: no session fixation
    assert "sessionid" not in response.cookies


def test_signed_in_for_30_days(client, clock):
    sign_in(client)
    clock.shift(dt.timedelta(days=30) - dt.timedelta(minutes=1))
    assert client.get(reverse("reservation:login")).wsgi_request.usager is not None
    clock.shift(dt.timedelta(minutes=2))
    assert client.get(reverse("reservation:login")).wsgi_request.usager is None


def test_an_anonymised_usager_is_signed_out(client, clock):
    sign_in(client)
    Usager.objects.update(anonymised_at=timezone.now())
    assert client.get(reverse("reservation:login")).wsgi_request.usager is None


def test_logout(client, clock):
    sign_in(client)
    assert client.get(reverse("reservation:logout")).status_code == 405
    response = client.post(reverse("reservation:logout"))
    assertRedirects(response, reverse("reservation:home"), fetch_redirect_response=False)
    assert response.cookies[COOKIE].value == ""
    assert client.get(reverse("reservation:login")).wsgi_request.usager is None


def test_an_agent_signed_in_is_not_an_usager(client, admin_agent):
    client.force_login(admin_agent)
    response = client.get(reverse("reservation:login"))
    assert (response.status_code, response.wsgi_request.usager) == (200, None)


def test_an_usager_cookie_opens_no_agent_page(client, clock, organisation):
    sign_in(client)
    page = reverse("organisations:home", kwargs={"organisation_id": organisation.pk})
    response = client.get(page)
    assertRedirects(response, f"{reverse('agents:login')}?next={page}", fetch_redirect_response=False)
    assert (response.wsgi_request.usager, response.wsgi_request.user.is_authenticated) == (None, False)
    # Nor does its key in the agents' cookie.
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[COOKIE].value
    assert other.get(page).status_code == 302


def test_an_agents_session_key_in_the_usager_cookie_is_no_usager(client, admin_agent):
    client.force_login(admin_agent)
    other = Client()
    other.cookies[COOKIE] = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert other.get(reverse("reservation:login")).wsgi_request.usager is None


def test_agent_pages_never_open_the_usager_session(client, clock, admin_agent, organisation):
    sign_in(client)
    client.force_login(admin_agent)
    response = client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk}))
    assert (response.status_code, response.wsgi_request.usager) == (200, None)
    assert not hasattr(response.wsgi_request, "usager_session")


# Bad input: a French error on the field, never a 500.


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        (
            "first_name",
            "Lé\x1ba",
            "Ce champ contient un caractère invisible (caractère de contrôle) : retirez-le ou retapez le texte.",
        ),
        ("last_name", "M" * 151, "Assurez-vous que cette valeur comporte au plus 150 caractères (actuellement 151)."),
        ("email", "pas-une-adresse", "Saisissez une adresse e-mail valide, au format nom@domaine.fr."),
        ("email", "a" * 5000 + "@exemple.fr", "Saisissez une adresse e-mail valide, au format nom@domaine.fr."),
        ("first_name", "", "Ce champ est obligatoire."),
    ],
)
def test_bad_identity_input(client, field, value, error):
    response = ask_code(client, **{field: value})
    assert response.status_code == 422
    assert error in error_of(response, field)
    assert (EmailCode.objects.count(), Notification.objects.count()) == (0, 0)


@pytest.mark.parametrize(("field", "value"), [("first_name", "Lé\x00a"), ("email", "lea\x00@exemple.fr")])
def test_a_nul_character_in_the_identity_is_a_bad_request(client, field, value):
    # Refused with the whole request (rdv.middleware.RefuseNulMiddleware): nothing sent.
    assert ask_code(client, **{field: value}).status_code == 400
    assert (EmailCode.objects.count(), Notification.objects.count()) == (0, 0)


@pytest.mark.parametrize("cookie", ["\x00", "x" * 5000, "../../etc", "abc"])
def test_a_forged_usager_cookie_is_ignored(client, cookie):
    client.cookies[COOKIE] = cookie
    response = client.get(reverse("reservation:login"))
    assert (response.status_code, response.wsgi_request.usager) == (200, None)


@pytest.mark.parametrize(
    "next_url", ["//ailleurs.example/", "javascript:alert(1)", "/" + "a" * 3000, "0", "/nulle-part/"]
)
def test_a_bad_next_is_ignored(client, next_url):
    response = client.get(identity_url(next_url))
    assert (response.status_code, response.context["next"]) == (200, reverse("reservation:my_rdvs"))


def test_a_next_with_a_nul_character_is_a_bad_request(client):
    assert client.get(identity_url("/ok/\x00")).status_code == 400


def test_a_post_without_a_csrf_token_is_refused():
    response = Client(enforce_csrf_checks=True).post(identity_url(), {"email": EMAIL})
    assert response.status_code == 403


# Queries.


def test_queries_of_the_code_page(client, clock, django_assert_num_queries):
    ask_code(client)
    with django_assert_num_queries(1):  # the usager's session
        assert client.get(code_url()).status_code == 200


def test_queries_of_a_wrong_code(client, clock, django_assert_num_queries):
    ask_code(client)
    code = code_sent_to(EMAIL)
    # The session; the code locked, its try counted (in a savepoint).
    with django_assert_num_queries(5):
        assert client.post(code_url(), {"code": other_code(code)}).status_code == 422


def test_queries_of_a_page_for_a_signed_in_usager(client, clock, django_assert_num_queries):
    sign_in(client)
    with django_assert_num_queries(2):  # the session, the usager
        assert client.get(identity_url()).status_code == 302


def test_the_limits_are_the_documented_ones():
    assert [(limit.group, limit.rate) for limit in identity_views.LIMITS] == [
        ("usager-code-send-email", "5/h"),
        ("usager-code-send-ip", "30/h"),
        ("usager-code-check-email-h", "10/h"),
        ("usager-code-check-email-d", "30/d"),
        ("usager-code-check-ip", "60/h"),
    ]


def test_the_session_holds_only_the_usager_id(client, clock):
    sign_in(client)
    session = client.get(reverse("reservation:login")).wsgi_request.usager_session
    assert session[USAGER_KEY] == Usager.objects.get().pk
