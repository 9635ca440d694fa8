"""Services belong to each membership: what one organisation's admin sets changes nothing in
another organisation (the escalation reported on the team page's « modifier »)."""

import pytest
from django.urls import reverse

from agents.models import AgentRole
from agents.permissions import agents_with_visible_agenda, get_membership
from notifications.models import Notification
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory, service
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory


@pytest.fixture
def noisiel(db):
    return OrganisationFactory(name="MDS de Noisiel")


@pytest.fixture
def chelles(db):
    return OrganisationFactory(name="MDS de Chelles")


@pytest.fixture
def emilie(noisiel, chelles):
    """A puéricultrice of PMI in both MDS."""
    agent = AgentFactory(organisation=noisiel, services=["PMI"], first_name="Émilie", last_name="Girard")
    AgentRoleFactory(agent=agent, organisation=chelles, services=["PMI"])
    return agent


def detail_url(organisation, agent):
    return reverse("agents:detail", kwargs={"organisation_id": organisation.pk, "agent_pk": agent.pk})


def agenda_url(organisation, agent):
    return reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": agent.pk})


def rdv_url(name, rdv):
    return reverse(f"rendezvous:{name}", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})


def services_in(agent, organisation) -> set[str]:
    return set(
        AgentRole.objects.get(agent=agent, organisation=organisation).services.values_list("short_name", flat=True)
    )


def test_the_secretariat_given_in_one_organisation_opens_nothing_in_another(client, noisiel, chelles, emilie):
    """As reported: Noisiel's admin gave Émilie the Secrétariat service; every agenda and RDV of
    Chelles opened to her there, and she could cancel an RDV of Chelles (a message left)."""
    admin_noisiel = AgentFactory(organisation=noisiel, admin=True, services=["PMI"])
    julien = AgentFactory(organisation=chelles, services=["Social"], first_name="Julien", last_name="Roux")
    rdv = RdvFactory(organisation=chelles, agents=[julien], usagers=[UsagerFactory(organisation=chelles)])
    client.force_login(admin_noisiel)
    response = client.post(
        detail_url(noisiel, emilie), {"level": "basic", "services": [service("Secrétariat").pk, service("PMI").pk]}
    )
    assert response.status_code == 302
    assert services_in(emilie, noisiel) == {"Secrétariat", "PMI"}
    assert services_in(emilie, chelles) == {"PMI"}

    client.force_login(emilie)
    assert client.get(agenda_url(chelles, julien)).status_code == 404
    assert client.get(rdv_url("detail", rdv)).status_code == 404
    assert client.post(rdv_url("status", rdv), {"status": "excused"}).status_code == 404
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN
    assert not Notification.objects.filter(rdv=rdv).exists()
    # Where it was given, the secrétariat opens every agenda.
    karim = AgentFactory(organisation=noisiel, services=["Social"])
    assert client.get(agenda_url(noisiel, karim)).status_code == 200


def test_removing_a_service_in_one_organisation_keeps_it_in_the_other(client, noisiel, chelles, emilie):
    admin_noisiel = AgentFactory(organisation=noisiel, admin=True, services=["PMI"])
    colleague_chelles = AgentFactory(organisation=chelles, services=["PMI"])
    client.force_login(admin_noisiel)
    response = client.post(detail_url(noisiel, emilie), {"level": "basic", "services": [service("Social").pk]})
    assert response.status_code == 302
    assert services_in(emilie, noisiel) == {"Social"}
    assert services_in(emilie, chelles) == {"PMI"}
    client.force_login(emilie)
    assert client.get(agenda_url(chelles, colleague_chelles)).status_code == 200


def test_an_agent_sees_in_each_organisation_what_its_service_there_allows(client, noisiel, chelles):
    agent = AgentFactory(organisation=noisiel, services=["PMI"])
    AgentRoleFactory(agent=agent, organisation=chelles, services=["Social"])
    pmi_noisiel = AgentFactory(organisation=noisiel, services=["PMI"])
    social_noisiel = AgentFactory(organisation=noisiel, services=["Social"])
    pmi_chelles = AgentFactory(organisation=chelles, services=["PMI"])
    social_chelles = AgentFactory(organisation=chelles, services=["Social"])
    pmi_motif_noisiel = MotifFactory(organisation=noisiel, service=service("PMI"), name="Consultation PMI")
    social_motif_noisiel = MotifFactory(organisation=noisiel, service=service("Social"), name="Accompagnement")
    pmi_motif_chelles = MotifFactory(organisation=chelles, service=service("PMI"), name="Pesée")
    social_motif_chelles = MotifFactory(organisation=chelles, service=service("Social"), name="Suivi budget")

    in_noisiel = get_membership(agent, noisiel.pk)
    in_chelles = get_membership(agent, chelles.pk)
    assert in_noisiel.service_ids == {service("PMI").pk}
    assert in_chelles.service_ids == {service("Social").pk}
    assert set(agents_with_visible_agenda(in_noisiel)) == {agent, pmi_noisiel}
    assert set(agents_with_visible_agenda(in_chelles)) == {agent, social_chelles}

    client.force_login(agent)
    assert client.get(agenda_url(noisiel, pmi_noisiel)).status_code == 200
    assert client.get(agenda_url(noisiel, social_noisiel)).status_code == 404
    assert client.get(agenda_url(chelles, social_chelles)).status_code == 200
    assert client.get(agenda_url(chelles, pmi_chelles)).status_code == 404

    def motifs_offered(organisation):
        page = client.get(reverse("rendezvous:creneaux", kwargs={"organisation_id": organisation.pk}))
        assert page.status_code == 200
        return set(page.context["form"].fields["motif"].motifs.values())

    assert motifs_offered(noisiel) == {pmi_motif_noisiel}
    assert motifs_offered(chelles) == {social_motif_chelles}
    assert social_motif_noisiel not in motifs_offered(noisiel) and pmi_motif_chelles not in motifs_offered(chelles)


def test_the_services_shown_beside_an_agent_are_those_of_the_organisation(client, noisiel, chelles):
    """The team page and the organisation's home read the membership here."""
    admin = AgentFactory(organisation=noisiel, admin=True, services=["PMI"], first_name="Claire", last_name="Dubois")
    agent = AgentFactory(organisation=noisiel, services=["PMI"], first_name="Émilie", last_name="Girard")
    AgentRoleFactory(agent=agent, organisation=chelles, services=["Social", "Secrétariat"])
    client.force_login(admin)
    team = client.get(reverse("agents:team", kwargs={"organisation_id": noisiel.pk})).content.decode()
    row = team[team.index("Émilie Girard") :].split("</tr>")[0]
    assert "Service social" not in row and "Secrétariat" not in row and "PMI" in row
    home = client.get(reverse("organisations:home", kwargs={"organisation_id": noisiel.pk}))
    assert [team for team, _members in home.context["teams"]] == [service("PMI").name]
