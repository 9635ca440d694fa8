"""reservation.catalogue: the route and the motifs offered to an address are kept in memory while
the database's catalogue version has not changed, and never once it has."""

import datetime as dt
from dataclasses import replace

import pytest
from django.db import connection, transaction
from django.utils import timezone

from agents.models import Agent, AgentRole
from motifs.models import Motif, MotifCategory
from organisations.models import Lieu, Organisation, Service, Territory
from planning.creneaux import available_slots
from planning.models import PlageOuverture, PlageOuvertureException
from reservation import catalogue
from reservation.choice import Choice
from reservation.selection import resolve
from sectorisation.communes import resolve_commune
from sectorisation.models import Commune, FormerCommune, Sector, SectorArea, SectorAttribution
from tests.agents.factories import AgentFactory
from tests.reservation.search_helpers import (
    NOISIEL,
    THU,
    TUE,
    TUESDAY,
    Level,
    lieu,
    online_motif,
    plage,
    sector,
    sign_in_usager,
    url,
)
from tests.reservation.test_search import card_titles, offered
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.usefixtures("communes", "frozen")]


def ask(usager=None):
    return catalogue.offer(resolve_commune(NOISIEL), "", usager=usager, today=timezone.localdate())


def names(offer) -> list[str]:
    return [motif.name for motif in offer.motifs]


# What offered_motifs and route read, what the pages show of it, the communes they resolve, and
# the plages' exceptions (the agents who could take a créneau).
READ = [
    Territory,
    Organisation,
    Service,
    Lieu,
    Motif,
    MotifCategory,
    PlageOuverture,
    PlageOuverture.motifs.through,
    PlageOuvertureException,
    Sector,
    SectorArea,
    SectorAttribution,
    AgentRole,
    Agent,
    Commune,
    FormerCommune,
]


def triggered_tables() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE tgname LIKE 'reservation_catalogue%'"
        )
        return {row[0] for row in cursor.fetchall()}


def test_every_table_the_offer_reads_has_the_trigger(db):
    assert triggered_tables() == {model._meta.db_table for model in READ}


@pytest.mark.parametrize("model", READ, ids=lambda model: model._meta.db_table)
def test_every_write_to_a_table_the_offer_reads_changes_the_version(db, model):
    before = catalogue.version()
    column = "is_active" if model is Agent else model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {model._meta.db_table} SET {column} = {column} WHERE false")
    assert catalogue.version() > before


def test_an_agent_signing_in_leaves_the_version_but_not_its_deactivation(db):
    agent = AgentFactory()
    before = catalogue.version()
    Agent.objects.filter(pk=agent.pk).update(last_login=timezone.now())
    assert catalogue.version() == before
    Agent.objects.filter(pk=agent.pk).update(is_active=False)
    assert catalogue.version() > before


def test_the_same_answer_is_kept_while_nothing_changes(noisiel, django_assert_num_queries):
    offered(online_motif(noisiel, "Pesée"))
    commune, today = resolve_commune(NOISIEL), timezone.localdate()
    first = catalogue.offer(commune, "", usager=None, today=today)
    with django_assert_num_queries(1):  # the version only
        again = catalogue.offer(commune, "", usager=None, today=today)
    assert again.motifs is first.motifs and again.route is first.route


def test_a_change_is_seen_at_once(noisiel, territory):
    pesee = offered(online_motif(noisiel, "Pesée"))
    assert names(ask()) == [pesee.name]

    Motif.objects.filter(pk=pesee.pk).update(bookable_online=False)  # a queryset update: no signal
    assert names(ask()) == []

    Motif.objects.filter(pk=pesee.pk).update(bookable_online=True)
    assert names(ask()) == [pesee.name]

    PlageOuverture.objects.filter(motifs=pesee).delete()
    assert names(ask()) == []

    plage(pesee, lieu(noisiel, "Maison des solidarités"))
    assert names(ask()) == [pesee.name]

    # A sector that sends Noisiel elsewhere: an organisation-level motif is no longer offered.
    Motif.objects.filter(pk=pesee.pk).update(sectorisation_level=Level.ORGANISATION)
    other = Organisation.objects.create(territory=territory, name="MDS de Meaux")
    sector(territory, "Val Maubuée", [NOISIEL], other)
    assert names(ask()) == []


