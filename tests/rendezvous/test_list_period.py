"""« Tous les RDVs » opens on today and the coming days, nearest first; the past ones are one
click away (« Passés »), the latest first; « Aujourd'hui » marks the first RDV from today on
(issue 17, « Forms »)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from motifs.models import Motif
from tests.helpers import count_queries
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, service
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

PARIS = dt.timezone(dt.timedelta(hours=1))
# Wednesday 10 March 2027, 10:00 in Paris.
NOW = dt.datetime(2027, 3, 10, 10, 0, tzinfo=PARIS)


def at(days: int, hour: int) -> dt.datetime:
    return dt.datetime.combine(NOW.date() + dt.timedelta(days=days), dt.time(hour), tzinfo=PARIS)


@pytest.fixture
def rdvs(organisation, basic_agent):
    """Far in the future, last week, this morning before now, tomorrow, yesterday."""
    starts = {"far": at(300, 9), "last_week": at(-7, 9), "this_morning": at(0, 8), "tomorrow": at(1, 14)}
    starts["yesterday"] = at(-1, 16)
    return {
        name: RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=start)
        for name, start in starts.items()
    }


def listed(client, organisation, **query):
    response = client.get(reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk}, query=query))
    assert response.status_code == 200
    return response, [row.rdv for row in response.context["rows"]]


@time_machine.travel(NOW, tick=False)
def test_the_list_opens_on_today_and_the_coming_days_nearest_first(client, organisation, basic_agent, rdvs):
    client.force_login(basic_agent)
    response, shown = listed(client, organisation)
    assert shown == [rdvs["this_morning"], rdvs["tomorrow"], rdvs["far"]]
    page = dom(response)
    # Today's first RDV carries the anchor « Aujourd'hui » leads to.
    assert find(page, "tr", id="aujourdhui") == find_all(page, "tr")[1]
    link = find(page, "a", href="#aujourdhui")
    assert text(link) == "Aujourd'hui"
    current = find(find(page, "nav", aria_label="Période des RDV"), "a", aria_current="page")
    assert text(current) == "À venir"


@time_machine.travel(NOW, tick=False)
def test_the_past_rdvs_are_one_click_away_the_latest_first(client, organisation, basic_agent, rdvs):
    client.force_login(basic_agent)
    response, _ = listed(client, organisation)
    past_link = next(a for a in find_all(dom(response), "a") if text(a) == "Passés")
    response = client.get(dict(past_link.attributes)["href"])
    shown = [row.rdv for row in response.context["rows"]]
    assert shown == [rdvs["yesterday"], rdvs["last_week"]]


@time_machine.travel(NOW, tick=False)
def test_an_usager_s_or_a_status_s_list_shows_every_time(client, organisation, basic_agent, rdvs):
    client.force_login(basic_agent)
    _, shown = listed(client, organisation, statut="a_renseigner")
    assert set(shown) == {rdvs["yesterday"], rdvs["last_week"], rdvs["this_morning"]}
    _, shown = listed(client, organisation, periode="tous")
    assert len(shown) == 5


@time_machine.travel(NOW, tick=False)
def test_a_refused_filter_answers_422_with_its_error_on_the_field(client, organisation, basic_agent, rdvs):
    client.force_login(basic_agent)
    path = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk}, query={"statut": "demain"})
    response = client.get(path)
    assert response.status_code == 422
    assert response.context["form"].errors["statut"] == ["Sélectionnez un choix valide. demain n’en fait pas partie."]
    assert "Sélectionnez un choix valide. demain n’en fait pas partie." in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_period_adds_no_query(client, organisation, basic_agent, rdvs):
    client.force_login(basic_agent)
    path = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    client.get(path)
    assert count_queries(client, path) == count_queries(client, path + "?periode=passes")


@time_machine.travel(NOW, tick=False)
def test_the_list_reads_the_same_queries_whatever_its_rows(
    client, organisation, basic_agent, django_assert_num_queries
):
    """The session, the agent and its membership, the agents of the filters, their services,
    motifs and lieux (one query), the count, the page of RDVs with its motif, service and lieu,
    their agents, their usagers, the organisation, the « À renseigner » counter: the same for
    one RDV and for a full page of them with two usagers each."""
    client.force_login(basic_agent)
    path = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(1, 9), usagers=[UsagerFactory()])
    client.get(path)
    with django_assert_num_queries(10):
        client.get(path)
    for n in range(25):
        RdvFactory(
            organisation=organisation,
            agents=[basic_agent],
            starts_at=at(2 + n, 9),
            usagers=[UsagerFactory(), UsagerFactory()],
        )
    with django_assert_num_queries(10):
        response = client.get(path)
    assert len(response.context["rows"]) == 20


def test_the_filters_offer_the_organisations_services_motifs_and_lieux_by_name(client, organisation, basic_agent):
    """One query reads them (rendezvous.agenda.queries.filter_choices): each list by name, then
    by creation for equal names; another organisation's never."""
    other = OrganisationFactory()
    MotifFactory(organisation=organisation, name="Pesée", location_type=Motif.LocationType.PHONE)
    MotifFactory(organisation=organisation, name="Entretien", service=service("Social"))
    MotifFactory(organisation=organisation, name="Pesée", location_type=Motif.LocationType.PUBLIC_OFFICE)
    MotifFactory(organisation=other, name="Autre motif", service=service("Secrétariat"))
    for name in ("Maison des solidarités", "Antenne <Nord>"):
        LieuFactory(organisation=organisation, name=name)
    LieuFactory(organisation=organisation, name="Antenne <Nord>", is_active=False)  # archived: its RDVs remain
    LieuFactory(organisation=other, name="Ailleurs")
    client.force_login(basic_agent)
    root = dom(client.get(reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})))

    def options(name):
        select = find(root, "select", name=name)
        return [(dict(option.attributes)["value"], text(option)) for option in find_all(select, "option")]

    services = [label for _value, label in options("service")]
    assert services == ["Tous les services", "PMI (Protection Maternelle Infantile)", "Service social"]
    motifs = options("motif")
    assert [label for _value, label in motifs] == [
        "Tous",
        "Entretien (Sur place)",
        "Pesée (Par téléphone)",
        "Pesée (Sur place)",
    ]
    assert int(motifs[2][0]) < int(motifs[3][0])  # equal names: the first created first
    lieux = [label for _value, label in options("lieu")]
    assert lieux == ["Tous", "Antenne <Nord>", "Antenne <Nord>", "Maison des solidarités"]
