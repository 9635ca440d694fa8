import re

import pytest
from django.core import mail
from django.urls import reverse

from agents.models import Agent
from notifications.models import Notification
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory

LOGIN_URL = reverse("agents:login")
WRONG = "Adresse e-mail ou mot de passe incorrect."


def post_login(client, email, password):
    return client.post(LOGIN_URL, {"username": email, "password": password})


def test_login_page_is_french_and_dsfr(client, db):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "Adresse e-mail" in html and "Mot de passe" in html and "Se connecter" in html
    assert "fr-header" in html and "fr-input" in html


def test_login_lands_in_the_agents_only_organisation(client, basic_agent, organisation, password):
    response = post_login(client, basic_agent.email, password)
    assert response.status_code == 302
    follow = client.get(response["Location"])
    assert follow.status_code == 302
    assert follow["Location"] == reverse("organisations:home", kwargs={"organisation_id": organisation.pk})


def test_login_email_is_case_insensitive(client, basic_agent, password):
    response = post_login(client, basic_agent.email.upper(), password)
    assert response.status_code == 302


def test_agent_of_several_organisations_chooses(client, basic_agent, password):
    other = OrganisationFactory(name="MDS de Chelles")
    basic_agent.roles.create(organisation=other)
    post_login(client, basic_agent.email, password)
    response = client.get(reverse("organisations:choose"))
    assert response.status_code == 200
    assert "MDS de Chelles" in response.content.decode()


def test_wrong_password_gets_a_french_message_and_no_session(client, basic_agent):
    response = post_login(client, basic_agent.email, "pas-le-bon-mot-de-passe")
    assert response.status_code == 200
    assert WRONG in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_message(client, db):
    # Same words as a wrong password: the form does not reveal who has an account.
    response = post_login(client, "personne@departement.fr", "peu-importe-1234")
    assert response.status_code == 200
    assert WRONG in response.content.decode()


def test_invalid_email_is_refused_on_the_field(client, db):
    response = post_login(client, "pas-une-adresse", "peu-importe-1234")
    assert "Saisissez une adresse e-mail valide, par exemple nom@domaine.fr." in response.content.decode()


def test_inactive_agent_cannot_log_in(client, organisation, password):
    agent = AgentFactory(organisation=organisation, is_active=False)
    response = post_login(client, agent.email, password)
    assert response.status_code == 200
    assert WRONG in response.content.decode()


def test_repeated_failures_lock_the_account_with_a_clear_message(client, settings, basic_agent, password):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, basic_agent.email, "mauvais-mot-de-passe").status_code == 200
    response = post_login(client, basic_agent.email, "mauvais-mot-de-passe")
    assert response.status_code == 429
    html = response.content.decode()
    assert "Trop de tentatives de connexion échouées" in html
    assert "15 minutes" in html

    # Even the right password is refused while locked.
    response = post_login(client, basic_agent.email, password)
    assert response.status_code == 429
    assert "Trop de tentatives de connexion échouées" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_of_one_agent_does_not_lock_another(client, settings, organisation, basic_agent, password):
    other = AgentFactory(organisation=organisation)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, basic_agent.email, "mauvais-mot-de-passe")
    assert post_login(client, other.email, password).status_code == 302


def test_logout_needs_a_post_and_ends_the_session(client, basic_agent):
    client.force_login(basic_agent)
    response = client.post(reverse("agents:logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert "_auth_user_id" not in client.session


def test_anonymous_visitor_is_sent_to_login(client, organisation):
    url = reverse("organisations:home", kwargs={"organisation_id": organisation.pk})
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={url}"


def test_password_reset_by_email(client, basic_agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("agents:password_reset"), {"email": basic_agent.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [basic_agent.email]
    assert "nouveau mot de passe" in message.subject
    link = re.search(r"https?://[^/]+(/mot-de-passe/nouveau/\S+)", message.body).group(1)
    # Sent through the outbox, recorded; the row keeps no usable link once the email has left.
    row = Notification.objects.get(to=basic_agent.email)
    assert (row.event, row.status) == ("password", "sent")
    assert "/mot-de-passe/nouveau/" not in row.body
    assert "[lien personnel retiré après l'envoi]" in row.body

    form_page = client.get(link, follow=True)
    assert "Choisir un nouveau mot de passe" in form_page.content.decode()
    new_password = "un-nouveau-mot-de-passe-solide"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    basic_agent.refresh_from_db()
    assert basic_agent.check_password(new_password)

    # The link served once.
    again = client.get(link, follow=True)
    assert "n'est plus valable" in again.content.decode()


def test_password_reset_for_unknown_email_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("agents:password_reset"), {"email": "inconnu@departement.fr"})
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["Agent@Example.fr", "agent@example.fr"])
def test_emails_are_stored_lowercase_and_unique(db, email):
    Agent.objects.create_user(email=email, first_name="A", last_name="B", password="x")
    assert Agent.objects.get().email == "agent@example.fr"


def test_changing_the_case_of_the_email_does_not_get_around_the_lockout(client, settings, basic_agent, password):
    for i in range(settings.AXES_FAILURE_LIMIT):
        email = basic_agent.email.upper() if i % 2 else basic_agent.email
        post_login(client, email, "mauvais-mot-de-passe")
    assert post_login(client, basic_agent.email.title(), password).status_code == 429
