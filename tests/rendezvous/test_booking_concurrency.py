"""What is booked meanwhile: the conflicts are checked again under the agents' lock
(rendezvous.services.create_rdv), a slot taken or closed while the usager is chosen creates nothing,
two bookings at once neither double-book nor deadlock."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from pytest_django.asserts import assertContains

from planning.locks import hold_agents_time
from rendezvous.conflicts import conflicts_signature, find_conflicts
from rendezvous.models import Participation, Rdv
from rendezvous.services import ConflictsChanged, create_rdv
from rendezvous.views import booking as booking_views
from tests.agents.factories import AgentFactory
from tests.helpers import wait_for_a_blocked_transaction
from tests.planning.factories import AbsenceFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import (
    DAY,
    at,
    conflicts_shown,
    create_url,
    creneaux_url,
    field_errors,
    slot_params,
    step3_data,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]

# What step 3 says under « Confirmer malgré le conflit » when the save found a new conflict.
CONFLICT_APPEARED = (
    "Un conflit est apparu pendant l'enregistrement : rien n'a été enregistré. "
    "Cochez « Confirmer malgré le conflit » pour enregistrer malgré tout."
)


def accepted_none() -> str:
    """The signature of the conflicts an agent who saw none accepted."""
    return conflicts_signature([])


def test_create_rdv_checks_the_conflicts_again_under_the_lock(organisation, basic_agent, motif, plage, usager):
    """The form was checked while the agent was free; another RDV was booked before the save:
    nothing is created. With the conflicts it confirmed, the RDV is created."""
    taken = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
    values = {
        "organisation": organisation,
        "motif": motif,
        "starts_at": at(organisation, DAY, 9, 30),
        "duration_in_min": 30,
        "agents": [basic_agent],
        "usagers": [usager],
        "lieu": plage.lieu,
        "by": basic_agent,
    }
    with pytest.raises(ConflictsChanged) as raised:
        create_rdv(**values, accepted_conflicts=accepted_none())
    assert [str(conflict.text) for conflict in raised.value.conflicts] == [
        f"{basic_agent.full_name} a déjà un RDV « {taken.motif.name} » le {DAY:%d/%m/%Y} de 9h45 à 10h15."
    ]
    assert list(Rdv.objects.all()) == [taken]

    confirmed = find_conflicts(None, organisation, [basic_agent], values["starts_at"], at(organisation, DAY, 10))
    rdv = create_rdv(**values, accepted_conflicts=conflicts_signature(confirmed))
    assert Rdv.objects.count() == 2 and list(rdv.agents.all()) == [basic_agent]


def test_conflict_booked_between_the_check_and_the_save_brings_step3_back(
    client, organisation, basic_agent, motif, plage, usager, monkeypatch
):
    """The RDV booked by a colleague after « Créer RDV » was validated, before the save: step 3
    again with the new warning, nothing created; confirmed, the RDV is created."""
    create = booking_views.create_rdv
    late = []

    def booked_meanwhile(**kwargs):
        if not late:
            late.append(
                RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 15))
            )
        return create(**kwargs)

    monkeypatch.setattr(booking_views, "create_rdv", booked_meanwhile)
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    assert response.context["step"] == "rdv"
    assert conflicts_shown(response) == [
        f"{basic_agent.full_name} a déjà un RDV « {late[0].motif.name} » le {DAY:%d/%m/%Y} de 9h15 à 9h45."
    ]
    assert field_errors(response, "confirm") == [CONFLICT_APPEARED]
    assert list(Rdv.objects.all()) == late

    signature = response.context["form"].current_signature
    response = client.post(create_url(organisation), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 302
    assert Rdv.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_agents_booking_the_same_colleague_at_once(client, organisation, basic_agent, motif, plage, usager):
    """A colleague's booking holds the agent's time and has not committed yet when « Créer RDV »
    is checked (it sees a free time); the save waits for that booking, then sees its RDV and
    creates nothing."""
    holding = threading.Event()
    errors = []

    def colleague_booking():
        try:
            with transaction.atomic():
                taken = at(organisation, DAY, 9, 45)
                hold_agents_time([basic_agent.pk], (taken, taken + dt.timedelta(minutes=30)))
                RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=taken)
                holding.set()
                # Commit once the other booking waits for the agent's time.
                assert wait_for_a_blocked_transaction()
        except Exception as error:  # surfaced by the main thread
            errors.append(error)
        finally:
            holding.set()
            connection.close()

    client.force_login(basic_agent)
    thread = threading.Thread(target=colleague_booking)
    thread.start()
    assert holding.wait(timeout=10)
    response = client.post(
        create_url(organisation), step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    )
    thread.join()
    assert errors == []
    assert response.status_code == 422
    assert field_errors(response, "confirm") == [CONFLICT_APPEARED]
    assert Rdv.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_agents_booking_each_other_at_once_do_not_deadlock(organisation, motif, plage, usager, monkeypatch):
    """A books for B while B books for A: each holds its colleague's time, then inserts an RDV
    whose author is the agent the other holds. A lock on the agents' rows (FOR UPDATE) would
    block those inserts' FOR KEY SHARE locks and PostgreSQL would kill one booking (« deadlock
    detected », a 500): the time's advisory locks block no row."""
    from rendezvous import services

    a = AgentFactory(organisation=organisation, services=["PMI"])
    b = AgentFactory(organisation=organisation, services=["PMI"])
    bookings = []
    for author, colleague, hour in ((a, b, 9), (b, a, 10)):
        start = at(organisation, DAY, hour)
        # Neither has a plage: the « outside the plages » warning, which the authors accepted.
        accepted = conflicts_signature(
            find_conflicts(None, organisation, [colleague], start, start + dt.timedelta(minutes=30))
        )
        bookings.append((author, colleague, start, accepted))
    both_locked = threading.Barrier(2, timeout=10)
    original = services.find_conflicts

    def find_conflicts_once_both_hold_their_lock(*args, **kwargs):
        both_locked.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "find_conflicts", find_conflicts_once_both_hold_their_lock)
    errors = []

    def book(author, colleague, start, accepted):
        try:
            create_rdv(
                organisation=organisation,
                motif=motif,
                starts_at=start,
                duration_in_min=30,
                agents=[colleague],
                usagers=[usager],
                lieu=plage.lieu,
                by=author,
                accepted_conflicts=accepted,
            )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=booking) for booking in bookings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Rdv.objects.count() == 2


