import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.core import mail
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from agents.models import Agent, AgentInvitation, AgentRole, hash_token
from notifications.delivery import deliver_one
from notifications.models import Notification
from tests.agents.factories import AgentFactory, AgentInvitationFactory
from tests.notifications.helpers import brevo_answer
from tests.organisations.factories import OrganisationFactory, service

NEW_PASSWORD = "une-phrase-de-passe-solide"


def team_url(organisation):
    return reverse("agents:team", kwargs={"organisation_id": organisation.pk})


def invite_url(organisation):
    return reverse("agents:invite", kwargs={"organisation_id": organisation.pk})


def accept_url(token):
    return reverse("agents:accept_invitation", kwargs={"token": token})


def resend_url(invitation):
    return reverse(
        "agents:resend_invitation",
        kwargs={"organisation_id": invitation.organisation_id, "invitation_pk": invitation.pk},
    )


def cancel_url(invitation):
    return reverse(
        "agents:cancel_invitation",
        kwargs={"organisation_id": invitation.organisation_id, "invitation_pk": invitation.pk},
    )


def link_in(message) -> str:
    """The path of the invitation link of an email."""
    match = re.search(r"https?://\S+/invitation/\S+/", message.body)
    assert match, message.body
    return urlparse(match.group(0)).path


def invitation_data(**changes):
    return {"email": "nouvelle.collegue@departement.fr", "service": service("Social").pk, "level": "basic", **changes}


def accept_data(**changes):
    return {
        "first_name": "Lucie",
        "last_name": "Garnier",
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        **changes,
    }


@pytest.fixture
def admin_client(client, admin_agent):
    client.force_login(admin_agent)
    return client


def test_invitation_end_to_end(client, organisation, admin_agent, django_capture_on_commit_callbacks):
    client.force_login(admin_agent)
    form_page = client.get(invite_url(organisation)).content.decode()
    assert "Invitez un professionnel" in form_page
    assert "Vous lui permettez d&#x27;accéder aux paramètres." in form_page
    assert "a accès uniquement aux agendas des agents de son service" in form_page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(organisation), invitation_data(level="admin"))
    assert response.status_code == 302
    assert response.url == team_url(organisation)

    invitation = AgentInvitation.objects.get(organisation=organisation)
    assert invitation.email == "nouvelle.collegue@departement.fr"
    assert invitation.level == AgentRole.Level.ADMIN
    assert invitation.invited_by == admin_agent
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nouvelle.collegue@departement.fr"]
    assert organisation.name in message.subject
    link = link_in(message)
    token = link.rstrip("/").rsplit("/", 1)[1]
    # Only the hash of the secret is stored.
    assert invitation.token_hash == hash_token(token)
    assert token not in str(AgentInvitation.objects.filter(pk=invitation.pk).values().get())

    listing = client.get(team_url(organisation)).content.decode()
    assert "Invitations en attente" in listing
    assert "nouvelle.collegue@departement.fr" in listing

    client.logout()
    page = client.get(link)
    assert page.status_code == 200
    assert organisation.name in page.content.decode()

    response = client.post(link, accept_data())
    assert response.status_code == 302
    assert response.url == reverse("organisations:choose")
    agent = Agent.objects.get(email="nouvelle.collegue@departement.fr")
    assert (agent.first_name, agent.last_name) == ("Lucie", "Garnier")
    assert agent.check_password(NEW_PASSWORD)
    role = AgentRole.objects.get(agent=agent, organisation=organisation)
    assert list(role.services.all()) == [service("Social")]
    assert role.level == AgentRole.Level.ADMIN
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    # The new agent is signed in and lands in its organisation.
    assert client.get(reverse("organisations:choose")).status_code == 302
    assert int(client.session["_auth_user_id"]) == agent.pk

    # The link works once.
    client.logout()
    second = client.post(link, accept_data(first_name="Autre"))
    assert second.status_code == 410
    assert "déjà été utilisée" in second.content.decode()
    assert Agent.objects.filter(email__iexact="nouvelle.collegue@departement.fr").count() == 1
    assert client.get(link).status_code == 410


