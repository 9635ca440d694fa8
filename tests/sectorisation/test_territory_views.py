"""« Paramètres du territoire »: the sectors of the organisation's territory, their areas and
attributions, the CSV import and « Tester la sectorisation », for territory administrators only."""

import io
import json
import urllib.error
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from sectorisation.imports import plan_import, preview_token
from sectorisation.models import Sector, SectorArea, SectorAttribution
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.organisations.factories import OrganisationFactory, TerritoryFactory
from tests.sectorisation.factories import (
    SectorAreaFactory,
    SectorAttributionFactory,
    SectorFactory,
    TerritoryRoleFactory,
    commune,
)
from tests.test_settings_isolation import FormReader

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = [pytest.mark.usefixtures("communes"), pytest.mark.once]

GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"


def url(name, organisation, **kwargs):
    return reverse(f"sectorisation:{name}", kwargs={"organisation_id": organisation.pk, **kwargs})


def error(message):
    return f'<p class="fr-error-text">{message}</p>'


def everything():
    """Every sector, area and attribution: what a refused request must leave as it was."""
    return (
        list(Sector.objects.order_by("pk").values()),
        list(SectorArea.objects.order_by("pk").values()),
        list(SectorAttribution.objects.order_by("pk").values()),
    )


@pytest.fixture
def territory(db):
    return TerritoryFactory(departement_number="77", name="Seine-et-Marne")


@pytest.fixture
def noisiel(territory):
    return OrganisationFactory(territory=territory, name="MDS de Noisiel")


@pytest.fixture
def chelles(territory):
    return OrganisationFactory(territory=territory, name="MDS de Chelles")


@pytest.fixture
def territory_admin(noisiel, territory):
    """An agent of basic level in its organisation: the territory role is given apart."""
    agent = AgentFactory(organisation=noisiel, services=["PMI"], first_name="Claire", last_name="Dubois")
    TerritoryRoleFactory(agent=agent, territory=territory)
    return agent


@pytest.fixture
def admin_client(client, territory_admin):
    client.force_login(territory_admin)
    return client


@pytest.fixture
def sector(territory, noisiel):
    sector = SectorFactory(territory=territory, name="Noisiel")
    SectorAreaFactory(sector=sector, commune=commune("77337"))
    SectorAttributionFactory(sector=sector, organisation=noisiel)
    return sector


def pages(sector):
    """(method, view, URL kwargs, data) of every page and action."""
    area, attribution = sector.areas.get(), sector.attributions.get()
    csv = SimpleUploadedFile("secteurs.csv", b"secteur;commune\nTorcy;77468\n", content_type="text/csv")
    return [
        ("get", "sectors", {}, {}),
        ("get", "sector_create", {}, {}),
        ("post", "sector_create", {}, {"name": "Torcy"}),
        ("get", "sector", {"pk": sector.pk}, {}),
        ("post", "sector", {"pk": sector.pk}, {"action": "rename", "name": "Torcy"}),
        ("post", "sector", {"pk": sector.pk}, {"action": "add_area", "commune": "77468", "street": ""}),
        (
            "post",
            "sector",
            {"pk": sector.pk},
            {"action": "add_attribution", "target": str(attribution.organisation_id)},
        ),
        ("get", "sector_delete", {"pk": sector.pk}, {}),
        ("post", "sector_delete", {"pk": sector.pk}, {}),
        ("post", "area_delete", {"pk": sector.pk, "area_id": area.pk}, {}),
        ("post", "attribution_delete", {"pk": sector.pk, "attribution_id": attribution.pk}, {}),
        ("get", "import", {}, {}),
        ("post", "import", {}, {"file": csv}),
        ("post", "import", {}, {"content": "secteur;commune\nTorcy;77468\n"}),
        ("get", "test", {}, {}),
        ("get", "test", {}, {"commune": "77337"}),
    ]


# --- access --------------------------------------------------------------------------------------


def test_a_territory_admin_opens_every_page(admin_client, noisiel, sector):
    for method, name, kwargs, data in pages(sector):
        if method == "get":
            assert admin_client.get(url(name, noisiel, **kwargs), data).status_code == 200, name


def test_an_organisation_admin_without_the_territory_role_gets_404_everywhere(client, noisiel, sector):
    client.force_login(AgentFactory(organisation=noisiel, admin=True))
    before = everything()

    for method, name, kwargs, data in pages(sector):
        response = getattr(client, method)(url(name, noisiel, **kwargs), data)
        assert response.status_code == 404, (method, name, data)

    assert everything() == before


def test_a_territory_admin_of_another_territory_gets_404_on_this_territorys_sectors(client, noisiel, sector):
    seine_saint_denis = TerritoryFactory(departement_number="93", name="Seine-Saint-Denis")
    saint_denis = OrganisationFactory(territory=seine_saint_denis, name="EDS de Saint-Denis")
    other = AgentFactory(organisation=saint_denis, admin=True)
    TerritoryRoleFactory(agent=other, territory=seine_saint_denis)
    client.force_login(other)
    before = everything()

    for method, name, kwargs, data in pages(sector):
        # This territory's organisation: not a member.
        response = getattr(client, method)(url(name, noisiel, **kwargs), data)
        assert response.status_code == 404, (method, name, data)
        # Its own organisation, this territory's sector: unknown there.
        if "pk" in kwargs:
            response = getattr(client, method)(url(name, saint_denis, **kwargs), data)
            assert response.status_code == 404, (method, name, data)

    assert everything() == before
    # Its own territory's pages list none of this territory's sectors.
    assertNotContains(client.get(url("sectors", saint_denis)), "Noisiel")


