"""« Vos agendas »: who opens which calendar, where RDVs land on the grid (DST and overseas days
included), bounded SQL queries, wrong parameters, what other organisations hold (times only).
The readable grid (blocks, absences, weekend, filter, skip links): test_agenda_grid.py; the
secrétariat's « Journée de l'équipe »: test_agenda_team.py."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from motifs import colors
from organisations.models import Territory
from planning.intervals import Window
from rendezvous.agenda import bands, layout, periods, queries
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.helpers import count_queries, next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.agenda_helpers import (
    PARIS,
    REUNION,
    SECRETS,
    agenda_url,
    attribute,
    block,
    bulk_rdvs,
    busy_in_another_organisation,
    grid_of,
    local,
    notes,
    rdv_item,
    rdv_items,
    secret_rdv_elsewhere,
    team_url,
    tip_lines,
)
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db


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
    assert sunday_column.rdvs[0].style.startswith("top:8rem;height:2rem;--rdv-lines")
    first, second, third = monday_column.rdvs
    assert (first.lane, first.lanes, second.lane, second.lanes) == (0, 2, 1, 2)
    assert "left:50%;width:50%" in second.style
    assert (third.lane, third.lanes) == (0, 1)  # after the overlap, full width again
    assert monday_column.slot_link == "/2026-03-23T"
    assert len(grid.slots) == 26 and grid.slots[4] == ("9h00", "09:00")
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
    item = rdv_item(dom(response), detail)
    assert attribute(item, "style") == "top:14rem;height:2rem;--rdv-lines:2"
    link = find(item, "a", class_="rdv-agenda__rdv")
    assert attribute(link, "style") == "background-color:#000091;color:#ffffff"
    assert text(link) == f"10h30 à 11h00 Léon ANGELO · {motif.name}"
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
    response = client.get(agenda_url(agent, paris, date="2026-03-29"))
    assert "dim. 29/03" in response.content.decode()  # the Sunday shows because it has an RDV
    (item,) = rdv_items(dom(response))
    assert attribute(item, "style").startswith("top:8rem;height:2rem;")
    assert text(find(item, "span", class_="rdv-agenda__rdv-time")) == "9h00 à 9h30"

    territory = Territory.objects.filter(departement_number="974").first() or TerritoryFactory(reunion=True)
    reunion = OrganisationFactory(territory=territory)
    agent = AgentFactory(organisation=reunion, services=["PMI"])
    # 8:00 in La Réunion is 4:00 UTC, 5:00 or 6:00 in Paris: the grid shows 8h00.
    RdvFactory(organisation=reunion, agents=[agent], starts_at=local(dt.date(2026, 6, 2), 8, tz=REUNION))
    client.force_login(agent)
    (item,) = rdv_items(dom(client.get(agenda_url(agent, reunion, vue="jour", date="2026-06-02"))))
    assert attribute(item, "style").startswith("top:4rem;height:2rem;")
    assert text(find(item, "span", class_="rdv-agenda__rdv-time")) == "8h00 à 8h30"
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
    # One more query than before the « Occupé (autre organisation) » blocks (their RDVs), and
    # one for the side menu's « À renseigner » badge.
    assert small == 13


def test_the_agenda_links_to_the_team_day_for_who_sees_several_agendas(client, organisation, admin_agent):
    client.force_login(admin_agent)
    AgentFactory(organisation=organisation, services=["Social"])
    page = client.get(agenda_url(admin_agent, organisation, date="2026-03-04")).content.decode()
    assert f'href="{team_url(organisation, date="2026-03-04")}">Journée de l\'équipe<' in page


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
        bands.BusyElsewhere(1, local(day, 14), local(day, 15)),
        bands.BusyElsewhere(1, local(day, 9), local(day, 10)),
        bands.BusyElsewhere(1, local(day, 14, 30), local(day, 16)),
        bands.BusyElsewhere(1, local(day, 16), local(day, 16, 30)),
        bands.BusyElsewhere(2, local(day, 9, 30), local(day, 11)),
    ]
    assert [(b.agent_id, b.start.hour, b.end.time()) for b in bands.merge_busy(spans)] == [
        (1, 9, dt.time(10)),
        (1, 14, dt.time(16, 30)),
        (2, 9, dt.time(11)),
    ]


def _busy_texts(response):
    """The busy blocks in words, under each day's heading, day by day."""
    root = dom(response)
    return [
        text(item)
        for head in find_all(root, "div", class_="rdv-agenda__head")
        for item in find_all(head, "li", class_="rdv-agenda__note--busy")
    ]


