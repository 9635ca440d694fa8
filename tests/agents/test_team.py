import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents import services
from agents.models import Agent, AgentInvitation, AgentRole
from tests.agents.factories import AgentFactory, AgentInvitationFactory
from tests.organisations.factories import OrganisationFactory, service


def team_url(organisation):
    return reverse("agents:team", kwargs={"organisation_id": organisation.pk})


def detail_url(organisation, agent):
    return reverse("agents:detail", kwargs={"organisation_id": organisation.pk, "agent_pk": agent.pk})


def remove_url(organisation, agent):
    return reverse("agents:remove", kwargs={"organisation_id": organisation.pk, "agent_pk": agent.pk})


def role_of(agent, organisation):
    return AgentRole.objects.filter(agent=agent, organisation=organisation).first()


def test_the_list_shows_agents_and_pending_invitations(client, organisation, admin_agent):
    colleague = AgentFactory(
        organisation=organisation, services=["PMI", "Social"], first_name="Karim", last_name="Benali"
    )
    AgentFactory(organisation=OrganisationFactory(), first_name="Ailleurs", last_name="Personne")
    AgentInvitationFactory(organisation=organisation, email="lucie@departement.fr", admin=True)
    AgentInvitationFactory(organisation=organisation, email="annulee@departement.fr", cancelled=True)
    AgentInvitationFactory(organisation=organisation, email="acceptee@departement.fr", accepted=True)
    AgentInvitationFactory(organisation=OrganisationFactory(), email="autre-mds@departement.fr")
    client.force_login(admin_agent)
    response = client.get(team_url(organisation))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Vos agents" in html and "Invitez un professionnel" in html
    assert f'href="{detail_url(organisation, colleague)}"' in html
    assert "Karim Benali" in html and colleague.email in html
    assert "PMI (Protection Maternelle Infantile)" in html and "Service social" in html
    assert "Administrateur" in html and "Utilisateur" in html
    assert "Ailleurs Personne" not in html
    assert "Invitations en attente" in html
    assert "lucie@departement.fr" in html
    assert "Renvoyer" in html and "Annuler" in html
    for hidden in ("annulee@", "acceptee@", "autre-mds@"):
        assert hidden not in html


def test_admin_sees_vos_agents_in_the_menu_and_others_do_not(client, organisation, admin_agent, basic_agent):
    home = reverse("organisations:home", kwargs={"organisation_id": organisation.pk})
    client.force_login(admin_agent)
    assert "Vos agents" in client.get(home).content.decode()
    client.force_login(basic_agent)
    assert "Vos agents" not in client.get(home).content.decode()


def test_the_agent_page_shows_the_agent_and_its_form(client, organisation, admin_agent, basic_agent):
    client.force_login(admin_agent)
    response = client.get(detail_url(organisation, basic_agent))
    html = response.content.decode()
    assert response.status_code == 200
    assert basic_agent.full_name in html and basic_agent.email in html
    assert f"Rôle de {basic_agent.full_name}" in html
    assert "Modifier" in html and "Supprimer" in html
    assert "Il n&#x27;a pas accès aux paramètres" in html


