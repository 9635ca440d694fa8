"""« Prendre rendez-vous », steps 1 to 4 with answers nobody offered: another département's lieu,
an organisation the address is not routed to, a motif not bookable online, unknown ids, NUL bytes,
far dates. The answer is dropped and the earlier question shown (or a 405 for another method):
never a 500, never a motif of an organisation not routed to the address."""

import pytest
from pytest_django.asserts import assertNotContains, assertRedirects

from motifs.models import Motif
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import TerritoryFactory
from tests.reservation.search_helpers import (
    CHELLES,
    NOISIEL,
    Level,
    lieu,
    online_motif,
    organisation,
    plage,
    sector,
    seine_et_marne,
    url,
)

pytestmark = [pytest.mark.usefixtures("communes", "frozen")]


@pytest.fixture
def world(db):
    """Noisiel's MDS serves Noisiel and offers « Pesée » there; Chelles's MDS serves Chelles and
    offers « Vaccination » (by organisation); Seine-Saint-Denis has its own « Pesée »."""
    territory = seine_et_marne()
    noisiel = organisation(territory, "MDS de Noisiel")
    chelles = organisation(territory, "MDS de Chelles")
    sector(territory, "Val Maubuée", [NOISIEL], noisiel)
    sector(territory, "Chelles et environs", [CHELLES], chelles)
    pesee = online_motif(noisiel, "Pesée", sectorisation_level=Level.ORGANISATION)
    maison = lieu(noisiel, "Maison des solidarités")
    plage(pesee, maison)
    vaccination = online_motif(chelles, "Vaccination", sectorisation_level=Level.ORGANISATION)
    at_chelles = lieu(chelles, "MDS de Chelles")
    plage(vaccination, at_chelles)
    # The same name at Chelles: a card Noisiel sees, with a lieu it must not be offered.
    plage(
        MotifFactory(
            organisation=chelles, category=pesee.category, online=True, sectorisation_level=Level.ORGANISATION
        ),
        at_chelles,
    )
    other = organisation(TerritoryFactory(departement_number="93", name="Seine-Saint-Denis"), "EDS de Bondy")
    elsewhere = MotifFactory(organisation=other, category=pesee.category, online=True)
    bondy = lieu(other, "EDS de Bondy")
    plage(elsewhere, bondy)
    closed = lieu(noisiel, "Ancienne annexe", is_active=False)
    offline = MotifFactory(organisation=noisiel, name="Consultation de puériculture")
    plage(offline, maison)
    by_phone = online_motif(noisiel, "Consultation prénatale", Motif.LocationType.PHONE)
    plage(by_phone, None)
    return {
        "pesee": f"{pesee.category_id}-public_office",
        "vaccination": f"{vaccination.category_id}-public_office",
        "offline": f"{offline.category_id}-public_office",
        "by_phone": f"{by_phone.category_id}-phone",
        "maison": maison.pk,
        "chelles_lieu": at_chelles.pk,
        "bondy": bondy.pk,
        "closed": closed.pk,
        "chelles": chelles.pk,
        "other": other.pk,
    }


def test_a_lieu_not_offered_to_the_address_sends_back_to_the_lieux(client, world):
    lieux = url("lieux", commune=NOISIEL, motif=world["pesee"])
    for tampered in (world["bondy"], world["chelles_lieu"], world["closed"], 987654321):
        response = client.get(url("creneaux", commune=NOISIEL, motif=world["pesee"], lieu=tampered))
        assertRedirects(response, lieux, fetch_redirect_response=False)
    # The lieu step itself lists only Noisiel's lieu.
    response = client.get(lieux)
    assert [item.lieu.pk for item, _when, _url in response.context["items"]] == [world["maison"]]
    assertNotContains(response, "MDS de Chelles")


def test_an_organisation_not_offering_the_card_sends_back_to_the_organisations(client, world):
    lieux = url("lieux", commune=NOISIEL, motif=world["by_phone"])
    for tampered in (world["chelles"], world["other"], 987654321):
        response = client.get(url("creneaux", commune=NOISIEL, motif=world["by_phone"], organisation=tampered))
        assertRedirects(response, lieux, fetch_redirect_response=False)


@pytest.mark.parametrize("motif", ["vaccination", "offline", "unknown"])
@pytest.mark.parametrize("step", ["lieux", "creneaux"])
def test_a_motif_not_offered_to_the_address_sends_back_to_the_motifs(client, world, motif, step):
    key = world.get(motif, "987654321-public_office")
    response = client.get(url(step, commune=NOISIEL, motif=key, lieu=world["chelles_lieu"]))
    # The later answers go with it.
    assertRedirects(response, url("motifs", commune=NOISIEL), fetch_redirect_response=False)
    assertNotContains(client.get(url("motifs", commune=NOISIEL)), "Vaccination")


def test_without_a_commune_the_first_question(client, world):
    for step in ("services", "motifs", "lieux", "creneaux"):
        response = client.get(url(step, commune="99999", motif=world["pesee"], lieu=world["maison"]))
        assertRedirects(response, url("home"), fetch_redirect_response=False)


STEPS = ["home", "services", "motifs", "lieux", "creneaux"]
ODD = ["\x00", "1\x00", "-1", "0", "1e9", "99999999999999999999", "2030-02-30", "abc", "%00", "é" * 300, ""]
PARAMS = ["q", "commune", "rue", "org", "service", "motif", "lieu", "organisation", "semaine", "creneau"]


@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("step", STEPS)
def test_odd_values_never_break_a_page(client, world, step, param):
    for value in ODD:
        params = {"commune": NOISIEL, "motif": world["pesee"], "lieu": world["maison"], param: value}
        response = client.get(url(step), params)
        # A NUL character is refused with the whole request (rdv.middleware.RefuseNulMiddleware).
        expected = (400,) if "\x00" in value else (200, 302)
        assert response.status_code in expected, (step, param, value)


@pytest.mark.parametrize("step", STEPS)
def test_only_get(client, step):
    assert client.post(url(step)).status_code == 405
