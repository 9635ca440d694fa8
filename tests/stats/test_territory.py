"""« Statistiques du territoire »: the département's figures, added up and per organisation."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rdv.dates import add_months
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory, service
from tests.rendezvous.factories import RdvFactory
from tests.sectorisation.factories import TerritoryRoleFactory


@pytest.fixture
def territory(db):
    return TerritoryFactory(departement_number="77")


@pytest.fixture
def territory_admin(territory):
    home = OrganisationFactory(territory=territory, name="MDS A")
    agent = AgentFactory(organisation=home)  # a basic agent there: the territory role is enough
    TerritoryRoleFactory(agent=agent, territory=territory)
    return agent


def url(organisation, **query) -> str:
    return reverse("stats:territory", kwargs={"organisation_id": organisation.pk}, query=query or None)


def add_rdvs(organisation, *traits: dict) -> None:
    month = add_months(timezone.localdate(timezone=organisation.tzinfo).replace(day=1), -1)
    for trait in traits:
        rdv = RdvFactory(organisation=organisation, usagers=[], **trait)
        Rdv.objects.filter(pk=rdv.pk).update(
            created_at=dt.datetime.combine(month, dt.time(12), tzinfo=organisation.tzinfo)
        )


def test_the_territorys_figures_are_the_sums_of_its_organisations_side_by_side(client, territory, territory_admin):
    first = territory_admin.roles.get().organisation
    second = OrganisationFactory(territory=territory, name="MDS B")
    elsewhere = OrganisationFactory(territory=TerritoryFactory(departement_number="93"))
    add_rdvs(first, {"seen": True, "past": True}, {"past": True}, {})
    add_rdvs(second, {"seen": True, "past": True}, {"noshow": True, "past": True})
    add_rdvs(elsewhere, {"seen": True, "past": True})

    client.force_login(territory_admin)
    response = client.get(url(first))
    assert response.status_code == 200
    columns = ["total"] + [column.key for column in response.context["status_columns"]]
    rows = {name: dict(zip(columns, values, strict=True)) for name, values in response.context["status_rows"]}
    assert set(rows) == {"MDS A", "MDS B"}
    assert (rows["MDS A"]["total"], rows["MDS A"]["seen"], rows["MDS A"]["a_renseigner"], rows["MDS A"]["a_venir"]) == (
        3,
        1,
        1,
        1,
    )
    assert (rows["MDS B"]["total"], rows["MDS B"]["noshow"]) == (2, 1)
    totals = dict(zip(columns, response.context["status_totals"], strict=True))
    assert (totals["total"], totals["seen"]) == (5, 2)
    blocks = {block.id: block for block in response.context["charts"]}
    by_organisation = {str(s.label): s.total for s in blocks["rdvs-par-organisation"].figures.series}
    assert by_organisation == {"MDS A": 3, "MDS B": 2}
    assert blocks["rdvs-crees"].figures.total == 5
    assert "<caption>RDV par statut et par organisation</caption>" in response.content.decode()
    menu = f'<a class="fr-sidemenu__link" href="{url(first)}" aria-current="page">Statistiques du territoire</a>'
    assert menu in response.content.decode()


def test_the_service_filter_applies_to_every_organisation(client, territory, territory_admin):
    first = territory_admin.roles.get().organisation
    second = OrganisationFactory(territory=territory)
    add_rdvs(first, {"seen": True, "past": True})
    add_rdvs(second, {"motif": MotifFactory(organisation=second, service=service("Social"))}, {})
    client.force_login(territory_admin)
    response = client.get(url(first, service=service("Social").pk))
    assert response.context["status_totals"][0] == 1
    assert response.context["charts"][0].figures.total == 1


@pytest.mark.parametrize("organisations", [1, 4])
def test_the_number_of_queries_does_not_depend_on_the_number_of_organisations(
    client, territory, territory_admin, organisations
):
    for _ in range(organisations - 1):
        add_rdvs(OrganisationFactory(territory=territory), {}, {"seen": True, "past": True})
    client.force_login(territory_admin)
    path = url(territory_admin.roles.get().organisation)
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    # session, agent, membership, organisations, services of the form, statuses, RDVs created,
    # usagers, the other organisations of the header's selector, the side menu's « À renseigner » badge
    assert len(queries) == 9, [query["sql"] for query in queries.captured_queries]


@pytest.mark.parametrize("who", ["organisation_admin", "other_territory"])
def test_only_the_territorys_administrators_see_it(client, territory, who):
    organisation = OrganisationFactory(territory=territory)
    agent = AgentFactory(organisation=organisation, admin=True)
    if who == "other_territory":
        TerritoryRoleFactory(agent=agent, territory=TerritoryFactory(departement_number="93"))
    client.force_login(agent)
    assert client.get(url(organisation)).status_code == 404
    table = reverse(
        "stats:territory_table_export",
        kwargs={"organisation_id": organisation.pk, "table": "rdvs-crees", "format": "csv"},
    )
    assert client.get(table).status_code == 404
    page = client.get(reverse("stats:organisation", kwargs={"organisation_id": organisation.pk}))
    assert url(organisation) not in page.content.decode()


def test_the_organisations_table_as_csv(client, territory, territory_admin):
    first = territory_admin.roles.get().organisation
    add_rdvs(first, {}, {})
    add_rdvs(OrganisationFactory(territory=territory, name="MDS B"), {})
    client.force_login(territory_admin)
    month = add_months(timezone.localdate(timezone=first.tzinfo).replace(day=1), -1)
    response = client.get(
        reverse(
            "stats:territory_table_export",
            kwargs={"organisation_id": first.pk, "table": "rdvs-par-organisation", "format": "csv"},
            query={"debut": f"{month:%Y-%m}", "fin": f"{month:%Y-%m}"},
        )
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert [row[0] for row in rows] == ["Organisation", "MDS A", "MDS B", "Total"]
    assert [row[-1] for row in rows[1:]] == ["2", "1", "3"]
