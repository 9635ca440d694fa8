import datetime as dt
import zoneinfo
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from planning.calendar_views import NEW_FEED_SESSION_KEY
from planning.ics import agent_calendar
from planning.models import CalendarFeed
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureExceptionFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
TODAY = dt.date(2030, 3, 1)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def test_plages_and_absences_are_exported_as_rrules_with_exdates_and_moved_occurrences(db):
    organisation = OrganisationFactory(name="MDS de Noisiel")
    agent = AgentFactory(organisation=organisation, first_name="Hélène", last_name="Martin")
    plage = PlageOuvertureFactory(
        organisation=organisation,
        agent=agent,
        title="Consultation de PMI",
        weekly=True,
        weekdays=(0, 3),
        interval=2,
        first_day=dt.date(2030, 3, 4),
        until=dt.date(2030, 6, 30),
    )
    PlageOuvertureExceptionFactory(plage=plage, original_date=dt.date(2030, 3, 7))
    PlageOuvertureExceptionFactory(
        plage=plage,
        original_date=dt.date(2030, 3, 18),
        starts_at=dt.datetime(2030, 3, 19, 14, tzinfo=PARIS),
        ends_at=dt.datetime(2030, 3, 19, 17, tzinfo=PARIS),
    )
    monthly = PlageOuvertureFactory(
        organisation=organisation,
        agent=agent,
        title="Permanence",
        monthly=True,
        nth=2,
        weekdays=(1,),
        first_day=dt.date(2030, 3, 1),
        start_time=dt.time(14),
        end_time=dt.time(17),
    )
    absence = AbsenceFactory(
        organisation=organisation, agent=agent, title="Formation", first_day=dt.date(2030, 4, 1), days=3
    )
    PlageOuvertureFactory(organisation=organisation, title="Plage d'un collègue")
    PlageOuvertureFactory(
        organisation=organisation,
        agent=agent,
        title="Finie",
        weekly=True,
        first_day=dt.date(2020, 1, 6),
        until=dt.date(2020, 12, 31),
    )

    calendar = Calendar.from_ical(agent_calendar(agent, today=TODAY))

    assert calendar["version"] == "2.0"
    assert "Hélène Martin" in str(calendar["x-wr-calname"])
    [timezone] = calendar.walk("VTIMEZONE")
    assert timezone["tzid"] == "Europe/Paris"
    by_uid: dict[str, list] = {}
    for event in events(calendar):
        by_uid.setdefault(str(event["uid"]), []).append(event)
    assert set(by_uid) == {
        f"plage-{plage.pk}@rdv-solidarites",
        f"plage-{monthly.pk}@rdv-solidarites",
        f"absence-{absence.pk}@rdv-solidarites",
    }

    master, moved = sorted(by_uid[f"plage-{plage.pk}@rdv-solidarites"], key=lambda e: "recurrence-id" in e)
    assert master["summary"] == "Consultation de PMI (MDS de Noisiel)"
    assert master["dtstart"].params["TZID"] == "Europe/Paris"
    assert master["dtstart"].dt == dt.datetime(2030, 3, 4, 9, tzinfo=PARIS)
    assert master["dtend"].dt == dt.datetime(2030, 3, 4, 12, tzinfo=PARIS)
    rrule = master["rrule"]
    assert rrule["FREQ"] == ["WEEKLY"]
    assert rrule["INTERVAL"] == [2]
    assert rrule["BYDAY"] == ["MO", "TH"]
    assert rrule["UNTIL"] == [dt.datetime(2030, 6, 30, 7, tzinfo=dt.UTC)]  # 9:00 Paris summer time
    exdates = [when.dt for exdate in _as_list(master["exdate"]) for when in exdate.dts]
    assert exdates == [dt.datetime(2030, 3, 7, 9, tzinfo=PARIS)]
    assert moved["recurrence-id"].dt == dt.datetime(2030, 3, 18, 9, tzinfo=PARIS)
    assert moved["dtstart"].dt == dt.datetime(2030, 3, 19, 14, tzinfo=PARIS)

    [permanence] = by_uid[f"plage-{monthly.pk}@rdv-solidarites"]
    assert permanence["rrule"]["FREQ"] == ["MONTHLY"]
    assert permanence["rrule"]["BYDAY"] == ["2TU"]
    # DTSTART is the first real occurrence, the second Tuesday of March, not the first day.
    assert permanence["dtstart"].dt == dt.datetime(2030, 3, 12, 14, tzinfo=PARIS)

    [formation] = by_uid[f"absence-{absence.pk}@rdv-solidarites"]
    assert "rrule" not in formation
    assert formation["dtstart"].dt == dt.datetime(2030, 4, 1, 14, tzinfo=PARIS)
    assert formation["dtend"].dt == dt.datetime(2030, 4, 3, 17, tzinfo=PARIS)
    assert formation["transp"] == "OPAQUE"


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_la_reunion_gets_its_own_time_zone(db):
    organisation = OrganisationFactory(territory=TerritoryFactory(reunion=True))
    plage = PlageOuvertureFactory(
        organisation=organisation, weekly=True, first_day=dt.date(2030, 3, 4), until=dt.date(2030, 3, 25)
    )
    calendar = Calendar.from_ical(agent_calendar(plage.agent, today=TODAY))
    assert [tz["tzid"] for tz in calendar.walk("VTIMEZONE")] == ["Indian/Reunion"]
    [event] = events(calendar)
    assert event["dtstart"].params["TZID"] == "Indian/Reunion"
    assert event["dtstart"].dt == dt.datetime(2030, 3, 4, 9, tzinfo=REUNION)
    assert event["rrule"]["UNTIL"] == [dt.datetime(2030, 3, 25, 5, tzinfo=dt.UTC)]