def test_acceptance_page_is_public_and_shows_the_invitation(client, organisation):
    invitation = AgentInvitationFactory(organisation=organisation, admin=True)
    response = client.get(accept_url(invitation.token))
    html = response.content.decode()
    assert response.status_code == 200
    assert organisation.name in html
    assert invitation.email in html
    assert "Prénom" in html and "Mot de passe" in html


def test_expired_link_is_refused_and_creates_nothing(client, organisation):
    invitation = AgentInvitationFactory(organisation=organisation)
    AgentInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = client.get(accept_url(invitation.token))
    assert page.status_code == 410
    assert "Invitation expirée" in page.content.decode()
    response = client.post(accept_url(invitation.token), accept_data())
    assert response.status_code == 410
    assert not Agent.objects.filter(email=invitation.email).exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_cancelled_link_is_refused(client, organisation, admin_agent):
    invitation = AgentInvitationFactory(organisation=organisation)
    client.force_login(admin_agent)
    response = client.post(cancel_url(invitation))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.cancelled_at is not None
    assert "a été annulée" in client.get(team_url(organisation)).content.decode()  # the message, once
    assert invitation.email not in client.get(team_url(organisation)).content.decode()

    client.logout()
    page = client.post(accept_url(invitation.token), accept_data())
    assert page.status_code == 410
    assert "Invitation annulée" in page.content.decode()
    assert not Agent.objects.filter(email=invitation.email).exists()


def test_unknown_token_answers_404_with_a_clear_page(client, db):
    response = client.get(accept_url("pas-un-jeton"))
    assert response.status_code == 404
    assert "Lien d&#x27;invitation invalide" in response.content.decode()


def test_resend_sends_a_new_link_and_kills_the_old_one(
    client, organisation, admin_agent, django_capture_on_commit_callbacks
):
    invitation = AgentInvitationFactory(organisation=organisation, invited_by=admin_agent)
    old_token, old_expiry = invitation.token, invitation.expires_at
    AgentInvitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=8), expires_at=timezone.now() - timedelta(days=1)
    )
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resend_url(invitation))
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    new_link = link_in(mail.outbox[0])
    assert new_link != accept_url(old_token)
    invitation.refresh_from_db()
    assert invitation.expires_at > old_expiry
    assert invitation.expires_at > timezone.now() + timedelta(days=6)

    client.logout()
    assert client.get(accept_url(old_token)).status_code == 404
    assert client.post(accept_url(old_token), accept_data()).status_code == 404
    assert not Agent.objects.filter(email=invitation.email).exists()
    assert client.post(new_link, accept_data()).status_code == 302
    assert Agent.objects.filter(email=invitation.email).exists()


def test_inviting_an_agent_of_another_organisation_changes_nothing_until_it_accepts(
    client, organisation, admin_agent, django_capture_on_commit_callbacks
):
    """The reported escalation: the invitation of an existing account added it at once, with a
    service chosen by this admin, and named the person to the admin."""
    elsewhere = OrganisationFactory()
    colleague = AgentFactory(
        organisation=elsewhere,
        email="julien.roux@departement.fr",
        first_name="Julien",
        last_name="Roux",
        services=["PMI"],
    )
    # The admin's own name is on every page: a random one could be Julien or Roux.
    admin_agent.first_name, admin_agent.last_name = "Claire", "Dubois"
    admin_agent.save(update_fields=["first_name", "last_name"])
    accounts = Agent.objects.count()
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            invite_url(organisation),
            invitation_data(email="  Julien.Roux@Departement.FR ", service=service("Social").pk),
            follow=True,
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Invitation envoyée à julien.roux@departement.fr." in page
    assert "Julien" not in page and "Roux" not in page
    assert Agent.objects.count() == accounts
    assert not AgentRole.objects.filter(agent=colleague, organisation=organisation).exists()
    assert list(AgentRole.objects.get(agent=colleague, organisation=elsewhere).services.all()) == [service("PMI")]
    invitation = AgentInvitation.objects.get()
    assert (invitation.email, invitation.service, invitation.is_pending) == (
        "julien.roux@departement.fr",
        service("Social"),
        True,
    )
    [message] = mail.outbox
    assert message.to == ["julien.roux@departement.fr"]
    assert organisation.name in message.subject
    assert "Service : Service social" in message.body and "Rôle : Utilisateur" in message.body
    assert "Rien ne change pour votre compte tant que vous n'avez pas accepté" in message.body