def test_the_menu_entry_shows_only_for_territory_admins(client, noisiel, territory_admin):
    home = reverse("organisations:home", kwargs={"organisation_id": noisiel.pk})
    entry = f'<a class="fr-sidemenu__link" href="{url("sectors", noisiel)}">Paramètres du territoire</a>'
    client.force_login(territory_admin)
    assertContains(client.get(home), entry, html=True)
    current = (
        f'<a class="fr-sidemenu__link" href="{url("sectors", noisiel)}" aria-current="page">'
        "Paramètres du territoire</a>"
    )
    assertContains(client.get(url("test", noisiel)), current, html=True)

    client.force_login(AgentFactory(organisation=noisiel, admin=True))
    assertNotContains(client.get(home), "Paramètres du territoire")


def test_the_territory_role_holds_in_every_organisation_of_the_territory_the_agent_belongs_to(
    client, territory_admin, chelles, sector
):
    AgentRoleFactory(agent=territory_admin, organisation=chelles)
    client.force_login(territory_admin)

    response = client.get(url("sector", chelles, pk=sector.pk))

    assert response.status_code == 200


def territory_url(territory):
    return reverse("sectorisation:territory", kwargs={"territory_id": territory.pk})


def test_the_territorys_address_opens_its_settings_in_the_agents_first_organisation_there(
    client, territory, territory_admin, noisiel, chelles
):
    client.force_login(territory_admin)
    assertRedirects(client.get(territory_url(territory)), url("sectors", noisiel))

    AgentRoleFactory(agent=territory_admin, organisation=chelles)
    assertRedirects(client.get(territory_url(territory)), url("sectors", chelles))  # by name
    assert client.post(territory_url(territory)).status_code == 405


def test_the_territorys_address_is_a_404_to_anyone_but_its_administrators(client, territory, noisiel, territory_admin):
    seine_saint_denis = TerritoryFactory(departement_number="93", name="Seine-Saint-Denis")
    saint_denis = OrganisationFactory(territory=seine_saint_denis, name="EDS de Saint-Denis")
    other = AgentFactory(organisation=saint_denis, admin=True)
    TerritoryRoleFactory(agent=other, territory=seine_saint_denis)
    refused = [
        AgentFactory(organisation=noisiel, admin=True),  # the organisation's admin
        AgentFactory(organisation=noisiel, secretariat=True),
        other,  # another territory's administrator
    ]

    for agent in refused:
        client.force_login(agent)
        assert client.get(territory_url(territory)).status_code == 404, agent
    client.force_login(territory_admin)
    assert client.get(territory_url(seine_saint_denis)).status_code == 404
    assert client.get(reverse("sectorisation:territory", kwargs={"territory_id": 999_999})).status_code == 404
    client.logout()
    response = client.get(territory_url(territory))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("agents:login"))


def test_an_administrator_of_a_territory_where_it_belongs_to_no_organisation_is_told_why(client, territory):
    seine_saint_denis = TerritoryFactory(departement_number="93", name="Seine-Saint-Denis")
    saint_denis = OrganisationFactory(territory=seine_saint_denis, name="EDS de Saint-Denis")
    agent = AgentFactory(organisation=saint_denis)
    TerritoryRoleFactory(agent=agent, territory=territory)
    client.force_login(agent)

    response = client.get(territory_url(territory), follow=True)

    assertRedirects(response, reverse("organisations:home", kwargs={"organisation_id": saint_denis.pk}))
    assertContains(
        response,
        "Vous administrez le territoire 77 — Seine-et-Marne, mais vous n&#x27;êtes membre d&#x27;aucune de ses "
        "organisations : ses paramètres s&#x27;ouvrent depuis l&#x27;une d&#x27;elles.",
    )


def test_the_menu_leads_to_the_settings_of_a_territory_administered_elsewhere(client, territory, noisiel):
    """An agent of two territories, administrator of one: from the other's organisation too."""
    seine_saint_denis = TerritoryFactory(departement_number="93", name="Seine-Saint-Denis")
    saint_denis = OrganisationFactory(territory=seine_saint_denis, name="EDS de Saint-Denis")
    agent = AgentFactory(organisation=saint_denis, admin=True)
    AgentRoleFactory(agent=agent, organisation=noisiel)
    TerritoryRoleFactory(agent=agent, territory=territory)
    client.force_login(agent)
    home = reverse("organisations:home", kwargs={"organisation_id": saint_denis.pk})
    elsewhere = f'<a class="fr-sidemenu__link" href="{territory_url(territory)}">Paramètres du territoire (77)</a>'

    response = client.get(home)

    assertContains(response, elsewhere, html=True)
    assertNotContains(response, url("sectors", saint_denis))
    assertRedirects(client.get(territory_url(territory)), url("sectors", noisiel))
    # In the territory it administers, the settings' own entry, and no other.
    response = client.get(reverse("organisations:home", kwargs={"organisation_id": noisiel.pk}))
    assertContains(
        response,
        f'<a class="fr-sidemenu__link" href="{url("sectors", noisiel)}">Paramètres du territoire</a>',
        html=True,
    )
    assertNotContains(response, "Paramètres du territoire (")
    # Administrator of both: both.
    TerritoryRoleFactory(agent=agent, territory=seine_saint_denis)
    response = client.get(home)
    assertContains(
        response,
        f'<a class="fr-sidemenu__link" href="{url("sectors", saint_denis)}">Paramètres du territoire</a>',
        html=True,
    )
    assertContains(response, elsewhere, html=True)


# --- the list ------------------------------------------------------------------------------------


def test_the_list_of_sectors(admin_client, territory, noisiel, sector):
    SectorFactory(territory=territory, name="Chelles")
    SectorFactory(territory=TerritoryFactory(departement_number="93"), name="Saint-Denis")

    response = admin_client.get(url("sectors", noisiel))

    assert [(row.name, row.area_count, row.attribution_count) for row in response.context["sectors"]] == [
        ("Chelles", 0, 0),
        ("Noisiel", 1, 1),
    ]
    assertContains(
        response,
        f'<tr><td><a href="{url("sector", noisiel, pk=sector.pk)}">Noisiel</a></td><td>1</td><td>1</td></tr>',
        html=True,
    )
    assertContains(response, '<p class="fr-badge fr-badge--warning fr-badge--sm">Non attribué</p>', html=True)
    assertNotContains(response, "Saint-Denis")