def test_an_answer_computed_in_a_transaction_that_rolled_back_is_never_read(noisiel):
    pesee = offered(online_motif(noisiel, "Pesée"))
    assert names(ask()) == [pesee.name]
    with pytest.raises(RuntimeError), transaction.atomic():
        Motif.objects.filter(pk=pesee.pk).update(bookable_online=False)
        assert names(ask()) == []  # kept under a version nobody else will see
        raise RuntimeError
    assert names(ask()) == [pesee.name]
    # The next change takes a new version, not the one the rolled-back transaction used.
    Motif.objects.filter(pk=pesee.pk).update(name="Pesée du nourrisson")
    assert names(ask()) == ["Pesée du nourrisson"]


def test_follow_up_motifs_are_decided_for_each_usager_from_the_kept_answer(client, noisiel):
    offered(online_motif(noisiel, "Pesée"))
    offered(online_motif(noisiel, "Suivi social", follow_up=True))
    followed = UsagerFactory(organisation=noisiel, referents=[AgentFactory(organisation=noisiel)])
    assert names(ask()) == ["Pesée"]
    assert names(ask(followed)) == ["Pesée", "Suivi social"]
    assert names(ask(UsagerFactory(organisation=noisiel))) == ["Pesée"]
    # Through the pages: the same kept answer, a different card list per usager.
    sign_in_usager(client, followed)
    assert len(card_titles(client.get(url("motifs", commune=NOISIEL)))) == 2
    sign_in_usager(client, UsagerFactory(organisation=noisiel))
    assert len(card_titles(client.get(url("motifs", commune=NOISIEL)))) == 1


def test_memory_is_bounded(noisiel, monkeypatch):
    monkeypatch.setattr(catalogue, "MAX_ENTRIES", 3)
    catalogue.forget()
    for code in ("77337", "77468", "77083", "77258"):
        catalogue.offer(resolve_commune(code), "", usager=None, today=timezone.localdate())
    assert len(catalogue._kept) == 3


def creneau_at(motif: Motif, lieu: Lieu) -> Choice:
    """The answers of the wizard up to a créneau of `motif` at `lieu`, in Noisiel."""
    return Choice(
        commune=NOISIEL,
        motif=f"{motif.category_id}-{motif.location_type}",
        lieu=lieu.pk,
        creneau=dt.datetime.fromisoformat("2030-03-05T09:30"),  # wall-clock time, as the query gives it
    )


def test_the_lieu_and_motif_of_a_creneau_are_kept_and_a_change_seen_at_once(noisiel, django_assert_num_queries):
    pesee = offered(online_motif(noisiel, "Pesée"))
    maison = Lieu.objects.get(organisation=noisiel)
    chosen = creneau_at(pesee, maison)
    first = resolve(chosen)
    assert first is not None and first.motif == pesee and first.lieu == maison
    with django_assert_num_queries(1):  # the version
        again = resolve(chosen)
    assert again is not None and again.motif is first.motif and again.lieu is first.lieu

    Lieu.objects.filter(pk=maison.pk).update(is_active=False)  # a queryset update: no signal
    assert resolve(chosen) is None
    Lieu.objects.filter(pk=maison.pk).update(is_active=True)
    Motif.objects.filter(pk=pesee.pk).update(bookable_online=False)
    assert resolve(chosen) is None
    Motif.objects.filter(pk=pesee.pk).update(bookable_online=True)
    assert resolve(chosen).motif == pesee


def test_the_agents_who_could_take_a_creneau_are_kept_and_a_new_plage_seen_at_once(noisiel, django_assert_num_queries):
    pesee = offered(online_motif(noisiel, "Pesée"))
    maison = Lieu.objects.get(organisation=noisiel)
    chosen = creneau_at(pesee, maison)
    first = resolve(chosen).possible_agents()
    at_maison = PlageOuverture.objects.filter(motifs=pesee, lieu=maison)
    assert first
    assert first == set(at_maison.values_list("agent_id", flat=True))
    selection = resolve(chosen)
    with django_assert_num_queries(0):
        assert selection.possible_agents() == first
    # Another agent's plage for the motif elsewhere: not one of them; at the same lieu: at once.
    plage(pesee, lieu(noisiel, "Antenne du Luzard"))
    assert resolve(chosen).possible_agents() == first
    other = plage(pesee, maison)
    assert resolve(chosen).possible_agents() == first | {other.agent_id}