def test_the_admin_reads_the_same_words_whether_the_address_has_an_account_or_not(
    client, organisation, admin_agent, django_capture_on_commit_callbacks
):
    AgentFactory(organisation=OrganisationFactory(), email="existe@departement.fr", first_name="Julien")
    client.force_login(admin_agent)
    pages = []
    for email in ("existe@departement.fr", "inconnu@departement.fr"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(invite_url(organisation), invitation_data(email=email), follow=True)
        pages.append(response.content.decode().replace(email, "EMAIL"))
    alerts = [re.findall(r'<div class="fr-alert[^"]*".*?</div>', page, flags=re.S) for page in pages]
    assert alerts[0] == alerts[1]
    assert "Invitation envoyée à EMAIL." in pages[0]


def existing_invitation(organisation, **changes):
    """A pending invitation of `organisation` to an agent of another organisation."""
    elsewhere = OrganisationFactory()
    agent = AgentFactory(organisation=elsewhere, email="julien.roux@departement.fr", services=["PMI"])
    invitation = AgentInvitationFactory(
        organisation=organisation, email="julien.roux@departement.fr", service=service("Social"), **changes
    )
    return agent, elsewhere, invitation


def respond_url(invitation):
    return reverse("agents:respond_to_invitation", kwargs={"invitation_pk": invitation.pk})


def test_the_link_of_an_existing_account_asks_to_sign_in_and_changes_nothing(client, organisation):
    agent, _elsewhere, invitation = existing_invitation(organisation)
    page = client.get(accept_url(invitation.token))
    assert page.status_code == 200
    assert "Vous avez déjà un compte" in page.content.decode()
    login = reverse("agents:login", query={"next": accept_url(invitation.token)})
    assert f'href="{login.replace("&", "&amp;")}"' in page.content.decode()
    # A POST on the link (the former one-click join) adds nothing.
    client.post(accept_url(invitation.token))
    assert not AgentRole.objects.filter(agent=agent, organisation=organisation).exists()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_the_person_invited_accepts_from_its_own_account(client, organisation):
    agent, elsewhere, invitation = existing_invitation(organisation, admin=True)
    client.force_login(agent)
    response = client.get(accept_url(invitation.token))
    assert response.status_code == 302
    assert response.url == respond_url(invitation)
    page = client.get(respond_url(invitation)).content.decode()
    assert organisation.name in page
    assert "Service : Service social" in page
    assert not AgentRole.objects.filter(agent=agent, organisation=organisation).exists()

    response = client.post(respond_url(invitation), {"reponse": "accepter"})
    assert response.status_code == 302
    assert response.url == reverse("organisations:home", kwargs={"organisation_id": organisation.pk})
    role = AgentRole.objects.get(agent=agent, organisation=organisation)
    assert role.level == AgentRole.Level.ADMIN
    assert list(role.services.all()) == [service("Social")]
    # Its rights elsewhere are untouched.
    other = AgentRole.objects.get(agent=agent, organisation=elsewhere)
    assert (other.level, list(other.services.all())) == (AgentRole.Level.BASIC, [service("PMI")])
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert client.post(respond_url(invitation), {"reponse": "accepter"}).status_code == 404


def test_the_person_invited_may_decline(client, organisation, admin_agent):
    agent, _elsewhere, invitation = existing_invitation(organisation)
    client.force_login(agent)
    response = client.post(respond_url(invitation), {"reponse": "refuser"})
    assert response.status_code == 302
    assert not AgentRole.objects.filter(agent=agent, organisation=organisation).exists()
    invitation.refresh_from_db()
    assert invitation.declined_at is not None and not invitation.is_pending
    assert client.get(accept_url(invitation.token)).status_code == 410
    # The admin no longer sees it pending, and may invite again.
    client.force_login(admin_agent)
    assert "julien.roux@departement.fr" not in client.get(team_url(organisation)).content.decode()


def test_an_unknown_answer_changes_nothing(client, organisation):
    agent, _elsewhere, invitation = existing_invitation(organisation)
    client.force_login(agent)
    response = client.post(respond_url(invitation), {"reponse": "peut-être"})
    assert response.status_code == 400
    assertContains(
        response,
        '<div class="fr-alert fr-alert--error fr-alert--sm fr-mb-2w" role="alert">'
        "<p>Choisissez « Accepter l'invitation » ou « Refuser l'invitation ».</p></div>",
        html=True,
        status_code=400,
    )
    invitation.refresh_from_db()
    assert invitation.is_pending
    assert not AgentRole.objects.filter(agent=agent, organisation=organisation).exists()


def test_another_account_can_neither_see_nor_answer_the_invitation(client, organisation):
    _agent, _elsewhere, invitation = existing_invitation(organisation)
    intruder = AgentFactory(organisation=OrganisationFactory(), services=["PMI"])
    client.force_login(intruder)
    assert client.get(accept_url(invitation.token)).status_code == 403
    assert client.get(respond_url(invitation)).status_code == 404
    assert client.post(respond_url(invitation), {"reponse": "accepter"}).status_code == 404
    assert not AgentRole.objects.filter(agent=intruder, organisation=organisation).exists()
    invitation.refresh_from_db()
    assert invitation.is_pending


def test_an_expired_invitation_cannot_be_accepted(client, organisation):
    agent, _elsewhere, invitation = existing_invitation(organisation, expired=True)
    client.force_login(agent)
    assert client.get(respond_url(invitation)).status_code == 410
    assert client.post(respond_url(invitation), {"reponse": "accepter"}).status_code == 410
    assert not AgentRole.objects.filter(agent=agent, organisation=organisation).exists()


def test_pending_invitations_wait_on_the_organisation_choice(client, organisation):
    agent, elsewhere, invitation = existing_invitation(organisation)
    client.force_login(agent)
    response = client.get(reverse("organisations:choose"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Invitations en attente de votre réponse" in page
    assert respond_url(invitation) in page
    assert reverse("organisations:home", kwargs={"organisation_id": elsewhere.pk}) in page


def test_inviting_someone_already_in_the_organisation_is_refused_on_the_email(
    client, organisation, admin_agent, basic_agent, django_capture_on_commit_callbacks
):
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            invite_url(organisation), invitation_data(email=basic_agent.email.upper(), level="admin")
        )
    assert response.status_code == 422
    assert "fait déjà partie de votre organisation" in response.context["form"].errors["email"][0]
    assert AgentRole.objects.get(agent=basic_agent, organisation=organisation).level == AgentRole.Level.BASIC
    assert not AgentInvitation.objects.exists()
    assert mail.outbox == []


def test_a_second_invitation_to_a_pending_address_is_refused(
    client, organisation, admin_agent, django_capture_on_commit_callbacks
):
    AgentInvitationFactory(organisation=organisation, email="lucie@departement.fr")
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(organisation), invitation_data(email="Lucie@departement.fr"))
    assert response.status_code == 422
    assert "déjà en attente" in response.context["form"].errors["email"][0]
    assert AgentInvitation.objects.count() == 1
    assert mail.outbox == []


def test_an_expired_pending_invitation_is_replaced_by_a_new_one(
    client, organisation, admin_agent, django_capture_on_commit_callbacks
):
    old = AgentInvitationFactory(organisation=organisation, email="lucie@departement.fr", expired=True)
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(organisation), invitation_data(email="lucie@departement.fr"))
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.cancelled_at is not None
    assert AgentInvitation.objects.pending().count() == 1
    assert client.get(accept_url(old.token)).status_code == 410


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"email": "pas-un-email"}, "email", "adresse e-mail valide"),
        ({"email": ""}, "email", "Saisissez l'adresse e-mail du professionnel."),
        ({"service": ""}, "service", "Choisissez le service auquel appartient cet agent."),
        ({"service": "999999"}, "service", "Choisissez un service de la liste."),
        ({"level": ""}, "level", "Choisissez un rôle."),
        ({"level": "superadmin"}, "level", "Choisissez un rôle de la liste."),
    ],
)
def test_bad_invitation_input_is_refused_on_its_field(
    client, organisation, admin_agent, changes, field, message, django_capture_on_commit_callbacks
):
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(organisation), invitation_data(**changes))
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert 'class="fr-error-text"' in response.content.decode()
    assert not AgentInvitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"first_name": ""}, "first_name", "Saisissez votre prénom."),
        ({"last_name": ""}, "last_name", "Saisissez votre nom."),
        ({"password": "court", "password_confirmation": "court"}, "password", "trop court"),
        (
            {"password": "12345678901234", "password_confirmation": "12345678901234"},
            "password",
            "entièrement numérique",
        ),
        ({"password_confirmation": "autre-chose-encore"}, "password_confirmation", "pas identiques"),
    ],
)
def test_bad_account_input_is_refused_on_its_field_and_keeps_the_link(client, organisation, changes, field, message):
    invitation = AgentInvitationFactory(organisation=organisation)
    response = client.post(accept_url(invitation.token), accept_data(**changes))
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert not Agent.objects.filter(email=invitation.email).exists()
    invitation.refresh_from_db()
    assert invitation.is_usable
    assert client.post(accept_url(invitation.token), accept_data()).status_code == 302


