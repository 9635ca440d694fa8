"""« Vos agendas »: who opens which calendar, where RDVs land on the grid (DST and overseas days
included), bounded SQL queries, the secrétariat's « Journée de l'équipe » with its htmx refresh
and its one-click « En salle d'attente », wrong parameters."""

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from motifs import colors
from organisations.models import Territory
from planning.intervals import Window
from rendezvous.agenda import blocks, layout, periods, queries
from rendezvous.models import Participation, Rdv
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.helpers import count_queries, next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")
# The status icon an RDV's link may start with.
ICON = r'(?:<span class="fr-icon-[^"]*" aria-hidden="true"></span> )?'


def agenda_url(agent, organisation, **params):
    url = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": agent.pk})
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def team_url(organisation, **params):
    url = reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": organisation.pk})
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def local(day: dt.date, hour: int, minute: int = 0, tz=PARIS) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def bulk_rdvs(organisation, agents, starts, *, motif=None, lieu=None, usager=None, duration=20):
    """Many RDVs in a few queries: each start gets one RDV with all `agents` and one usager."""
    motif = motif or MotifFactory(organisation=organisation)
    lieu = lieu or LieuFactory(organisation=organisation)
    usager = usager or UsagerFactory(organisation=organisation)
    rdvs = Rdv.objects.bulk_create(
        [
            Rdv(
                organisation=organisation,
                motif=motif,
                lieu=lieu,
                starts_at=start,
                duration_in_min=duration,
                ends_at=start + dt.timedelta(minutes=duration),
            )
            for start in starts
        ]
    )
    Rdv.agents.through.objects.bulk_create(
        [Rdv.agents.through(rdv_id=rdv.pk, agent_id=agent.pk) for rdv in rdvs for agent in agents]
    )
    Participation.objects.bulk_create([Participation(rdv=rdv, usager=usager) for rdv in rdvs])
    return rdvs


# ---------------------------------------------------------------------------------------------
# Who opens which agenda


def test_vos_agendas_opens_the_agents_own_calendar_keeping_view_and_date(client, organisation, basic_agent):
    client.force_login(basic_agent)
    url = reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == agenda_url(basic_agent, organisation)
    response = client.get(url, {"vue": "mois", "date": "2026-03-10"})
    assert response.url == agenda_url(basic_agent, organisation) + "?vue=mois&date=2026-03-10"


