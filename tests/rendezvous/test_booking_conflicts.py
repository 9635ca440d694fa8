"""The conflicts of an RDV being posed or modified (rendezvous/conflicts.py): another RDV, an
absence, a time outside the plages d'ouverture are warnings to confirm, never a refusal."""

import datetime as dt

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from agents.models import AgentRole
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import DAY, at, conflicts_shown, create_url, dom, find, step3_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]

# The checkbox that accepts the conflicts shown.
CONFIRM = '<label for="id_confirm" class="fr-label">Confirmer malgré le conflit</label>'


def test_conflicting_rdv_is_a_warning_to_confirm(client, organisation, basic_agent, motif, plage, usager):
    other = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    assert conflicts_shown(response) == [
        f"{basic_agent.full_name} a déjà un RDV « {other.motif.name} » le {DAY:%d/%m/%Y} de 9h45 à 10h15."
    ]
    assertContains(response, CONFIRM, count=1, status_code=422, html=True)
    assert find(dom(response), "input", name="confirm", type="checkbox", id="id_confirm")
    assert Rdv.objects.count() == 1

    signature = response.context["form"].current_signature
    response = client.post(create_url(organisation), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 302
    assert Rdv.objects.count() == 2


def test_conflict_appearing_during_confirmation_asks_again(client, organisation, basic_agent, motif, plage, usager):
    first = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id, duration_in_min=90)
    signature = client.post(create_url(organisation), data).context["form"].current_signature
    # Meanwhile, another RDV is booked in the same time.
    late = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 10, 30))
    response = client.post(create_url(organisation), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 422
    assert conflicts_shown(response) == [
        f"{basic_agent.full_name} a déjà un RDV « {first.motif.name} » le {DAY:%d/%m/%Y} de 9h45 à 10h15.",
        f"{basic_agent.full_name} a déjà un RDV « {late.motif.name} » le {DAY:%d/%m/%Y} de 10h30 à 11h00.",
    ]
    assert not response.context["form"]["confirm"].value()
    assert "checked" not in dict(find(dom(response), "input", name="confirm").attributes)
    assert Rdv.objects.count() == 2


def test_absence_and_outside_the_plages_are_conflicts(client, organisation, basic_agent, motif, plage, usager):
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Formation",
        first_day=DAY,
        start_time=dt.time(11),
        end_time=dt.time(13),
    )
    client.force_login(basic_agent)
    data = step3_data(
        organisation, motif, [basic_agent, colleague], [usager], lieu_id=plage.lieu_id, time="11:45", duration_in_min=30
    )
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    texts = [str(conflict.text) for conflict in response.context["form"].conflicts]
    day = DAY.strftime("%d/%m/%Y")
    assert sorted(texts) == sorted(
        [
            f"{basic_agent.full_name} est absent(e) (« Formation ») du {day} à 11h00 au {day} à 13h00.",
            f"Le {day} de 11h45 à 12h15 est en dehors des plages d'ouverture de {basic_agent.full_name}.",
            f"Le {day} de 11h45 à 12h15 est en dehors des plages d'ouverture de {colleague.full_name}.",
        ]
    )


def test_inside_the_plage_and_free_is_no_conflict(client, organisation, basic_agent, motif, plage, usager):
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 30), excused=True)
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id, time="11:30")
    assert client.post(create_url(organisation), data).status_code == 302


def test_modifier_warns_outside_the_plages_too(client, organisation, basic_agent, motif, plage):
    rdv = RdvFactory(organisation=organisation, motif=motif, agents=[basic_agent], starts_at=at(organisation, DAY, 9))
    client.force_login(basic_agent)
    data = {
        "date": DAY.isoformat(),
        "time": "11:45",
        "duration_in_min": 30,
        "lieu": rdv.lieu_id,
        "agents": [basic_agent.pk],
        "usagers": [u.pk for u in rdv.usagers.all()],
    }
    url = reverse("rendezvous:update", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    response = client.post(url, data)
    assert response.status_code == 422
    assert conflicts_shown(response) == [
        f"Le {DAY:%d/%m/%Y} de 11h45 à 12h15 est en dehors des plages d'ouverture de {basic_agent.full_name}."
    ]
    assert client.post(url, {**data, "time": "11:30"}).status_code == 302


def test_another_organisations_rdv_is_a_conflict_without_its_motif(
    client, organisation, basic_agent, motif, plage, usager
):
    """An agent working for two organisations is busy in both, but the other organisation's
    motif is not ours to read: the warning dates the RDV only, as for its absences."""
    other = OrganisationFactory()
    AgentRole.objects.create(agent=basic_agent, organisation=other)
    RdvFactory(
        organisation=other,
        agents=[basic_agent],
        motif__category__name="Consultation en addictologie",
        starts_at=at(organisation, DAY, 9, 45),
    )
    client.force_login(basic_agent)
    response = client.post(
        create_url(organisation), step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    )
    assert response.status_code == 422
    day = DAY.strftime("%d/%m/%Y")
    assert [str(conflict.text) for conflict in response.context["form"].conflicts] == [
        f"{basic_agent.full_name} a déjà un RDV dans une autre organisation le {day} de 9h45 à 10h15."
    ]
    assert conflicts_shown(response) == [
        f"{basic_agent.full_name} a déjà un RDV dans une autre organisation le {day} de 9h45 à 10h15."
    ]
    assert "addictologie" not in response.content.decode()


def test_conflict_check_reads_a_bounded_number_of_queries(
    client, organisation, admin_agent, motif, plage, usager, django_assert_max_num_queries
):
    def post(agents):
        data = step3_data(organisation, motif, agents, [usager], lieu_id=plage.lieu_id, duration_in_min=600)
        with django_assert_max_num_queries(30) as captured:
            response = client.post(create_url(organisation), data)
        assert response.status_code == 422
        return len(captured)

    def busy(agent):
        RdvFactory(organisation=organisation, agents=[agent], starts_at=at(organisation, DAY, 10))
        AbsenceFactory(organisation=organisation, agent=agent, first_day=DAY)
        PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=DAY)

    client.force_login(admin_agent)
    busy(admin_agent)
    few = post([admin_agent])
    many_agents = [AgentFactory(organisation=organisation, services=["PMI"]) for _ in range(8)]
    for agent in many_agents:
        RdvFactory(organisation=organisation, agents=[agent], starts_at=at(organisation, DAY, 10))
        AbsenceFactory(organisation=organisation, agent=agent, first_day=DAY)
        PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=DAY)
    assert post(many_agents) == few
