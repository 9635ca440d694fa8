"""« Prendre rendez-vous », step 3: the lieux (sur place) or the organisations (by phone, at home)
that have a free slot, soonest first, each with its next availability."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.asserts import assertContains

from motifs.models import Motif
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.reservation.search_helpers import (
    MONDAY,
    NOISIEL,
    PARIS,
    Level,
    attr,
    lieu,
    online_motif,
    organisation,
    plage,
    sector,
    url,
)

pytestmark = [pytest.mark.usefixtures("communes", "frozen")]
TUESDAY, THURSDAY = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=3)


def key(motif: Motif) -> str:
    return f"{motif.category_id}-{motif.location_type}"


def cards(response) -> list[tuple[str, ...]]:
    """Each card's title, then its texts (address, organisation, next availability)."""
    return [
        (text(find(card, "h2")), *[text(p) for p in find_all(card, "p")])
        for card in find_all(dom(response), "div", class_="fr-card")
    ]


def booked(agent, day: dt.date, start: int, end: int, motif: Motif) -> None:
    """The agent's plage filled with RDVs from `start` to `end` o'clock."""
    hour = dt.datetime.combine(day, dt.time(start), tzinfo=PARIS)
    while hour < dt.datetime.combine(day, dt.time(end), tzinfo=PARIS):
        RdvFactory(organisation=motif.organisation, motif=motif, agents=[agent], starts_at=hour, lieu=None)
        hour += dt.timedelta(minutes=30)


def test_lieux_with_their_next_availability_soonest_first(client, noisiel):
    pesee = online_motif(noisiel, "Pesée")
    maison = lieu(noisiel, "Maison des solidarités", "5 cours des Deux Parcs, 77186 Noisiel")
    annexe = lieu(noisiel, "Annexe du Luzard", "2 allée du Luzard, 77186 Noisiel")
    full = plage(pesee, maison, weekdays=(1,))  # Tuesday, full, then Thursday
    plage(pesee, maison, weekdays=(3,), agent=full.agent, start=14, end=16)
    booked(full.agent, TUESDAY, 9, 12, pesee)
    plage(pesee, annexe, weekdays=(2,), start=10)  # Wednesday 10:00
    plage(pesee, lieu(noisiel, "Salle sans créneau"), weekdays=(1,), first_day=dt.date(2031, 1, 1))
    plage(pesee, lieu(noisiel, "Lieu fermé", is_active=False), weekdays=(1,))
    response = client.get(url("lieux", commune=NOISIEL, motif=key(pesee)))
    assertContains(response, '<h1 class="fr-h3">Où souhaitez-vous être reçu ?</h1>', html=True)
    assert cards(response) == [
        (
            "Annexe du Luzard",
            "2 allée du Luzard, 77186 Noisiel",
            "Prochaine disponibilité le mercredi 6 mars à 10h00",
        ),
        (
            "Maison des solidarités",
            "5 cours des Deux Parcs, 77186 Noisiel",
            "Prochaine disponibilité le jeudi 7 mars à 14h00",
        ),
    ]
    links = [attr(find(card, "a"), "href") for card in find_all(dom(response), "div", class_="fr-card")]
    assert links == [
        url("creneaux", commune=NOISIEL, motif=key(pesee), lieu=annexe.pk, semaine="2030-03-04"),
        url("creneaux", commune=NOISIEL, motif=key(pesee), lieu=maison.pk, semaine="2030-03-04"),
    ]
    assert response.context["back_url"] == url("motifs", commune=NOISIEL)


def test_a_later_year_is_written(client, noisiel):
    pesee = online_motif(noisiel, "Pesée", max_booking_delay=Motif.BookingDelay.ONE_YEAR)
    plage(pesee, lieu(noisiel, "Maison"), first_day=dt.date(2031, 1, 6), weekdays=(0,))
    assert cards(client.get(url("lieux", commune=NOISIEL, motif=key(pesee))))[0][-1] == (
        "Prochaine disponibilité le lundi 6 janvier 2031 à 9h00"
    )


def test_a_merged_card_lists_the_lieux_of_every_organisation_with_its_name(client, noisiel, chelles):
    prenatal = online_motif(noisiel, "Consultation prénatale")
    plage(prenatal, lieu(noisiel, "MDS de Noisiel", "5 cours des Deux Parcs"), weekdays=(3,))
    at_chelles = MotifFactory(organisation=chelles, category=prenatal.category, online=True)
    plage(at_chelles, lieu(chelles, "MDS de Chelles", "1 avenue de la Résistance"), weekdays=(1,))
    response = client.get(url("lieux", commune=NOISIEL, motif=key(prenatal)))
    assert cards(response) == [
        (
            "MDS de Chelles",
            "1 avenue de la Résistance",
            "MDS de Chelles",
            "Prochaine disponibilité le mardi 5 mars à 9h00",
        ),
        (
            "MDS de Noisiel",
            "5 cours des Deux Parcs",
            "MDS de Noisiel",
            "Prochaine disponibilité le jeudi 7 mars à 9h00",
        ),
    ]