def test_the_drop_down_opens_another_calendar_and_its_own_name_comes_back(client, organisation, admin_agent):
    other = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    client.force_login(admin_agent)
    url = reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})
    response = client.get(url, {"agent": other.pk, "vue": "jour", "date": "2026-03-10"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == agenda_url(other, organisation) + "?vue=jour&date=2026-03-10"
    page = response.content.decode()
    assert "Agenda de Karim Benali" in page
    assert f'<option value="{other.pk}" selected>Karim Benali</option>' in page
    response = client.get(url, {"agent": admin_agent.pk}, follow=True)
    assert "Votre agenda — " in response.content.decode()


def test_basic_agent_opens_the_agendas_of_its_service_only(client, organisation, basic_agent):
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    social = AgentFactory(organisation=organisation, services=["Social"])
    elsewhere = AgentFactory(organisation=OrganisationFactory(), services=["PMI"])
    client.force_login(basic_agent)
    assert client.get(agenda_url(basic_agent, organisation)).status_code == 200
    response = client.get(agenda_url(colleague, organisation))
    assert response.status_code == 200
    options = re.findall(r'<option value="(\d+)"', response.content.decode())
    assert sorted(int(pk) for pk in options) == sorted([basic_agent.pk, colleague.pk])
    assert client.get(agenda_url(social, organisation)).status_code == 404
    assert client.get(agenda_url(elsewhere, organisation)).status_code == 404
    assert client.get(agenda_url(basic_agent, organisation) + "x").status_code == 404


def test_admin_and_secretariat_open_every_agenda_of_the_organisation_only(client, organisation, admin_agent):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    social = AgentFactory(organisation=organisation, services=["Social"])
    other_organisation = OrganisationFactory()
    elsewhere = AgentFactory(organisation=other_organisation, services=["Social"])
    for agent in (admin_agent, secretariat):
        client.force_login(agent)
        assert client.get(agenda_url(social, organisation)).status_code == 200
        assert client.get(agenda_url(elsewhere, organisation)).status_code == 404
        # Another organisation's pages: the same 404 as a missing one.
        assert client.get(agenda_url(elsewhere, other_organisation)).status_code == 404
        assert client.get(team_url(other_organisation)).status_code == 404


def test_an_agent_without_colleagues_has_no_drop_down_nor_team_day_link(client, organisation):
    alone = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(alone)
    page = client.get(agenda_url(alone, organisation)).content.decode()
    assert 'id="agenda-agent"' not in page
    assert "Journée de l'équipe" not in page


def test_the_side_menu_has_vos_agendas_after_accueil(client, organisation, basic_agent):
    client.force_login(basic_agent)
    page = client.get(agenda_url(basic_agent, organisation)).content.decode()
    labels = re.findall(r'class="fr-sidemenu__link" href="[^"]*"(?: aria-current="page")?>([^<]+)<', page)
    assert labels[:2] == ["Accueil", "Vos agendas"]
    assert re.search(r'aria-current="page">Vos agendas<', page)
    assert not re.search(r'aria-current="page">Tous les RDVs<', page)


# ---------------------------------------------------------------------------------------------
# The grid's layout (pure functions)


def test_periods_around_a_date():
    day = dt.date(2026, 3, 4)  # a Wednesday
    week = periods.Period.around("semaine", day)
    assert (week.first, week.last) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    assert (week.previous, week.next) == (dt.date(2026, 2, 23), dt.date(2026, 3, 9))
    assert week.title == "Semaine du 2 au 8 mars 2026"
    assert (
        periods.Period.around("semaine", dt.date(2026, 12, 30)).title == "Semaine du 28 décembre 2026 au 3 janvier 2027"
    )
    month = periods.Period.around("mois", day)
    assert (month.first, month.last) == (dt.date(2026, 2, 23), dt.date(2026, 4, 5))
    assert len(month.days) % 7 == 0
    assert (month.previous, month.next) == (dt.date(2026, 2, 1), dt.date(2026, 4, 1))
    assert month.title == "Mars 2026"
    one = periods.Period.around("jour", day)
    assert (one.first, one.last, one.previous, one.next) == (day, day, dt.date(2026, 3, 3), dt.date(2026, 3, 5))
    assert one.title == "mercredi 4 mars 2026"
    assert periods.Period.around("jour", dt.date(2026, 5, 1)).title == "vendredi 1er mai 2026"


def test_a_period_window_runs_from_local_midnight_to_local_midnight_across_dst():
    window = periods.Period.around("jour", dt.date(2026, 3, 29)).window(PARIS)
    assert window.start == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)
    assert window.end == dt.datetime(2026, 3, 29, 22, 0, tzinfo=dt.UTC)  # a 23-hour day
    window = periods.Period.around("jour", dt.date(2026, 3, 29)).window(REUNION)
    assert window.start == dt.datetime(2026, 3, 28, 20, 0, tzinfo=dt.UTC)


def test_minutes_in_day_read_the_wall_clock_on_dst_days_and_overseas():
    # 10:00 on the day clocks go forward in Paris (UTC+2 from 3:00), and the day they go back.
    spring = local(dt.date(2026, 3, 29), 10)
    assert periods.minutes_in_day(spring, spring + dt.timedelta(minutes=30), dt.date(2026, 3, 29), PARIS) == (600, 630)
    autumn = local(dt.date(2026, 10, 25), 10)
    assert periods.minutes_in_day(autumn, autumn + dt.timedelta(hours=1), dt.date(2026, 10, 25), PARIS) == (600, 660)
    # 22:30 UTC on 1 June is 2:30 on 2 June in La Réunion.
    utc = dt.datetime(2026, 6, 1, 22, 30, tzinfo=dt.UTC)
    assert periods.minutes_in_day(utc, utc + dt.timedelta(minutes=30), dt.date(2026, 6, 2), REUNION) == (150, 180)
    assert periods.minutes_in_day(utc, utc + dt.timedelta(minutes=30), dt.date(2026, 6, 1), REUNION) is None
    # Across midnight: the end of one day and the start of the next.
    night = local(dt.date(2026, 6, 1), 23)
    assert periods.minutes_in_day(night, night + dt.timedelta(hours=2), dt.date(2026, 6, 1), PARIS) == (1380, 1440)
    assert periods.minutes_in_day(night, night + dt.timedelta(hours=2), dt.date(2026, 6, 2), PARIS) == (0, 60)
    assert periods.minutes_in_day(night, night + dt.timedelta(hours=1), dt.date(2026, 6, 2), PARIS) is None


def block(pk, start, minutes=30, **fields):
    values = {
        "pk": pk,
        "url": f"/rdv/{pk}/",
        "starts_at": start,
        "ends_at": start + dt.timedelta(minutes=minutes),
        "start_label": "",
        "end_label": "",
        "usagers": "Léon ANGELO",
        "motif": "Pesée",
        "place": "",
        "agents": "",
        "status": Rdv.Status.UNKNOWN,
        "displayed_status": "a_venir",
        "status_label": "À venir",
        "to_fill": False,
        "cancelled": False,
        "background": "#ffffff",
        "color": "#000000",
    }
    values.update(fields)
    return blocks.RdvBlock(**values)


def grid_of(days, blocks, now, tz=PARIS, **kwargs):
    columns = layout.day_columns(days=days, tz=tz, now=now, rdvs=blocks, **kwargs)
    return layout.time_grid(columns, tz=tz, now=now, slot_minutes=30, slot_url=lambda d, m: f"{d}T{m}")


def test_rdvs_land_in_their_day_and_time_and_overlapping_ones_side_by_side():
    monday = dt.date(2026, 3, 23)
    days = [monday + dt.timedelta(days=n) for n in range(7)]
    now = local(monday, 12)
    grid = grid_of(
        days,
        [
            block(1, local(dt.date(2026, 3, 29), 9)),  # Sunday, the DST day
            block(2, local(monday, 10), 60),
            block(3, local(monday, 10, 30), 60),
            block(4, local(monday, 11, 30)),
        ],
        now,
    )
    assert (grid.start_hour, grid.end_hour) == (7, 20)
    monday_column, sunday_column = grid.columns[0], grid.columns[6]
    assert [b.pk for b in sunday_column.rdvs] == [1]
    assert sunday_column.rdvs[0].style.startswith("top:8rem;height:2rem;left:0%;width:100%")
    first, second, third = monday_column.rdvs
    assert (first.lane, first.lanes, second.lane, second.lanes) == (0, 2, 1, 2)
    assert "left:50%;width:50%" in second.style
    assert (third.lane, third.lanes) == (0, 1)  # after the overlap, full width again
    assert len(monday_column.slots) == 26 and monday_column.slots[4].url == "2026-03-23T540"
    # The current time: a line in today's column only.
    assert monday_column.now_style == "top:20rem" and monday_column.now_label == "Il est 12h00"
    assert not any(column.now_style for column in grid.columns[1:])


def test_the_grid_widens_to_show_early_and_late_rdvs():
    day = dt.date(2026, 6, 3)
    now = local(day, 12)
    grid = grid_of([day], [block(1, local(day, 6, 30)), block(2, local(day, 20, 15))], now)
    assert (grid.start_hour, grid.end_hour) == (6, 21)
    assert grid.columns[0].rdvs[0].style.startswith("top:2rem;")


def test_a_plage_and_an_absence_become_bands_with_their_lieu_and_title(organisation, basic_agent):
    day = dt.date(2026, 6, 3)
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, lieu=lieu, first_day=day, title="Consultation de PMI"
    )
    AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=day, title="Formation", days=2)
    window = Window(local(day, 0), local(day + dt.timedelta(days=2), 0))
    grid = grid_of(
        [day, day + dt.timedelta(days=1)],
        [],
        local(day, 8),
        plages=queries.plages_in_window(organisation, [basic_agent.pk], window),
        absences=queries.absences_in_window(organisation, [basic_agent.pk], window),
    )
    plage, absence = grid.columns[0].bands
    assert (plage.kind, plage.title, plage.detail, plage.time_label) == (
        "plage",
        "Consultation de PMI",
        "MDS de Noisiel",
        "9h00 – 12h00",
    )
    assert plage.style == "top:8rem;height:12rem"
    assert (absence.kind, absence.title) == ("absence", "Absence : Formation")
    assert absence.style == "top:28rem;height:24rem"  # 14:00 to the end of the grid
    assert [band.kind for band in grid.columns[1].bands] == ["absence"]  # its second day