def test_admin_changes_the_role_and_services_of_an_agent(client, organisation, admin_agent, basic_agent):
    client.force_login(admin_agent)
    response = client.post(
        detail_url(organisation, basic_agent),
        {"level": "admin", "services": [service("Social").pk, service("Secrétariat").pk]},
    )
    assert response.status_code == 302
    assert response.url == team_url(organisation)
    assert role_of(basic_agent, organisation).level == AgentRole.Level.ADMIN
    assert set(role_of(basic_agent, organisation).services.values_list("short_name", flat=True)) == {
        "Social",
        "Secrétariat",
    }
    history = role_of(basic_agent, organisation).history.first()
    assert history.level == "admin" and history.history_user == admin_agent


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"level": "basic", "services": []}, "services", "Choisissez au moins un service."),
        ({"level": "chef", "services": ["PMI"]}, "level", "Choisissez un rôle de la liste."),
        ({"level": "basic", "services": ["999999"]}, "services", "Choisissez un service de la liste."),
        ({"level": "basic", "services": ["pas-un-id"]}, "services", "Choisissez un service de la liste."),
    ],
)
def test_bad_role_input_is_refused_on_its_field(client, organisation, admin_agent, basic_agent, data, field, message):
    data = {**data, "services": [service("PMI").pk if s == "PMI" else s for s in data["services"]]}
    client.force_login(admin_agent)
    response = client.post(detail_url(organisation, basic_agent), data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert role_of(basic_agent, organisation).level == AgentRole.Level.BASIC
    assert list(role_of(basic_agent, organisation).services.values_list("short_name", flat=True)) == ["PMI"]


def test_the_last_admin_cannot_demote_itself(client, organisation, admin_agent, basic_agent):
    client.force_login(admin_agent)
    response = client.post(
        detail_url(organisation, admin_agent), {"level": "basic", "services": [service("Social").pk]}
    )
    assert response.status_code == 422
    errors = " ".join(response.context["form"].errors["level"])
    assert "Vous êtes le dernier administrateur" in errors
    assert "Vous êtes le dernier administrateur" in response.content.decode()
    assert role_of(admin_agent, organisation).level == AgentRole.Level.ADMIN
    assert list(role_of(admin_agent, organisation).services.values_list("short_name", flat=True)) == ["PMI"]


def test_an_admin_may_demote_itself_when_another_admin_remains(client, organisation, admin_agent):
    AgentFactory(organisation=organisation, admin=True)
    client.force_login(admin_agent)
    response = client.post(detail_url(organisation, admin_agent), {"level": "basic", "services": [service("PMI").pk]})
    assert response.status_code == 302
    assert response.url == reverse("organisations:home", kwargs={"organisation_id": organisation.pk})
    assert role_of(admin_agent, organisation).level == AgentRole.Level.BASIC
    assert client.get(team_url(organisation)).status_code == 404


def test_the_last_admin_cannot_remove_itself(client, organisation, admin_agent):
    client.force_login(admin_agent)
    page = client.get(remove_url(organisation, admin_agent))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Vous êtes le dernier administrateur" in html
    assert '<button type="submit"' not in html.split('id="contenu"')[1]
    response = client.post(remove_url(organisation, admin_agent))
    assert response.status_code == 422
    assert "Vous êtes le dernier administrateur" in response.content.decode()
    assert role_of(admin_agent, organisation) is not None


def test_removing_a_basic_agent_deletes_its_role_only(client, organisation, admin_agent, basic_agent):
    elsewhere = OrganisationFactory()
    basic_agent.roles.create(organisation=elsewhere, level="admin").services.add(service("Social"))
    client.force_login(admin_agent)
    page = client.get(remove_url(organisation, basic_agent))
    assert page.status_code == 200
    assert "Supprimer" in page.content.decode()
    response = client.post(remove_url(organisation, basic_agent))
    assert response.status_code == 302
    assert response.url == team_url(organisation)
    assert role_of(basic_agent, organisation) is None
    assert role_of(basic_agent, elsewhere) is not None
    basic_agent.refresh_from_db()
    assert basic_agent.is_active
    assert list(role_of(basic_agent, elsewhere).services.values_list("short_name", flat=True)) == ["Social"]
    deletion = AgentRole.history.filter(agent_id=basic_agent.pk, organisation_id=organisation.pk).first()
    assert deletion.history_type == "-" and deletion.history_user == admin_agent
    assert "ne fait plus partie de" in client.get(team_url(organisation)).content.decode()  # the message, once
    assert basic_agent.full_name not in client.get(team_url(organisation)).content.decode()
    assert client.get(detail_url(organisation, basic_agent)).status_code == 404


def test_an_admin_may_leave_when_another_admin_remains(client, organisation, admin_agent):
    AgentFactory(organisation=organisation, admin=True)
    client.force_login(admin_agent)
    response = client.post(remove_url(organisation, admin_agent))
    assert response.status_code == 302
    assert response.url == reverse("organisations:choose")
    assert role_of(admin_agent, organisation) is None
    assert Agent.objects.filter(pk=admin_agent.pk).exists()


def test_registered_blockers_refuse_the_removal_and_list_what_points_at_the_agent(
    client, organisation, admin_agent, basic_agent, monkeypatch
):
    calls = []

    def future_rdvs(*, agent, organisation):
        calls.append((agent, organisation))
        if agent == basic_agent:
            return ["2 RDV à venir, le premier le 12/03/2027 à 9h00", "1 plage d'ouverture à venir"]
        return []

    monkeypatch.setattr(services, "REMOVAL_BLOCKERS", [future_rdvs])
    client.force_login(admin_agent)
    page = client.get(remove_url(organisation, basic_agent)).content.decode()
    assert "2 RDV à venir, le premier le 12/03/2027 à 9h00" in page
    response = client.post(remove_url(organisation, basic_agent))
    assert response.status_code == 422
    html = response.content.decode()
    assert "2 RDV à venir, le premier le 12/03/2027 à 9h00" in html
    assert "1 plage d&#x27;ouverture à venir" in html
    assert role_of(basic_agent, organisation) is not None
    assert calls[-1] == (basic_agent, organisation)

    other = AgentFactory(organisation=organisation)
    assert client.post(remove_url(organisation, other)).status_code == 302
    assert role_of(other, organisation) is None


@pytest.fixture
def every_url(organisation, admin_agent):
    target = AgentFactory(organisation=organisation)
    invitation = AgentInvitationFactory(organisation=organisation)
    org, agent, inv = organisation.pk, target.pk, invitation.pk
    return [
        ("get", reverse("agents:team", kwargs={"organisation_id": org})),
        ("get", reverse("agents:invite", kwargs={"organisation_id": org})),
        ("post", reverse("agents:invite", kwargs={"organisation_id": org})),
        ("get", reverse("agents:detail", kwargs={"organisation_id": org, "agent_pk": agent})),
        ("post", reverse("agents:detail", kwargs={"organisation_id": org, "agent_pk": agent})),
        ("get", reverse("agents:remove", kwargs={"organisation_id": org, "agent_pk": agent})),
        ("post", reverse("agents:remove", kwargs={"organisation_id": org, "agent_pk": agent})),
        ("get", reverse("agents:detail", kwargs={"organisation_id": org, "agent_pk": admin_agent.pk})),
        ("post", reverse("agents:resend_invitation", kwargs={"organisation_id": org, "invitation_pk": inv})),
        ("get", reverse("agents:resend_invitation", kwargs={"organisation_id": org, "invitation_pk": inv})),
        ("post", reverse("agents:cancel_invitation", kwargs={"organisation_id": org, "invitation_pk": inv})),
    ]


@pytest.mark.parametrize("who", ["basic", "secretariat"])
def test_non_admins_get_404_on_every_url(client, organisation, admin_agent, every_url, who):
    agent = AgentFactory(organisation=organisation, secretariat=who == "secretariat", services=["PMI"])
    client.force_login(agent)
    roles_before = list(AgentRole.objects.values_list("pk", "level"))
    for method, url in every_url:
        response = getattr(client, method)(url, {"level": "admin", "services": [service("PMI").pk]})
        assert response.status_code == 404, (method, url)
    assert list(AgentRole.objects.values_list("pk", "level")) == roles_before
    assert AgentInvitation.objects.pending().count() == 1


def test_another_organisations_agent_and_invitation_answer_404(client, organisation, admin_agent):
    other = OrganisationFactory()
    stranger = AgentFactory(organisation=other)
    invitation = AgentInvitationFactory(organisation=other)
    client.force_login(admin_agent)
    # The stranger's pages under this organisation, and this admin's URLs of the other organisation.
    assert client.get(detail_url(organisation, stranger)).status_code == 404
    assert client.post(detail_url(organisation, stranger), {"level": "admin"}).status_code == 404
    assert client.get(remove_url(organisation, stranger)).status_code == 404
    assert client.post(remove_url(organisation, stranger)).status_code == 404
    assert client.get(detail_url(other, stranger)).status_code == 404
    for name in ("agents:resend_invitation", "agents:cancel_invitation"):
        own_org_url = reverse(name, kwargs={"organisation_id": organisation.pk, "invitation_pk": invitation.pk})
        assert client.post(own_org_url).status_code == 404
    assert role_of(stranger, other).level == AgentRole.Level.BASIC
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_resend_and_cancel_answer_only_post(client, organisation, admin_agent):
    invitation = AgentInvitationFactory(organisation=organisation)
    client.force_login(admin_agent)
    for name in ("agents:resend_invitation", "agents:cancel_invitation"):
        url = reverse(name, kwargs={"organisation_id": organisation.pk, "invitation_pk": invitation.pk})
        assert client.get(url).status_code == 405
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_a_cancelled_invitation_can_be_neither_resent_nor_cancelled_again(client, organisation, admin_agent):
    invitation = AgentInvitationFactory(organisation=organisation, cancelled=True)
    client.force_login(admin_agent)
    for name in ("agents:resend_invitation", "agents:cancel_invitation"):
        url = reverse(name, kwargs={"organisation_id": organisation.pk, "invitation_pk": invitation.pk})
        assert client.post(url).status_code == 404


def test_the_list_queries_are_bounded(client, organisation, admin_agent):
    client.force_login(admin_agent)
    AgentFactory(organisation=organisation, services=["PMI"])
    AgentInvitationFactory(organisation=organisation)
    client.get(team_url(organisation))  # warm up the session

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(team_url(organisation)).status_code == 200
        return len(ctx)

    before = count()
    for i in range(20):
        AgentFactory(organisation=organisation, services=["PMI", "Social"], secretariat=i % 5 == 0)
        AgentInvitationFactory(organisation=organisation, admin=i % 2 == 0, expired=i % 3 == 0)
    after = count()
    assert after == before
    assert after == 7  # with the side menu's « À renseigner » badge


def test_the_agent_page_queries_are_bounded(client, organisation, admin_agent, basic_agent):
    client.force_login(admin_agent)
    client.get(detail_url(organisation, basic_agent))

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(detail_url(organisation, basic_agent)).status_code == 200
        return len(ctx)

    before = count()
    basic_agent.roles.get(organisation=organisation).services.add(service("Social"), service("Secrétariat"))
    for _ in range(5):
        basic_agent.roles.create(organisation=OrganisationFactory())
    assert count() == before
