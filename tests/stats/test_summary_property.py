"""The summary always equals a direct count: random sequences of what happens to RDVs, then every
figure the page shows compared with a count over the RDVs themselves (in Python, independent of
the SQL), for every filter, and the summary compared row by row (`stats_summary --check`).

Instants cluster around midnight at month boundaries (±15 hours in UTC), where the organisation's
time zone decides the month: Paris, Nouméa (UTC+11), Guyane (UTC−3), Tahiti (UTC−10), La Réunion,
changed on the organisation or its territory in the middle of a sequence.

Bounded for CI (a few seconds); `STATS_PROPERTY_EXAMPLES=500 pytest tests/stats/test_summary_property.py`
runs longer, `STATS_PROPERTY_SHRINK=1` shrinks a failing sequence to a minimal one (slow).
"""

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from agents.models import AgentRole
from motifs.models import Motif
from organisations.models import Organisation, Territory
from rendezvous.models import TO_COME, TO_FILL, Participation, Rdv
from stats import summary
from stats.figures import Filters, rdvs_created, status_counts, usagers_created
from stats.periods import Grain, Period
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory, service
from tests.usagers.factories import UsagerFactory
from usagers.models import UsagerProfile

EXAMPLES = int(os.environ.get("STATS_PROPERTY_EXAMPLES", "25"))
SHRINK = bool(os.environ.get("STATS_PROPERTY_SHRINK"))
BOUNDARIES = [dt.datetime(2025, month, 1, tzinfo=dt.UTC) for month in (1, 3, 4, 11)]
PERIOD = Period(dt.date(2024, 12, 1), dt.date(2025, 11, 1))
ORGANISATION_TZS = ["", "America/Cayenne", "Pacific/Tahiti", "Indian/Reunion"]
TERRITORY_TZS = ["Europe/Paris", "Pacific/Noumea", "America/Cayenne"]
AGENTS = 3
USAGERS = 3

# Hours from midnight UTC at which one of the time zones above is just before or after its own
# midnight (Paris +1/+2, La Réunion +4, Nouméa +11, Guyane −3, Tahiti −10).
HOURS = [-14, -11, -10, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 9, 10, 11, 12]
instants = st.builds(
    lambda boundary, hours, minute: boundary + dt.timedelta(hours=hours, minutes=minute),
    st.sampled_from(BOUNDARIES),
    st.sampled_from(HOURS),
    st.sampled_from([0, 1, 30, 59]),
)
rdv_ref = st.integers(0, 50)
agent_sets = st.frozensets(st.integers(0, AGENTS - 1), max_size=AGENTS)
creations = st.tuples(
    st.just("create"),
    st.integers(0, 1),  # organisation
    st.integers(0, 2),  # motif
    st.integers(0, 2),  # lieu (2: none)
    agent_sets,
    st.sampled_from(Rdv.CreatedBy.values),
    st.sampled_from(Rdv.Status.values),
    instants,  # created at
    instants,  # starts at
    st.booleans(),  # agents linked before the RDV row exists (deferred foreign keys)
)
operations = st.one_of(
    creations,
    st.tuples(st.just("move"), rdv_ref, instants),
    st.tuples(st.just("created_at"), rdv_ref, instants),
    st.tuples(st.just("status"), rdv_ref, st.sampled_from(Rdv.Status.values)),
    st.tuples(st.just("delete"), rdv_ref, st.booleans()),  # True: the RDV row before its links
    st.tuples(st.just("agents"), rdv_ref, agent_sets),
    st.tuples(st.just("participation"), rdv_ref, st.integers(0, USAGERS - 1)),
    st.tuples(st.just("motif_lieu"), rdv_ref, st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("organisation_tz"), st.integers(0, 1), st.sampled_from(ORGANISATION_TZS)),
    st.tuples(st.just("territory_tz"), st.integers(0, 1), st.sampled_from(TERRITORY_TZS)),
    st.tuples(st.just("motif_service"), st.integers(0, 1), st.integers(0, 2), st.sampled_from(["PMI", "Social"])),
    st.tuples(st.just("usager_profile"), st.integers(0, 1), st.integers(0, USAGERS - 1), instants),
)


@dataclass
class World:
    territories: list[int]
    organisations: list[int]
    motifs: list[list[int]]  # per organisation
    lieux: list[list[int | None]]  # per organisation, None last
    agents: list[int]
    usagers: list[int]