def test_without_sectors_the_list_says_every_organisation_is_offered(admin_client, noisiel):
    response = admin_client.get(url("sectors", noisiel))

    assertContains(
        response,
        "Aucun secteur n'est défini : toutes les organisations du département sont proposées à tous les usagers.",
    )


def test_the_list_reads_a_fixed_number_of_queries(admin_client, territory, noisiel, django_assert_num_queries):
    def sectors(count):
        for _ in range(count):
            made = SectorFactory(territory=territory)
            SectorAreaFactory(sector=made, commune=commune("77337"))
            SectorAreaFactory(sector=made, commune=commune("77468"))
            SectorAttributionFactory(sector=made, organisation=noisiel)

    sectors(1)
    admin_client.get(url("sectors", noisiel))  # the session is saved on the first request
    # The session, the agent, the membership (with the organisation switcher's), the sectors with
    # their counts, the side menu's « À renseigner » badge.
    with django_assert_num_queries(5):
        assert admin_client.get(url("sectors", noisiel)).status_code == 200
    sectors(30)
    with django_assert_num_queries(5):
        assert admin_client.get(url("sectors", noisiel)).status_code == 200


# --- create, rename, delete ----------------------------------------------------------------------


def test_create_a_sector(admin_client, territory, noisiel):
    response = admin_client.post(url("sector_create", noisiel), {"name": "Noisiel Nord"})

    sector = Sector.objects.get()
    assert (sector.territory, sector.name) == (territory, "Noisiel Nord")
    assertRedirects(response, url("sector", noisiel, pk=sector.pk), fetch_redirect_response=False)
    assertContains(admin_client.get(response.url), "Le secteur « Noisiel Nord » a été créé.")


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Ce champ est obligatoire."),
        ("NOISIEL", "Un secteur de ce nom existe déjà dans le territoire."),
        ("S" * 151, "Assurez-vous que cette valeur comporte au plus 150 caractères (actuellement 151)."),
    ],
)
def test_create_a_sector_refused(admin_client, noisiel, sector, name, message):
    before = everything()

    response = admin_client.post(url("sector_create", noisiel), {"name": name})

    assertContains(response, error(message), html=True, status_code=422)
    assert everything() == before


def test_the_same_name_in_another_territory_is_no_duplicate(admin_client, noisiel, sector):
    SectorFactory(territory=TerritoryFactory(departement_number="93"), name="Torcy")

    response = admin_client.post(url("sector_create", noisiel), {"name": "Torcy"})

    assert response.status_code == 302
    assert Sector.objects.filter(name="Torcy").count() == 2


def test_rename_a_sector(admin_client, noisiel, sector):
    response = admin_client.post(url("sector", noisiel, pk=sector.pk), {"action": "rename", "name": "Noisiel Sud"})

    assertRedirects(response, url("sector", noisiel, pk=sector.pk), fetch_redirect_response=False)
    sector.refresh_from_db()
    assert sector.name == "Noisiel Sud"
    assertContains(admin_client.get(response.url), "Le secteur a été renommé « Noisiel Sud ».")


def test_a_sector_keeps_its_name_under_another_case(admin_client, noisiel, sector):
    response = admin_client.post(url("sector", noisiel, pk=sector.pk), {"action": "rename", "name": "NOISIEL"})

    assert response.status_code == 302
    sector.refresh_from_db()
    assert sector.name == "NOISIEL"


def test_rename_to_a_taken_name_is_refused_and_the_page_keeps_the_name(admin_client, territory, noisiel, sector):
    SectorFactory(territory=territory, name="Chelles")

    response = admin_client.post(url("sector", noisiel, pk=sector.pk), {"action": "rename", "name": "chelles"})

    assertContains(response, error("Un secteur de ce nom existe déjà dans le territoire."), html=True, status_code=422)
    assertContains(response, "<h1>Secteur « Noisiel »</h1>", html=True, status_code=422)
    sector.refresh_from_db()
    assert sector.name == "Noisiel"


def test_delete_a_sector(admin_client, territory, noisiel, sector):
    other = SectorFactory(territory=territory, name="Chelles")
    assertContains(
        admin_client.get(url("sector_delete", noisiel, pk=sector.pk)),
        "<h1>Supprimer le secteur « Noisiel » ?</h1>",
        html=True,
    )

    response = admin_client.post(url("sector_delete", noisiel, pk=sector.pk))

    assertRedirects(response, url("sectors", noisiel), fetch_redirect_response=False)
    assert list(Sector.objects.all()) == [other]
    assert (SectorArea.objects.exists(), SectorAttribution.objects.exists()) == (False, False)
    assertContains(admin_client.get(response.url), "Le secteur « Noisiel » a été supprimé.")


def test_an_unknown_action_is_a_400(admin_client, noisiel, sector):
    before = everything()

    response = admin_client.post(url("sector", noisiel, pk=sector.pk), {"action": "drop"})

    assert response.status_code == 400
    assert everything() == before


# --- areas ---------------------------------------------------------------------------------------


def add_area(client, organisation, sector, commune_text, street=""):
    return client.post(
        url("sector", organisation, pk=sector.pk), {"action": "add_area", "commune": commune_text, "street": street}
    )


@pytest.mark.parametrize("typed", ["Torcy", "torcy", "77468", "77 468"])
def test_add_a_commune(admin_client, noisiel, sector, typed):
    response = add_area(admin_client, noisiel, sector, typed)

    assertRedirects(response, url("sector", noisiel, pk=sector.pk), fetch_redirect_response=False)
    assert list(sector.areas.values_list("commune_id", "street")) == [("77337", ""), ("77468", "")]
    assertContains(admin_client.get(response.url), "« Torcy » a été ajouté au secteur.")


