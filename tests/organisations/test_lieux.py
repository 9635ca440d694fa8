"""« Vos lieux »: the admins' pages that list, create, edit, archive and reactivate lieux."""

import io
import json
import re
import urllib.error
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organisations.models import Lieu
from organisations.services import geocode
from tests.agents.factories import AgentFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory


def url(name, organisation, lieu=None):
    kwargs = {"organisation_id": organisation.pk}
    if lieu is not None:
        kwargs["pk"] = lieu.pk
    return reverse(f"organisations:{name}", kwargs=kwargs)


def lieu_state(organisation):
    return list(Lieu.objects.filter(organisation=organisation).order_by("pk").values())


def ban_response(longitude, latitude):
    """What api-adresse.data.gouv.fr answers: GeoJSON, coordinates as [longitude, latitude]."""
    body = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
                "properties": {"label": "8 Rue Pierre Mendès France 77200 Torcy", "score": 0.97},
            }
        ],
    }
    response = mock.MagicMock()
    response.__enter__.return_value = io.BytesIO(json.dumps(body).encode())
    return response


# --- list -------------------------------------------------------------------------------------


def test_admin_lists_active_lieux_then_archived_ones(client, organisation, admin_agent):
    LieuFactory(organisation=organisation, name="Pôle Familles", address="2 Avenue du Général de Gaulle, Chelles")
    LieuFactory(organisation=organisation, name="École des parents", phone="01 60 37 26 10")
    LieuFactory(organisation=organisation, name="Ancienne antenne", archived=True)
    LieuFactory(organisation=OrganisationFactory(), name="Lieu d'une autre organisation")
    client.force_login(admin_agent)

    response = client.get(url("lieux", organisation))

    assert response.status_code == 200
    assert [lieu.name for lieu in response.context["active_lieux"]] == ["École des parents", "Pôle Familles"]
    assert [lieu.name for lieu in response.context["archived_lieux"]] == ["Ancienne antenne"]
    html = response.content.decode()
    assert "Ajouter un lieu" in html
    assert "2 Avenue du Général de Gaulle, Chelles" in html
    assert "01 60 37 26 10" in html
    assert html.index("Pôle Familles") < html.index("Lieux archivés") < html.index("Ancienne antenne")
    assert "Lieu d'une autre organisation" not in html


def test_the_menu_offers_vos_lieux_right_after_votre_organisation(client, organisation, admin_agent):
    client.force_login(admin_agent)
    home = client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})).content.decode()
    assert home.index(">Votre organisation</a>") < home.index(
        f'<a class="fr-sidemenu__link" href="{url("lieux", organisation)}">Vos lieux</a>'
    )
    # Every lieux page marks the entry as the current one.
    lieu = LieuFactory(organisation=organisation)
    for address in (url("lieux", organisation), url("lieu_create", organisation), url("lieu_edit", organisation, lieu)):
        html = client.get(address).content.decode()
        assert f'href="{url("lieux", organisation)}" aria-current="page">Vos lieux</a>' in html


def test_basic_agent_sees_no_lieux_entry_in_the_menu(client, organisation, basic_agent):
    client.force_login(basic_agent)
    html = client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})).content.decode()
    assert "Vos lieux" not in html
    assert url("lieux", organisation) not in html


def test_lieux_list_queries_are_bounded(client, organisation, admin_agent):
    LieuFactory(organisation=organisation)
    LieuFactory(organisation=organisation, archived=True)
    client.force_login(admin_agent)
    client.get(url("lieux", organisation))  # warm up the session

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url("lieux", organisation)).status_code == 200
        return len(ctx)

    before = count()
    for i in range(20):
        LieuFactory(organisation=organisation, archived=i % 4 == 0, phone="01 64 62 45 00")
    after = count()
    assert after == before
    assert after == 5  # session, agent, membership (with the organisation switcher's), lieux, the menu's badge


# --- create and edit --------------------------------------------------------------------------