def test_password_too_close_to_the_email_is_refused(client, organisation):
    invitation = AgentInvitationFactory(organisation=organisation, email="garnierlucie@departement.fr")
    response = client.post(
        accept_url(invitation.token), accept_data(password="garnierlucie", password_confirmation="garnierlucie")
    )
    assert response.status_code == 422
    assert "password" in response.context["form"].errors


def test_an_account_created_meanwhile_answers_from_that_account(client, organisation):
    invitation = AgentInvitationFactory(organisation=organisation, email="lucie@departement.fr", admin=True)
    existing = AgentFactory(organisation=OrganisationFactory(), email="lucie@departement.fr")
    page = client.get(accept_url(invitation.token))
    assert page.status_code == 200
    assert "Vous avez déjà un compte" in page.content.decode()
    assert not AgentRole.objects.filter(agent=existing, organisation=organisation).exists()
    client.force_login(existing)
    assert client.get(accept_url(invitation.token)).url == respond_url(invitation)
    assert client.post(respond_url(invitation), {"reponse": "accepter"}).status_code == 302
    assert Agent.objects.filter(email__iexact="lucie@departement.fr").count() == 1
    assert AgentRole.objects.get(agent=existing, organisation=organisation).level == AgentRole.Level.ADMIN
    assert client.get(accept_url(invitation.token)).status_code == 410


