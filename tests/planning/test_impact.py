import datetime as dt
import zoneinfo

import pytest

from planning.impact import change_and_check, event_days, horizon, rdvs_outside_availability, series_days
from planning.intervals import Window
from planning.recurrence import Frequency, Rule
from planning.rules import recurrence_from_rule
from tests.agents.factories import AgentFactory
from tests.helpers import at
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceExceptionFactory, AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
NOW = dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC)
MONDAY = dt.date(2030, 3, 4)
YEAR = Window(NOW, NOW + dt.timedelta(days=366))
WEEK = dt.timedelta(weeks=1)


@pytest.fixture
def setting(db):
    """An agent with a weekly Monday plage 9:00–12:00 at a lieu, offering one motif."""
    organisation = OrganisationFactory(territory=TerritoryFactory(departement_number="77"))
    agent = AgentFactory(organisation=organisation)
    lieu = LieuFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation, default_duration_in_min=30)
    plage = PlageOuvertureFactory(
        organisation=organisation, agent=agent, lieu=lieu, motifs=[motif], weekly=True, first_day=MONDAY
    )
    return {"organisation": organisation, "agent": agent, "lieu": lieu, "motif": motif, "plage": plage}


def rdv(setting, start: dt.datetime, **kwargs):
    values = {
        "organisation": setting["organisation"],
        "motif": setting["motif"],
        "lieu": setting["lieu"],
        "starts_at": start,
        "agents": [setting["agent"]],
    }
    return RdvFactory(**{**values, **kwargs})


def outside(setting, window: Window = YEAR) -> dict:
    return {
        item.rdv: (item.uncovered, item.absence_ids)
        for item in rdvs_outside_availability(
            agent=setting["agent"], organisation=setting["organisation"], window=window, now=NOW
        )
    }


def check(setting, change, days):
    return change_and_check(change, agent=setting["agent"], organisation=setting["organisation"], days=days, now=NOW)


def test_an_rdv_inside_a_plage_offering_its_motif_at_its_lieu_is_inside(setting):
    rdv(setting, at(MONDAY, 9))
    rdv(setting, at(MONDAY + WEEK * 5, 11, 30))
    assert outside(setting) == {}


def test_an_absence_over_an_rdv_puts_it_outside(setting):
    inside = rdv(setting, at(MONDAY, 9))
    covered = rdv(setting, at(MONDAY, 10))
    absence, found = check(
        setting,
        lambda: AbsenceFactory(
            organisation=setting["organisation"],
            agent=setting["agent"],
            first_day=MONDAY,
            start_time=dt.time(9, 45),
            end_time=dt.time(11),
        ),
        [(MONDAY, MONDAY)],
    )
    assert found == [covered]
    assert outside(setting) == {covered: (False, frozenset({absence.pk}))}
    assert inside not in outside(setting)


def test_an_absence_in_another_organisation_of_the_agent_counts_too(setting):
    booked = rdv(setting, at(MONDAY, 10))
    other = OrganisationFactory()
    AbsenceFactory(organisation=other, agent=setting["agent"], first_day=MONDAY, start_time=dt.time(8))
    assert booked in outside(setting)


def test_a_shrunk_plage_leaves_an_rdv_out(setting):
    early = rdv(setting, at(MONDAY + WEEK * 2, 9))
    late = rdv(setting, at(MONDAY + WEEK * 2, 11))
    plage = setting["plage"]

    def shrink():
        plage.end_time = dt.time(10, 30)
        plage.save()

    _, found = check(setting, shrink, event_days(plage))
    assert found == [late]
    assert outside(setting) == {late: (True, frozenset())}
    assert early not in outside(setting)


@pytest.mark.parametrize("change", ["until", "lieu", "motifs", "weekday", "delete"])
def test_every_change_of_a_plage_that_uncovers_an_rdv_is_seen(setting, change):
    booked = rdv(setting, at(MONDAY + WEEK * 3, 10))
    plage = setting["plage"]
    days = event_days(plage)

    def apply():
        if change == "until":
            plage.recurrence = recurrence_from_rule(Rule(Frequency.WEEKLY, weekdays=(0,), until=MONDAY + WEEK * 2))
        elif change == "lieu":
            plage.lieu = LieuFactory(organisation=setting["organisation"])
        elif change == "motifs":
            plage.motifs.set([MotifFactory(organisation=setting["organisation"])])
        elif change == "weekday":
            plage.recurrence = recurrence_from_rule(Rule(Frequency.WEEKLY, weekdays=(1,)))
            plage.first_day = MONDAY + dt.timedelta(days=1)
        if change == "delete":
            plage.delete()
        else:
            plage.save()

    _, found = check(setting, apply, days)
    assert found == [booked]