def test_slot_taken_meanwhile_creates_nothing(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    assert client.get(creneaux_url(organisation), params).status_code == 200
    # Another agent books the same time while this one picks the usager.
    taken = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 15))
    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    assert "creneau=" not in response.url and f"motif={motif.pk}" in response.url
    assert list(Rdv.objects.all()) == [taken]
    assertContains(
        client.get(response.url),
        """<div class="fr-alert fr-alert--error fr-alert--sm fr-mb-2w"><p>
        Ce créneau vient d'être pris ou n'est plus disponible : aucun RDV n'a été créé, choisissez-en un autre.
        </p></div>""",
        count=1,
        html=True,
    )


def test_slot_closed_meanwhile_by_an_absence_creates_nothing(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=DAY, start_time=dt.time(9))
    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    assert not Rdv.objects.exists()


def test_booking_locks_the_agent(client, organisation, basic_agent, motif, plage, usager, django_assert_num_queries):
    """is_still_free runs inside the booking transaction: it locks the agent's time."""
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert any("pg_advisory_xact_lock" in query["sql"] for query in captured.captured_queries)
    assert Rdv.objects.count() == 1


def test_modifier_works_from_the_stored_rdv_not_the_form_s_copy(organisation, basic_agent, usager):
    """Two agents modify the same RDV: the second adds the usager the first has just added. It
    works from what is stored (no duplicate participation, no IntegrityError, a 500)."""
    from rendezvous.services import update_rdv

    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    stale = Rdv.objects.prefetch_related("agents", "participations").get(pk=rdv.pk)
    list(stale.participations.all()), list(stale.agents.all())
    Participation.objects.create(rdv=rdv, usager=usager)  # the first agent's change
    update_rdv(
        rdv=stale,
        starts_at=rdv.starts_at,
        duration_in_min=rdv.duration_in_min,
        lieu=rdv.lieu,
        agents=[basic_agent],
        usagers=[*rdv.usagers.all()],
        notes="",
        by=basic_agent,
        accepted_conflicts=conflicts_signature(
            find_conflicts(rdv, organisation, [basic_agent], rdv.starts_at, rdv.ends_at)
        ),
        notify_usagers=False,
    )
    assert Participation.objects.filter(rdv=rdv, usager=usager).count() == 1