def test_add_a_street(admin_client, noisiel, sector):
    response = add_area(admin_client, noisiel, sector, "Chelles", "Avenue de l'Aulnoy")

    assert response.status_code == 302
    area = sector.areas.get(commune_id="77108")
    assert (area.street, area.street_key) == ("Avenue de l'Aulnoy", "avenue aulnoy")
    page = admin_client.get(response.url)
    assertContains(page, "« Chelles — Avenue de l&#x27;Aulnoy » a été ajouté au secteur.")
    assertContains(page, "<span>Chelles (77108) — Avenue de l&#x27;Aulnoy</span>", html=True)


def test_a_city_is_chosen_over_its_arrondissements_by_its_name(client):
    paris = TerritoryFactory(departement_number="75", name="Paris")
    organisation = OrganisationFactory(territory=paris, name="EDS Paris Centre")
    agent = AgentFactory(organisation=organisation)
    TerritoryRoleFactory(agent=agent, territory=paris)
    sector = SectorFactory(territory=paris, name="Tout Paris")
    client.force_login(agent)

    assert add_area(client, organisation, sector, "paris").status_code == 302
    assert add_area(client, organisation, sector, "Paris 19e").status_code == 302

    assert list(sector.areas.order_by("commune_id").values_list("commune_id", flat=True)) == ["75056", "75119"]


@pytest.mark.parametrize(
    "typed, field, message",
    [
        (
            "saint germain",
            "commune",
            "Plusieurs communes correspondent : Saint-Germain-sur-Morin (77413), Saint-Germain-Laval (77409), "
            "Saint-Germain-Laxis (77410), Saint-Germain-sous-Doue (77411), Saint-Germain-sur-École (77412). "
            "Saisissez le nom complet ou le code INSEE de la bonne.",
        ),
        (
            # A postal code that is also the INSEE code of another commune: Noisiel's postal code,
            # Fontainebleau's INSEE code. Never one of them silently.
            "77186",
            "commune",
            "Plusieurs communes correspondent : Fontainebleau (77186), Noisiel (77337). "
            "Saisissez le nom complet ou le code INSEE de la bonne.",
        ),
        ("xyzzy", "commune", "Aucune commune ne correspond à « xyzzy » dans le département 77."),
        ("93066", "commune", "Aucune commune ne correspond à « 93066 » dans le département 77."),
        ("", "commune", "Ce champ est obligatoire."),
        ("Noisiel", "commune", "Cette zone fait déjà partie du secteur."),
    ],
)
def test_add_an_area_refused(admin_client, noisiel, sector, typed, field, message):
    before = everything()

    response = add_area(admin_client, noisiel, sector, typed)

    assert response.status_code == 422
    assert response.context["area_form"].errors == {field: [message]}
    assertContains(response, error(message.replace("'", "&#x27;")), html=True, status_code=422)
    assert everything() == before


@pytest.mark.parametrize(
    "street, message",
    [
        ("12 av. du Gal de Gaulle", "Cette zone fait déjà partie du secteur."),
        ("12 bis", "Indiquez le nom de la rue, pas seulement un numéro."),
    ],
)
def test_add_a_street_refused(admin_client, noisiel, sector, street, message):
    SectorAreaFactory(sector=sector, commune=commune("77108"), street="Avenue du Général de Gaulle")
    before = everything()

    response = add_area(admin_client, noisiel, sector, "77108", street)

    assert response.context["area_form"].errors == {"street": [message]}
    assertContains(response, error(message), html=True, status_code=422)
    assert everything() == before


def test_remove_an_area(admin_client, noisiel, sector):
    area = sector.areas.get()

    response = admin_client.post(url("area_delete", noisiel, pk=sector.pk, area_id=area.pk))

    assertRedirects(response, url("sector", noisiel, pk=sector.pk), fetch_redirect_response=False)
    assert sector.areas.exists() is False
    assertContains(admin_client.get(response.url), "« Noisiel » a été retiré du secteur.")


def test_an_area_of_another_sector_is_a_404(admin_client, territory, noisiel, sector):
    other = SectorAreaFactory(sector=SectorFactory(territory=territory), commune=commune("77468"))

    response = admin_client.post(url("area_delete", noisiel, pk=sector.pk, area_id=other.pk))

    assert response.status_code == 404
    assert SectorArea.objects.filter(pk=other.pk).exists()


def test_removing_is_post_only(admin_client, noisiel, sector):
    area, attribution = sector.areas.get(), sector.attributions.get()

    assert admin_client.get(url("area_delete", noisiel, pk=sector.pk, area_id=area.pk)).status_code == 405
    assert (
        admin_client.get(url("attribution_delete", noisiel, pk=sector.pk, attribution_id=attribution.pk)).status_code
        == 405
    )


# --- attributions --------------------------------------------------------------------------------


def attribute(client, organisation, sector, target):
    return client.post(url("sector", organisation, pk=sector.pk), {"action": "add_attribution", "target": target})


def test_the_attribution_choices_are_the_territorys_organisations_and_their_agents(
    admin_client, noisiel, chelles, sector, territory_admin
):
    helene = AgentFactory(organisation=chelles, first_name="Hélène", last_name="Martin")
    AgentFactory(organisation=chelles, first_name="Ancien", last_name="Agent", is_active=False)
    OrganisationFactory(territory=TerritoryFactory(departement_number="93"), name="EDS de Saint-Denis")

    response = admin_client.get(url("sector", noisiel, pk=sector.pk))

    assert response.context["attribution_form"].fields["target"].choices == [
        ("", "Choisir une organisation ou un agent"),
        ("Organisations", [(str(chelles.pk), "MDS de Chelles"), (str(noisiel.pk), "MDS de Noisiel")]),
        ("Agents de MDS de Chelles", [(f"{chelles.pk}:{helene.pk}", "Hélène Martin (MDS de Chelles)")]),
        ("Agents de MDS de Noisiel", [(f"{noisiel.pk}:{territory_admin.pk}", "Claire Dubois (MDS de Noisiel)")]),
    ]


