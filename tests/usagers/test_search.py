import pytest
from django.urls import reverse

from tests.organisations.factories import OrganisationFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager


def list_url(organisation, query):
    return reverse("usagers:list", kwargs={"organisation_id": organisation.pk}) + f"?q={query}"


def live_url(organisation, query):
    return reverse("usagers:search", kwargs={"organisation_id": organisation.pk}) + f"?q={query}"


@pytest.fixture
def agent_client(client, basic_agent):
    client.force_login(basic_agent)
    return client


@pytest.fixture
def helene(organisation):
    return UsagerFactory(
        organisation=organisation,
        first_name="Hélène",
        last_name="N’Diaye-Lefèvre",
        birth_name="Müller",
        email="helene.ndiaye@example.com",
        phone="+33612345678",
    )


def found(organisation, query):
    return list(Usager.objects.visible_in(organisation).search(query))


@pytest.mark.parametrize(
    "query",
    [
        "Hélène",
        "helene",
        "HELENE",
        "hél",
        "lène",
        "ndiaye",
        "N'Diaye",
        "n’diaye",
        "diaye lefevre",
        "Lefèvre",
        "lefevre",
        "muller",
        "Müller",
        "helene ndiaye",
        "Ndiaye Hélène",
        "helene.ndiaye@example.com",
        "helene.ndiaye",
        "HELENE.NDIAYE@EXAMPLE.COM",
        "06 12 34 56 78",
        "0612345678",
        "+33612345678",
        "+33 6 12 34 56 78",
        "06.12.34.56.78",
        "0033612345678",
        "345678",
    ],
)
def test_finds_by_names_email_or_phone_whatever_accents_case_and_format(organisation, helene, query):
    UsagerFactory(organisation=organisation, first_name="Marie", last_name="Martin", email="marie@example.org")
    assert found(organisation, query) == [helene]


@pytest.mark.parametrize("query", ["helene martin", "0612345679", "helene.ndiaye@example.org", "zoé"])
def test_does_not_find_what_does_not_match(organisation, helene, query):
    assert found(organisation, query) == []


def test_overseas_numbers_are_found_as_dialled_in_france(organisation):
    usager = UsagerFactory(organisation=organisation, phone="+262692123456")
    assert found(organisation, "0692 12 34 56") == [usager]
    assert found(organisation, "+262 692 12 34 56") == [usager]


def test_responsibles_and_proches_alike_best_matches_first(organisation):
    responsible = UsagerFactory(organisation=organisation, first_name="Anaïs", last_name="Berger")
    proche = UsagerFactory(organisation=organisation, responsible=responsible, first_name="Zoé", last_name="Berger")
    inside = UsagerFactory(organisation=organisation, first_name="Loïc", last_name="Auberger")
    assert found(organisation, "berger") == [responsible, proche, inside]
    assert found(organisation, "zoe") == [proche]


def test_another_organisations_usager_never_appears(organisation, helene):
    other = OrganisationFactory()
    UsagerFactory(organisation=other, first_name="Hélène", last_name="Ailleurs")
    assert found(organisation, "helene") == [helene]
    assert found(other, "ndiaye") == []


def test_an_usager_known_to_two_organisations_is_found_in_both(organisation, helene):
    other = OrganisationFactory()
    helene.profiles.create(organisation=other)
    assert found(other, "helene") == [helene]


def test_list_page_search_shows_proches_with_their_responsible(agent_client, organisation):
    responsible = UsagerFactory(organisation=organisation, first_name="Camille", last_name="Garrigue")
    UsagerFactory(organisation=organisation, responsible=responsible, first_name="Lara", last_name="Tatouille")
    UsagerFactory(organisation=OrganisationFactory(), first_name="Lara", last_name="Tatouille-Ailleurs")
    html = agent_client.get(list_url(organisation, "lara")).content.decode()
    assert "Lara TATOUILLE" in html
    assert "proche de Camille GARRIGUE" in html
    assert "AILLEURS" not in html
    assert "1 usager pour « lara »" in " ".join(html.split())


def test_list_page_says_when_nothing_matches(agent_client, organisation, helene):
    html = agent_client.get(list_url(organisation, "zzzz")).content.decode()
    assert "Aucun usager ne correspond à « zzzz »" in html


def test_live_results_for_the_header_search_bar(agent_client, organisation, helene):
    UsagerFactory(organisation=OrganisationFactory(), first_name="Hélène", last_name="Ailleurs")
    response = agent_client.get(live_url(organisation, "helene"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Hélène N’DIAYE-LEFÈVRE" in html
    assert "AILLEURS" not in html
    assert list_url(organisation, "helene") in html


def test_live_results_wait_for_two_characters(agent_client, organisation, helene):
    assert agent_client.get(live_url(organisation, "h")).content.decode().strip() == ""