def test_motif_colours_get_readable_text():
    assert colors.text_color_for("#000091") == "#ffffff"
    assert colors.text_color_for("#ffe800") == "#000000"
    # Whichever text is chosen reads better than the other one, and always well enough (4.5:1).
    for color in ("#000091", "#ffe800", "#6a6af4", "#e3e3fd", "#ff6f4c", "#1f8d49", "#808080"):
        chosen = colors.text_color_for(color)
        other = "#ffffff" if chosen == "#000000" else "#000000"
        assert colors.contrast_ratio(color, chosen) >= colors.contrast_ratio(color, other)
        assert colors.contrast_ratio(color, chosen) >= 4.5


def test_week_view_shows_mondays_to_fridays_and_a_weekend_day_with_something():
    monday = dt.date(2026, 3, 23)
    now = local(monday, 12)
    columns = layout.day_columns(days=[monday + dt.timedelta(days=n) for n in range(7)], tz=PARIS, now=now, rdvs=[])
    assert [c.date.weekday() for c in layout.visible_week_days(columns)] == [0, 1, 2, 3, 4]
    columns = layout.day_columns(
        days=[monday + dt.timedelta(days=n) for n in range(7)],
        tz=PARIS,
        now=now,
        rdvs=[block(1, local(dt.date(2026, 3, 28), 10))],
    )
    assert [c.date.weekday() for c in layout.visible_week_days(columns)] == [0, 1, 2, 3, 4, 5]


# ---------------------------------------------------------------------------------------------
# The pages


def test_the_week_view_shows_rdvs_as_links_with_time_usager_motif_and_the_time_cells_book(
    client, organisation, basic_agent
):
    monday = next_monday()
    motif = MotifFactory(organisation=organisation, color="#000091")
    usager = UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")
    rdv = RdvFactory(
        organisation=organisation, motif=motif, agents=[basic_agent], usagers=[usager], starts_at=local(monday, 10, 30)
    )
    client.force_login(basic_agent)
    response = client.get(agenda_url(basic_agent, organisation, date=monday.isoformat()))
    assert response.status_code == 200
    page = response.content.decode()
    detail = reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    link = re.search(rf'<a class="rdv-agenda__rdv [^"]*" href="{detail}" style="([^"]*)">(.*?)</a>', page)
    assert link is not None
    assert "top:14rem" in link.group(1) and "background-color:#000091;color:#ffffff" in link.group(1)
    text = re.sub(r"<[^>]+>", "", link.group(2))
    assert "10h30 à 11h00" in text and "Léon ANGELO" in text and motif.name in text
    create = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    assert f'href="{create}?agent={basic_agent.pk}&amp;debut={monday.isoformat()}T09:30"' in page
    creneaux = reverse("rendezvous:creneaux", kwargs={"organisation_id": organisation.pk})
    assert f'href="{creneaux}?agents={basic_agent.pk}">Trouver un créneau<' in page
    assert "Semaine du" in page and "Cliquez sur un créneau" in page


def test_past_rdvs_to_fill_stand_out_with_an_icon_and_text_and_cancelled_ones_are_struck(
    client, organisation, basic_agent
):
    today = timezone.localdate(timezone=PARIS)
    past = local(today - dt.timedelta(days=1), 10)
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=past)
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=past + dt.timedelta(hours=2), excused=True)
    client.force_login(basic_agent)
    for view in ("jour", "semaine", "mois"):
        page = client.get(agenda_url(basic_agent, organisation, vue=view, date=past.date().isoformat())).content
        page = page.decode()
        assert "rdv-agenda__rdv--to-fill" in page
        assert "fr-icon-warning-fill" in page
        assert "À renseigner" in page
        assert "rdv-agenda__rdv--cancelled" in page and "Absent excusé" in page


