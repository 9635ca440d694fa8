"""The agenda's grid made readable (issue 17): a block never shorter than two lines, the RDVs it
would cover beside it, the motif in a tooltip screen readers also get, plage titles in words
above the grid, an absence over RDVs shown and each of those RDVs marked, the weekend shown when
today or a plage or an RDV falls on it, « Statut des RDV », the « Toute la journée » row, and
skip links to each day."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from rendezvous.agenda import layout
from rendezvous.models import Rdv
from tests.helpers import count_queries
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.agenda_helpers import (
    PARIS,
    agenda_url,
    all_day,
    attribute,
    block,
    bulk_rdvs,
    column_cell,
    grid_of,
    local,
    notes,
    rdv_item,
    rdv_items,
    tip_lines,
)
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

# A Tuesday morning: « today » of these tests; MONDAY is the Monday after.
NOW = dt.datetime(2027, 6, 8, 10, 0, tzinfo=PARIS)
MONDAY = dt.date(2027, 6, 14)
SATURDAY = MONDAY + dt.timedelta(days=5)


@pytest.fixture(autouse=True)
def tuesday_morning():
    with time_machine.travel(NOW, tick=False):
        yield


def detail_url(rdv):
    return reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})


# ---------------------------------------------------------------------------------------------
# Every block readable, short ones side by side


def test_a_short_rdv_is_drawn_30_minutes_high_and_the_next_one_goes_beside_it():
    day = MONDAY
    grid = grid_of(
        [day],
        [
            block(1, local(day, 9), 15),
            block(2, local(day, 9, 15), 15),
            block(3, local(day, 9, 30), 15),
            block(4, local(day, 10, 30), 60),
        ],
        local(day, 8),
    )
    first, second, third, long = grid.columns[0].rdvs
    # 9h00 (15 min) is 2rem high, as 30 minutes: its box covers 9h15, so 9h15 goes beside it.
    assert first.style == "top:8rem;height:2rem;left:0%;width:50%;--rdv-lines:2"
    assert second.style == "top:9rem;height:2rem;left:50%;width:50%;--rdv-lines:2"
    assert third.style == "top:10rem;height:2rem;left:0%;width:50%;--rdv-lines:2"
    assert (first.lanes, second.lanes, third.lanes) == (2, 2, 2)
    # Its text ends on a whole line (agenda.css clamps it): 4 lines of 15px in 4rem.
    assert long.style == "top:14rem;height:4rem;--rdv-lines:4"


def test_a_short_rdv_at_the_end_of_the_grid_stops_at_its_end():
    day = MONDAY
    grid = grid_of([day], [block(1, local(day, 19, 45), 15)], local(day, 8))
    assert grid.end_hour == 20
    assert grid.columns[0].rdvs[0].style == "top:51rem;height:1rem;--rdv-lines:1"


def test_an_rdv_block_names_time_and_usager_and_its_tooltip_the_motif_and_lieu(client, organisation, basic_agent):
    motif = MotifFactory(organisation=organisation, name="Consultation prénatale", color="#000091")
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    usager = UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")
    rdv = RdvFactory(
        organisation=organisation,
        motif=motif,
        lieu=lieu,
        agents=[basic_agent],
        usagers=[usager],
        starts_at=local(MONDAY, 10, 30),
        duration_in_min=15,
    )
    client.force_login(basic_agent)
    for view in ("semaine", "jour"):
        root = dom(client.get(agenda_url(basic_agent, organisation, vue=view, date=MONDAY.isoformat())))
        item = rdv_item(root, detail_url(rdv))
        assert attribute(item, "style").startswith("top:14rem;height:2rem;")
        link = find(item, "a", class_="rdv-agenda__rdv")
        # Its words (a 2rem block shows its time and usager: the motif may not fit).
        assert text(link) == "10h30 à 10h45 Léon ANGELO · Consultation prénatale"
        # The tooltip: shown on hover and focus by CSS, the link's description for screen readers.
        tip = find(item, "span", role="tooltip")
        assert attribute(link, "aria-describedby") == attribute(tip, "id")
        assert tip_lines(item) == ["10h30 – 10h45 Léon ANGELO", "Consultation prénatale · MDS de Noisiel"]


def test_plage_titles_read_above_the_grid_whatever_rdv_covers_their_band(client, organisation, basic_agent):
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        lieu=lieu,
        first_day=MONDAY,
        title="Consultation de PMI",
        weekly=True,
        weekdays=(0, 1),
    )
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY, 9))
    client.force_login(basic_agent)
    root = dom(client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat())))
    tuesday = MONDAY + dt.timedelta(days=1)
    for day in (MONDAY, tuesday):
        assert notes(root, f"jour-{day.isoformat()}", "plage") == ["9h00 – 12h00 Consultation de PMI MDS de Noisiel"]

    def band(day):
        return find(column_cell(root, f"jour-{day.isoformat()}", "day"), "div", class_="rdv-agenda__band--plage")

    # On the grid a band repeats its title for the eyes only, where no RDV covers it: Monday's
    # RDV at 9h00 would hide half of it.
    assert attribute(band(tuesday), "aria-hidden") == "true" and text(band(tuesday)) == "Consultation de PMI"
    assert text(band(MONDAY)) == ""


# ---------------------------------------------------------------------------------------------
# An absence over RDVs


def test_rdvs_during_an_absence_are_marked_and_the_absence_is_named(client, organisation, basic_agent):
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Formation",
        first_day=MONDAY,
        start_time=dt.time(14),
        end_time=dt.time(16),
    )
    during = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY, 15, 45))
    straddling = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY, 13, 45))
    after = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY, 16))
    cancelled = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY, 14), excused=True)
    client.force_login(basic_agent)
    response = client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat()))
    root = dom(response)
    assert notes(root, f"jour-{MONDAY.isoformat()}", "absence") == ["14h00 – 16h00 Absence : Formation"]
    for rdv, marked in ((during, True), (straddling, True), (after, False), (cancelled, False)):
        link = find(rdv_item(root, detail_url(rdv)), "a", class_="rdv-agenda__rdv")
        assert ("rdv-agenda__rdv--in-absence" in attribute(link, "class").split()) is marked, rdv.starts_at
        assert text(link).endswith(", pendant l'absence « Formation »") is marked
    assert tip_lines(rdv_item(root, detail_url(during)))[2] == "Pendant l'absence « Formation »"
    summary = find(root, "p", class_="rdv-agenda-summary")
    assert text(summary).startswith("4 RDV cette semaine, dont 2 pendant une absence")

    # The month marks them too.
    root = dom(client.get(agenda_url(basic_agent, organisation, vue="mois", date=MONDAY.isoformat())))
    marked = find_all(root, "a", class_="rdv-agenda__rdv--in-absence")
    assert len(marked) == 2
    assert all(text(link).endswith(", pendant l'absence « Formation »") for link in marked)


def test_a_whole_day_away_goes_to_the_toute_la_journee_row(client, organisation, basic_agent):
    wednesday = MONDAY + dt.timedelta(days=2)
    client.force_login(basic_agent)
    root = dom(client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat())))
    assert find_all(root, "div", class_="rdv-agenda__all-day-label") == []
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Congés",
        first_day=wednesday,
        start_time=dt.time(0),
        end_time=dt.time(23, 59),
    )
    AbsenceFactory(organisation=organisation, agent=basic_agent, title="Réunion", first_day=MONDAY)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(wednesday, 10))
    root = dom(client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat())))
    assert text(find(root, "div", class_="rdv-agenda__all-day-label")) == "Toute la journée"
    assert all_day(root, f"jour-{wednesday.isoformat()}") == ["Toute la journée : Absence : Congés"]
    assert all_day(root, f"jour-{MONDAY.isoformat()}") == []  # 14h00 – 17h00: under the heading
    assert notes(root, f"jour-{MONDAY.isoformat()}", "absence") == ["14h00 – 17h00 Absence : Réunion"]
    assert notes(root, f"jour-{wednesday.isoformat()}") == []
    assert "rdv-agenda__rdv--in-absence" in attribute(find(rdv_item(root, detail_url(rdv)), "a"), "class")


# ---------------------------------------------------------------------------------------------
# The weekend


def test_the_week_shows_saturday_when_it_is_today_or_has_a_plage_or_an_rdv_not_an_absence_alone():
    days = [MONDAY + dt.timedelta(days=n) for n in range(7)]

    def shown(now, **kwargs):
        columns = layout.day_columns(days=days, tz=PARIS, now=now, rdvs=kwargs.pop("rdvs", []), **kwargs)
        return [column.date.weekday() for column in layout.visible_week_days(columns)]

    assert shown(local(MONDAY, 12)) == [0, 1, 2, 3, 4]
    assert shown(local(SATURDAY, 12)) == [0, 1, 2, 3, 4, 5]
    assert shown(local(MONDAY, 12), rdvs=[block(1, local(SATURDAY, 10))]) == [0, 1, 2, 3, 4, 5]


def test_aujourd_hui_on_a_saturday_shows_that_saturday(client, organisation, basic_agent):
    with time_machine.travel(local(SATURDAY, 11), tick=False):
        client.force_login(basic_agent)
        response = client.get(agenda_url(basic_agent, organisation))
    assert response.status_code == 200
    root = dom(response)
    head = column_cell(root, f"jour-{SATURDAY.isoformat()}", "head")
    assert text(find(head, "h2")) == "sam. 19/06 samedi 19 juin 2027 Aujourd'hui"
    assert (
        find_all(
            root, "div", class_="rdv-agenda__head", data_column=f"jour-{(SATURDAY + dt.timedelta(days=1)).isoformat()}"
        )
        == []
    )


def test_a_plage_on_sunday_shows_sunday_an_absence_alone_does_not(client, organisation, basic_agent):
    sunday = SATURDAY + dt.timedelta(days=1)
    AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=SATURDAY)
    client.force_login(basic_agent)
    root = dom(client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat())))
    assert len(find_all(root, "div", class_="rdv-agenda__head")) == 5
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, first_day=sunday)
    root = dom(client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat())))
    assert [attribute(head, "data-column") for head in find_all(root, "div", class_="rdv-agenda__head")][-1] == (
        f"jour-{sunday.isoformat()}"
    )


# ---------------------------------------------------------------------------------------------
# « Statut des RDV »


def _statuses(organisation, agent):
    """Last week: one RDV seen, one to fill in, one excused; next week: one to come."""
    last_monday = MONDAY - dt.timedelta(days=7)
    return {
        "seen": RdvFactory(organisation=organisation, agents=[agent], starts_at=local(last_monday, 9), seen=True),
        "to_fill": RdvFactory(organisation=organisation, agents=[agent], starts_at=local(last_monday, 10)),
        "excused": RdvFactory(
            organisation=organisation, agents=[agent], starts_at=local(last_monday, 11), excused=True
        ),
    }


def test_the_status_filter_lists_tous_les_rdvs_then_each_status(client, organisation, basic_agent):
    client.force_login(basic_agent)
    root = dom(client.get(agenda_url(basic_agent, organisation)))
    select = find(root, "select", name="statut")
    assert text(find(root, "label", for_="agenda-statut")) == "Statut des RDV"
    assert [text(option) for option in find_all(select, "option")] == [
        "Tous les RDVs",
        "À venir",
        "À renseigner",
        "En salle d'attente",
        "Vu",
        "Absent excusé",
        "Absent non excusé",
        "Annulé à l'initiative du service",
    ]


def test_filtering_by_status_shows_only_those_rdvs_and_keeps_the_filter(client, organisation, basic_agent):
    rdvs = _statuses(organisation, basic_agent)
    last_monday = MONDAY - dt.timedelta(days=7)
    client.force_login(basic_agent)
    for view in ("jour", "semaine", "mois"):
        url = agenda_url(basic_agent, organisation, vue=view, date=last_monday.isoformat(), statut=Rdv.Status.SEEN)
        root = dom(client.get(url))
        links = find_all(root, "a", class_="rdv-agenda__rdv") + find_all(root, "a", class_="rdv-agenda-month__rdv")
        assert [attribute(link, "href") for link in links] == [detail_url(rdvs["seen"])], view
        assert attribute(find(find(root, "select", name="statut"), "option", selected=True), "value") == "seen"
    url = agenda_url(basic_agent, organisation, date=last_monday.isoformat(), statut="a_renseigner")
    response = client.get(url)
    root = dom(response)
    assert [attribute(find(item, "a"), "href") for item in rdv_items(root)] == [detail_url(rdvs["to_fill"])]
    assert text(find(root, "p", class_="rdv-agenda-summary")).startswith("1 RDV « À renseigner » cette semaine")
    # Moving through the weeks and views keeps it; « Afficher tous les RDVs » drops it.
    next_week = agenda_url(basic_agent, organisation, vue="semaine", date=MONDAY.isoformat(), statut="a_renseigner")
    assert find(root, "a", href=next_week) is not None
    everything = agenda_url(basic_agent, organisation, vue="semaine", date=last_monday.isoformat())
    assert text(find(root, "a", href=everything)) == "Afficher tous les RDVs"
    day = agenda_url(basic_agent, organisation, vue="jour", date=last_monday.isoformat(), statut="a_renseigner")
    assert find_all(root, "a", href=day)  # its heading, « Journée »


def test_a_wrong_status_is_an_error_and_shows_every_rdv(client, organisation, basic_agent):
    _statuses(organisation, basic_agent)
    client.force_login(basic_agent)
    last_monday = MONDAY - dt.timedelta(days=7)
    response = client.get(agenda_url(basic_agent, organisation, date=last_monday.isoformat(), statut="<b>"))
    assert response.status_code == 400
    root = dom(response)
    assert "Choisissez un statut de la liste." in text(find(root, "div", class_="fr-alert--error"))
    assert len(rdv_items(root)) == 3


def test_the_filter_reads_no_more_queries(client, organisation, admin_agent):
    bulk_rdvs(organisation, [admin_agent], [local(MONDAY, 8 + n) for n in range(5)])
    client.force_login(admin_agent)
    everything = count_queries(client, agenda_url(admin_agent, organisation, date=MONDAY.isoformat()))
    filtered = count_queries(client, agenda_url(admin_agent, organisation, date=MONDAY.isoformat(), statut="seen"))
    assert everything == filtered == 11  # with the side menu's « À renseigner » badge


# ---------------------------------------------------------------------------------------------
# The keyboard: one skip link per day


def test_skip_links_lead_to_each_days_heading_followed_by_its_rdvs_then_its_cells(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY + dt.timedelta(days=2), 9))
    client.force_login(basic_agent)
    root = dom(client.get(agenda_url(basic_agent, organisation, date=MONDAY.isoformat())))
    skip = find(root, "nav", class_="rdv-agenda-skip")
    assert attribute(skip, "aria-label") == "Aller à un jour"
    links = find_all(skip, "a")
    assert [text(link) for link in links] == [
        "Lundi 14 juin 2027",
        "Mardi 15 juin 2027",
        "Mercredi 16 juin 2027",
        "Jeudi 17 juin 2027",
        "Vendredi 18 juin 2027",
    ]
    wednesday = f"jour-{(MONDAY + dt.timedelta(days=2)).isoformat()}"
    assert attribute(links[2], "href") == f"#{wednesday}"
    heading = find(root, "h2", id=wednesday)
    assert attribute(heading, "tabindex") == "-1"
    # In the page's order, Wednesday's heading, then its RDVs, then its time cells.
    day = column_cell(root, wednesday, "day")
    children = [child for child in day.children if not isinstance(child, str)]
    assert [attribute(child, "class").split()[-1] for child in children][-2:] == [
        "rdv-agenda__rdvs",
        "rdv-agenda__slots",
    ]
    assert attribute(find(find(day, "ul", class_="rdv-agenda__rdvs"), "a"), "href") == detail_url(rdv)
    # The day view has one day: no skip links.
    root = dom(client.get(agenda_url(basic_agent, organisation, vue="jour", date=MONDAY.isoformat())))
    assert find_all(root, "nav", class_="rdv-agenda-skip") == []