def _busy_bands(response):
    """The busy blocks drawn on the grid: their place."""
    return [attribute(band, "style") for band in find_all(dom(response), "div", class_="rdv-agenda__band--busy")]


def test_an_agents_rdvs_and_absences_elsewhere_show_as_busy_blocks_with_times_only(client, organisation, basic_agent):
    monday = next_monday()
    busy_in_another_organisation(organisation, basic_agent, monday)
    client.force_login(basic_agent)

    response = client.get(agenda_url(basic_agent, organisation, date=monday.isoformat()))
    page = response.content.decode()
    assert _busy_texts(response) == [
        "Occupé (autre organisation) de 14h00 à 15h00",  # the excused RDV holds no time
        "Occupé (autre organisation) de 10h00 à 11h00",
    ]
    assert _busy_bands(response) == ["top:28rem;height:4rem", "top:12rem;height:4rem"]
    assert not any(secret in page for secret in SECRETS)
    # A block, not a link: the time cells under it still book (the conflict check warns).
    assert not find_all(dom(response), "a", class_="rdv-agenda__band--busy")
    assert "Occupé (autre organisation) : RDV ou absence dans une autre organisation" in page  # the legend

    response = client.get(agenda_url(basic_agent, organisation, vue="jour", date=monday.isoformat()))
    assert _busy_texts(response) == ["Occupé (autre organisation) de 14h00 à 15h00"]
    assert not any(secret in response.content.decode() for secret in SECRETS)

    page = client.get(agenda_url(basic_agent, organisation, vue="mois", date=monday.isoformat())).content.decode()
    assert 'rdv-agenda-month__busy">Occupé (autre organisation) de 14h00 à 15h00</p>' in page
    assert 'rdv-agenda-month__busy">Occupé (autre organisation) de 10h00 à 11h00</p>' in page
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
        response = client.get(agenda_url(basic_agent, organisation, vue=view, date=monday.isoformat()))
        page = response.content.decode()
        assert not _busy_bands(response) and "rdv-agenda-month__busy" not in page
        assert "Occupé (autre organisation)</strong>" not in page
    client.force_login(AgentFactory(organisation=organisation, secretariat=True))
    root = dom(client.get(team_url(organisation, date=monday.isoformat())))
    (item,) = rdv_items(root)
    assert tip_lines(item)[0].startswith("14h00 – 14h30")
    assert notes(root, f"agent-{basic_agent.pk}", "busy") == []


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
    assert all(isinstance(item, bands.BusyElsewhere) for item in busy)


# ---------------------------------------------------------------------------------------------
# Busy blocks and absences outside 7h–20h widen the grid, days away do not


def _grid_hours(day, busy=()):
    """The hour range of a one-day grid holding these busy spans (for agent 1)."""
    grid = grid_of([day], [], local(day, 12), busy=[bands.BusyElsewhere(1, start, end) for start, end in busy])
    return grid.start_hour, grid.end_hour


def test_busy_blocks_outside_7_to_20_widen_the_grid_to_their_hours():
    day = dt.date(2026, 6, 3)
    assert _grid_hours(day, busy=[(local(day, 6), local(day, 7, 30))]) == (6, 20)
    assert _grid_hours(day, busy=[(local(day, 20, 30), local(day, 21, 30))]) == (7, 22)
    assert _grid_hours(day, busy=[(local(day, 5, 15), local(day, 6))]) == (5, 20)
    assert _grid_hours(day, busy=[(local(day, 14), local(day, 15))]) == (7, 20)

    grid = grid_of([day], [], local(day, 12), busy=[bands.BusyElsewhere(1, local(day, 21), local(day, 22))])
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
    grid = grid_of([tuesday], [], local(tuesday, 12), busy=[bands.BusyElsewhere(1, *night[0])])
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


def _latebusy_in_another_organisation(agent, day):
    secret_rdv_elsewhere(agent, local(day, 21))


def test_a_busy_block_at_21h_elsewhere_widens_the_week_and_day_views(client, organisation, basic_agent):
    monday = next_monday()
    _latebusy_in_another_organisation(basic_agent, monday)
    client.force_login(basic_agent)
    for view in ("semaine", "jour"):
        response = client.get(agenda_url(basic_agent, organisation, vue=view, date=monday.isoformat()))
        assert _busy_texts(response) == ["Occupé (autre organisation) de 21h00 à 22h00"]
        assert _busy_bands(response) == ["top:56rem;height:4rem"]
        hours = find(dom(response), "div", class_="rdv-agenda__hours")
        assert text(hours).split()[-1] == "21h"
        assert not any(secret in response.content.decode() for secret in SECRETS)
