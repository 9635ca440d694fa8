"""The history an RDV's writes leave (rdv.historical): its creation in one record with its agents,
the many-to-many rows of each record read by their ids, and « Afficher l'historique des actions »
reading both this shape and the earlier one (a record without agents, then one for them)."""

import pytest

from rendezvous.history import rdv_history
from rendezvous.models import Rdv
from rendezvous.services import change_status, create_rdv
from tests.agents.factories import AgentFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import DAY, at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]


def created(organisation, motif, plage, usager, agents) -> Rdv:
    return create_rdv(
        organisation=organisation,
        motif=motif,
        starts_at=at(organisation, DAY, 9, 30),
        duration_in_min=30,
        agents=agents,
        usagers=[usager],
        lieu=plage.lieu,
        by=agents[0],
        accepted_conflicts=None,
    )


def agents_of(record) -> set[int]:
    through = Rdv.history.model._meta.get_field("historicalrdv_agents").related_model
    return set(through.objects.filter(history=record).values_list("agent_id", flat=True))


def test_a_new_rdv_has_one_creation_record(organisation, basic_agent, motif, plage, usager):
    rdv = created(organisation, motif, plage, usager, [basic_agent])
    assert list(rdv.history.values_list("history_type", flat=True)) == ["+"]


def test_the_creation_record_holds_the_agents(organisation, basic_agent, motif, plage, usager):
    other = AgentFactory(organisation=organisation)
    rdv = created(organisation, motif, plage, usager, [basic_agent, other, basic_agent])
    assert agents_of(rdv.history.get()) == {basic_agent.pk, other.pk}


def test_the_creation_record_names_its_author(organisation, basic_agent, motif, plage, usager):
    rdv = created(organisation, motif, plage, usager, [basic_agent])
    assert rdv.history.get().history_user == basic_agent


def test_a_new_rdv_has_its_agents(organisation, basic_agent, motif, plage, usager):
    other = AgentFactory(organisation=organisation)
    rdv = created(organisation, motif, plage, usager, [basic_agent, other])
    assert set(rdv.agents.all()) == {basic_agent, other}


def test_a_record_copies_the_agent_links(organisation, basic_agent, motif, plage, usager):
    rdv = created(organisation, motif, plage, usager, [basic_agent])
    change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=basic_agent)
    through = Rdv.history.model._meta.get_field("historicalrdv_agents").related_model
    copied = through.objects.filter(history=rdv.history.latest("history_id")).values_list("id", "rdv_id", "agent_id")
    assert list(copied) == list(Rdv.agents.through.objects.filter(rdv=rdv).values_list("id", "rdv_id", "agent_id"))


def test_the_history_shows_one_creation_with_agents_and_usagers(organisation, basic_agent, motif, plage, usager):
    rdv = created(organisation, motif, plage, usager, [basic_agent])
    entries = rdv_history(rdv)
    assert [
        (entry.action, [(c.label, c.new) for c in entry.changes if c.label in ("Agents", "Usagers")])
        for entry in entries
    ] == [("Création", [("Agents", basic_agent.full_name), ("Usagers", usager.full_name)])]


def test_the_earlier_shape_is_one_creation_too(organisation, basic_agent, usager):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])  # « + », then « ~ »
    entries = rdv_history(rdv)
    assert [
        (entry.action, [(c.label, c.new) for c in entry.changes if c.label in ("Agents", "Usagers")])
        for entry in entries
    ] == [("Création", [("Agents", basic_agent.full_name), ("Usagers", usager.full_name)])]


def test_no_record_when_the_history_is_off(organisation, basic_agent, motif, plage, usager, settings):
    settings.SIMPLE_HISTORY_ENABLED = False
    rdv = created(organisation, motif, plage, usager, [basic_agent])
    assert not rdv.history.exists()


def test_the_history_manager_class_is_built_once():
    assert type(Rdv.history) is type(Rdv.history)
