"""« Prendre rendez-vous », steps 1 and 2: where the usager lives, the service, the motif; what an
address is offered (sectorisation, merged cards, « RDV de suivi »), and the page shown when
nothing is offered online."""

import datetime as dt
import re

import pytest
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from motifs.models import Motif
from reservation.choice import NO_STREET
from reservation.offer import offer_for
from sectorisation.communes import resolve_commune
from sectorisation.models import SectorArea
from sectorisation.routing import route
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import service
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.reservation.search_helpers import (
    CHELLES,
    MEAUX,
    NOISIEL,
    NOW,
    Level,
    attr,
    lieu,
    online_motif,
    organisation,
    plage,
    sector,
    seine_et_marne,
    sign_in_usager,
    url,
)
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.usefixtures("communes", "frozen")]
PLACE, PHONE, HOME = Motif.LocationType.PUBLIC_OFFICE, Motif.LocationType.PHONE, Motif.LocationType.HOME


def offered(motif: Motif, place=True) -> Motif:
    """The motif with a plage that receives it (at a new lieu when sur place)."""
    plage(motif, lieu(motif.organisation, f"Lieu {motif.pk}") if place else None)
    return motif


def card_titles(response) -> list[tuple[str, str]]:
    return [
        (text(find(tile, "h2")), text(find(tile, "p", class_="fr-tile__detail")))
        for tile in find_all(dom(response), "div", class_="fr-tile")
    ]


def card_links(response) -> list[str]:
    return [attr(find(tile, "a"), "href") for tile in find_all(dom(response), "div", class_="fr-tile")]


# Step 1: « Où habitez-vous ? »