def test_attribute_to_an_organisation_then_to_an_agent(admin_client, noisiel, chelles, sector):
    helene = AgentFactory(organisation=chelles, first_name="Hélène", last_name="Martin")

    response = attribute(admin_client, noisiel, sector, str(chelles.pk))
    assertRedirects(response, url("sector", noisiel, pk=sector.pk), fetch_redirect_response=False)
    assertContains(admin_client.get(response.url), "L&#x27;attribution a été ajoutée.")
    response = attribute(admin_client, noisiel, sector, f"{chelles.pk}:{helene.pk}")
    assert response.status_code == 302

    assert sorted(sector.attributions.values_list("organisation_id", "agent_id"), key=str) == sorted(
        [(noisiel.pk, None), (chelles.pk, None), (chelles.pk, helene.pk)], key=str
    )
    page = admin_client.get(url("sector", noisiel, pk=sector.pk))
    assertContains(
        page, '<span>Hélène Martin <span class="fr-text--sm">(agent de MDS de Chelles)</span></span>', html=True
    )


def test_attribute_refused(admin_client, noisiel, sector):
    saint_denis = OrganisationFactory(territory=TerritoryFactory(departement_number="93"))
    outsider = AgentFactory(organisation=saint_denis)
    before = everything()

    for target, message in [
        (str(noisiel.pk), "Ce secteur est déjà attribué ainsi."),
        (
            str(saint_denis.pk),
            f"Sélectionnez un choix valide. {saint_denis.pk} n’en fait pas partie.",
        ),
        (
            f"{noisiel.pk}:{outsider.pk}",
            f"Sélectionnez un choix valide. {noisiel.pk}:{outsider.pk} n’en fait pas partie.",
        ),
        ("", "Ce champ est obligatoire."),
    ]:
        response = attribute(admin_client, noisiel, sector, target)
        assert response.status_code == 422
        assert response.context["attribution_form"].errors == {"target": [message]}

    assert everything() == before


def test_remove_an_attribution(admin_client, noisiel, sector):
    attribution = sector.attributions.get()

    response = admin_client.post(url("attribution_delete", noisiel, pk=sector.pk, attribution_id=attribution.pk))

    assertRedirects(response, url("sector", noisiel, pk=sector.pk), fetch_redirect_response=False)
    assert sector.attributions.exists() is False
    assertContains(admin_client.get(response.url), "L&#x27;attribution a été retirée.")


# --- import --------------------------------------------------------------------------------------

GOOD_FILE = (
    "secteur;commune;rue;organisation;agent\r\nNoisiel;77337;;MDS de Noisiel;\r\nTorcy;77468;;MDS de Chelles;\r\n"
)


def upload(client, organisation, data: bytes):
    file = SimpleUploadedFile("secteurs.csv", data, content_type="text/csv")
    return client.post(url("import", organisation), {"file": file})


def apply_form(preview) -> dict[str, str]:
    """The fields of the preview's « Appliquer ces changements » form, as a browser sends them."""
    reader = FormReader()
    reader.feed(preview.content.decode())
    fields = next(dict(fields) for _action, fields in reader.forms if "content" in dict(fields))
    assert set(fields) == {"csrfmiddlewaretoken", "content", "preview_token"}
    del fields["csrfmiddlewaretoken"]  # the test client does not check it
    return fields


def test_import_upload_preview_then_apply(admin_client, noisiel, chelles, sector):
    before = everything()

    preview = upload(admin_client, noisiel, GOOD_FILE.encode("cp1252"))

    assert preview.status_code == 200
    assert everything() == before
    assertContains(preview, '<button type="submit" class="fr-btn">Appliquer ces changements</button>', html=True)
    assertContains(
        preview,
        '<li class="fr-mb-2w"><strong>Torcy</strong> '
        '<span class="fr-badge fr-badge--success fr-badge--sm">nouveau</span>'
        "<ul><li>Ajout : Torcy (77468)</li><li>Attribution ajoutée : MDS de Chelles</li></ul></li>",
        html=True,
    )
    assertNotContains(preview, "<strong>Noisiel</strong>")  # unchanged
    form = apply_form(preview)
    assert form["content"] == GOOD_FILE

    response = admin_client.post(url("import", noisiel), form)

    assertRedirects(response, url("sectors", noisiel), fetch_redirect_response=False)
    torcy = Sector.objects.get(name="Torcy")
    assert list(torcy.areas.values_list("commune_id", flat=True)) == ["77468"]
    assert list(torcy.attributions.values_list("organisation_id", "agent_id")) == [(chelles.pk, None)]
    assertContains(admin_client.get(response.url), "Import terminé : 1 secteur(s) créé(s) ou modifié(s).")


OUTDATED = (
    '<div class="fr-alert fr-alert--warning fr-mb-3w" role="alert" id="apercu-perime">'
    '<h2 class="fr-alert__title">Rien n\'a été importé</h2>'
    "<p>Les secteurs ont changé depuis l'aperçu : vérifiez le nouvel aperçu.</p></div>"
)
# Noisiel gets Torcy besides its own commune.
NOISIEL_AND_TORCY = "secteur;commune;rue;organisation;agent\nNoisiel;77337;;MDS de Noisiel;\nNoisiel;77468;;;\n"


@pytest.fixture
def colleague(client, chelles, territory):
    """Another administrator of the territory, signed in on a client of its own."""
    agent = AgentFactory(organisation=chelles, services=["PMI"])
    TerritoryRoleFactory(agent=agent, territory=territory)
    other = client.__class__()
    other.force_login(agent)
    return other