def test_one_pending_invitation_per_address_is_a_database_rule(organisation):
    AgentInvitationFactory(organisation=organisation, email="lucie@departement.fr")
    AgentInvitationFactory(organisation=organisation, email="lucie@departement.fr", cancelled=True)
    AgentInvitationFactory(organisation=OrganisationFactory(), email="lucie@departement.fr")
    with pytest.raises(IntegrityError):
        AgentInvitationFactory(organisation=organisation, email="LUCIE@departement.fr")


def test_an_invitation_email_is_recorded_and_retried_through_the_outbox(
    client, organisation, admin_agent, settings, django_capture_on_commit_callbacks
):
    """Invitations leave like every message: a row of the outbox, retried when the email
    provider is down (its HTTP API mocked), then sent."""
    settings.EMAIL_BACKEND = "anymail.backends.brevo.EmailBackend"
    settings.ANYMAIL = {"BREVO_API_KEY": "key"}
    client.force_login(admin_agent)
    with brevo_answer(502, {"message": "Bad gateway"}), django_capture_on_commit_callbacks(execute=True):
        response = client.post(invite_url(organisation), invitation_data())
    assert response.status_code == 302
    row = Notification.objects.get()
    assert (row.event, row.channel, row.to, row.rdv, row.usager) == (
        Notification.Event.INVITATION,
        Notification.Channel.EMAIL,
        "nouvelle.collegue@departement.fr",
        None,
        None,
    )
    assert organisation.name in row.subject and "/invitation/" in row.body
    assert (row.status, row.attempts) == (Notification.Status.PENDING, 1)
    assert "Prestataire indisponible" in row.last_error
    with brevo_answer(201, {"messageId": "<1@smtp-relay.mailin.fr>"}):
        deliver_one(row.pk, row.next_attempt_at)
    row.refresh_from_db()
    assert (row.status, row.provider_id) == (Notification.Status.SENT, "<1@smtp-relay.mailin.fr>")