def test_the_lieu_does_not_matter_for_motifs_by_phone_or_at_home(setting):
    phone = MotifFactory(organisation=setting["organisation"], phone=True)
    setting["plage"].motifs.add(phone)
    booked = rdv(setting, at(MONDAY, 10), motif=phone, lieu=None)
    assert booked not in outside(setting)


def test_back_to_back_plages_cover_an_rdv_together(setting):
    PlageOuvertureFactory(
        organisation=setting["organisation"],
        agent=setting["agent"],
        lieu=setting["lieu"],
        motifs=[setting["motif"]],
        first_day=MONDAY,
        start_time=dt.time(12),
        end_time=dt.time(14),
    )
    across = rdv(setting, at(MONDAY, 11, 45))
    beyond = rdv(setting, at(MONDAY, 13, 45))
    assert outside(setting) == {beyond: (True, frozenset())}
    assert across not in outside(setting)


def test_cancelled_and_past_rdvs_are_never_listed(setting):
    absence_day = MONDAY + WEEK
    rdv(setting, at(absence_day, 10), excused=True)
    rdv(setting, at(absence_day, 10), revoked=True)
    rdv(setting, NOW - dt.timedelta(hours=2), seen=True)  # past, and outside any plage
    rdv(setting, NOW - dt.timedelta(days=1))  # past, status unknown (« À renseigner »)
    rdv(setting, NOW - dt.timedelta(minutes=10))  # under way
    AbsenceFactory(
        organisation=setting["organisation"], agent=setting["agent"], first_day=absence_day, start_time=dt.time(8)
    )
    assert outside(setting, Window(NOW - dt.timedelta(days=7), NOW + dt.timedelta(days=366))) == {}


def test_other_agents_and_organisations_rdvs_are_never_listed(setting):
    colleague = AgentFactory(organisation=setting["organisation"])
    rdv(setting, at(MONDAY, 15), agents=[colleague])  # the colleague's, outside our plage
    other = OrganisationFactory()
    rdv(
        setting,
        at(MONDAY, 15),
        organisation=other,
        motif=MotifFactory(organisation=other),
        lieu=LieuFactory(organisation=other),
    )  # the agent's own, in another organisation
    AbsenceFactory(
        organisation=setting["organisation"], agent=setting["agent"], first_day=MONDAY, start_time=dt.time(8)
    )
    assert outside(setting) == {}


def test_an_rdv_shared_with_a_colleague_is_listed_for_the_agent_it_leaves_out(setting):
    colleague = AgentFactory(organisation=setting["organisation"])
    shared = rdv(setting, at(MONDAY, 10), agents=[setting["agent"], colleague])
    _, found = check(
        setting,
        lambda: AbsenceFactory(organisation=setting["organisation"], agent=setting["agent"], first_day=MONDAY),
        [(MONDAY, MONDAY)],
    )
    assert found == []  # the absence is in the afternoon
    _, found = check(
        setting,
        lambda: AbsenceFactory(
            organisation=setting["organisation"], agent=setting["agent"], first_day=MONDAY, start_time=dt.time(8)
        ),
        [(MONDAY, MONDAY)],
    )
    assert found == [shared]


def test_a_recurring_absence_reaches_rdvs_weeks_later(setting):
    later = rdv(setting, at(MONDAY + WEEK * 6, 10))
    other_week = rdv(setting, at(MONDAY + WEEK * 5, 10))
    after_the_end = rdv(setting, at(MONDAY + WEEK * 12, 10))
    cancelled_occurrence = rdv(setting, at(MONDAY + WEEK * 8, 10))

    def create():
        absence = AbsenceFactory(
            organisation=setting["organisation"],
            agent=setting["agent"],
            first_day=MONDAY + WEEK * 2,
            start_time=dt.time(9, 30),
            end_time=dt.time(11),
            weekly=True,
            interval=2,
            until=MONDAY + WEEK * 10,
        )
        AbsenceExceptionFactory(absence=absence, original_date=MONDAY + WEEK * 8)
        return absence

    _, found = check(setting, create, [(MONDAY + WEEK * 2, MONDAY + WEEK * 10)])
    assert found == [later]
    assert {other_week, after_the_end, cancelled_occurrence}.isdisjoint(outside(setting))


