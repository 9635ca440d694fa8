import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organisations.models import Organisation
from tests.agents.factories import AgentFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory


def home_url(organisation):
    return reverse("organisations:home", kwargs={"organisation_id": organisation.pk})


def settings_url(organisation):
    return reverse("organisations:settings", kwargs={"organisation_id": organisation.pk})


def test_home_shows_the_organisation_its_lieux_and_team(client, organisation, basic_agent):
    LieuFactory(organisation=organisation, name="Centre Socio-Culturel Georges Brassens")
    LieuFactory(organisation=organisation, name="Ancien local", archived=True)
    colleague = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    client.force_login(basic_agent)
    response = client.get(home_url(organisation))
    html = response.content.decode()
    assert response.status_code == 200
    assert organisation.name in html
    assert "Centre Socio-Culturel Georges Brassens" in html
    assert "Ancien local" not in html
    assert colleague.full_name in html
    assert basic_agent.first_name in html  # the account menu, top right
    assert "Se déconnecter" in html


@pytest.mark.parametrize("make_url", [home_url, settings_url])
def test_another_organisations_url_answers_404(client, basic_agent, make_url):
    other = OrganisationFactory()
    client.force_login(basic_agent)
    assert client.get(make_url(other)).status_code == 404


def test_a_missing_organisation_answers_the_same_404(client, basic_agent):
    client.force_login(basic_agent)
    missing = Organisation(pk=987654)
    assert client.get(home_url(missing)).status_code == 404


def test_basic_agent_has_no_settings_page_nor_menu_entry(client, organisation, basic_agent):
    client.force_login(basic_agent)
    assert client.get(settings_url(organisation)).status_code == 404
    html = client.get(home_url(organisation)).content.decode()
    assert "Paramètres" not in html and "Votre organisation" not in html


def test_secretariat_agent_has_no_settings_either(client, organisation):
    agent = AgentFactory(organisation=organisation, secretariat=True)
    client.force_login(agent)
    assert client.get(settings_url(organisation)).status_code == 404


def test_admin_sees_settings_in_the_menu(client, organisation, admin_agent):
    client.force_login(admin_agent)
    html = client.get(home_url(organisation)).content.decode()
    assert "Paramètres" in html and "Votre organisation" in html


def test_admin_of_one_organisation_is_not_admin_of_another(client, organisation, admin_agent):
    other = OrganisationFactory()
    admin_agent.roles.create(organisation=other, level="basic")
    client.force_login(admin_agent)
    assert client.get(settings_url(organisation)).status_code == 200
    assert client.get(settings_url(other)).status_code == 404


def test_organisation_switcher_lists_the_agents_other_organisations(client, organisation, basic_agent):
    other = OrganisationFactory(name="MDS de Chelles")
    OrganisationFactory(name="MDS d'ailleurs")
    basic_agent.roles.create(organisation=other)
    client.force_login(basic_agent)
    html = client.get(home_url(organisation)).content.decode()
    assert "Changer d'organisation" in html
    assert "MDS de Chelles" in html
    assert "MDS d'ailleurs" not in html


def test_home_page_queries_are_bounded(client, organisation, basic_agent):
    client.force_login(basic_agent)
    client.get(home_url(organisation))  # warm up the session

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(home_url(organisation)).status_code == 200
        return len(ctx)

    before = count()
    for i in range(15):
        AgentFactory(organisation=organisation, services=["PMI", "Social"])
        LieuFactory(organisation=organisation)
        basic_agent.roles.create(organisation=OrganisationFactory()) if i < 3 else None
    after = count()
    assert after == before
    assert after == 7  # with the side menu's « À renseigner » badge


def test_admin_edits_the_organisation_and_its_opening_hours(client, organisation, admin_agent):
    client.force_login(admin_agent)
    data = {
        "name": "MDS de Noisiel",
        "phone": "01 64 62 45 00",
        "email": "mds@departement.fr",
        "website": "www.departement.fr/pmi",
        "time_zone": "",
        "usager_cancel_limit_hours": "24",
        "monday_morning_start": "08:30",
        "monday_morning_end": "12:00",
        "monday_afternoon_start": "13:30",
        "monday_afternoon_end": "17:00",
        "wednesday_morning_start": "09:00",
        "wednesday_morning_end": "12:00",
    }
    response = client.post(settings_url(organisation), data)
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.name == "MDS de Noisiel"
    assert organisation.website == "https://www.departement.fr/pmi"
    assert organisation.usager_cancel_limit_hours == 24
    assert organisation.opening_hours == {
        "monday": [["08:30", "12:00"], ["13:30", "17:00"]],
        "wednesday": [["09:00", "12:00"]],
    }
    page = client.get(settings_url(organisation)).content.decode()
    assert 'value="13:30"' in page


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"name": ""}, "name", "Ce champ est obligatoire."),
        ({"phone": "12"}, "phone", "numéro de téléphone"),
        ({"email": "pas-un-email"}, "email", "adresse"),
        ({"monday_morning_start": "08:30"}, "monday_morning_end", "Indiquez le début et la fin de la plage horaire."),
        (
            {"monday_morning_start": "12:00", "monday_morning_end": "08:00"},
            "monday_morning_end",
            "L'heure de fin doit être après l'heure de début.",
        ),
        (
            {
                "monday_morning_start": "08:00",
                "monday_morning_end": "12:00",
                "monday_afternoon_start": "11:00",
                "monday_afternoon_end": "17:00",
            },
            "monday_afternoon_start",
            "L'après-midi doit commencer après la fin de la matinée.",
        ),
        ({"friday_morning_start": "25:00", "friday_morning_end": "12:00"}, "friday_morning_start", "heure valide"),
        ({"usager_cancel_limit_hours": "721"}, "usager_cancel_limit_hours", "Au plus 720 heures (30 jours)."),
        ({"usager_cancel_limit_hours": "-1"}, "usager_cancel_limit_hours", "supérieure ou égale à 0"),
    ],
)
def test_bad_input_is_refused_on_its_field_and_changes_nothing(
    client, organisation, admin_agent, changes, field, message
):
    client.force_login(admin_agent)
    before = Organisation.objects.values().get(pk=organisation.pk)
    data = {
        "name": "Nom valide",
        "phone": "",
        "email": "",
        "website": "",
        "time_zone": "",
        "usager_cancel_limit_hours": "4",
        **changes,
    }
    response = client.post(settings_url(organisation), data)
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors
    assert any(message.lower() in error.lower() for error in form.errors[field])
    assert Organisation.objects.values().get(pk=organisation.pk) == before


def test_superadmin_without_organisation_is_pointed_to_the_admin(client, db):
    from agents.models import Agent

    superadmin = Agent.objects.create_superuser(email="tech@departement.fr", first_name="Sam", last_name="T")
    client.force_login(superadmin)
    html = client.get(reverse("organisations:choose")).content.decode()
    assert reverse("admin:index") in html
    assert client.get(reverse("admin:organisations_organisation_changelist")).status_code == 200


def test_agent_without_organisation_is_told_to_ask_for_an_invitation(client, db):
    agent = AgentFactory()
    client.force_login(agent)
    html = client.get(reverse("organisations:choose")).content.decode()
    assert "Aucune organisation" in html