def test_a_dst_sunday_and_an_overseas_organisation_place_rdvs_at_their_local_time(client):
    paris = OrganisationFactory()
    agent = AgentFactory(organisation=paris, services=["PMI"])
    RdvFactory(organisation=paris, agents=[agent], starts_at=local(dt.date(2026, 3, 29), 9))
    client.force_login(agent)
    page = client.get(agenda_url(agent, paris, date="2026-03-29")).content.decode()
    assert "dim. 29/03" in page  # the Sunday shows because it has an RDV
    assert re.search(rf'style="top:8rem;height:2rem;[^"]*">{ICON}<span class="rdv-agenda__rdv-time">9h00', page)

    territory = Territory.objects.filter(departement_number="974").first() or TerritoryFactory(reunion=True)
    reunion = OrganisationFactory(territory=territory)
    agent = AgentFactory(organisation=reunion, services=["PMI"])
    # 8:00 in La Réunion is 4:00 UTC, 5:00 or 6:00 in Paris: the grid shows 8h00.
    RdvFactory(organisation=reunion, agents=[agent], starts_at=local(dt.date(2026, 6, 2), 8, tz=REUNION))
    client.force_login(agent)
    page = client.get(agenda_url(agent, reunion, vue="jour", date="2026-06-02")).content.decode()
    assert re.search(rf'style="top:4rem;height:2rem;[^"]*">{ICON}<span class="rdv-agenda__rdv-time">8h00', page)
    page = client.get(agenda_url(agent, reunion, vue="jour", date="2026-06-01")).content.decode()
    assert "rdv-agenda__rdv-time" not in page


def test_the_month_view_shows_three_rdvs_a_day_and_a_link_to_the_others(client, organisation, basic_agent):
    day = next_monday()
    bulk_rdvs(organisation, [basic_agent], [local(day, 9 + n) for n in range(5)])
    client.force_login(basic_agent)
    page = client.get(agenda_url(basic_agent, organisation, vue="mois", date=day.isoformat())).content.decode()
    assert page.count('class="rdv-agenda-month__rdv ') == 3
    day_view = agenda_url(basic_agent, organisation, vue="jour", date=day.isoformat()).replace("&", "&amp;")
    assert f'<a class="rdv-agenda-month__more" href="{day_view}">+2<span class="fr-sr-only"> autres RDV' in page


def test_a_closed_public_holiday_shows_on_the_agenda(client, organisation, basic_agent):
    client.force_login(basic_agent)
    page = client.get(agenda_url(basic_agent, organisation, vue="jour", date="2026-07-14")).content.decode()
    assert "Fermé : " in page and "rdv-agenda__day--closed" in page
    organisation.close_on_public_holidays = False
    organisation.save()
    page = client.get(agenda_url(basic_agent, organisation, vue="jour", date="2026-07-14")).content.decode()
    assert "Fermé : " not in page


@pytest.mark.parametrize(
    "params, team_day_status",
    [
        # The team day has no « vue »: it ignores it; a wrong date is an error there too.
        ({"vue": "annee"}, 200),
        ({"date": "2026-13-45"}, 400),
        ({"date": "demain"}, 400),
        ({"date": "0001-01-01"}, 400),
        ({"date": "9999-12-31", "vue": "mois"}, 400),
        ({"date": "2026-03-04", "vue": "<script>"}, 200),
    ],
)
def test_wrong_parameters_show_the_current_period_with_a_clear_error(
    client, organisation, basic_agent, params, team_day_status
):
    client.force_login(basic_agent)
    response = client.get(agenda_url(basic_agent, organisation), params)
    assert response.status_code == 400
    page = response.content.decode()
    assert "fr-alert--error" in page
    assert "<script>" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    response = client.get(team_url(organisation), params)
    assert response.status_code == team_day_status


def test_wrong_team_day_filters_answer_400_and_are_ignored(client, organisation, admin_agent):
    other_lieu = LieuFactory(organisation=OrganisationFactory())
    client.force_login(admin_agent)
    for params in ({"service": "abc"}, {"lieu": other_lieu.pk}, {"lieu": "99999999999999999"}, {"date": "x"}):
        response = client.get(team_url(organisation), params)
        assert response.status_code == 400
        assert "fr-error-text" in response.content.decode()


def test_an_agent_id_too_large_for_the_database_is_a_404(client, organisation, basic_agent):
    client.force_login(basic_agent)
    url = f"/organisations/{organisation.pk}/agendas/99999999999999999999/"
    assert client.get(url).status_code == 404
    url = reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})
    assert client.get(url, {"agent": "99999999999999999999"}).status_code == 302


# ---------------------------------------------------------------------------------------------
# Bounded queries