def test_by_phone_the_organisations(client, noisiel, chelles):
    by_phone = online_motif(noisiel, "Consultation prénatale", Motif.LocationType.PHONE)
    plage(by_phone, None, weekdays=(4,))
    plage(MotifFactory(organisation=chelles, category=by_phone.category, online=True, phone=True), None, weekdays=(2,))
    response = client.get(url("lieux", commune=NOISIEL, motif=key(by_phone)))
    assertContains(response, '<h1 class="fr-h3">Avec quel service ?</h1>', html=True)
    assert cards(response) == [
        ("MDS de Chelles", "Prochaine disponibilité le mercredi 6 mars à 9h00"),
        ("MDS de Noisiel", "Prochaine disponibilité le vendredi 8 mars à 9h00"),
    ]
    link = attr(find(find_all(dom(response), "div", class_="fr-card")[0], "a"), "href")
    assert link == url("creneaux", commune=NOISIEL, motif=key(by_phone), organisation=chelles.pk, semaine="2030-03-04")


def test_agent_sectorisation_counts_only_the_routed_agents(client, territory, noisiel):
    entretien = online_motif(noisiel, "Entretien prénatal précoce", sectorisation_level=Level.AGENT)
    routed = AgentFactory(organisation=noisiel, services=["PMI"])
    plage(entretien, lieu(noisiel, "Lieu de l'agente du secteur"), agent=routed, weekdays=(3,))
    plage(entretien, lieu(noisiel, "Lieu d'un autre agent"), weekdays=(1,))
    sector(territory, "Val Maubuée", [NOISIEL], noisiel, agents=[routed])
    response = client.get(url("lieux", commune=NOISIEL, motif=key(entretien)))
    assert [card[0] for card in cards(response)] == ["Lieu de l'agente du secteur"]


def test_no_lieu_with_a_free_slot_gives_the_organisations_contacts(client, territory, noisiel, chelles):
    pesee = online_motif(noisiel, "Pesée", max_booking_delay=Motif.BookingDelay.ONE_MONTH)
    plage(pesee, lieu(noisiel, "Maison"), first_day=dt.date(2030, 6, 3))  # beyond the month
    response = client.get(url("lieux", commune=NOISIEL, motif=key(pesee)))
    assert response.status_code == 200
    assertContains(
        response, '<h1 class="fr-h3">Aucun créneau n\'est disponible en ligne pour le moment</h1>', html=True
    )
    assert [text(find(section, "h2")) for section in find_all(dom(response), "section", class_="rdv-contact")] == [
        "MDS de Noisiel"
    ]
    assert attr(find(dom(response), "a", class_="fr-btn--secondary"), "href") == url("motifs", commune=NOISIEL)


def same_motif(territory, count: int, location_type: str = Motif.LocationType.PUBLIC_OFFICE) -> list[Motif]:
    """One card: the same motif (category and type) offered online by `count` organisations."""
    first = online_motif(organisation(territory, "MDS n°0"), "Consultation prénatale", location_type)
    return [first] + [
        MotifFactory(
            organisation=organisation(territory, f"MDS n°{index}"),
            category=first.category,
            location_type=location_type,
            online=True,
        )
        for index in range(1, count)
    ]


@pytest.mark.parametrize("lieux_each", [1, 5])
@pytest.mark.parametrize("organisations", [2, 10])
def test_queries_do_not_depend_on_the_number_of_organisations_or_lieux(client, territory, organisations, lieux_each):
    """2 or 10 organisations offering the card, 1 or 5 lieux each (2, 10 or 50 lieux): the same
    queries."""
    motifs = same_motif(territory, organisations)
    for index, motif in enumerate(motifs):
        for number in range(lieux_each):
            plage(motif, lieu(motif.organisation, f"Lieu {index}-{number}"), weekdays=((index + number) % 5,))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("lieux", commune=NOISIEL, motif=key(motifs[0])))
    assert len(cards(response)) == organisations * lieux_each
    # Commune, catalogue version, territory, motifs; for all the motifs of the card at once: plages, their
    # exceptions, absences, one week of RDVs; the lieux.
    assert len(queries) == 4 + 3 + 1 + 1


@pytest.mark.parametrize("organisations", [2, 10])
def test_by_phone_queries_do_not_depend_on_the_number_of_organisations(client, territory, organisations):
    motifs = same_motif(territory, organisations, Motif.LocationType.PHONE)
    for index, motif in enumerate(motifs):
        plage(motif, None, weekdays=(index % 5,))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("lieux", commune=NOISIEL, motif=key(motifs[0])))
    assert len(cards(response)) == organisations
    # Commune, catalogue version, territory, motifs; for all the motifs of the card at once: plages, their
    # exceptions, absences, one week of RDVs.
    assert len(queries) == 4 + 3 + 1
