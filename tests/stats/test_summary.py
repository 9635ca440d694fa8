"""The summary's triggers at the edges the property test draws at random, written out once, and
`stats_summary --check / --rebuild`."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from rendezvous.models import Rdv
from stats import summary
from stats.models import RdvMonthCount, RdvStatusCount, RdvUnknownDayCount, UsagerMonthCount
from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import UsagerProfile

# 00:30 on 1 March in Paris; still February in UTC and in Guyane.
EDGE = dt.datetime(2025, 2, 28, 23, 30, tzinfo=dt.UTC)
MARCH, FEBRUARY = dt.date(2025, 3, 1), dt.date(2025, 2, 1)


def months(organisation, model=RdvMonthCount) -> dict[dt.date, int]:
    rows = model.objects.filter(organisation=organisation)
    if model is RdvMonthCount:
        rows = rows.filter(agent__isnull=True)
    return dict(rows.values_list("month", "count"))


@pytest.fixture
def paris(db):
    return TerritoryFactory(departement_number="77", time_zone="Europe/Paris")


def created_at_edge(organisation) -> Rdv:
    rdv = RdvFactory(organisation=organisation, usagers=[])
    Rdv.objects.filter(pk=rdv.pk).update(created_at=EDGE)
    usager = UsagerFactory(organisation=organisation)
    UsagerProfile.objects.filter(usager=usager).update(created_at=EDGE)
    return rdv


def test_an_organisations_new_time_zone_moves_its_figures_to_their_local_months(paris):
    organisation = OrganisationFactory(territory=paris)
    created_at_edge(organisation)
    assert months(organisation) == {MARCH: 1}
    assert months(organisation, UsagerMonthCount) == {MARCH: 1}

    organisation.time_zone = "America/Cayenne"
    organisation.save()

    assert months(organisation) == {FEBRUARY: 1}
    assert months(organisation, UsagerMonthCount) == {FEBRUARY: 1}
    assert summary.check() == []


def test_a_territorys_new_time_zone_moves_the_organisations_that_follow_it(paris):
    following = OrganisationFactory(territory=paris)
    own = OrganisationFactory(territory=paris, time_zone="Europe/Paris")
    for organisation in (following, own):
        created_at_edge(organisation)

    paris.time_zone = "America/Cayenne"
    paris.save()

    assert months(following) == {FEBRUARY: 1}
    assert months(own) == {MARCH: 1}
    assert summary.check() == []


def test_each_agent_has_its_rows_and_every_rdv_counts_once_in_the_organisations(paris):
    organisation = OrganisationFactory(territory=paris)
    first, second = (AgentFactory(organisation=organisation) for _ in range(2))
    rdv = RdvFactory(organisation=organisation, agents=[first, second], usagers=[], seen=True)
    statuses = RdvStatusCount.objects.filter(organisation=organisation)
    assert sorted(statuses.values_list("agent_id", "status", "count"), key=str) == sorted(
        [(None, "seen", 1), (first.pk, "seen", 1), (second.pk, "seen", 1)], key=str
    )
    rdv.agents.remove(second)
    assert sorted(statuses.values_list("agent_id", flat=True), key=str) == sorted([None, first.pk], key=str)
    rdv.delete()
    # A count that reaches 0 leaves no row.
    assert not statuses.exists()
    assert not RdvMonthCount.objects.filter(organisation=organisation).exists()


def test_rdvs_without_status_are_counted_by_the_day_they_start_in_the_organisations_time_zone(paris):
    organisation = OrganisationFactory(territory=paris)
    rdv = RdvFactory(organisation=organisation, usagers=[], starts_at=EDGE)
    days = RdvUnknownDayCount.objects.filter(organisation=organisation, agent__isnull=True)
    assert dict(days.values_list("day", "count")) == {MARCH: 1}
    rdv.starts_at = EDGE - dt.timedelta(hours=1)  # 23:30 on 28 February in Paris
    rdv.save(update_fields=["starts_at"])
    assert dict(days.values_list("day", "count")) == {dt.date(2025, 2, 28): 1}
    rdv.status = Rdv.Status.SEEN
    rdv.save(update_fields=["status"])
    assert not days.exists()


def test_the_command_finds_a_wrong_summary_and_rebuilds_it(paris):
    organisation = OrganisationFactory(territory=paris)
    RdvFactory(organisation=organisation, usagers=[], seen=True)
    out = io.StringIO()
    call_command("stats_summary", "--check", stdout=out)
    assert out.getvalue().startswith("Résumé des statistiques exact")

    RdvStatusCount.objects.filter(organisation=organisation, agent__isnull=True).update(count=F("count") + 1)
    RdvMonthCount.objects.filter(organisation=organisation).delete()
    out = io.StringIO()
    with pytest.raises(CommandError, match="stats_summary --rebuild"):
        call_command("stats_summary", "--check", stdout=out)
    assert out.getvalue().splitlines() == [
        f"stats_rdvmonthcount, organisation {organisation.pk} : 2 ligne(s) manquante(s) ou fausse(s), "
        "0 ligne(s) en trop ou fausse(s).",
        f"stats_rdvstatuscount, organisation {organisation.pk} : 1 ligne(s) manquante(s) ou fausse(s), "
        "1 ligne(s) en trop ou fausse(s).",
    ]

    out = io.StringIO()
    call_command("stats_summary", "--rebuild", "--organisation", str(organisation.pk), stdout=out)
    assert out.getvalue().startswith("Résumé reconstruit pour 1 organisation(s)")
    assert summary.check() == []


def test_rows_of_an_organisation_that_no_longer_exists_are_found_and_dropped(paris):
    organisation = OrganisationFactory(territory=paris)
    UsagerMonthCount.objects.create(organisation_id=organisation.pk + 1000, month=MARCH, count=3)
    assert summary.check() == [summary.Difference("stats_usagermonthcount", organisation.pk + 1000, 0, 1)]
    summary.rebuild()
    assert summary.check() == []