@pytest.mark.parametrize("view", ["jour", "semaine", "mois"])
def test_the_agenda_reads_the_same_number_of_queries_for_5_or_200_rdvs(client, organisation, admin_agent, view):
    monday = next_monday()
    for n in range(3):
        PlageOuvertureFactory(
            organisation=organisation, agent=admin_agent, first_day=monday, weekly=True, weekdays=(n,)
        )
    AbsenceFactory(organisation=organisation, agent=admin_agent, first_day=monday + dt.timedelta(days=3))
    usagers = [UsagerFactory(organisation=organisation) for _ in range(2)]
    other = OrganisationFactory()
    AgentRoleFactory(agent=admin_agent, organisation=other)
    client.force_login(admin_agent)
    url = agenda_url(admin_agent, organisation, vue=view, date=monday.isoformat())
    bulk_rdvs(organisation, [admin_agent], [local(monday, 8 + n) for n in range(5)], usager=usagers[0])
    bulk_rdvs(other, [admin_agent], [local(monday, 18)])
    AbsenceFactory(organisation=other, agent=admin_agent, first_day=monday)
    small = count_queries(client, url)
    starts = [local(monday + dt.timedelta(days=n % 5), 8) + dt.timedelta(minutes=15 * (n // 5)) for n in range(195)]
    bulk_rdvs(organisation, [admin_agent, AgentFactory(organisation=organisation)], starts, usager=usagers[1])
    # Another organisation's RDVs and absences: spans only, in the same queries.
    bulk_rdvs(other, [admin_agent], [local(monday + dt.timedelta(days=n % 5), 19, 3 * n) for n in range(20)])
    for n in range(1, 4):
        AbsenceFactory(organisation=other, agent=admin_agent, first_day=monday + dt.timedelta(days=n))
    page = client.get(url).content.decode()
    assert "Occupé (autre organisation)</strong>" in page or "Occupé (autre organisation) de" in page
    assert count_queries(client, url) == small
    # One more query than before the « Occupé (autre organisation) » blocks (their RDVs).
    assert small == 13


def test_the_team_day_reads_the_same_number_of_queries_for_3_or_30_agents(client, organisation):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    day = next_monday()
    lieu = LieuFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation)

    other = OrganisationFactory()
    other_motif, other_lieu = MotifFactory(organisation=other), LieuFactory(organisation=other)

    def add_agents(count):
        for _ in range(count):
            agent = AgentFactory(organisation=organisation, services=["PMI"])
            PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, first_day=day)
            AbsenceFactory(organisation=organisation, agent=agent, first_day=day)
            bulk_rdvs(organisation, [agent], [local(day, 9), local(day, 10)], motif=motif, lieu=lieu)
            AgentRoleFactory(agent=agent, organisation=other)
            AbsenceFactory(organisation=other, agent=agent, first_day=day, start_time=dt.time(8), end_time=dt.time(9))
            bulk_rdvs(other, [agent], [local(day, 11)], motif=other_motif, lieu=other_lieu)

    client.force_login(secretariat)
    url = team_url(organisation, date=day.isoformat())
    add_agents(3)
    small = count_queries(client, url)
    add_agents(27)
    assert count_queries(client, url) == small
    assert small == 15
    page = client.get(url).content.decode()
    assert page.count('class="rdv-team__column"') == 30
    assert page.count("Occupé (autre organisation) de 11h00 à 11h20") == 30


# ---------------------------------------------------------------------------------------------
# « Journée de l'équipe »


def test_the_team_day_shows_one_column_per_visible_agent_filtered_by_service_and_lieu(client, organisation):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    day = next_monday()
    mds, pmi_lieu = LieuFactory(organisation=organisation), LieuFactory(organisation=organisation)
    pmi = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    social = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    idle = AgentFactory(organisation=organisation, services=["Social"], first_name="Julien", last_name="Roux")
    PlageOuvertureFactory(organisation=organisation, agent=pmi, lieu=pmi_lieu, first_day=day)
    PlageOuvertureFactory(organisation=organisation, agent=social, lieu=mds, first_day=day)
    usager = UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")
    RdvFactory(organisation=organisation, agents=[pmi], lieu=pmi_lieu, usagers=[usager], starts_at=local(day, 10))
    client.force_login(secretariat)

    page = client.get(team_url(organisation, date=day.isoformat())).content.decode()
    assert re.findall(r'<h2 class="fr-h6 fr-mb-1w" id="[^"]+"><a href="[^"]+">([^<]+)</a>', page) == [
        "Karim Benali",
        "Hélène Martin",
    ]
    assert "10h00 – 10h30</strong> Léon ANGELO" in page
    assert "Sans plage d'ouverture ni RDV ce jour" in page and "Julien Roux" in page
    service = pmi.roles.get(organisation=organisation).services.get()
    page = client.get(team_url(organisation, date=day.isoformat(), service=service.pk)).content.decode()
    assert "Hélène Martin" in page and "Karim Benali" not in page and idle.last_name not in page
    page = client.get(team_url(organisation, date=day.isoformat(), lieu=mds.pk)).content.decode()
    assert "Karim Benali</a></h2>" in page and "Hélène Martin</a></h2>" not in page


def test_a_basic_agent_sees_only_its_services_agents_on_the_team_day(client, organisation, basic_agent):
    day = next_monday()
    social = AgentFactory(organisation=organisation, services=["Social"], last_name="Benali")
    RdvFactory(organisation=organisation, agents=[social], starts_at=local(day, 10))
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(day, 11))
    client.force_login(basic_agent)
    page = client.get(team_url(organisation, date=day.isoformat())).content.decode()
    assert basic_agent.full_name in page and "BENALI" not in page.upper().split("SANS PLAGE")[0].replace(
        basic_agent.last_name.upper(), ""
    )