def test_admin_creates_a_lieu_which_appears_in_the_list(client, organisation, admin_agent):
    client.force_login(admin_agent)
    assert "Créer" in client.get(url("lieu_create", organisation)).content.decode()

    response = client.post(
        url("lieu_create", organisation),
        {
            "name": "Maison de la Petite Enfance (MPE)",
            "address": "8 Rue Pierre Mendès France, 77200 Torcy",
            "phone": "",
        },
    )

    assert response.status_code == 302
    assert response.url == url("lieux", organisation)
    lieu = Lieu.objects.get(organisation=organisation)
    assert (lieu.name, lieu.address, lieu.phone, lieu.is_active) == (
        "Maison de la Petite Enfance (MPE)",
        "8 Rue Pierre Mendès France, 77200 Torcy",
        "",
        True,
    )
    assert (lieu.latitude, lieu.longitude) == (None, None)
    html = client.get(response.url).content.decode()
    assert "Le lieu « Maison de la Petite Enfance (MPE) » a été créé." in html
    assert "8 Rue Pierre Mendès France, 77200 Torcy" in html


@pytest.mark.parametrize(
    "typed, e164",
    [
        ("01 64 62 45 00", "+33164624500"),
        ("0692 12 34 56", "+262692123456"),  # La Réunion, mobile
        ("0596 60 12 34", "+596596601234"),  # Martinique
        ("0639 01 23 45", "+262639012345"),  # Mayotte, mobile
        ("+687 26 12 34", "+687261234"),  # Nouvelle-Calédonie
    ],
)
def test_phone_numbers_of_metropole_and_overseas_are_accepted(client, organisation, admin_agent, typed, e164):
    client.force_login(admin_agent)
    response = client.post(url("lieu_create", organisation), {"name": "Antenne", "address": "1 Rue X", "phone": typed})
    assert response.status_code == 302
    lieu = Lieu.objects.get(organisation=organisation)
    assert lieu.phone.as_e164 == e164
    # The edit form shows it back in a form that saves again as the same number.
    html = client.get(url("lieu_edit", organisation, lieu)).content.decode()
    shown = re.search(r'<input type="tel" name="phone" value="([^"]*)"', html).group(1)
    response = client.post(
        url("lieu_edit", organisation, lieu), {"name": "Antenne", "address": "1 Rue X", "phone": shown}
    )
    assert response.status_code == 302
    lieu.refresh_from_db()
    assert lieu.phone.as_e164 == e164


def test_admin_edits_a_lieu(client, organisation, admin_agent):
    lieu = LieuFactory(organisation=organisation, name="Pôle Familles", address="12 Rue de la Haute Borne, Chelles")
    client.force_login(admin_agent)
    page = client.get(url("lieu_edit", organisation, lieu)).content.decode()
    assert 'value="Pôle Familles"' in page and "Modifier" in page

    response = client.post(
        url("lieu_edit", organisation, lieu),
        {
            "name": "Pôle Familles de Chelles",
            "address": "14 Rue de la Haute Borne, 77500 Chelles",
            "phone": "0160933600",
        },
    )

    assert response.status_code == 302
    lieu.refresh_from_db()
    assert lieu.name == "Pôle Familles de Chelles"
    assert lieu.address == "14 Rue de la Haute Borne, 77500 Chelles"
    assert lieu.phone.as_e164 == "+33160933600"
    assert Lieu.objects.count() == 1


def test_a_lieu_keeps_its_name_case_change_and_its_own_name(client, organisation, admin_agent):
    """Saving a lieu under its own name (or a different case of it) is no duplicate."""
    lieu = LieuFactory(organisation=organisation, name="Pôle Familles")
    client.force_login(admin_agent)
    response = client.post(url("lieu_edit", organisation, lieu), {"name": "PÔLE FAMILLES", "address": "1 Rue X"})
    assert response.status_code == 302
    lieu.refresh_from_db()
    assert lieu.name == "PÔLE FAMILLES"


