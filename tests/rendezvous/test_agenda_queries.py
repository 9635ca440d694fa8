"""`rendezvous.agenda.queries.rdvs_in_window` reads the agendas' RDVs in written SQL: the same
RDVs, in the same order, with the same columns loaded as the ORM query it replaced, and nothing
read again when the agendas print them."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from motifs.models import Motif
from planning.intervals import Window
from rendezvous.agenda.queries import rdvs_in_window
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.helpers import PARIS
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory

MONDAY = dt.datetime(2027, 3, 1, tzinfo=PARIS)
WINDOW = Window(MONDAY, MONDAY + dt.timedelta(days=7))


def former(organisation, agent_ids, window):
    """The ORM query `rdvs_in_window` ran until 7 December 2026."""
    return list(
        Rdv.objects.for_organisation(organisation)
        .filter(pk__in=Rdv.agents.through.objects.filter(agent_id__in=agent_ids).values("rdv_id"))
        .overlapping(window.start, window.end)
        .select_related("motif", "lieu")
        .only(
            "id",
            "organisation_id",
            "starts_at",
            "ends_at",
            "duration_in_min",
            "status",
            "motif__name",
            "motif__color",
            "motif__location_type",
            "lieu__name",
        )
        .order_by("starts_at", "pk")
    )


def what_agendas_print(rdv) -> tuple:
    return (
        rdv.organisation_id,
        rdv.starts_at,
        rdv.ends_at,
        rdv.duration_in_min,
        rdv.status,
        rdv.motif.name,
        rdv.motif.color,
        rdv.motif.location_type,
        rdv.lieu.name if rdv.lieu else None,
    )


@pytest.fixture
def world(db):
    organisation, elsewhere = OrganisationFactory(), OrganisationFactory()
    ana, bob = AgentFactory(organisation=organisation), AgentFactory(organisation=organisation)
    lieu = LieuFactory(organisation=organisation)
    at_home = MotifFactory(organisation=organisation, location_type=Motif.LocationType.HOME)
    at_lieu = MotifFactory(organisation=organisation)

    def rdv(day: int, hour: int, agents, **kwargs):
        kwargs.setdefault("organisation", organisation)
        if kwargs["organisation"] == organisation:
            kwargs.setdefault("motif", at_lieu)
            kwargs.setdefault("lieu", lieu)
        return RdvFactory(starts_at=MONDAY + dt.timedelta(days=day, hours=hour), agents=agents, **kwargs)

    listed = [
        rdv(0, 9, [ana]),
        rdv(0, 9, [ana, bob], seen=True),  # same time: by id
        rdv(2, 14, [ana], motif=at_home, lieu=None, excused=True),
        rdv(-1, 23, [ana], duration_in_min=120),  # begins before the window, ends in it
        rdv(6, 23, [ana], duration_in_min=120),  # begins in it, ends after
    ]
    rdv(1, 10, [bob])  # another agent's
    rdv(-1, 9, [ana])  # before the window
    rdv(7, 0, [ana])  # from its end on
    rdv(3, 10, [ana], organisation=elsewhere)  # the agent's RDV in another organisation
    return organisation, ana, bob, listed


def test_the_same_rdvs_in_the_same_order_as_the_orm_query(world):
    organisation, ana, bob, listed = world
    rdvs = rdvs_in_window(organisation, [ana.pk], WINDOW)
    assert [rdv.pk for rdv in rdvs] == [rdv.pk for rdv in former(organisation, [ana.pk], WINDOW)]
    assert sorted(rdv.pk for rdv in rdvs) == sorted(rdv.pk for rdv in listed)
    both = rdvs_in_window(organisation, [ana.pk, bob.pk], WINDOW)
    assert [rdv.pk for rdv in both] == [rdv.pk for rdv in former(organisation, [ana.pk, bob.pk], WINDOW)]


def test_the_same_columns_loaded_and_nothing_read_again_when_printed(world):
    organisation, ana, _bob, _listed = world
    rdvs = rdvs_in_window(organisation, [ana.pk], WINDOW)
    for rdv, before in zip(rdvs, former(organisation, [ana.pk], WINDOW), strict=True):
        assert rdv.get_deferred_fields() == before.get_deferred_fields()
        assert rdv.motif.get_deferred_fields() == before.motif.get_deferred_fields()
        assert (rdv.lieu is None) == (before.lieu is None)
        if rdv.lieu is not None:
            assert rdv.lieu.get_deferred_fields() == before.lieu.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        printed = [
            (*what_agendas_print(rdv), rdv.organisation.tzinfo, rdv.agent_rows, rdv.usager_names) for rdv in rdvs
        ]
    assert len(queries) == 0
    assert [row[:9] for row in printed] == [what_agendas_print(rdv) for rdv in former(organisation, [ana.pk], WINDOW)]


def test_no_agent_reads_nothing(world):
    organisation, _ana, _bob, _listed = world
    with CaptureQueriesContext(connection) as queries:
        assert rdvs_in_window(organisation, [], WINDOW) == []
    assert len(queries) == 0