def test_only_what_the_change_newly_leaves_outside_is_reported(setting):
    # Booked knowingly outside the plage: not repeated at every later change…
    knowingly = rdv(setting, at(MONDAY, 15))
    _, found = check(
        setting,
        lambda: PlageOuvertureFactory(
            organisation=setting["organisation"],
            agent=setting["agent"],
            lieu=setting["lieu"],
            motifs=[setting["motif"]],
            first_day=MONDAY + dt.timedelta(days=1),
        ),
        [(MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=1))],
    )
    assert found == []
    # … but an absence over it is a new reason.
    _, found = check(
        setting,
        lambda: AbsenceFactory(organisation=setting["organisation"], agent=setting["agent"], first_day=MONDAY),
        [(MONDAY, MONDAY)],
    )
    assert found == [knowingly]


def test_a_public_holiday_the_organisation_closes_on_is_no_availability(setting):
    easter_monday = dt.date(2030, 4, 22)
    booked = rdv(setting, at(easter_monday, 10))
    assert booked in outside(setting)
    setting["organisation"].close_on_public_holidays = False
    setting["organisation"].save()
    assert booked not in outside(setting)


def test_times_are_read_in_the_organisations_time_zone(db):
    organisation = OrganisationFactory(territory=TerritoryFactory(reunion=True))
    agent = AgentFactory(organisation=organisation)
    lieu = LieuFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation)
    PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[motif], first_day=MONDAY)
    inside = RdvFactory(
        organisation=organisation, motif=motif, lieu=lieu, agents=[agent], starts_at=at(MONDAY, 9, tz=REUNION)
    )
    # 9:00 in Paris is 12:00 in La Réunion: after the plage.
    paris_time = RdvFactory(
        organisation=organisation, motif=motif, lieu=lieu, agents=[agent], starts_at=at(MONDAY, 9, tz=PARIS)
    )
    found = rdvs_outside_availability(agent=agent, organisation=organisation, window=YEAR, now=NOW)
    assert [item.rdv for item in found] == [paris_time]
    assert inside.pk != paris_time.pk


def test_the_horizon_is_bounded_by_the_days_touched_and_a_year(setting):
    organisation = setting["organisation"]
    assert horizon(organisation, [(MONDAY, MONDAY)], NOW) == Window(at(MONDAY, 0), at(MONDAY + dt.timedelta(days=1), 0))
    assert horizon(organisation, [(MONDAY, None)], NOW) == Window(at(MONDAY, 0), NOW + dt.timedelta(days=366))
    assert horizon(organisation, [(dt.date(2020, 1, 1), dt.date(2020, 1, 2))], NOW) is None
    assert horizon(organisation, [], NOW) is None
    plage = setting["plage"]
    assert series_days(plage) == (MONDAY, None)


def test_queries_are_bounded_whatever_the_number_of_rdvs_plages_and_absences(setting, django_assert_max_num_queries):
    rdv(setting, at(MONDAY, 10))
    AbsenceFactory(
        organisation=setting["organisation"], agent=setting["agent"], first_day=MONDAY, start_time=dt.time(8)
    )
    with django_assert_max_num_queries(6):
        assert len(outside(setting)) == 1

    organisation, agent = setting["organisation"], setting["agent"]
    organisation.close_on_public_holidays = False  # every RDV below is then inside but the absence's
    for weekday in range(1, 5):
        PlageOuvertureFactory(
            organisation=organisation,
            agent=agent,
            lieu=setting["lieu"],
            motifs=[setting["motif"], MotifFactory(organisation=organisation)],
            weekly=True,
            weekdays=(weekday,),
            first_day=MONDAY,
        )
        AbsenceFactory(organisation=organisation, agent=agent, weekly=True, weekdays=(weekday,), first_day=MONDAY)
    for week in range(30):
        for weekday in range(5):
            rdv(setting, at(MONDAY + dt.timedelta(weeks=week, days=weekday), 9 + weekday % 3), usagers=[])
    with django_assert_max_num_queries(6):
        assert len(outside(setting)) == 2