@pytest.fixture
def world(db) -> World:
    territories = [
        TerritoryFactory(departement_number="77", time_zone="Europe/Paris"),
        TerritoryFactory(departement_number="988", time_zone="Pacific/Noumea"),
    ]
    organisations = [OrganisationFactory(territory=territory) for territory in territories]
    agents = [AgentFactory(organisation=organisations[0]) for _ in range(AGENTS)]
    for agent in agents:
        AgentRole.objects.create(agent=agent, organisation=organisations[1])
    usagers = [UsagerFactory() for _ in range(USAGERS)]
    return World(
        territories=[territory.pk for territory in territories],
        organisations=[organisation.pk for organisation in organisations],
        motifs=[
            [
                MotifFactory(organisation=organisation, service=service("PMI")).pk,
                MotifFactory(organisation=organisation, service=service("Social"), phone=True).pk,
                MotifFactory(organisation=organisation, service=service("PMI"), home=True).pk,
            ]
            for organisation in organisations
        ],
        lieux=[
            [LieuFactory(organisation=organisation).pk for _ in range(2)] + [None] for organisation in organisations
        ],
        agents=[agent.pk for agent in agents],
        usagers=[usager.pk for usager in usagers],
    )


def _live(rdvs: list[int], ref: int) -> int | None:
    return rdvs[ref % len(rdvs)] if rdvs else None


def apply(world: World, operation: tuple, rdvs: list[int]) -> None:
    """One change, made as the application (or a careless script) would make it."""
    kind, *args = operation
    if kind == "create":
        org, motif, lieu, agents, created_by, status, created_at, starts_at, links_first = args
        fields = {
            "organisation_id": world.organisations[org],
            "motif_id": world.motifs[org][motif],
            "lieu_id": world.lieux[org][lieu],
            "starts_at": starts_at,
            "duration_in_min": 30,
            "status": status,
            "created_by": created_by,
        }
        agent_ids = [world.agents[index] for index in sorted(agents)]
        if links_first:
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval(pg_get_serial_sequence('rendezvous_rdv', 'id'))")
                fields["id"] = cursor.fetchone()[0]
            Rdv.agents.through.objects.bulk_create(
                [Rdv.agents.through(rdv_id=fields["id"], agent_id=a) for a in agent_ids]
            )
            rdv = Rdv.objects.create(**fields)
        else:
            rdv = Rdv.objects.create(**fields)
            rdv.agents.set(agent_ids)
        Rdv.objects.filter(pk=rdv.pk).update(created_at=created_at)  # auto_now_add
        rdvs.append(rdv.pk)
        return
    if kind in ("organisation_tz", "territory_tz", "motif_service", "usager_profile"):
        _apply_setting(world, kind, args)
        return
    pk = _live(rdvs, args[0])
    if pk is None:
        return
    rdv = Rdv.objects.get(pk=pk)
    if kind == "move":
        rdv.starts_at = args[1]
        rdv.save(update_fields=["starts_at"])
    elif kind == "created_at":
        Rdv.objects.filter(pk=pk).update(created_at=args[1])
    elif kind == "status":
        rdv.status = args[1]
        rdv.save(update_fields=["status"])
    elif kind == "delete" and args[1]:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM rendezvous_rdv WHERE id = %s", [pk])
            cursor.execute("DELETE FROM rendezvous_rdv_agents WHERE rdv_id = %s", [pk])
            cursor.execute("DELETE FROM rendezvous_participation WHERE rdv_id = %s", [pk])
        rdvs.remove(pk)
    elif kind == "delete":
        rdv.delete()
        rdvs.remove(pk)
    elif kind == "agents":
        rdv.agents.set([world.agents[index] for index in args[1]])
    elif kind == "participation":
        usager_id = world.usagers[args[1]]
        deleted, _ = Participation.objects.filter(rdv=rdv, usager_id=usager_id).delete()
        if not deleted:
            Participation.objects.create(rdv=rdv, usager_id=usager_id)
    elif kind == "motif_lieu":
        org = world.organisations.index(rdv.organisation_id)
        rdv.motif_id = world.motifs[org][args[1]]
        rdv.lieu_id = world.lieux[org][args[2]]
        rdv.save(update_fields=["motif", "lieu"])