def test_the_team_day_grid_is_polled_by_htmx_and_the_partial_is_the_grid_only(client, organisation):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    RdvFactory(organisation=organisation, agents=[agent], starts_at=local(timezone.localdate(timezone=PARIS), 12))
    client.force_login(secretariat)
    page = client.get(team_url(organisation, service="", lieu="")).content.decode()
    grid = re.search(r'<div id="journee-equipe"[^>]*>', page).group(0)
    assert 'hx-trigger="every 30s"' in grid and 'hx-swap="outerHTML"' in grid
    assert 'hx-get="' + team_url(organisation, service="", lieu="").replace("&", "&amp;") + '"' in grid
    partial = client.get(team_url(organisation), headers={"HX-Request": "true"})
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="journee-equipe"')
    assert "<html" not in body and "fr-sidemenu" not in body and "En salle d'attente" in html.unescape(body)


def test_en_salle_d_attente_in_one_click_on_the_team_day(client, organisation):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    today = timezone.localdate(timezone=PARIS)
    rdv = RdvFactory(organisation=organisation, agents=[agent], starts_at=local(today, 12))
    tomorrow = RdvFactory(organisation=organisation, agents=[agent], starts_at=local(today + dt.timedelta(days=1), 9))
    client.force_login(secretariat)
    url = team_url(organisation, date=today.isoformat())
    page = client.get(url).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)" class="rdv-team__action[^"]*">(.*?)</form>', page, re.S)
    assert form.group(1) == reverse("rendezvous:status", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    assert 'name="status" value="waiting"' in form.group(2)
    assert f'name="next" value="{url.replace("&", "&amp;")}"' in form.group(2)
    assert page.count('class="rdv-team__action') == 1

    response = client.post(form.group(1), {"status": "waiting", "next": url})
    assert response.status_code == 302 and response.url == url
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.WAITING
    assert rdv.history.first().history_user == secretariat
    page = client.get(url).content.decode()
    assert "rdv-team__action" not in page and "En salle d'attente" in html.unescape(page)
    # Not on another day: the status rules refuse it.
    tomorrow_page = client.get(team_url(organisation, date=tomorrow.starts_at.date().isoformat())).content.decode()
    assert "rdv-team__action" not in tomorrow_page


def test_the_agenda_links_to_the_team_day_for_who_sees_several_agendas(client, organisation, admin_agent):
    client.force_login(admin_agent)
    AgentFactory(organisation=organisation, services=["Social"])
    page = client.get(agenda_url(admin_agent, organisation, date="2026-03-04")).content.decode()
    assert f'href="{team_url(organisation, date="2026-03-04")}">Journée de l\'équipe<' in html.unescape(page)


def test_names_are_escaped_on_every_view(client, organisation, admin_agent):
    day = timezone.localdate(timezone=PARIS)
    usager = UsagerFactory(organisation=organisation, first_name='<img src=x onerror="alert(1)">', last_name="Zoé")
    RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[usager], starts_at=local(day, 10))
    AgentFactory(organisation=organisation, services=["PMI"])
    client.force_login(admin_agent)
    for url in (
        agenda_url(admin_agent, organisation, vue="jour", date=day.isoformat()),
        agenda_url(admin_agent, organisation, vue="semaine", date=day.isoformat()),
        agenda_url(admin_agent, organisation, vue="mois", date=day.isoformat()),
        team_url(organisation, date=day.isoformat()),
    ):
        page = client.get(url).content.decode()
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; ZOÉ" in page


# ---------------------------------------------------------------------------------------------
# « Occupé (autre organisation) »: an agent's RDVs and absences in its other organisations


def test_busy_spans_merge_per_agent_when_they_overlap_or_touch():
    day = dt.date(2026, 6, 3)
    spans = [
        layout.BusyElsewhere(1, local(day, 14), local(day, 15)),
        layout.BusyElsewhere(1, local(day, 9), local(day, 10)),
        layout.BusyElsewhere(1, local(day, 14, 30), local(day, 16)),
        layout.BusyElsewhere(1, local(day, 16), local(day, 16, 30)),
        layout.BusyElsewhere(2, local(day, 9, 30), local(day, 11)),
    ]
    assert [(b.agent_id, b.start.hour, b.end.time()) for b in layout.merge_busy(spans)] == [
        (1, 9, dt.time(10)),
        (1, 14, dt.time(16, 30)),
        (2, 9, dt.time(11)),
    ]


def _secret_rdv_elsewhere(agent, starts_at):
    """An hour-long RDV of `agent` in another organisation whose every name says « secret »;
    returns that organisation."""
    other = OrganisationFactory(name="Organisation secrète")
    AgentRoleFactory(agent=agent, organisation=other)
    RdvFactory(
        organisation=other,
        motif=MotifFactory(organisation=other, name="Motif secret"),
        lieu=LieuFactory(organisation=other, name="Lieu secret"),
        agents=[agent],
        usagers=[UsagerFactory(organisation=other, first_name="Usager", last_name="Secretissime")],
        starts_at=starts_at,
        duration_in_min=60,
    )
    return other


def _busy_in_another_organisation(organisation, agent, monday):
    """The agent works for `organisation` and another one, where it has an RDV on Monday
    14:00–15:00, a cancelled one at 16:00 and an absence on Tuesday 10:00–11:00; every name
    there says « secret »."""
    other = _secret_rdv_elsewhere(agent, local(monday, 14))
    RdvFactory(organisation=other, agents=[agent], starts_at=local(monday, 16), excused=True)
    AbsenceFactory(
        organisation=other,
        agent=agent,
        title="Congé secret",
        first_day=monday + dt.timedelta(days=1),
        start_time=dt.time(10),
        end_time=dt.time(11),
    )
    return other


SECRETS = ("secret", "Secretissime", "SECRETISSIME")
BUSY_BAND = 'class="rdv-agenda__band rdv-agenda__band--busy"'


def _band_texts(page):
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip()
        for text in re.findall(rf"<div {BUSY_BAND} [^>]*>(.*?)</div>", page)
    ]