def test_the_feed_url_works_without_login_until_regenerated_or_revoked(client, organisation, basic_agent):
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, title="Consultation", weekly=True)
    client.force_login(basic_agent)
    feed_url = reverse("planning:calendar_feed", kwargs={"organisation_id": organisation.pk})
    list_url = reverse("planning:plage_list", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk})

    assert "Créer une adresse de calendrier" in client.get(list_url).content.decode()
    client.post(feed_url, {"action": "regenerate"})
    token = client.session[NEW_FEED_SESSION_KEY]
    assert CalendarFeed.objects.get(agent=basic_agent).token_hash != token  # only its hash is kept
    address = reverse("planning:calendar", kwargs={"token": token})
    page = client.get(list_url).content.decode()
    assert address in page
    assert "webcal://" in page
    assert address not in client.get(list_url).content.decode()  # shown once

    client.logout()
    response = client.get(address)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert [str(event["summary"]) for event in events(calendar)] == [f"Consultation ({organisation.name})"]

    client.force_login(basic_agent)
    client.post(feed_url, {"action": "regenerate"})
    new_token = client.session[NEW_FEED_SESSION_KEY]
    client.logout()
    assert client.get(address).status_code == 404
    assert client.get(reverse("planning:calendar", kwargs={"token": new_token})).status_code == 200

    client.force_login(basic_agent)
    client.post(feed_url, {"action": "revoke"})
    client.logout()
    assert client.get(reverse("planning:calendar", kwargs={"token": new_token})).status_code == 404
    assert not CalendarFeed.objects.exists()


def test_an_unknown_token_is_404(client, db):
    assert client.get(reverse("planning:calendar", kwargs={"token": "x" * 43})).status_code == 404


def test_the_feed_link_shows_on_ones_own_planning_only(client, organisation, admin_agent, basic_agent):
    client.force_login(admin_agent)
    other = reverse("planning:plage_list", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk})
    assert client.get(other).context["feed"] is None
    assert "adresse de calendrier" not in client.get(other).content.decode()


# --- RDVs -------------------------------------------------------------------------------------

NOW = dt.datetime(2030, 3, 1, 8, tzinfo=dt.UTC)


def rdv_events(calendar: Calendar) -> dict[str, Any]:
    return {str(event["uid"]): event for event in events(calendar) if str(event["uid"]).startswith("rdv-")}


def test_rdvs_are_exported_in_utc_with_their_motif_and_lieu_and_no_personal_data(db, settings):
    settings.SITE_URL = "https://rdv.example.fr"
    organisation = OrganisationFactory(name="MDS de Noisiel")
    agent = AgentFactory(organisation=organisation)
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel", address="5 rue de la Mairie, 77186 Noisiel")
    motif = MotifFactory(organisation=organisation, name="Consultation prénatale")
    usager = UsagerFactory(
        organisation=organisation, first_name="Zéphyrine", last_name="Quintaflou", phone="0612345678"
    )
    rdv = RdvFactory(
        organisation=organisation,
        motif=motif,
        lieu=lieu,
        agents=[agent],
        usagers=[usager],
        notes="Notes confidentielles",
        starts_at=dt.datetime(2030, 3, 4, 10, 30, tzinfo=PARIS),
        duration_in_min=45,
    )
    home = RdvFactory(
        organisation=organisation,
        motif=MotifFactory(organisation=organisation, name="Visite", home=True),
        lieu=None,
        address="12 impasse des Asphodèles, 77186 Noisiel",
        agents=[agent],
        usagers=[usager],
        starts_at=dt.datetime(2030, 3, 5, 14, tzinfo=PARIS),
    )
    # Left out: a colleague's RDV, one too old, one too far ahead, one where the agent has no role.
    RdvFactory(organisation=organisation, starts_at=dt.datetime(2030, 3, 4, 10, tzinfo=PARIS))
    RdvFactory(organisation=organisation, agents=[agent], starts_at=NOW - dt.timedelta(days=31))
    RdvFactory(organisation=organisation, agents=[agent], starts_at=NOW + dt.timedelta(days=367))
    RdvFactory(organisation=OrganisationFactory(), agents=[agent], starts_at=NOW + dt.timedelta(days=3))
    recent = RdvFactory(organisation=organisation, agents=[agent], starts_at=NOW - dt.timedelta(days=29), seen=True)

    raw = agent_calendar(agent, today=TODAY, now=NOW)
    found = rdv_events(Calendar.from_ical(raw))

    assert set(found) == {f"rdv-{item.pk}@rdv-solidarites" for item in (rdv, home, recent)}
    event = found[f"rdv-{rdv.pk}@rdv-solidarites"]
    assert str(event["summary"]) == "RDV – Consultation prénatale"
    assert event["dtstart"].dt == dt.datetime(2030, 3, 4, 9, 30, tzinfo=dt.UTC)
    assert b"DTSTART:20300304T093000Z" in raw
    assert event["dtend"].dt == dt.datetime(2030, 3, 4, 10, 15, tzinfo=dt.UTC)
    assert str(event["location"]) == "MDS de Noisiel, 5 rue de la Mairie, 77186 Noisiel"
    link = "https://rdv.example.fr" + reverse(
        "rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk}
    )
    assert link in str(event["description"])
    assert str(event["url"]) == link
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["transp"]) == "OPAQUE"
    assert event["last-modified"].dt == rdv.updated_at.replace(microsecond=0)
    assert str(found[f"rdv-{home.pk}@rdv-solidarites"]["location"]) == "À domicile"
    # The feed leaves our system: no usager's name, phone or address, no notes. (Names no factory
    # draws: the agent's own name, drawn at random, is in the feed.)
    text = raw.decode()
    for secret in ("Zéphyrine", "Quintaflou", "QUINTAFLOU", "0612345678", "Asphodèles", "Notes confidentielles"):
        assert secret not in text


