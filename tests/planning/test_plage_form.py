"""The plage d'ouverture form (issue 17, « Forms »): a first day in the past is refused (it would
be saved then vanish from the list of current plages), and the motifs offered are those the
plage's agent may receive, not every service's."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from planning.forms import FIRST_DAY_IN_PAST, PlageOuvertureForm
from planning.models import PlageOuverture
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, service
from tests.planning.factories import PlageOuvertureFactory

# A Wednesday morning in Paris.
NOW = dt.datetime(2030, 3, 6, 9, 0, tzinfo=dt.UTC)
TODAY = dt.date(2030, 3, 6)


@pytest.fixture
def lieu(organisation):
    return LieuFactory(organisation=organisation)


@pytest.fixture
def motif(organisation):
    return MotifFactory(organisation=organisation, name="Consultation prénatale")


def data(lieu, motifs, first_day: dt.date, **extra):
    return {
        "title": "Consultation",
        "lieu": lieu.pk,
        "first_day": first_day.isoformat(),
        "start_time": "09:00",
        "end_time": "12:00",
        "motifs": [motif.pk for motif in motifs],
        "interval": "1",
        "frequency": "weekly",
        "nth": "1",
        "month_weekday": "0",
        **extra,
    }


def create_url(organisation, agent):
    return reverse("planning:plage_create", kwargs={"organisation_id": organisation.pk, "agent_id": agent.pk})


@time_machine.travel(NOW, tick=False)
def test_a_plage_starting_yesterday_is_refused_on_its_first_day(client, organisation, basic_agent, lieu, motif):
    client.force_login(basic_agent)
    yesterday = TODAY - dt.timedelta(days=1)
    response = client.post(create_url(organisation, basic_agent), data(lieu, [motif], yesterday))
    assert response.status_code == 422
    assert response.context["form"].errors == {"first_day": [str(FIRST_DAY_IN_PAST)]}
    assert not PlageOuverture.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_a_plage_starting_today_is_accepted(client, organisation, basic_agent, lieu, motif):
    client.force_login(basic_agent)
    response = client.post(create_url(organisation, basic_agent), data(lieu, [motif], TODAY))
    assert response.status_code == 302
    assert PlageOuverture.objects.get().first_day == TODAY


@time_machine.travel(NOW, tick=False)
def test_a_plage_begun_in_the_past_keeps_its_first_day_when_modified(organisation, basic_agent, lieu, motif):
    started = TODAY - dt.timedelta(days=30)
    plage = PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu, first_day=started)
    plage.motifs.set([motif])
    form = PlageOuvertureForm(
        data(lieu, [motif], started, title="Renommée"), instance=plage, organisation=organisation, agent=basic_agent
    )
    assert form.is_valid(), form.errors
    moved_back = PlageOuvertureForm(
        data(lieu, [motif], started - dt.timedelta(days=1)),
        instance=plage,
        organisation=organisation,
        agent=basic_agent,
    )
    assert moved_back.errors == {"first_day": [str(FIRST_DAY_IN_PAST)]}


def offered(organisation, agent) -> list[str]:
    form = PlageOuvertureForm(organisation=organisation, agent=agent)
    return [label for _group, choices in form.fields["motifs"].choices for _pk, label in choices]


def test_a_pmi_agent_is_offered_the_motifs_of_its_service_only(organisation, basic_agent, motif):
    MotifFactory(organisation=organisation, service=service("Social"), name="Accompagnement social")
    assert offered(organisation, basic_agent) == ["Consultation prénatale (Sur place)"]


def test_the_secretariat_is_offered_the_motifs_it_may_do(organisation, motif):
    MotifFactory(organisation=organisation, name="Pesée", for_secretariat=True)
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    assert offered(organisation, secretariat) == ["Pesée (Sur place)"]


def test_a_motif_already_on_the_plage_stays_offered(organisation, basic_agent, lieu, motif):
    social = MotifFactory(organisation=organisation, service=service("Social"), name="Accompagnement social")
    plage = PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu)
    plage.motifs.set([social])
    form = PlageOuvertureForm(instance=plage, organisation=organisation, agent=basic_agent)
    assert set(form.fields["motifs"].queryset) == {motif, social}