def test_an_agents_rdvs_and_absences_elsewhere_show_as_busy_blocks_with_times_only(client, organisation, basic_agent):
    monday = next_monday()
    _busy_in_another_organisation(organisation, basic_agent, monday)
    client.force_login(basic_agent)

    page = client.get(agenda_url(basic_agent, organisation, date=monday.isoformat())).content.decode()
    assert _band_texts(page) == [
        "Occupé (autre organisation) de 14h00 à 15h00",  # the excused RDV holds no time
        "Occupé (autre organisation) de 10h00 à 11h00",
    ]
    assert re.search(rf'<div {BUSY_BAND} style="top:28rem;height:4rem">', page)
    assert not any(secret in page for secret in SECRETS)
    # A block, not a link: the time cells under it still book (the conflict check warns).
    assert "Occupé (autre organisation)</strong>" in page and "<a " not in _band_texts(page)[0]
    assert "Occupé (autre organisation) : RDV ou absence dans une autre organisation" in page  # the legend

    page = client.get(agenda_url(basic_agent, organisation, vue="jour", date=monday.isoformat())).content.decode()
    assert _band_texts(page) == ["Occupé (autre organisation) de 14h00 à 15h00"]
    assert not any(secret in page for secret in SECRETS)

    page = client.get(agenda_url(basic_agent, organisation, vue="mois", date=monday.isoformat())).content.decode()
    assert 'rdv-agenda-month__busy">Occupé (autre organisation) de 14h00 à 15h00</p>' in page
    assert 'rdv-agenda-month__busy">Occupé (autre organisation) de 10h00 à 11h00</p>' in page
    assert not any(secret in page for secret in SECRETS)


def test_the_team_day_shows_who_is_busy_elsewhere_with_times_only(client, organisation, basic_agent):
    monday = next_monday()
    _busy_in_another_organisation(organisation, basic_agent, monday)
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, first_day=monday, end_time=dt.time(17))
    client.force_login(AgentFactory(organisation=organisation, secretariat=True))
    page = client.get(team_url(organisation, date=monday.isoformat())).content.decode()
    assert '<p class="rdv-team__band rdv-agenda__band--busy">Occupé (autre organisation) de 14h00 à 15h00</p>' in page
    assert not any(secret in page for secret in SECRETS)


def test_an_agent_without_another_organisation_shows_no_busy_block(client, organisation, basic_agent):
    monday = next_monday()
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(monday, 14))
    AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=monday + dt.timedelta(days=1))
    # A colleague's RDV in another organisation is not this agent's.
    colleague = AgentFactory(organisation=organisation)
    other = OrganisationFactory()
    AgentRoleFactory(agent=colleague, organisation=other)
    RdvFactory(organisation=other, agents=[colleague], starts_at=local(monday, 9))
    client.force_login(basic_agent)
    for view in ("jour", "semaine", "mois"):
        page = client.get(agenda_url(basic_agent, organisation, vue=view, date=monday.isoformat())).content.decode()
        assert BUSY_BAND not in page and "rdv-agenda-month__busy" not in page
        assert "Occupé (autre organisation) de" not in page
    client.force_login(AgentFactory(organisation=organisation, secretariat=True))
    page = client.get(team_url(organisation, date=monday.isoformat())).content.decode()
    own = re.search(rf'aria-labelledby="equipe-agent-{basic_agent.pk}">(.*?)</section>', page, re.S)
    assert own is not None and "14h00 – 14h30" in own.group(1)
    assert "Occupé (autre organisation)" not in own.group(1)


def test_absences_and_busy_read_three_queries_whatever_the_agents(django_assert_num_queries, organisation):
    monday = next_monday()
    other = OrganisationFactory()
    agents = [AgentFactory(organisation=organisation) for _ in range(4)]
    for agent in agents:
        AgentRoleFactory(agent=agent, organisation=other)
        AbsenceFactory(organisation=organisation, agent=agent, first_day=monday)
        AbsenceFactory(organisation=other, agent=agent, first_day=monday + dt.timedelta(days=1))
        bulk_rdvs(other, [agent], [local(monday, 9), local(monday, 9, 10)])
    window = periods.day_window(monday, monday + dt.timedelta(days=6), PARIS)
    with django_assert_num_queries(3):
        own, busy = queries.absences_and_busy(organisation, [agent.pk for agent in agents], window)
    assert {occurrence.event.organisation_id for occurrence in own} == {organisation.pk}
    assert len(own) == 4 and len(busy) == 8  # the two RDVs, one after the other, merged
    assert all(isinstance(item, layout.BusyElsewhere) for item in busy)


# ---------------------------------------------------------------------------------------------
# Busy blocks and absences outside 7h–20h widen the grid, days away do not


