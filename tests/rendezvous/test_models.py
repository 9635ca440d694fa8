import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.permissions import get_membership
from rendezvous.models import Rdv
from rendezvous.services import change_status
from tests.agents.factories import AgentFactory
from tests.helpers import at
from tests.organisations.factories import OrganisationFactory
from tests.rendezvous.factories import RdvFactory

PARIS = timezone.get_default_timezone()


@pytest.fixture
def rdv(organisation):
    return RdvFactory(organisation=organisation, starts_at=at(dt.date(2026, 6, 15), 10))


def test_ends_at_follows_start_and_duration(rdv):
    assert rdv.ends_at == at(dt.date(2026, 6, 15), 10, 30)
    rdv.duration_in_min = 45
    rdv.save(update_fields=["duration_in_min"])
    rdv.refresh_from_db()
    assert rdv.ends_at == at(dt.date(2026, 6, 15), 10, 45)


def test_an_rdv_cannot_last_zero_minutes(organisation):
    with pytest.raises(IntegrityError), transaction.atomic():
        RdvFactory(organisation=organisation, duration_in_min=0)


@pytest.mark.parametrize(
    "now, status, refused",
    [
        # Before the RDV's day: only the cancellations (and back to Indéterminé).
        (at(dt.date(2026, 6, 14), 9), "excused", False),
        (at(dt.date(2026, 6, 14), 9), "revoked", False),
        (at(dt.date(2026, 6, 14), 9), "unknown", False),
        (at(dt.date(2026, 6, 14), 9), "waiting", True),
        (at(dt.date(2026, 6, 14), 9), "seen", True),
        (at(dt.date(2026, 6, 14), 9), "noshow", True),
        # On its day: waiting; seen and noshow from one hour before its start.
        (at(dt.date(2026, 6, 15), 8), "waiting", False),
        (at(dt.date(2026, 6, 15), 8, 59), "seen", True),
        (at(dt.date(2026, 6, 15), 9), "seen", False),
        (at(dt.date(2026, 6, 15), 9), "noshow", False),
        # Afterwards: no more waiting room.
        (at(dt.date(2026, 6, 16), 9), "waiting", True),
        (at(dt.date(2026, 6, 16), 9), "seen", False),
        (at(dt.date(2026, 6, 16), 9), "bogus", True),
    ],
)
def test_status_rules(rdv, now, status, refused):
    agent = rdv.agents.get()
    if refused:
        with pytest.raises(ValidationError) as error:
            change_status(rdv=rdv, status=status, by=agent, now=now)
        assert "status" in error.value.message_dict
        rdv.refresh_from_db()
        assert rdv.status == Rdv.Status.UNKNOWN
    else:
        change_status(rdv=rdv, status=status, by=agent, now=now)
        rdv.refresh_from_db()
        assert rdv.status == status


def test_status_change_is_in_the_history_with_its_author(rdv):
    agent = rdv.agents.get()
    change_status(rdv=rdv, status="seen", by=agent, now=at(dt.date(2026, 6, 15), 11))
    change_status(rdv=rdv, status="unknown", by=agent, now=at(dt.date(2026, 6, 15), 11))
    latest = rdv.history.order_by("-history_id")[:2]
    assert [(h.status, h.history_user) for h in latest] == [("unknown", agent), ("seen", agent)]


def test_display_status_reads_a_venir_then_a_renseigner(rdv):
    assert rdv.display_status(at(dt.date(2026, 6, 15), 9)) == "À venir"
    assert rdv.display_status(at(dt.date(2026, 6, 15), 11)) == "À renseigner"
    rdv.status = Rdv.Status.EXCUSED
    assert rdv.display_status() == "Absent excusé"


def test_cancelled_rdvs_do_not_hold_time(organisation):
    kept = RdvFactory(organisation=organisation)
    RdvFactory(organisation=organisation, excused=True)
    RdvFactory(organisation=organisation, revoked=True)
    noshow = RdvFactory(organisation=organisation, noshow=True)
    assert set(Rdv.objects.holding_time()) == {kept, noshow}


def test_overlapping(organisation, rdv):
    day = dt.date(2026, 6, 15)
    assert list(Rdv.objects.overlapping(at(day, 10, 29), at(day, 11))) == [rdv]
    assert not Rdv.objects.overlapping(at(day, 10, 30), at(day, 11)).exists()
    assert not Rdv.objects.overlapping(at(day, 9), at(day, 10)).exists()


def test_visible_to_follows_the_agenda_rules(organisation):
    pmi = AgentFactory(organisation=organisation, services=["PMI"])
    social = AgentFactory(organisation=organisation, services=["Social"])
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    rdv_pmi = RdvFactory(organisation=organisation, agents=[pmi])
    rdv_social = RdvFactory(organisation=organisation, agents=[social])
    RdvFactory(organisation=OrganisationFactory(), agents=[pmi])
    assert set(Rdv.objects.visible_to(get_membership(pmi, organisation.pk))) == {rdv_pmi}
    assert set(Rdv.objects.visible_to(get_membership(secretariat, organisation.pk))) == {rdv_pmi, rdv_social}


def test_an_agent_with_future_rdvs_cannot_leave_the_organisation(client, organisation, admin_agent):
    import html

    from django.urls import reverse

    from agents.models import AgentRole

    leaving = AgentFactory(organisation=organisation, services=["PMI"])
    RdvFactory(organisation=organisation, agents=[leaving])
    RdvFactory(organisation=organisation, agents=[leaving], excused=True)
    RdvFactory(organisation=organisation, agents=[leaving], past=True)
    client.force_login(admin_agent)
    url = reverse("agents:remove", kwargs={"organisation_id": organisation.pk, "agent_pk": leaving.pk})
    response = client.post(url)
    assert response.status_code == 422
    assert html.unescape(response.content.decode()).count("à confier à un autre agent") == 1
    assert AgentRole.objects.filter(agent=leaving, organisation=organisation).exists()


@time_machine.travel(dt.datetime(2026, 3, 10, 11, 30, tzinfo=PARIS), tick=False)
def test_usagers_with_a_recent_rdv_are_not_anonymised(organisation):
    """Only an RDV starting after the cutoff keeps a family. (It used to build its RDV « tomorrow
    at 10:00 » against a cutoff of now + 24 h: red every day after 10:00.)"""
    from tests.usagers.factories import UsagerFactory
    from usagers.models import Usager

    kept = UsagerFactory(organisation=organisation)
    gone = UsagerFactory(organisation=organisation)
    cutoff = timezone.now() + dt.timedelta(days=1)  # everything so far counts as old…
    RdvFactory(organisation=organisation, usagers=[kept], starts_at=cutoff + dt.timedelta(minutes=1))
    RdvFactory(organisation=organisation, usagers=[gone], starts_at=cutoff - dt.timedelta(minutes=1))
    inactive = Usager.objects.inactive_since(cutoff)
    assert not inactive.filter(pk=kept.pk).exists()  # …but its RDV starts after the cutoff
    assert inactive.filter(pk=gone.pk).exists()


def test_an_rdv_lasts_its_duration_in_real_time_on_the_night_clocks_go_back(organisation):
    """2:30 summer time + 60 min ends at 2:30 winter time, as the créneaux engine counts: the
    wall clock's 3:30 would keep the agent busy an hour more."""
    starts_at = dt.datetime(2030, 10, 27, 2, 30, tzinfo=organisation.tzinfo)
    rdv = RdvFactory(organisation=organisation, starts_at=starts_at, duration_in_min=60)
    assert rdv.ends_at.timestamp() - rdv.starts_at.timestamp() == 3600