def test_the_agents_who_could_take_a_creneau_are_those_whose_plage_covers_it_that_day(noisiel):
    """Tuesday 5 March 2030, 9:30 to 10:00: a plage of the lieu on other days, or ending before
    the créneau ends, does not make its agent one of them, one ending exactly at its end does; an
    exception that moves another day's occurrence there adds its agent at once, one that cancels
    that day's occurrence takes it away."""
    pesee = offered(online_motif(noisiel, "Pesée"))  # 30 minutes
    maison = Lieu.objects.get(organisation=noisiel)
    chosen = creneau_at(pesee, maison)
    covering = set(resolve(chosen).possible_agents())
    assert covering
    thursdays = plage(pesee, maison, weekdays=(THU,))
    ends_early = plage(pesee, maison, weekdays=(TUE,), start=9, end=10)
    PlageOuverture.objects.filter(pk=ends_early.pk).update(end_time=dt.time(9, 45))
    exactly = plage(pesee, maison, weekdays=(TUE,), start=9, end=10)
    assert resolve(chosen).possible_agents() == covering | {exactly.agent_id}
    PlageOuvertureException.objects.create(
        plage=thursdays,
        original_date=dt.date(2030, 3, 7),
        starts_at=dt.datetime(2030, 3, 5, 9, tzinfo=noisiel.tzinfo),
        ends_at=dt.datetime(2030, 3, 5, 11, tzinfo=noisiel.tzinfo),
    )
    assert resolve(chosen).possible_agents() == covering | {exactly.agent_id, thursdays.agent_id}
    for cancelled in PlageOuverture.objects.filter(lieu=maison, motifs=pesee).exclude(pk=thursdays.pk):
        PlageOuvertureException.objects.create(plage=cancelled, original_date=dt.date(2030, 3, 5))
    assert resolve(chosen).possible_agents() == {thursdays.agent_id}


@pytest.mark.parametrize(
    "day",
    [TUESDAY, dt.date(2030, 3, 31), dt.date(2030, 10, 27)],
    ids=["a Tuesday", "clocks go forward", "clocks go back"],
)
def test_every_agent_the_engine_finds_free_is_one_who_could_take_the_creneau(noisiel, day):
    """What makes a créneau « pris » in one query must never refuse one the engine offers: for
    every slot of a day, its agent is among `possible_agents` of that very instant, on the nights
    clocks change too (a 60-minute motif from 0:30 to 3:00, then 2:00 to 3:00 twice)."""
    motif = offered(online_motif(noisiel, "Entretien", default_duration_in_min=60))
    maison = Lieu.objects.get(organisation=noisiel)
    plage(motif, maison, weekdays=(day.weekday(),), start=0, end=3)
    PlageOuverture.objects.filter(motifs=motif).update(start_time=dt.time(0, 30))
    tz = noisiel.tzinfo
    slots = available_slots(
        motif=motif,
        start=dt.datetime.combine(day, dt.time(), tzinfo=tz),
        end=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz),
        lieux=[maison.pk],
    )
    selection = resolve(creneau_at(motif, maison))
    assert slots
    assert all(slot.agent_id in replace(selection, start=slot.start).possible_agents() for slot in slots)


def test_the_commune_answered_is_kept_and_a_change_seen_at_once(noisiel, django_assert_num_queries):
    current = catalogue.version()
    first = catalogue.commune(NOISIEL, current=current)
    assert first is not None
    assert first.name == "Noisiel"
    with django_assert_num_queries(0):
        assert catalogue.commune(NOISIEL, current=current) is first
    Commune.objects.filter(pk=NOISIEL).update(name="Noisiel-sur-Marne")  # a queryset update: no signal
    assert catalogue.version() > current
    assert catalogue.commune(NOISIEL, current=catalogue.version()).name == "Noisiel-sur-Marne"
    assert catalogue.commune("99999", current=catalogue.version()) is None