def test_an_rdvs_sequence_and_last_modified_follow_its_changes(db):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[agent], starts_at=NOW + dt.timedelta(days=2))

    def event():
        return rdv_events(Calendar.from_ical(agent_calendar(agent, today=TODAY, now=NOW)))[
            f"rdv-{rdv.pk}@rdv-solidarites"
        ]

    before = event()
    Rdv.objects.filter(pk=rdv.pk).update(updated_at=rdv.updated_at + dt.timedelta(minutes=5))
    after = event()
    assert after["sequence"] > before["sequence"] >= 0
    assert after["last-modified"].dt == (rdv.updated_at + dt.timedelta(minutes=5)).replace(microsecond=0)
    assert after["uid"] == before["uid"]


def test_cancelled_rdvs_stay_marked_cancelled_and_free(db):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation, name="Bilan")
    excused = RdvFactory(
        organisation=organisation, motif=motif, agents=[agent], excused=True, starts_at=NOW + dt.timedelta(days=2)
    )
    revoked = RdvFactory(
        organisation=organisation, motif=motif, agents=[agent], revoked=True, starts_at=NOW + dt.timedelta(days=3)
    )
    found = rdv_events(Calendar.from_ical(agent_calendar(agent, today=TODAY, now=NOW)))
    for rdv in (excused, revoked):
        event = found[f"rdv-{rdv.pk}@rdv-solidarites"]
        assert str(event["status"]) == "CANCELLED"
        assert str(event["transp"]) == "TRANSPARENT"
        assert str(event["summary"]) == "RDV annulé – Bilan"


def test_an_overseas_rdv_is_at_the_right_instant(db):
    organisation = OrganisationFactory(territory=TerritoryFactory(reunion=True))
    agent = AgentFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[agent], starts_at=dt.datetime(2030, 3, 4, 9, tzinfo=REUNION))
    raw = agent_calendar(agent, today=TODAY, now=NOW)
    event = rdv_events(Calendar.from_ical(raw))[f"rdv-{rdv.pk}@rdv-solidarites"]
    assert event["dtstart"].dt == dt.datetime(2030, 3, 4, 5, tzinfo=dt.UTC)  # 9:00 at UTC+4
    assert b"DTSTART:20300304T050000Z" in raw
    assert not Calendar.from_ical(raw).walk("VTIMEZONE")  # UTC needs none


def test_the_feed_reads_a_bounded_number_of_queries_whatever_the_number_of_rdvs(db, django_assert_num_queries):
    organisation = OrganisationFactory()
    agent = AgentFactory(organisation=organisation)
    PlageOuvertureFactory(organisation=organisation, agent=agent, weekly=True, first_day=TODAY)
    AbsenceFactory(organisation=organisation, agent=agent, first_day=TODAY)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            agent_calendar(agent, today=TODAY, now=NOW)
        return len(queries)

    RdvFactory(organisation=organisation, agents=[agent], starts_at=NOW + dt.timedelta(days=1))
    baseline = count()
    for index in range(40):
        RdvFactory(
            organisation=organisation,
            agents=[agent],
            usagers=[],
            lieu=LieuFactory(organisation=organisation),
            starts_at=NOW + dt.timedelta(days=2 + index),
        )
    assert count() == baseline
    with django_assert_num_queries(6):
        agent_calendar(agent, today=TODAY, now=NOW)