def _apply_setting(world: World, kind: str, args: list) -> None:
    if kind == "organisation_tz":
        organisation = Organisation.objects.get(pk=world.organisations[args[0]])
        organisation.time_zone = args[1]
        organisation.save()
    elif kind == "territory_tz":
        territory = Territory.objects.get(pk=world.territories[args[0]])
        territory.time_zone = args[1]
        territory.save()
    elif kind == "motif_service":
        Motif.objects.filter(pk=world.motifs[args[0]][args[1]]).update(service=service(args[2]))
    elif kind == "usager_profile":
        org, usager, created_at = args
        profiles = UsagerProfile.objects.filter(
            organisation_id=world.organisations[org], usager_id=world.usagers[usager]
        )
        if not profiles.delete()[0]:
            profile = UsagerProfile.objects.create(
                organisation_id=world.organisations[org], usager_id=world.usagers[usager]
            )
            UsagerProfile.objects.filter(pk=profile.pk).update(created_at=created_at)


def _filters(world: World, org: int) -> list[Filters]:
    return [
        Filters(),
        *(Filters(service_id=service(name).pk) for name in ("PMI", "Social")),
        *(Filters(lieu_id=lieu) for lieu in world.lieux[org] if lieu),
        *(Filters(motif_id=motif) for motif in world.motifs[org]),
        *(Filters(agent_id=agent) for agent in world.agents),
    ]


def _selected(rdv: Rdv, filters: Filters) -> bool:
    return (
        (not filters.service_id or rdv.motif.service_id == filters.service_id)
        and (not filters.lieu_id or rdv.lieu_id == filters.lieu_id)
        and (not filters.motif_id or rdv.motif_id == filters.motif_id)
        and (not filters.agent_id or filters.agent_id in {agent.pk for agent in rdv.agents.all()})
    )


def expected_statuses(rdvs: list[Rdv], now: dt.datetime) -> dict[str, int]:
    counts = Counter(rdv.displayed_status_key(now) for rdv in rdvs)
    return {"total": len(rdvs), TO_COME: counts[TO_COME], TO_FILL: counts[TO_FILL]} | {
        status: counts[status] for status in Rdv.Status.values if status != Rdv.Status.UNKNOWN
    }


def expected_created(rdvs: list[Rdv], tz) -> dict[str, dict[str, list[int]]]:
    months = PERIOD.months

    def per_month(selected) -> list[int]:
        counts = Counter(timezone.localtime(rdv.created_at, tz).date().replace(day=1) for rdv in selected)
        return [counts[month] for month in months]

    services = {rdv.motif.service_id for rdv in rdvs}
    by_service = {f"service_{pk}": per_month([r for r in rdvs if r.motif.service_id == pk]) for pk in services}
    return {
        "creator": {key: per_month([r for r in rdvs if r.created_by == key]) for key in Rdv.CreatedBy.values},
        "type": {
            key: per_month([r for r in rdvs if r.motif.location_type == key]) for key in Motif.LocationType.values
        },
        "service": {key: values for key, values in by_service.items() if any(values)},
    }


def assert_figures_equal_direct_counts(world: World, now: dt.datetime) -> None:
    for index, organisation_id in enumerate(world.organisations):
        organisation = Organisation.objects.select_related("territory").get(pk=organisation_id)
        tz = organisation.tzinfo
        rdvs = list(Rdv.objects.filter(organisation=organisation).select_related("motif").prefetch_related("agents"))
        for filters in _filters(world, index):
            selected = [rdv for rdv in rdvs if _selected(rdv, filters)]
            assert status_counts(organisation, now, filters) == expected_statuses(selected, now), filters
            created = rdvs_created(organisation, PERIOD, Grain.MONTH, filters)
            assert {
                "creator": {s.key: s.values for s in created.by_creator.series},
                "type": {s.key: s.values for s in created.by_type.series},
                "service": {s.key: s.values for s in created.by_service.series},
            } == expected_created(selected, tz), filters
        profiles = Counter(
            timezone.localtime(created_at, tz).date().replace(day=1)
            for created_at in UsagerProfile.objects.filter(organisation=organisation).values_list(
                "created_at", flat=True
            )
        )
        usagers = usagers_created(organisation, PERIOD, Grain.MONTH).series[0].values
        assert usagers == [profiles[month] for month in PERIOD.months]
    assert summary.check() == []


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # Shrinking replays hundreds of sequences against the database: minutes. Ask for it when
    # investigating a failure.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if SHRINK else [])],
)
@given(st.lists(creations, min_size=1, max_size=8), st.lists(operations, max_size=20), instants)
def test_the_summary_always_equals_a_direct_count(world, creations, operations, now):
    # Each example from the same world: its changes are rolled back afterwards.
    with transaction.atomic():
        rdvs: list[int] = []
        for operation in creations + operations:
            apply(world, operation, rdvs)
        assert_figures_equal_direct_counts(world, now)
        transaction.set_rollback(True)