def test_an_import_is_refused_when_the_sectors_changed_since_its_preview(
    admin_client, colleague, noisiel, chelles, sector
):
    preview = upload(admin_client, noisiel, NOISIEL_AND_TORCY.encode())
    assertContains(preview, "<li>Ajout : Torcy (77468)</li>", html=True)
    # Meanwhile a colleague adds Chelles to the sector: applying the file would remove it, which
    # the preview did not say.
    added = colleague.post(url("sector", chelles, pk=sector.pk), {"action": "add_area", "commune": "77108"})
    assert added.status_code == 302
    before = everything()

    response = admin_client.post(url("import", noisiel), apply_form(preview))

    assertContains(response, OUTDATED, html=True, status_code=409)
    assert everything() == before
    # The new preview says what applying would now do, and applies.
    assertContains(response, "<li>Retrait : Chelles (77108)</li>", html=True, status_code=409)
    response = admin_client.post(url("import", noisiel), apply_form(response))
    assertRedirects(response, url("sectors", noisiel), fetch_redirect_response=False)
    assert sorted(sector.areas.values_list("commune_id", flat=True)) == ["77337", "77468"]


def test_an_import_is_refused_when_a_sector_it_creates_was_created_since(
    admin_client, territory, noisiel, chelles, sector
):
    preview = upload(admin_client, noisiel, GOOD_FILE.encode())
    assertContains(preview, '<span class="fr-badge fr-badge--success fr-badge--sm">nouveau</span>', html=True)
    SectorFactory(territory=territory, name="torcy")
    before = everything()

    response = admin_client.post(url("import", noisiel), apply_form(preview))

    assertContains(response, OUTDATED, html=True, status_code=409)
    assertContains(
        response, '<span class="fr-badge fr-badge--info fr-badge--sm">modifié</span>', html=True, status_code=409
    )
    assert everything() == before


def test_an_import_is_refused_when_an_organisation_it_names_was_renamed_since(admin_client, noisiel, chelles, sector):
    preview = upload(admin_client, noisiel, GOOD_FILE.encode())
    assertContains(preview, "<li>Attribution ajoutée : MDS de Chelles</li>", html=True)
    chelles.name = "MDS de Chelles-Centre"
    chelles.save(update_fields=["name"])
    before = everything()

    response = admin_client.post(url("import", noisiel), apply_form(preview))

    # The file names an organisation that is no longer there.
    assertContains(response, "Ligne 3 : organisation « MDS de Chelles » inconnue dans le territoire.", status_code=422)
    assert everything() == before


def test_a_change_to_a_sector_the_file_does_not_name_does_not_stop_the_import(
    admin_client, territory, noisiel, chelles, sector
):
    """The import leaves the other sectors as they are, and the preview says nothing of them."""
    preview = upload(admin_client, noisiel, GOOD_FILE.encode())
    SectorAreaFactory(sector=SectorFactory(territory=territory, name="Chelles"), commune=commune("77108"))

    response = admin_client.post(url("import", noisiel), apply_form(preview))

    assertRedirects(response, url("sectors", noisiel), fetch_redirect_response=False)
    assert Sector.objects.filter(territory=territory, name="Torcy").exists()


def test_an_applied_form_posted_again_is_refused(admin_client, noisiel, chelles, sector):
    form = apply_form(upload(admin_client, noisiel, GOOD_FILE.encode()))
    assert admin_client.post(url("import", noisiel), form).status_code == 302
    before = everything()

    response = admin_client.post(url("import", noisiel), form)

    assertContains(response, OUTDATED, html=True, status_code=409)
    assertContains(response, "Ce fichier ne change rien : les secteurs sont déjà ainsi.", status_code=409)
    assertNotContains(response, "Appliquer ces changements", status_code=409)
    assert everything() == before


def forged(form: dict[str, str], territory_admin, noisiel, chelles) -> list[dict[str, str]]:
    other_file = "secteur;commune;rue;organisation;agent\nTorcy;77468;;MDS de Noisiel;\n"
    another_admin = AgentFactory(organisation=noisiel)
    TerritoryRoleFactory(agent=another_admin, territory=noisiel.territory)
    return [
        # Another file under the previewed file's token.
        {**form, "content": other_file},
        # No token, or a token made up.
        {"content": form["content"]},
        {**form, "preview_token": ""},
        {**form, "preview_token": "0" * 64},
        {**form, "preview_token": form["preview_token"][:-1]},
        # The token of another administrator's preview of the same file.
        {
            **form,
            "preview_token": preview_token(
                territory=noisiel.territory,
                agent=another_admin,
                plan=plan_import(noisiel.territory, form["content"].encode()),
            ),
        },
        # The token as if plain SHA-256 of the plan: not without the secret key.
        {**form, "preview_token": plan_import(noisiel.territory, form["content"].encode()).digest()},
    ]


def test_a_forged_apply_form_is_refused_and_changes_nothing(admin_client, territory_admin, noisiel, chelles, sector):
    form = apply_form(upload(admin_client, noisiel, GOOD_FILE.encode()))
    before = everything()

    for data in forged(form, territory_admin, noisiel, chelles):
        response = admin_client.post(url("import", noisiel), data)
        assertContains(response, OUTDATED, html=True, status_code=409)

    assert everything() == before


def test_a_preview_in_another_organisation_of_the_territory_applies_there_too(
    admin_client, territory_admin, noisiel, chelles, sector
):
    """The token is the territory's and the agent's, not the organisation of the URL's."""
    AgentRoleFactory(agent=territory_admin, organisation=chelles)
    form = apply_form(upload(admin_client, noisiel, GOOD_FILE.encode()))

    response = admin_client.post(url("import", chelles), form)

    assertRedirects(response, url("sectors", chelles), fetch_redirect_response=False)


def test_import_of_a_file_that_changes_nothing(admin_client, noisiel, sector):
    response = upload(admin_client, noisiel, b"secteur;commune;organisation\nNoisiel;77337;MDS de Noisiel\n")

    assertContains(response, "Ce fichier ne change rien : les secteurs sont déjà ainsi.")
    assertNotContains(response, "Appliquer ces changements")


