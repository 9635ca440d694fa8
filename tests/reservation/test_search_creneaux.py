"""« Prendre rendez-vous », step 4: the free start times of a week, day by day, within the motif's
booking delays; each time leads to the next step with `creneau=`."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from motifs.models import Motif
from tests.agents.factories import AgentFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.reservation.search_helpers import (
    NOISIEL,
    PARIS,
    Level,
    attr,
    lieu,
    online_motif,
    plage,
    sector,
    sign_in_usager,
    url,
)
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.usefixtures("communes", "frozen")]
D = Motif.BookingDelay


@pytest.fixture
def maison(noisiel):
    return lieu(noisiel, "Maison des solidarités", "5 cours des Deux Parcs, 77186 Noisiel")


@pytest.fixture
def pesee(noisiel, maison):
    """Tuesdays and Thursdays from 9:00 to 10:30 (three 30-minute slots), up to three weeks ahead."""
    motif = online_motif(noisiel, "Pesée", min_booking_delay=D.ONE_DAY, max_booking_delay=D.THREE_WEEKS)
    plage(motif, maison, end=10, weekdays=(1, 3))
    return motif


def key(motif: Motif) -> str:
    return f"{motif.category_id}-{motif.location_type}"


def page(client, motif, **params):
    return client.get(url("creneaux", commune=NOISIEL, motif=key(motif), **params))


def days(response) -> list[tuple[str, list[str]]]:
    return [
        (text(find(day, "h3")), [text(find(link, "a")).split(" le ")[0] for link in find_all(day, "li")])
        for day in find_all(dom(response), "section", class_="rdv-day")
    ]


def week_links(response) -> dict[str, str]:
    nav = find_all(dom(response), "nav", class_="rdv-weeks")[0]  # the same links above and below the days
    return {text(link): attr(link, "href") for link in find_all(nav, "a")}


def test_a_week_day_by_day(client, pesee, maison, django_assert_num_queries):
    # Commune, catalogue version, territory, motifs, lieu; the engine: plages, exceptions,
    # absences, RDVs.
    with django_assert_num_queries(9):
        response = page(client, pesee, lieu=maison.pk, semaine="2030-03-04")
    with django_assert_num_queries(6):  # the commune, route and motifs kept (reservation.catalogue)
        page(client, pesee, lieu=maison.pk, semaine="2030-03-04")
    assertContains(response, '<h1 class="fr-h3">Choisissez un horaire</h1>', html=True)
    assertContains(response, '<h2 class="fr-h5 fr-mb-2w" id="semaine">Du lundi 4 au dimanche 10 mars</h2>', html=True)
    assert days(response) == [("Mardi 5 mars", ["9h00", "9h30"]), ("Jeudi 7 mars", ["9h00", "9h30"])]
    recap = [text(item) for item in find_all(find(dom(response), "ul", class_="rdv-recap"), "li")]
    assert recap == [
        "Vous habitez Noisiel (77186)",
        "Pesée · sur place",
        "Maison des solidarités, 5 cours des Deux Parcs, 77186 Noisiel",
    ]
    assert response.context["back_url"] == url("lieux", commune=NOISIEL, motif=key(pesee))


def test_each_time_leads_to_the_identity_then_the_informations(client, pesee, maison):
    response = page(client, pesee, lieu=maison.pk, semaine="2030-03-04")
    first = find_all(dom(response), "section", class_="rdv-day")[0]
    link = find_all(first, "a")[0]
    assert text(link) == "9h00 le mardi 5 mars"
    informations = url(
        "informations",
        commune=NOISIEL,
        motif=key(pesee),
        lieu=maison.pk,
        semaine="2030-03-04",
        creneau="2030-03-05T09:00",
    )
    week = url("creneaux", commune=NOISIEL, motif=key(pesee), lieu=maison.pk, semaine="2030-03-04")
    assert attr(link, "href") == reverse("reservation:identity", query={"next": informations, "retour": week})


def test_an_identified_usager_goes_straight_to_its_informations(client, noisiel, pesee, maison):
    sign_in_usager(client, UsagerFactory(organisation=noisiel))
    response = page(client, pesee, lieu=maison.pk, semaine="2030-03-04")
    link = find_all(find_all(dom(response), "section", class_="rdv-day")[0], "a")[0]
    assert attr(link, "href") == url(
        "informations",
        commune=NOISIEL,
        motif=key(pesee),
        lieu=maison.pk,
        semaine="2030-03-04",
        creneau="2030-03-05T09:00",
    )


def test_a_follow_up_offers_only_the_referents_times(client, noisiel, maison):
    suivi = online_motif(noisiel, "Suivi social", follow_up=True)
    referent = plage(suivi, maison, weekdays=(3,), end=10).agent
    plage(suivi, maison, weekdays=(1,), end=10)
    sign_in_usager(client, UsagerFactory(organisation=noisiel, referents=[referent]))
    response = page(client, suivi, lieu=maison.pk, semaine="2030-03-04")
    assert days(response) == [("Jeudi 7 mars", ["9h00", "9h30"])]


def test_one_time_per_start_whatever_agent_is_free(client, noisiel, pesee, maison):
    colleague = plage(pesee, maison, end=10, weekdays=(1,))
    RdvFactory(
        organisation=noisiel,
        motif=pesee,
        agents=[colleague.agent],
        starts_at=dt.datetime(2030, 3, 5, 9, 30, tzinfo=PARIS),
        lieu=maison,
    )
    response = page(client, pesee, lieu=maison.pk, semaine="2030-03-04")
    assert days(response)[0] == ("Mardi 5 mars", ["9h00", "9h30"])


def test_the_minimum_delay_and_the_chosen_time(client, pesee, maison):
    with time_machine.travel(dt.datetime(2030, 3, 4, 9, 15, tzinfo=PARIS), tick=False):
        response = page(client, pesee, lieu=maison.pk, creneau="2030-03-07T09:30")
    # One day ahead at least: Tuesday 9:00 is too soon.
    assert days(response) == [("Mardi 5 mars", ["9h30"]), ("Jeudi 7 mars", ["9h00", "9h30"])]
    chosen = find(dom(response), "a", aria_current="true")
    assert text(chosen) == "9h30 le jeudi 7 mars"


def test_weeks_are_bounded_by_the_booking_delays(client, pesee, maison):
    first = page(client, pesee, lieu=maison.pk)
    assert week_title(first) == "Du lundi 4 au dimanche 10 mars"
    assert week_links(first) == {
        "Semaine suivante": url("creneaux", commune=NOISIEL, motif=key(pesee), lieu=maison.pk, semaine="2030-03-11")
    }
    last = page(client, pesee, lieu=maison.pk, semaine="2030-03-25")  # now + 3 weeks: Monday 25 March
    assert week_title(last) == "Du lundi 25 au dimanche 31 mars"
    assert days(last) == []  # the maximum delay ends on Monday at 8:00
    assert list(week_links(last)) == ["Semaine précédente"]
    middle = page(client, pesee, lieu=maison.pk, semaine="2030-03-13")  # a Wednesday: its week
    assert week_title(middle) == "Du lundi 11 au dimanche 17 mars"
    assert list(week_links(middle)) == ["Semaine précédente", "Semaine suivante"]


def week_title(response) -> str:
    return text(find(dom(response), "h2", id="semaine"))


@pytest.mark.parametrize("semaine", ["2029-01-07", "2031-12-29", "9999-12-27", "0001-01-01"])
def test_far_weeks_are_brought_back_within_the_delays(client, pesee, maison, semaine):
    response = page(client, pesee, lieu=maison.pk, semaine=semaine)
    assert response.status_code == 200
    expected = "Du lundi 4 au dimanche 10 mars" if semaine < "2030" else "Du lundi 25 au dimanche 31 mars"
    assert week_title(response) == expected


def test_an_empty_week_links_to_the_next_availability(client, pesee, maison, noisiel):
    later = online_motif(noisiel, "Vaccination", max_booking_delay=D.THREE_MONTHS)
    plage(later, maison, first_day=dt.date(2030, 3, 25), weekdays=(2,), start=14, end=15)
    response = page(client, later, lieu=maison.pk, semaine="2030-03-04")
    assertContains(response, "Aucun horaire n'est disponible cette semaine.")
    link = find(dom(response), "a", class_="fr-mt-2w")
    assert text(link) == "Prochaine disponibilité le mercredi 27 mars à 14h00"
    assert attr(link, "href") == url(
        "creneaux", commune=NOISIEL, motif=key(later), lieu=maison.pk, semaine="2030-03-25"
    )
    assertNotContains(response, "rdv-contact")


def test_nothing_left_gives_the_organisation_contact(client, pesee, maison):
    response = page(client, pesee, lieu=maison.pk, semaine="2030-03-25")
    assert days(response) == []
    assertContains(response, "Aucun horaire n'est disponible en ligne après cette semaine.")
    assert [text(find(section, "h2")) for section in find_all(dom(response), "section", class_="rdv-contact")] == [
        "MDS de Noisiel"
    ]


def test_by_phone_the_organisation_times(client, noisiel):
    by_phone = online_motif(noisiel, "Consultation prénatale", Motif.LocationType.PHONE)
    plage(by_phone, None, weekdays=(4,), end=10)
    plage(by_phone, lieu(noisiel, "Bureau"), weekdays=(4,), end=10)  # same times from another lieu: once
    response = page(client, by_phone, organisation=noisiel.pk, semaine="2030-03-04")
    assert days(response) == [("Vendredi 8 mars", ["9h00", "9h30"])]
    recap = [text(item) for item in find_all(find(dom(response), "ul", class_="rdv-recap"), "li")]
    assert recap == ["Vous habitez Noisiel (77186)", "Consultation prénatale · par téléphone", "MDS de Noisiel"]


def test_agent_sectorisation_counts_only_the_routed_agents(client, territory, noisiel, maison):
    entretien = online_motif(noisiel, "Entretien prénatal précoce", sectorisation_level=Level.AGENT)
    routed = AgentFactory(organisation=noisiel, services=["PMI"])
    plage(entretien, maison, agent=routed, weekdays=(3,), end=10)
    plage(entretien, maison, weekdays=(1,), end=10)
    sector(territory, "Val Maubuée", [NOISIEL], noisiel, agents=[routed])
    response = page(client, entretien, lieu=maison.pk, semaine="2030-03-04")
    assert days(response) == [("Jeudi 7 mars", ["9h00", "9h30"])]