def _grid_hours(day, busy=()):
    """The hour range of a one-day grid holding these busy spans (for agent 1)."""
    grid = grid_of([day], [], local(day, 12), busy=[layout.BusyElsewhere(1, start, end) for start, end in busy])
    return grid.start_hour, grid.end_hour


def test_busy_blocks_outside_7_to_20_widen_the_grid_to_their_hours():
    day = dt.date(2026, 6, 3)
    assert _grid_hours(day, busy=[(local(day, 6), local(day, 7, 30))]) == (6, 20)
    assert _grid_hours(day, busy=[(local(day, 20, 30), local(day, 21, 30))]) == (7, 22)
    assert _grid_hours(day, busy=[(local(day, 5, 15), local(day, 6))]) == (5, 20)
    assert _grid_hours(day, busy=[(local(day, 14), local(day, 15))]) == (7, 20)

    grid = grid_of([day], [], local(day, 12), busy=[layout.BusyElsewhere(1, local(day, 21), local(day, 22))])
    (band,) = grid.columns[0].bands
    assert (grid.start_hour, grid.end_hour) == (7, 22)
    assert band.time_label == "de 21h00 à 22h00"
    assert band.style == "top:56rem;height:4rem"  # 14 hours below 7h00, one hour high
    assert [hour["label"] for hour in grid.hours][-2:] == ["20h", "21h"]


def test_days_away_and_spans_over_several_days_do_not_widen_the_grid_to_the_whole_day():
    monday = dt.date(2026, 6, 1)
    tuesday, wednesday = monday + dt.timedelta(days=1), monday + dt.timedelta(days=2)
    # A whole day, typed 0h00 – 23h59 or midnight to midnight.
    assert _grid_hours(monday, busy=[(local(monday, 0), local(monday, 23, 59))]) == (7, 20)
    assert _grid_hours(monday, busy=[(local(monday, 0), local(tuesday, 0))]) == (7, 20)
    # From Monday 14h00 to Wednesday 17h00: neither day's edge widens anything.
    span = [(local(monday, 14), local(wednesday, 17))]
    for day in (monday, tuesday, wednesday):
        assert _grid_hours(day, busy=span) == (7, 20)
    # A night away, 22h00 to 6h00: each day shows the hour of its own end.
    night = [(local(monday, 22), local(tuesday, 6))]
    assert _grid_hours(monday, busy=night) == (7, 23)
    assert _grid_hours(tuesday, busy=night) == (5, 20)
    grid = grid_of([tuesday], [], local(tuesday, 12), busy=[layout.BusyElsewhere(1, *night[0])])
    (band,) = grid.columns[0].bands
    assert band.time_label == "du 1er juin à 22h00 au 2 juin à 6h00"
    assert band.style == "top:0rem;height:4rem"


def test_absences_outside_7_to_20_widen_the_grid_but_not_a_day_away(organisation, basic_agent):
    monday = dt.date(2026, 6, 1)
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Permanence de nuit",
        first_day=monday,
        start_time=dt.time(20, 30),
        end_time=dt.time(21, 30),
    )
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Congés",
        first_day=monday + dt.timedelta(days=1),
        start_time=dt.time(0),
        end_time=dt.time(23, 59),
        days=3,
    )
    window = periods.day_window(monday, monday + dt.timedelta(days=6), PARIS)
    absences = queries.absences_in_window(organisation, [basic_agent.pk], window)

    def hours(day):
        grid = grid_of([day], [], local(day, 12), absences=absences)
        return grid.start_hour, grid.end_hour

    assert hours(monday) == (7, 22)
    for n in (1, 2, 3):
        assert hours(monday + dt.timedelta(days=n)) == (7, 20)


def _late_busy_in_another_organisation(agent, day):
    _secret_rdv_elsewhere(agent, local(day, 21))


def test_a_busy_block_at_21h_elsewhere_widens_the_week_and_day_views(client, organisation, basic_agent):
    monday = next_monday()
    _late_busy_in_another_organisation(basic_agent, monday)
    client.force_login(basic_agent)
    for view in ("semaine", "jour"):
        page = client.get(agenda_url(basic_agent, organisation, vue=view, date=monday.isoformat())).content.decode()
        assert _band_texts(page) == ["Occupé (autre organisation) de 21h00 à 22h00"]
        assert re.search(rf'<div {BUSY_BAND} style="top:56rem;height:4rem">', page)
        hours = re.search(r'<div class="rdv-agenda__hours"[^>]*>(.*?)</div>', page).group(1)
        assert re.findall(r">(\d+h)<", hours)[-1] == "21h"
        assert not any(secret in page for secret in SECRETS)


def test_a_busy_block_at_21h_elsewhere_shows_with_its_times_on_the_team_day(client, organisation, basic_agent):
    """The team day lists each agent's day as text, not on an hour grid: a late busy block is
    never cut there, it reads with its times."""
    monday = next_monday()
    _late_busy_in_another_organisation(basic_agent, monday)
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, first_day=monday)
    client.force_login(AgentFactory(organisation=organisation, secretariat=True))
    page = client.get(team_url(organisation, date=monday.isoformat())).content.decode()
    own = re.search(rf'aria-labelledby="equipe-agent-{basic_agent.pk}">(.*?)</section>', page, re.S)
    assert own is not None
    assert (
        '<p class="rdv-team__band rdv-agenda__band--busy">Occupé (autre organisation) de 21h00 à 22h00</p>'
        in own.group(1)
    )
    assert not any(secret in page for secret in SECRETS)