def test_import_of_an_erroneous_file_lists_the_errors_and_writes_nothing(admin_client, noisiel, sector):
    before = everything()
    data = b"secteur;commune;rue;organisation;agent\nTorcy;77468;;;\nMelun;77288;;MDS de Melun;\n"

    response = upload(admin_client, noisiel, data)

    assertContains(
        response,
        '<div class="fr-alert fr-alert--error fr-mb-3w" role="alert" id="erreurs-import">'
        "<h2 class=\"fr-alert__title\">Le fichier n'a pas été importé : rien n'a changé</h2>"
        "<ul><li>Ligne 3 : organisation « MDS de Melun » inconnue dans le territoire.</li></ul></div>",
        html=True,
        status_code=422,
    )
    assertNotContains(response, "Appliquer ces changements", status_code=422)
    # The same content posted as if previewed is refused all the same.
    response = admin_client.post(url("import", noisiel), {"content": data.decode()})
    assertContains(response, "Ligne 3 : organisation « MDS de Melun » inconnue dans le territoire.", status_code=422)
    assert everything() == before


def test_import_without_a_file(admin_client, noisiel):
    response = admin_client.post(url("import", noisiel), {})

    assertContains(response, error("Ce champ est obligatoire."), html=True, status_code=422)


def test_import_reads_at_most_what_it_accepts(admin_client, noisiel):
    data = b"secteur;commune\n" + b"Noisiel;77337\n" * 300_000

    response = upload(admin_client, noisiel, data)

    assertContains(response, "<li>Le fichier dépasse 2 Mo.</li>", html=True, status_code=422)


# --- « Tester la sectorisation » -----------------------------------------------------------------


def levels(response):
    """{level label: [(organisation name, agent names or None)]}, as the page shows them."""
    return {
        level["label"]: [(row["organisation"].name, row["agents"]) for row in level["rows"]]
        for level in response.context["levels"]
    }


@pytest.fixture
def sectors_of_the_territory(territory, noisiel, chelles, sector):
    """Noisiel (whole commune) → MDS de Noisiel; Chelles (whole) → MDS de Chelles, and its avenue
    du Général de Gaulle → Hélène Martin of MDS de Noisiel."""
    helene = AgentFactory(organisation=noisiel, first_name="Hélène", last_name="Martin")
    whole = SectorFactory(territory=territory, name="Chelles")
    SectorAreaFactory(sector=whole, commune=commune("77108"))
    SectorAttributionFactory(sector=whole, organisation=chelles)
    avenue = SectorFactory(territory=territory, name="Chelles — Gaulle")
    SectorAreaFactory(sector=avenue, commune=commune("77108"), street="Avenue du Général de Gaulle")
    SectorAttributionFactory(sector=avenue, organisation=noisiel, agent=helene)
    return avenue


def test_test_a_commune(admin_client, noisiel, chelles, sector, sectors_of_the_territory):
    response = admin_client.get(url("test", noisiel), {"commune": "Noisiel"})

    assert response.status_code == 200
    assertContains(response, '<h2 class="fr-h4" id="resultat-titre">Noisiel (77337)</h2>', html=True)
    assertContains(
        response,
        f'<li><a href="{url("sector", noisiel, pk=sector.pk)}">Noisiel</a> : '
        "toute la commune fait partie du secteur</li>",
        html=True,
    )
    assert levels(response) == {
        "Tout le département (pas de sectorisation)": [("MDS de Chelles", None), ("MDS de Noisiel", None)],
        "Les organisations du secteur de l'usager": [("MDS de Noisiel", None)],
        "Les agents attribués au secteur de l'usager": [],
    }
    assertContains(
        response,
        '<tr><th scope="row" class="fr-cell--multiline">Les agents attribués au secteur de l\'usager</th>'
        '<td class="fr-cell--multiline">Personne</td></tr>',
        html=True,
    )


def test_test_a_street(admin_client, noisiel, sectors_of_the_territory):
    response = admin_client.get(url("test", noisiel), {"commune": "77108", "street": "12 av. du Gal de Gaulle"})

    assertContains(
        response, '<h2 class="fr-h4" id="resultat-titre">Chelles (77108) — 12 av. du Gal de Gaulle</h2>', html=True
    )
    assertContains(
        response,
        f'<li><a href="{url("sector", noisiel, pk=sectors_of_the_territory.pk)}">Chelles — Gaulle</a> : '
        "la rue fait partie du secteur (elle prime sur la commune entière)</li>",
        html=True,
    )
    # The avenue is attributed to an agent only: it decides for the motifs sectorised by agent,
    # while Chelles's whole-commune sector still decides for those sectorised by organisation.
    assert levels(response) == {
        "Tout le département (pas de sectorisation)": [("MDS de Chelles", None), ("MDS de Noisiel", None)],
        "Les organisations du secteur de l'usager": [("MDS de Chelles", None)],
        "Les agents attribués au secteur de l'usager": [("MDS de Noisiel", ["Hélène Martin"])],
    }
    assertContains(response, "<li>MDS de Noisiel : Hélène Martin</li>", html=True)


def test_test_without_sectors(admin_client, noisiel, chelles):
    response = admin_client.get(url("test", noisiel), {"commune": "77337"})

    assertContains(response, "Aucun secteur n'est défini dans le territoire : toutes ses organisations sont proposées.")
    every = [("MDS de Chelles", None), ("MDS de Noisiel", None)]
    assert list(levels(response).values()) == [every, every, every]


def test_test_a_commune_in_no_sector(admin_client, noisiel, sector):
    response = admin_client.get(url("test", noisiel), {"commune": "Torcy"})

    assertContains(
        response, "Aucun secteur ne couvre cette adresse : seuls les motifs sans sectorisation lui sont proposés."
    )


def test_test_the_form(admin_client, noisiel):
    response = admin_client.get(url("test", noisiel))

    assert response.status_code == 200
    assert "route" not in response.context
    assert list(response.context["form"].fields) == ["commune", "street"]