def test_home_asks_where_the_usager_lives(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/")
    assertContains(response, '<h1 class="fr-h3">Où habitez-vous ?</h1>', html=True)
    assertContains(response, '<input type="search" name="q"', count=1)
    assert attr(find(dom(response), "form"), "method") == "get"
    # The header's way in for agents; no « Retour » on the first question.
    assertContains(
        response, '<a class="fr-btn fr-icon-briefcase-line" href="/organisations/">Espace agents</a>', html=True
    )
    assertNotContains(response, "rdv-back")


def test_one_commune_goes_on(client, django_assert_num_queries):
    with django_assert_num_queries(2):  # the names, the former names
        response = client.get("/", {"q": "Noisiel"})
    assertRedirects(response, url("services", commune=NOISIEL), fetch_redirect_response=False)


def test_a_postal_code_lists_its_communes_before_the_insee_code_it_also_is(client):
    response = client.get("/", {"q": "77186"})
    links = [text(link) for link in find_all(find(dom(response), "ul", class_="rdv-choices"), "a")]
    assert links == ["Noisiel 77186 · département 77", "Fontainebleau 77300 · département 77"]


def test_several_communes_are_listed_as_links(client):
    response = client.get("/", {"q": "Chelles"})
    assert response.status_code == 200
    links = {text(link): attr(link, "href") for link in find_all(find(dom(response), "ul", class_="rdv-choices"), "a")}
    assert links == {
        "Chelles 77500 · département 77": url("services", commune=CHELLES),
        "Chelles 60350 · département 60": url("services", commune="60145"),
    }


def test_the_organisation_link_is_kept(client):
    response = client.get("/", {"q": "Noisiel", "org": "12"})
    assertRedirects(response, url("services", commune=NOISIEL, org=12), fetch_redirect_response=False)


@pytest.mark.parametrize(
    ("q", "error"),
    [
        ("", "Indiquez le nom de votre commune ou son code postal."),
        ("a", "Indiquez au moins 2 lettres du nom de la commune, ou 2 chiffres du code postal."),
        (
            "Noisiel\x1b",
            "Ce champ contient un caractère invisible (caractère de contrôle) : retirez-le ou retapez le texte.",
        ),
    ],
)
def test_a_wrong_answer_says_why_on_the_field(client, q, error):
    response = client.get("/", {"q": q})
    assert response.status_code == 200
    assert text(find(dom(response), "p", class_="fr-error-text")) == error


def test_a_nul_character_is_a_bad_request(client):
    """Refused with the whole request, in French (rdv.middleware.RefuseNulMiddleware)."""
    response = client.get("/", {"q": "Noisiel\x00"})
    assertContains(response, "<h1>Demande invalide</h1>", html=True, status_code=400)


def test_no_commune_found(client):
    response = client.get("/", {"q": "Zzyzx"})
    assertContains(response, '<h2 class="fr-h5" id="resultats-titre">Aucune commune trouvée</h2>', html=True)


def test_back_to_the_first_question_keeps_the_commune(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(url("home", commune=NOISIEL))
    assert attr(find(dom(response), "input", name="q"), "value") == "Noisiel 77186"


# Step 2: service, then motif.


def test_services_when_several_have_online_motifs(client, noisiel, django_assert_num_queries):
    offered(online_motif(noisiel, "Pesée"))
    offered(MotifFactory(organisation=noisiel, service=service("Social"), online=True, name="Accompagnement RSA"))
    # Commune, catalogue version, territory (no sector), motifs, streets deciding?
    with django_assert_num_queries(5):
        response = client.get(url("services", commune=NOISIEL))
    # Asked again with nothing changed: the commune, the route, the motifs and whether streets
    # decide are kept (reservation.catalogue): the catalogue's number only.
    with django_assert_num_queries(1):
        assert client.get(url("services", commune=NOISIEL)).content == response.content
    assertContains(response, '<h1 class="fr-h3">Quel service souhaitez-vous rencontrer ?</h1>', html=True)
    links = [
        (text(find(tile, "a")), attr(find(tile, "a"), "href"))
        for tile in find_all(dom(response), "div", class_="fr-tile")
    ]
    assert links == [
        ("PMI (Protection Maternelle Infantile)", url("motifs", commune=NOISIEL, service=service("PMI").pk)),
        ("Service social", url("motifs", commune=NOISIEL, service=service("Social").pk)),
    ]
    assert response.context["back_url"] == url("home", commune=NOISIEL)


def test_one_service_is_skipped(client, noisiel):
    offered(online_motif(noisiel, "Pesée"))
    response = client.get(url("services", commune=NOISIEL))
    assertRedirects(response, url("motifs", commune=NOISIEL), fetch_redirect_response=False)


def test_motifs_of_the_service_with_their_type(client, noisiel, django_assert_num_queries):
    pesee = offered(online_motif(noisiel, "Pesée"))
    by_phone = offered(
        MotifFactory(organisation=noisiel, category=pesee.category, online=True, phone=True), place=False
    )
    offered(MotifFactory(organisation=noisiel, service=service("Social"), online=True, name="Accompagnement RSA"))
    pmi = service("PMI").pk
    with django_assert_num_queries(4):  # commune, catalogue version, territory, motifs
        response = client.get(url("motifs", commune=NOISIEL, service=pmi))
    with django_assert_num_queries(1):  # then only the catalogue version
        assert client.get(url("motifs", commune=NOISIEL, service=pmi)).content == response.content
    assertContains(response, '<h1 class="fr-h3">Pour quel motif ?</h1>', html=True)
    assert card_titles(response) == [("Pesée", "Sur place"), ("Pesée", "Par téléphone")]
    assert card_links(response) == [
        url("lieux", commune=NOISIEL, service=pmi, motif=f"{pesee.category_id}-public_office"),
        url("lieux", commune=NOISIEL, service=pmi, motif=f"{by_phone.category_id}-phone"),
    ]
    assert response.context["back_url"] == url("services", commune=NOISIEL)


def test_motifs_without_a_service_when_there_is_only_one(client, noisiel):
    offered(online_motif(noisiel, "Visite à domicile post-natale", HOME), place=False)
    response = client.get(url("motifs", commune=NOISIEL))
    assert card_titles(response) == [("Visite à domicile post-natale", "À domicile")]
    assert response.context["back_url"] == url("home", commune=NOISIEL)


def test_the_service_must_be_answered_when_there_are_several(client, noisiel):
    offered(online_motif(noisiel, "Pesée"))
    offered(MotifFactory(organisation=noisiel, service=service("Social"), online=True, name="Accompagnement RSA"))
    response = client.get(url("motifs", commune=NOISIEL, service=987654))
    assertRedirects(response, url("services", commune=NOISIEL), fetch_redirect_response=False)


def test_same_name_and_type_in_several_organisations_make_one_card(client, noisiel, chelles):
    prenatal = offered(online_motif(noisiel, "Consultation prénatale"))
    offered(MotifFactory(organisation=chelles, category=prenatal.category, online=True))
    offered(MotifFactory(organisation=chelles, category=prenatal.category, online=True, phone=True), place=False)
    response = client.get(url("motifs", commune=NOISIEL))
    assert card_titles(response) == [
        ("Consultation prénatale", "Sur place"),
        ("Consultation prénatale", "Par téléphone"),
    ]
    card = response.context["cards"][0][0]
    assert [motif.organisation for motif in card.motifs] == [chelles, noisiel]


def test_what_is_not_offered(client, noisiel):
    offered(online_motif(noisiel, "Pesée"))
    offered(MotifFactory(organisation=noisiel, name="Vaccination", online=True, archived=True))
    offered(MotifFactory(organisation=noisiel, name="Consultation de puériculture"))  # not online
    online_motif(noisiel, "Bilan de santé en école maternelle")  # no plage receives it
    without_lieu = online_motif(noisiel, "Consultation pédiatrique 0-6 ans")
    plage(without_lieu, None)  # sur place needs a lieu
    archived_lieu = online_motif(noisiel, "Entretien prénatal précoce")
    plage(archived_lieu, lieu(noisiel, "Ancienne MDS", is_active=False))
    finished = online_motif(noisiel, "Consultation de suivi de grossesse")
    plage(finished, lieu(noisiel, "Annexe"), first_day=dt.date(2029, 1, 1), until=dt.date(2030, 2, 28))
    offered(online_motif(noisiel, "Suivi social", follow_up=True))  # no usager identified
    response = client.get(url("motifs", commune=NOISIEL))
    assert card_titles(response) == [("Pesée", "Sur place")]


def test_follow_up_motifs_only_for_an_usager_with_a_referent_there(noisiel, chelles):
    follow_up = offered(online_motif(noisiel, "Suivi social", follow_up=True))
    referent = AgentFactory(organisation=noisiel)
    commune = resolve_commune(NOISIEL)
    routed = route(commune)
    today = NOW.date()
    assert offer_for(routed, usager=None, today=today).motifs == ()
    stranger = UsagerFactory(organisation=noisiel)
    assert offer_for(routed, usager=stranger, today=today).motifs == ()
    elsewhere = UsagerFactory(organisation=chelles, referents=[AgentFactory(organisation=chelles)])
    assert offer_for(routed, usager=elsewhere, today=today).motifs == ()
    followed = UsagerFactory(organisation=noisiel, referents=[referent])
    assert offer_for(routed, usager=followed, today=today).motifs == (follow_up,)


# Sectorisation: the organisations that serve the address.


@pytest.fixture
def sectors(territory, noisiel, chelles):
    """Noisiel's MDS serves Noisiel, Chelles's serves Chelles; each has a motif of its own, by
    organisation, and Chelles one for the whole département."""
    pmi_noisiel = AgentFactory(organisation=noisiel, services=["PMI"])
    sector(territory, "Val Maubuée", [NOISIEL], noisiel, agents=[pmi_noisiel])
    sector(territory, "Chelles et environs", [CHELLES], chelles)
    return {
        "pesee": offered(online_motif(noisiel, "Pesée", sectorisation_level=Level.ORGANISATION)),
        "vaccination": offered(online_motif(chelles, "Vaccination", sectorisation_level=Level.ORGANISATION)),
        "accueil": offered(online_motif(chelles, "Permanence administrative", sectorisation_level=Level.DEPARTEMENT)),
        "by_agent": offered(online_motif(noisiel, "Entretien prénatal précoce", sectorisation_level=Level.AGENT)),
    }


def test_each_address_is_offered_its_organisations_motifs(client, sectors, django_assert_num_queries):
    # Commune, catalogue version, territory, sector areas, attributions, motifs.
    with django_assert_num_queries(6):
        noisiel = client.get(url("motifs", commune=NOISIEL))
    assert [name for name, _type in card_titles(noisiel)] == [
        "Entretien prénatal précoce",
        "Permanence administrative",
        "Pesée",
    ]
    chelles = client.get(url("motifs", commune=CHELLES))
    assert [name for name, _type in card_titles(chelles)] == ["Permanence administrative", "Vaccination"]
    # Outside every sector: only what the whole département is offered.
    meaux = client.get(url("motifs", commune=MEAUX))
    assert [name for name, _type in card_titles(meaux)] == ["Permanence administrative"]


def test_the_organisation_link_narrows_the_offer(client, sectors, chelles):
    response = client.get(url("motifs", commune=CHELLES, org=chelles.pk))
    assert [name for name, _type in card_titles(response)] == ["Permanence administrative", "Vaccination"]
    response = client.get(url("motifs", commune=NOISIEL, org=chelles.pk))
    assert [name for name, _type in card_titles(response)] == ["Permanence administrative"]


# Nothing offered online: how to reach the organisations instead.


def contacts_shown(response) -> list[str]:
    return [text(section) for section in find_all(dom(response), "section", class_="rdv-contact")]


def test_no_online_motif_shows_each_routed_organisation_contact(client, territory, noisiel, chelles):
    sector(territory, "Val Maubuée", [NOISIEL], noisiel)
    sector(territory, "Chelles et environs", [CHELLES], chelles)
    MotifFactory(organisation=noisiel, name="Pesée")  # not online
    response = client.get(url("services", commune=NOISIEL))
    assert response.status_code == 200
    assertContains(
        response, '<h1 class="fr-h3">Aucun rendez-vous n\'est proposé en ligne pour votre commune</h1>', html=True
    )
    assert contacts_shown(response) == [
        "MDS de Noisiel 01 60 05 00 00 noisiel@departement77.fr Horaires d'ouverture "
        "Lundi : 8h30 – 12h00, 13h30 – 17h00 Vendredi : 8h30 – 12h00"
    ]
    assertContains(response, '<a href="tel:+33160050000">01 60 05 00 00</a>', html=True)
    assertContains(response, '<a href="mailto:noisiel@departement77.fr">noisiel@departement77.fr</a>', html=True)
    assert response.context["back_url"] == url("home", commune=NOISIEL)


def test_no_sector_in_the_territory_lists_every_organisation_of_the_departement(client, noisiel, chelles):
    response = client.get(url("services", commune=NOISIEL))
    assert [section.split(" 01 ")[0] for section in contacts_shown(response)] == ["MDS de Chelles", "MDS de Noisiel"]


def test_a_departement_without_online_booking_says_so(client, noisiel):
    response = client.get(url("motifs", commune="75056"))
    assertRedirects(response, url("services", commune="75056"), fetch_redirect_response=False)
    response = client.get(url("services", commune="75056"))
    assert response.status_code == 200
    assertContains(response, "La prise de rendez-vous en ligne n'est pas encore ouverte dans votre département (75).")
    assertNotContains(response, "MDS de Noisiel")


def test_an_identified_usager_with_a_referent_is_offered_its_follow_up(client, noisiel, django_assert_num_queries):
    offered(online_motif(noisiel, "Pesée"))
    offered(online_motif(noisiel, "Suivi social", follow_up=True))
    usager = UsagerFactory(organisation=noisiel, referents=[AgentFactory(organisation=noisiel)])
    sign_in_usager(client, usager)
    # The usager's session and record, then as without, and its référents for the follow-up.
    with django_assert_num_queries(7):
        response = client.get(url("motifs", commune=NOISIEL))
    with django_assert_num_queries(4):  # the commune, route and motifs kept: its référents still read
        again = client.get(url("motifs", commune=NOISIEL))
    assert card_titles(again) == card_titles(response)
    assert card_titles(response) == [("Pesée", "Sur place"), ("Suivi social", "Sur place")]
    sign_in_usager(client, UsagerFactory(organisation=noisiel))
    assert card_titles(client.get(url("motifs", commune=NOISIEL))) == [("Pesée", "Sur place")]


def test_the_street_is_asked_only_where_it_decides(client):
    """Chelles has a street sector: its usagers are asked their street; the street sector's
    organisation serves that street, the whole commune's the others; Noisiel is not asked."""

    territory = seine_et_marne()
    noisiel, chelles = organisation(territory, "MDS de Noisiel"), organisation(territory, "MDS de Chelles")
    for mds in (noisiel, chelles):
        plage(
            online_motif(mds, "Consultation de puériculture", sectorisation_level=Level.ORGANISATION),
            lieu(mds, mds.name),
        )
    sector(territory, "Noisiel", [NOISIEL], noisiel)
    sector(territory, "Chelles", [CHELLES], chelles)
    haute_borne = sector(territory, "Haute Borne", [], noisiel)
    SectorArea.objects.create(sector=haute_borne, commune_id=CHELLES, street="Rue de la Haute Borne")

    assert client.get(url("services", commune=NOISIEL))["Location"].startswith("/prendre-rdv/motif/")
    asked = client.get(url("services", commune=CHELLES))
    assert asked["Location"] == url("street", commune=CHELLES)
    page = client.get(asked["Location"])
    assertContains(page, '<h1 class="fr-h3">Quelle est votre rue ?</h1>', html=True)
    assert client.get(url("street", commune=CHELLES, rue=""))["Location"] == url(
        "services", commune=CHELLES, rue=NO_STREET
    )
    for rue, served, not_served in (
        ("12 rue de la Haute-Borne", "MDS de Noisiel", "MDS de Chelles"),
        (NO_STREET, "MDS de Chelles", "MDS de Noisiel"),
        ("Avenue Foch", "MDS de Chelles", "MDS de Noisiel"),
    ):
        card = client.get(url("motifs", commune=CHELLES, rue=rue))
        motif_url = re.search(r'href="(/prendre-rdv/lieu/[^"]+)"', card.content.decode()).group(1)
        lieux = client.get(motif_url.replace("&amp;", "&"))
        assertContains(lieux, served)
        assertNotContains(lieux, not_served)


def _ban_answer(citycode: str, street: str, label: str):
    import io
    import json
    from unittest import mock

    body = {
        "features": [
            {
                "geometry": {"coordinates": [2.59, 48.87]},
                "properties": {"citycode": citycode, "street": street, "label": label, "type": "housenumber"},
            }
        ]
    }
    response = mock.MagicMock()
    response.__enter__.return_value = io.BytesIO(json.dumps(body).encode())
    return response


def test_with_a_geocoder_an_address_may_be_typed_instead_of_a_commune(client, settings):
    from unittest import mock

    settings.GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"
    seine_et_marne()
    answer = _ban_answer(CHELLES, "Rue de la Haute Borne", "12 Rue de la Haute Borne 77500 Chelles")
    with mock.patch("organisations.services.urllib.request.urlopen", return_value=answer) as urlopen:
        response = client.get(url("home", q="12 rue de la Haute Borne, Chelles"))
    assert urlopen.call_count == 1
    assert response["Location"] == url("services", commune=CHELLES, rue="Rue de la Haute Borne")
    # A commune's name or postal code never asks the geocoder.
    with mock.patch("organisations.services.urllib.request.urlopen") as urlopen:
        client.get(url("home", q="Chelles"))
        client.get(url("home", q="77500"))
    urlopen.assert_not_called()


def test_a_failing_geocoder_falls_back_to_the_commune_search(client, settings):
    import urllib.error
    from unittest import mock

    settings.GEOCODING_URL = "https://api-adresse.data.gouv.fr/search/"
    failure = urllib.error.URLError("Name or service not known")
    with (
        mock.patch("organisations.services.urllib.request.urlopen", side_effect=failure),
        mock.patch("organisations.services.logger"),
    ):
        response = client.get(url("home", q="12 rue de la Haute Borne, Chelles"))
    # Its commune, after the comma: the Chelles of Seine-et-Marne and of the Oise, to choose from.
    assert response.status_code == 200
    assertContains(response, f'href="{url("services", commune=CHELLES)}"')
