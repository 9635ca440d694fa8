"""« Réservation en ligne » on the agents' side, and the organisation's public link."""

import pytest
import time_machine
from pytest_django.asserts import assertContains, assertNotContains

from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.reservation.search_helpers import NOW, lieu, online_motif, organisation, plage, seine_et_marne

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def mds():
    mds = organisation(seine_et_marne(), "MDS de Noisiel", phone="01 64 62 45 00")
    plage(online_motif(mds, "Consultation de puériculture"), lieu(mds, "MDS de Noisiel"))  # Tue and Thu 9-12
    online_motif(mds, "Consultation prénatale")  # online, but in no plage
    MotifFactory(organisation=mds, category__name="Pesée")  # not online
    return mds


def page_url(mds) -> str:
    return f"/organisations/{mds.pk}/parametres/reservation-en-ligne/"


def test_admins_see_each_motif_its_free_creneaux_and_the_public_link(client, mds, django_assert_num_queries):
    client.force_login(AgentFactory(organisation=mds, admin=True, services=["PMI"]))
    # Session, membership, motifs; per online motif, the engine's calendar (5 at most); menu and
    # its « À renseigner » badge.
    with django_assert_num_queries(10):
        response = client.get(page_url(mds))
    assertContains(response, '<h2 class="fr-h4">Motifs (2 ouverts en ligne)</h2>', html=True)
    # 4 weeks of Tuesdays and Thursdays from 9:00 to 12:00 in 30-minute créneaux.
    rows = {row["motif"].name: row["free"] for row in response.context["rows"]}
    assert rows == {"Consultation de puériculture": 48, "Consultation prénatale": 0, "Pesée": None}
    assertContains(response, "Ajoutez ce motif à une plage d'ouverture.")
    assertContains(response, f'value="http://testserver/org/{mds.pk}-mds-de-noisiel/"')
    assertContains(response, "Téléphone : 01 64 62 45 00")


def test_other_agents_get_404(client, mds):
    client.force_login(AgentFactory(organisation=mds, services=["PMI"]))
    assert client.get(page_url(mds)).status_code == 404
    client.force_login(AgentFactory(organisation=MotifFactory().organisation, admin=True))
    assert client.get(page_url(mds)).status_code == 404


def test_the_public_link_starts_the_booking_limited_to_the_organisation(client, mds):
    response = client.get(f"/org/{mds.pk}-un-ancien-nom/")
    assert response.status_code == 302
    assert response["Location"] == f"/?org={mds.pk}"
    assert client.get("/org/999999-inconnue/").status_code == 404
    home = client.get(response["Location"])
    assertContains(home, f'<input type="hidden" name="org" value="{mds.pk}">', html=True)
    assertNotContains(home, "Erreur")