@pytest.mark.parametrize(
    "geocoding, params, errors",
    [
        ("", {"commune": "", "street": "Rue de la Mairie"}, {"commune": ["Ce champ est obligatoire."]}),
        (GEOCODING_URL, {"commune": "", "address": ""}, {"__all__": ["Indiquez une commune ou une adresse."]}),
        ("", {"commune": "xyzzy"}, {"commune": ["Aucune commune ne correspond à « xyzzy » dans le département 77."]}),
    ],
)
def test_test_refused(admin_client, settings, noisiel, geocoding, params, errors):
    settings.GEOCODING_URL = geocoding
    response = admin_client.get(url("test", noisiel), params)

    assert response.status_code == 422
    assert response.context["form"].errors == errors
    assert "route" not in response.context


def ban_answer(citycode, street, label):
    """What api-adresse.data.gouv.fr answers for a house number."""
    body = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [2.5936, 48.8805]},
                "properties": {
                    "label": label,
                    "score": 0.93,
                    "housenumber": "12",
                    "name": f"12 {street}",
                    "street": street,
                    "citycode": citycode,
                    "city": "Chelles",
                    "postcode": "77500",
                    "type": "housenumber",
                },
            }
        ],
    }
    response = mock.MagicMock()
    response.__enter__.return_value = io.BytesIO(json.dumps(body).encode())
    return response


def test_test_an_address_with_the_geocoder(admin_client, settings, noisiel, sectors_of_the_territory):
    settings.GEOCODING_URL = GEOCODING_URL
    answer = ban_answer("77108", "Avenue du Général de Gaulle", "12 Avenue du Général de Gaulle 77500 Chelles")

    with mock.patch("organisations.services.urllib.request.urlopen", return_value=answer) as urlopen:
        response = admin_client.get(url("test", noisiel), {"address": "12 av du gal de gaulle chelles"})

    request = urlopen.call_args.args[0]
    assert request.full_url == f"{GEOCODING_URL}?q=12+av+du+gal+de+gaulle+chelles&limit=1"
    assert response.status_code == 200
    assertContains(
        response, '<p class="fr-text--sm">Adresse trouvée : 12 Avenue du Général de Gaulle 77500 Chelles</p>', html=True
    )
    assertContains(
        response, '<h2 class="fr-h4" id="resultat-titre">Chelles (77108) — Avenue du Général de Gaulle</h2>', html=True
    )
    assert [matched.name for matched in response.context["route"].deciding("agent")] == ["Chelles — Gaulle"]
    assert levels(response)["Les agents attribués au secteur de l'usager"] == [("MDS de Noisiel", ["Hélène Martin"])]


def test_test_an_address_of_another_departement(admin_client, settings, noisiel, sector):
    settings.GEOCODING_URL = GEOCODING_URL
    TerritoryFactory(departement_number="93", name="Seine-Saint-Denis")
    answer = ban_answer("93066", "Rue de la République", "1 Rue de la République 93200 Saint-Denis")

    with mock.patch("organisations.services.urllib.request.urlopen", return_value=answer):
        response = admin_client.get(url("test", noisiel), {"address": "1 rue de la république saint-denis"})

    assert response.status_code == 200
    assertContains(response, "<p>Cette commune appartient à un autre territoire (Seine-Saint-Denis).</p>", html=True)
    assertNotContains(response, "Proposés en ligne")


@pytest.mark.parametrize(
    "failure",
    [urllib.error.URLError("timed out"), TimeoutError("timed out"), ValueError("Expecting value")],
    ids=["unreachable", "timeout", "bad-json"],
)
def test_a_failing_geocoder_falls_back_to_the_commune(
    admin_client, settings, noisiel, sectors_of_the_territory, failure
):
    settings.GEOCODING_URL = GEOCODING_URL

    with mock.patch("organisations.services.urllib.request.urlopen", side_effect=failure):
        response = admin_client.get(
            url("test", noisiel), {"commune": "Chelles", "street": "", "address": "12 av du gal de gaulle chelles"}
        )

    assert response.status_code == 200
    assertContains(
        response,
        '<div class="fr-alert fr-alert--warning fr-alert--sm fr-mb-2w">'
        "<p>Le service de géocodage n'a pas répondu : le test porte sur la commune.</p></div>",
        html=True,
    )
    assert [matched.name for matched in response.context["route"].sectors] == ["Chelles"]


def test_a_failing_geocoder_without_a_commune_asks_for_it(admin_client, settings, noisiel):
    settings.GEOCODING_URL = GEOCODING_URL

    with mock.patch("organisations.services.urllib.request.urlopen", side_effect=urllib.error.URLError("down")):
        response = admin_client.get(url("test", noisiel), {"address": "12 av du gal de gaulle chelles"})

    assert response.status_code == 422
    assert response.context["form"].errors == {"address": ["Adresse introuvable : indiquez la commune."]}


def test_the_test_page_reads_a_fixed_number_of_queries(
    admin_client, noisiel, sectors_of_the_territory, django_assert_num_queries
):
    admin_client.get(url("test", noisiel))
    # The session, the agent, the membership (with the organisation switcher's), the commune
    # (former codes, then communes), the territory, the areas, the attributions, the
    # organisations, the agents, the side menu's « À renseigner » badge.
    with django_assert_num_queries(11):
        response = admin_client.get(url("test", noisiel), {"commune": "77108", "street": "Avenue du Général de Gaulle"})
    assert response.status_code == 200


def test_areas_and_attributions_keep_their_history_with_their_author(admin_client, noisiel, sector, territory_admin):
    from sectorisation.models import SectorArea, SectorAttribution

    add_area(admin_client, noisiel, sector, "77468")
    torcy = SectorArea.objects.get(sector=sector, commune_id="77468")
    admin_client.post(url("area_delete", noisiel, pk=sector.pk, area_id=torcy.pk))
    attribution = SectorAttribution.objects.get(sector=sector)
    admin_client.post(url("attribution_delete", noisiel, pk=sector.pk, attribution_id=attribution.pk))

    added, removed = SectorArea.history.filter(commune_id="77468").order_by("history_id")
    assert (added.history_type, removed.history_type) == ("+", "-")
    assert added.history_user == removed.history_user == territory_admin
    assert SectorAttribution.history.filter(id=attribution.pk, history_type="-").get().history_user == territory_admin