def test_an_active_lieu_may_take_the_name_of_an_archived_one_or_of_another_organisations(
    client, organisation, admin_agent
):
    LieuFactory(organisation=organisation, name="MDS de Chelles", archived=True)
    LieuFactory(organisation=OrganisationFactory(), name="Pôle Familles")
    client.force_login(admin_agent)
    for name in ("MDS de Chelles", "Pôle Familles"):
        response = client.post(url("lieu_create", organisation), {"name": name, "address": "1 Rue X"})
        assert response.status_code == 302
    assert Lieu.objects.filter(organisation=organisation, is_active=True).count() == 2


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": ""}, "name", "Ce champ est obligatoire."),
        ({"name": "   "}, "name", "Ce champ est obligatoire."),
        ({"address": ""}, "address", "Ce champ est obligatoire."),
        ({"name": "Pôle Familles"}, "name", "Un lieu actif de l'organisation porte déjà ce nom."),
        ({"name": "pôle FAMILLES"}, "name", "Un lieu actif de l'organisation porte déjà ce nom."),
        ({"name": " Pôle familles "}, "name", "Un lieu actif de l'organisation porte déjà ce nom."),
        ({"phone": "12"}, "phone", "Saisissez un numéro de téléphone valide"),
        ({"phone": "pas un numéro"}, "phone", "Saisissez un numéro de téléphone valide"),
        ({"phone": "06 12 34 56 78 99"}, "phone", "Saisissez un numéro de téléphone valide"),
        ({"name": "x" * 201}, "name", "au plus 200 caractères"),
    ],
)
def test_bad_input_on_create_is_refused_on_its_field_and_changes_nothing(
    client, organisation, admin_agent, data, field, message
):
    LieuFactory(organisation=organisation, name="Pôle Familles")
    before = lieu_state(organisation)
    client.force_login(admin_agent)

    response = client.post(url("lieu_create", organisation), {"name": "Nouveau lieu", "address": "1 Rue X", **data})

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert any(message in error for error in errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert lieu_state(organisation) == before


def test_renaming_a_lieu_to_an_active_lieus_name_is_refused(client, organisation, admin_agent):
    LieuFactory(organisation=organisation, name="Pôle Familles")
    lieu = LieuFactory(organisation=organisation, name="Centre de Vie Enfantine (CVE)")
    before = lieu_state(organisation)
    client.force_login(admin_agent)

    response = client.post(url("lieu_edit", organisation, lieu), {"name": "PÔLE familles", "address": "1 Rue X"})

    assert response.status_code == 422
    assert response.context["form"].errors == {"name": ["Un lieu actif de l'organisation porte déjà ce nom."]}
    # The title keeps the saved name, not the refused one.
    assert "Modifier le lieu « Centre de Vie Enfantine (CVE) »" in response.content.decode()
    assert lieu_state(organisation) == before


def test_when_two_admins_create_the_same_name_at_once_the_database_decides(client, organisation, admin_agent):
    """The form's check ran before the other admin's lieu existed: the constraint still refuses."""
    LieuFactory(organisation=organisation, name="Pôle Familles")
    before = lieu_state(organisation)
    client.force_login(admin_agent)
    with mock.patch("organisations.forms.active_lieu_named", return_value=False):
        response = client.post(url("lieu_create", organisation), {"name": "pôle familles", "address": "1 Rue X"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"name": ["Un lieu actif de l'organisation porte déjà ce nom."]}
    assert lieu_state(organisation) == before


# --- archive and reactivate -------------------------------------------------------------------


def test_admin_archives_a_lieu_after_confirmation(client, organisation, admin_agent):
    lieu = LieuFactory(organisation=organisation, name="Pôle Familles")
    client.force_login(admin_agent)

    confirmation = client.get(url("lieu_archive", organisation, lieu))
    assert confirmation.status_code == 200
    assert "Archiver le lieu « Pôle Familles » ?" in confirmation.content.decode()
    lieu.refresh_from_db()
    assert lieu.is_active  # a GET changes nothing

    response = client.post(url("lieu_archive", organisation, lieu))

    assert response.status_code == 302
    lieu.refresh_from_db()
    assert not lieu.is_active  # archived, never deleted
    listing = client.get(url("lieux", organisation))
    assert [lieu.name for lieu in listing.context["archived_lieux"]] == ["Pôle Familles"]
    assert listing.context["active_lieux"] == []
    assert "Le lieu « Pôle Familles » a été archivé." in listing.content.decode()
    assert list(Lieu.objects.for_organisation(organisation).active()) == []


def test_admin_reactivates_an_archived_lieu(client, organisation, admin_agent):
    lieu = LieuFactory(organisation=organisation, name="Pôle Familles", archived=True)
    client.force_login(admin_agent)
    assert client.get(url("lieu_reactivate", organisation, lieu)).status_code == 200

    response = client.post(url("lieu_reactivate", organisation, lieu))

    assert response.status_code == 302
    lieu.refresh_from_db()
    assert lieu.is_active


def test_reactivating_is_refused_when_an_active_lieu_has_the_same_name(client, organisation, admin_agent):
    archived = LieuFactory(organisation=organisation, name="Pôle Familles", archived=True)
    LieuFactory(organisation=organisation, name="PÔLE FAMILLES")
    before = lieu_state(organisation)
    client.force_login(admin_agent)
    message = "Un lieu actif de l&#x27;organisation porte déjà le nom « Pôle Familles »."

    page = client.get(url("lieu_reactivate", organisation, archived))
    assert page.status_code == 200
    assert message in page.content.decode()
    response = client.post(url("lieu_reactivate", organisation, archived))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert lieu_state(organisation) == before


def test_archiving_twice_or_reactivating_an_active_lieu_changes_nothing(client, organisation, admin_agent):
    archived = LieuFactory(organisation=organisation, archived=True)
    active = LieuFactory(organisation=organisation)
    before = lieu_state(organisation)
    client.force_login(admin_agent)
    assert client.post(url("lieu_archive", organisation, archived)).status_code == 302
    assert client.post(url("lieu_reactivate", organisation, active)).status_code == 302
    assert lieu_state(organisation) == before


def test_an_archived_lieu_can_still_be_edited(client, organisation, admin_agent):
    LieuFactory(organisation=organisation, name="Pôle Familles")
    archived = LieuFactory(organisation=organisation, name="Ancien pôle", archived=True)
    client.force_login(admin_agent)
    assert "Réactiver ce lieu" in client.get(url("lieu_edit", organisation, archived)).content.decode()
    # Its name only has to be unique among active lieux once it is reactivated.
    response = client.post(url("lieu_edit", organisation, archived), {"name": "Pôle Familles", "address": "1 Rue X"})
    assert response.status_code == 302
    archived.refresh_from_db()
    assert (archived.name, archived.is_active) == ("Pôle Familles", False)


def test_there_is_no_way_to_delete_a_lieu(client, organisation, admin_agent):
    lieu = LieuFactory(organisation=organisation)
    client.force_login(admin_agent)
    for name in ("lieu_edit", "lieu_archive"):
        assert client.delete(url(name, organisation, lieu)).status_code == 405
    assert Lieu.objects.filter(pk=lieu.pk).exists()


# --- access -----------------------------------------------------------------------------------

LIEU_URL_NAMES = ["lieu_edit", "lieu_archive", "lieu_reactivate"]


@pytest.mark.parametrize("secretariat", [False, True], ids=["basic", "secretariat"])
def test_non_admins_get_404_on_every_lieux_url(client, organisation, secretariat):
    agent = AgentFactory(organisation=organisation, secretariat=secretariat, services=["PMI"])
    active = LieuFactory(organisation=organisation)
    archived = LieuFactory(organisation=organisation, archived=True)
    before = lieu_state(organisation)
    client.force_login(agent)

    urls = [url("lieux", organisation), url("lieu_create", organisation)]
    urls += [url(name, organisation, lieu) for name in LIEU_URL_NAMES for lieu in (active, archived)]
    for address in urls:
        assert client.get(address).status_code == 404, address
        assert client.post(address, {"name": "Piraté", "address": "1 Rue X"}).status_code == 404, address
    assert lieu_state(organisation) == before


def test_admin_of_another_organisation_gets_404_on_its_lieux(client, organisation, admin_agent):
    other = OrganisationFactory()
    client.force_login(admin_agent)
    assert client.get(url("lieux", other)).status_code == 404
    assert client.get(url("lieu_create", other)).status_code == 404


@pytest.mark.parametrize("name", LIEU_URL_NAMES)
def test_another_organisations_lieu_answers_404_even_to_an_admin(client, organisation, admin_agent, name):
    other_organisation = OrganisationFactory()
    foreign = LieuFactory(organisation=other_organisation, name="Lieu d'ailleurs")
    foreign_archived = LieuFactory(organisation=other_organisation, archived=True)
    before = lieu_state(other_organisation)
    client.force_login(admin_agent)
    for lieu in (foreign, foreign_archived):
        # The URL names the admin's own organisation and the other one's lieu.
        address = url(name, organisation, lieu)
        assert client.get(address).status_code == 404
        assert client.post(address, {"name": "Piraté", "address": "1 Rue X"}).status_code == 404
    assert lieu_state(other_organisation) == before


# --- geocoding --------------------------------------------------------------------------------


def test_without_a_geocoding_service_nothing_is_called(client, organisation, admin_agent, settings):
    settings.GEOCODING_URL = ""
    client.force_login(admin_agent)
    with mock.patch("urllib.request.urlopen") as urlopen:
        response = client.post(url("lieu_create", organisation), {"name": "MPE", "address": "8 Rue P, Torcy"})
        assert geocode("8 Rue Pierre Mendès France, 77200 Torcy") is None
    assert response.status_code == 302
    urlopen.assert_not_called()
    lieu = Lieu.objects.get(organisation=organisation)
    assert (lieu.address, lieu.latitude, lieu.longitude) == ("8 Rue P, Torcy", None, None)


def test_with_a_geocoding_service_the_lieu_gets_coordinates(client, organisation, admin_agent, settings):
    settings.GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"
    client.force_login(admin_agent)
    with mock.patch("urllib.request.urlopen", return_value=ban_response(2.6189, 48.8487)) as urlopen:
        response = client.post(
            url("lieu_create", organisation),
            {"name": "MPE", "address": "8 Rue Pierre Mendès France, 77200 Torcy"},
        )
    assert response.status_code == 302
    lieu = Lieu.objects.get(organisation=organisation)
    assert (lieu.address, lieu.latitude, lieu.longitude) == ("8 Rue Pierre Mendès France, 77200 Torcy", 48.8487, 2.6189)
    (request,), kwargs = urlopen.call_args
    assert request.full_url == (
        "https://api-adresse.data.gouv.fr/search/?q=8+Rue+Pierre+Mend%C3%A8s+France%2C+77200+Torcy&limit=1"
    )
    assert kwargs == {"timeout": 3}


def test_coordinates_follow_the_address_and_only_it(client, organisation, admin_agent, settings):
    settings.GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"
    lieu = LieuFactory(organisation=organisation, name="MPE", address="8 Rue P, Torcy", latitude=48.8, longitude=2.6)
    client.force_login(admin_agent)
    with mock.patch("urllib.request.urlopen") as urlopen:
        client.post(url("lieu_edit", organisation, lieu), {"name": "MPE de Torcy", "address": "8 Rue P, Torcy"})
    urlopen.assert_not_called()
    lieu.refresh_from_db()
    assert (lieu.latitude, lieu.longitude) == (48.8, 2.6)

    with mock.patch("urllib.request.urlopen", return_value=ban_response(2.59, 48.87)):
        client.post(url("lieu_edit", organisation, lieu), {"name": "MPE de Torcy", "address": "1 Place X, Noisiel"})
    lieu.refresh_from_db()
    assert (lieu.latitude, lieu.longitude) == (48.87, 2.59)


@pytest.mark.parametrize(
    "failure",
    [
        urllib.error.URLError("Name or service not known"),
        TimeoutError("timed out"),
        urllib.error.HTTPError("https://api-adresse.data.gouv.fr/search/", 503, "Service Unavailable", {}, None),
    ],
)
def test_a_failing_geocoding_service_never_prevents_saving(client, organisation, admin_agent, settings, failure):
    settings.GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"
    lieu = LieuFactory(organisation=organisation, name="MPE", address="8 Rue P, Torcy", latitude=48.8, longitude=2.6)
    client.force_login(admin_agent)
    with mock.patch("urllib.request.urlopen", side_effect=failure), mock.patch("organisations.services.logger"):
        response = client.post(url("lieu_edit", organisation, lieu), {"name": "MPE", "address": "1 Place X, Noisiel"})
    assert response.status_code == 302
    lieu.refresh_from_db()
    # The new address is kept as typed; the former address's coordinates are gone.
    assert (lieu.address, lieu.latitude, lieu.longitude) == ("1 Place X, Noisiel", None, None)


@pytest.mark.parametrize("body", [b"<html>erreur</html>", b'{"features": []}', b'{"features": [{"geometry": null}]}'])
def test_geocode_answers_none_to_what_it_cannot_read(settings, body):
    settings.GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"
    response = mock.MagicMock()
    response.__enter__.return_value = io.BytesIO(body)
    with mock.patch("urllib.request.urlopen", return_value=response), mock.patch("organisations.services.logger"):
        assert geocode("Adresse introuvable") is None
