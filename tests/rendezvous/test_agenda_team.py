"""« Journée de l'équipe »: a time grid of one day, one column per agent the membership may see
(who has a plage or an RDV), its free cells booking with that agent, plages, absences and what
other organisations hold shown as on the agenda, filters by service and lieu (no « (Optionnel) »),
30 agents in a fixed number of queries, the htmx refresh and the one-click « En salle
d'attente »."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory, AgentRoleFactory
from tests.helpers import count_queries
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.agenda_helpers import (
    PARIS,
    SECRETS,
    all_day,
    attribute,
    bulk_rdvs,
    busy_in_another_organisation,
    column_cell,
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

# A Tuesday morning: « today » of these tests, and MONDAY the day after next.
NOW = dt.datetime(2027, 6, 8, 10, 0, tzinfo=PARIS)
TODAY = NOW.date()
MONDAY = dt.date(2027, 6, 14)


@pytest.fixture(autouse=True)
def tuesday_morning():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def secretariat(organisation):
    return AgentFactory(organisation=organisation, secretariat=True, first_name="Sophie", last_name="Lefèvre")


def headings(root) -> list[str]:
    """The agents' names heading the grid's columns, left to right."""
    return [text(title) for title in find_all(root, "h2", class_="rdv-agenda__day-title")]


# ---------------------------------------------------------------------------------------------
# One column per agent


def test_one_column_per_agent_with_a_plage_or_an_rdv_filtered_by_service_and_lieu(client, organisation, secretariat):
    mds, pmi_lieu = LieuFactory(organisation=organisation), LieuFactory(organisation=organisation)
    pmi = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    social = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    idle = AgentFactory(organisation=organisation, services=["Social"], first_name="Julien", last_name="Roux")
    PlageOuvertureFactory(organisation=organisation, agent=pmi, lieu=pmi_lieu, first_day=MONDAY)
    PlageOuvertureFactory(organisation=organisation, agent=social, lieu=mds, first_day=MONDAY)
    usager = UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")
    rdv = RdvFactory(
        organisation=organisation, agents=[pmi], lieu=pmi_lieu, usagers=[usager], starts_at=local(MONDAY, 10)
    )
    client.force_login(secretariat)

    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat())))
    assert headings(root) == ["Karim Benali", "Hélène Martin"]
    item = rdv_item(root, reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk}))
    assert tip_lines(item)[0] == "10h00 – 10h30 Léon ANGELO"
    others = find(root, "p", class_="rdv-team__others")
    assert text(others).startswith("Sans plage d'ouverture ni RDV ce jour :") and "Julien Roux" in text(others)

    service = pmi.roles.get(organisation=organisation).services.get()
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat(), service=service.pk)))
    assert headings(root) == ["Hélène Martin"]
    assert idle.last_name not in text(root)
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat(), lieu=mds.pk)))
    assert headings(root) == ["Karim Benali"]


def test_a_basic_agent_sees_only_its_services_agents_on_the_team_day(client, organisation, basic_agent):
    social = AgentFactory(organisation=organisation, services=["Social"], last_name="Benali")
    RdvFactory(organisation=organisation, agents=[social], starts_at=local(MONDAY, 10))
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=local(MONDAY, 11))
    client.force_login(basic_agent)
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat())))
    assert headings(root) == [basic_agent.full_name]
    assert "Benali" not in text(root)


def test_the_filters_are_labelled_without_optionnel(client, organisation, secretariat):
    client.force_login(secretariat)
    root = dom(client.get(team_url(organisation)))
    form = find(root, "form", class_="rdv-team-filters")
    assert [text(label) for label in find_all(form, "label")] == ["Date", "Service", "Lieu"]
    assert "Optionnel" not in text(form)


# ---------------------------------------------------------------------------------------------
# A time grid, as the agenda's


def test_a_free_cell_books_with_that_agent_at_that_time(client, organisation, secretariat):
    helene = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    karim = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    for agent in (helene, karim):
        PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=MONDAY)
    client.force_login(secretariat)
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat())))
    create = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    for agent in (helene, karim):
        day = column_cell(root, f"agent-{agent.pk}", "day")
        slots = find_all(find(day, "div", class_="rdv-agenda__slots"), "a")
        assert len(slots) == 26  # 7h00 to 20h00, every 30 minutes
        assert attribute(slots[5], "href") == f"{create}?agent={agent.pk}&debut={MONDAY.isoformat()}T09:30"
        assert text(slots[5]) == f"9h30 : poser un RDV avec {agent.full_name}"


def test_plages_absences_and_rdvs_during_an_absence_show_as_on_the_agenda(client, organisation, secretariat):
    helene = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    karim = AgentFactory(organisation=organisation, services=["Social"], first_name="Karim", last_name="Benali")
    lieu = LieuFactory(organisation=organisation, name="MDS de Noisiel")
    PlageOuvertureFactory(
        organisation=organisation, agent=helene, lieu=lieu, first_day=MONDAY, title="Consultation de PMI"
    )
    AbsenceFactory(
        organisation=organisation,
        agent=helene,
        title="Réunion",
        first_day=MONDAY,
        start_time=dt.time(11),
        end_time=dt.time(12),
    )
    during = RdvFactory(organisation=organisation, agents=[helene], starts_at=local(MONDAY, 11, 15))
    before = RdvFactory(organisation=organisation, agents=[helene], starts_at=local(MONDAY, 9))
    PlageOuvertureFactory(organisation=organisation, agent=karim, first_day=MONDAY)
    AbsenceFactory(
        organisation=organisation, agent=karim, title="Congés", first_day=MONDAY - dt.timedelta(days=1), days=3
    )
    client.force_login(secretariat)
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat())))

    assert notes(root, f"agent-{helene.pk}") == [
        "9h00 – 12h00 Consultation de PMI MDS de Noisiel",
        "11h00 – 12h00 Absence : Réunion",
    ]
    day = column_cell(root, f"agent-{helene.pk}", "day")
    assert [attribute(band, "style") for band in find_all(day, "div", class_="rdv-agenda__band--plage")] == [
        "top:8rem;height:12rem"
    ]
    assert [attribute(band, "style") for band in find_all(day, "div", class_="rdv-agenda__band--absence")] == [
        "top:16rem;height:4rem"
    ]
    detail = reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": during.pk})
    link = find(rdv_item(root, detail), "a", class_="rdv-agenda__rdv")
    assert "rdv-agenda__rdv--in-absence" in attribute(link, "class").split()
    assert text(link).endswith(", pendant l'absence « Réunion »")
    detail = reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": before.pk})
    assert "rdv-agenda__rdv--in-absence" not in attribute(find(rdv_item(root, detail), "a"), "class").split()
    # A whole day away: the « Toute la journée » row.
    assert all_day(root, f"agent-{karim.pk}") == [
        "Toute la journée : Absence : Congés du 13 juin à 14h00 au 15 juin à 17h00"
    ]
    assert all_day(root, f"agent-{helene.pk}") == []


def test_thirty_agents_stay_readable_in_a_grid_that_scrolls_sideways(client, organisation, secretariat):
    agents = [AgentFactory(organisation=organisation, services=["PMI"]) for _ in range(30)]
    for agent in agents:
        bulk_rdvs(organisation, [agent], [local(MONDAY, 9)])
    client.force_login(secretariat)
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat())))
    grid = find(root, "div", class_="rdv-agenda--equipe")
    # Every column keeps 11rem; the frame around the grid scrolls, the hours stay (agenda.css).
    assert attribute(grid, "style").startswith(
        "grid-template-columns:3.5rem repeat(30, minmax(11rem, 1fr));width:max(100%, 333.5rem);"
    )
    assert find(root, "div", class_="rdv-agenda-frame--equipe") is not None
    assert len(headings(root)) == 30 and len(rdv_items(root)) == 30
    # The keyboard reaches any agent's column without tabbing through the others' cells.
    skip = find(root, "nav", class_="rdv-agenda-skip")
    assert attribute(skip, "aria-label") == "Aller à l'agenda d'un agent"
    assert [attribute(link, "href") for link in find_all(skip, "a")] == [
        f"#agent-{agent.pk}" for agent in sorted(agents, key=lambda a: (a.last_name, a.first_name, a.pk))
    ]


def test_the_day_prints_as_a_list_per_agent(client, organisation, secretariat):
    helene = AgentFactory(organisation=organisation, services=["PMI"], first_name="Hélène", last_name="Martin")
    usager = UsagerFactory(organisation=organisation, first_name="Léon", last_name="Angelo")
    motif = MotifFactory(organisation=organisation, name="Pesée")
    RdvFactory(organisation=organisation, agents=[helene], usagers=[usager], motif=motif, starts_at=local(MONDAY, 9))
    client.force_login(secretariat)
    root = dom(client.get(team_url(organisation, date=MONDAY.isoformat())))
    (section,) = find_all(find(root, "div", class_="rdv-print-only"), "section")
    assert text(find(section, "h2")) == "Hélène Martin"
    (line,) = find_all(section, "li")
    assert text(line).startswith("9h00 – 9h30 Léon ANGELO · Pesée")


# ---------------------------------------------------------------------------------------------
# Bounded queries, refresh, « En salle d'attente »


def test_the_team_day_reads_the_same_number_of_queries_for_3_or_30_agents(client, organisation, secretariat):
    lieu = LieuFactory(organisation=organisation)
    motif = MotifFactory(organisation=organisation)
    other = OrganisationFactory()
    other_motif, other_lieu = MotifFactory(organisation=other), LieuFactory(organisation=other)

    def add_agents(count):
        for _ in range(count):
            agent = AgentFactory(organisation=organisation, services=["PMI"])
            PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, first_day=MONDAY)
            AbsenceFactory(organisation=organisation, agent=agent, first_day=MONDAY)
            bulk_rdvs(organisation, [agent], [local(MONDAY, 9), local(MONDAY, 10)], motif=motif, lieu=lieu)
            AgentRoleFactory(agent=agent, organisation=other)
            AbsenceFactory(
                organisation=other, agent=agent, first_day=MONDAY, start_time=dt.time(8), end_time=dt.time(9)
            )
            bulk_rdvs(other, [agent], [local(MONDAY, 11)], motif=other_motif, lieu=other_lieu)

    client.force_login(secretariat)
    url = team_url(organisation, date=MONDAY.isoformat())
    add_agents(3)
    small = count_queries(client, url)
    add_agents(27)
    assert count_queries(client, url) == small
    assert small == 15  # with the side menu's « À renseigner » badge
    root = dom(client.get(url))
    assert len(headings(root)) == 30
    busy = [
        item
        for head in find_all(root, "div", class_="rdv-agenda__head")
        for item in find_all(head, "li", class_="rdv-agenda__note--busy")
    ]
    assert [text(item) for item in busy] == [
        "Occupé (autre organisation) de 8h00 à 9h00",
        "Occupé (autre organisation) de 11h00 à 11h20",
    ] * 30


def test_the_grid_is_polled_by_htmx_and_the_partial_is_the_grid_only(client, organisation, secretariat):
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    RdvFactory(organisation=organisation, agents=[agent], starts_at=local(TODAY, 12))
    client.force_login(secretariat)
    url = team_url(organisation, service="", lieu="")
    box = find(dom(client.get(url)), "div", id="journee-equipe")
    assert attribute(box, "hx-trigger") == "every 30s" and attribute(box, "hx-swap") == "outerHTML"
    assert attribute(box, "hx-get") == url
    partial = client.get(team_url(organisation), headers={"HX-Request": "true"})
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="journee-equipe"')
    assert "<html" not in body and "fr-sidemenu" not in body
    assert find(dom(partial), "button", title="En salle d'attente") is not None


def test_en_salle_d_attente_in_one_click_on_the_team_day(client, organisation, secretariat):
    agent = AgentFactory(organisation=organisation, services=["PMI"])
    rdv = RdvFactory(organisation=organisation, agents=[agent], starts_at=local(TODAY, 12))
    tomorrow = RdvFactory(organisation=organisation, agents=[agent], starts_at=local(TODAY + dt.timedelta(days=1), 9))
    client.force_login(secretariat)
    url = team_url(organisation, date=TODAY.isoformat())
    root = dom(client.get(url))
    # One form for the page (its CSRF token, the status, the page to come back to); each RDV's
    # button submits it to that RDV's status page.
    (button,) = find_all(root, "button", class_="rdv-agenda__waiting")
    form = find(root, "form", id=attribute(button, "form"))
    assert attribute(find(form, "input", name="next"), "value") == url
    assert attribute(find(form, "input", name="status"), "value") == "waiting"
    assert find(form, "input", name="csrfmiddlewaretoken")
    action = attribute(button, "formaction")
    assert action == reverse("rendezvous:status", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    assert text(button) == "En salle d'attente"
    # The button names the RDV it acts on: the RDV's link describes it.
    link = find(
        rdv_item(root, reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})), "a"
    )
    assert attribute(button, "aria-describedby") == attribute(link, "id")

    response = client.post(action, {"status": "waiting", "next": url})
    assert response.status_code == 302 and response.url == url
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.WAITING
    assert rdv.history.first().history_user == secretariat
    root = dom(client.get(url))
    assert find_all(root, "button", class_="rdv-agenda__waiting") == []
    (item,) = rdv_items(root)
    assert "En salle d'attente" in text(find(item, "a"))
    # Not on another day: the status rules refuse it.
    root = dom(client.get(team_url(organisation, date=tomorrow.starts_at.date().isoformat())))
    assert find_all(root, "button", class_="rdv-agenda__waiting") == []


# ---------------------------------------------------------------------------------------------
# « Occupé (autre organisation) »: times only


def test_the_team_day_shows_who_is_busy_elsewhere_with_times_only(client, organisation, basic_agent, secretariat):
    busy_in_another_organisation(organisation, basic_agent, MONDAY)
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, first_day=MONDAY, end_time=dt.time(17))
    client.force_login(secretariat)
    response = client.get(team_url(organisation, date=MONDAY.isoformat()))
    assert notes(dom(response), f"agent-{basic_agent.pk}", "busy") == ["Occupé (autre organisation) de 14h00 à 15h00"]
    assert not any(secret in response.content.decode() for secret in SECRETS)


def test_a_busy_block_at_21h_elsewhere_widens_the_team_grid(client, organisation, basic_agent, secretariat):
    secret_rdv_elsewhere(basic_agent, local(MONDAY, 21))
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, first_day=MONDAY)
    client.force_login(secretariat)
    response = client.get(team_url(organisation, date=MONDAY.isoformat()))
    root = dom(response)
    assert notes(root, f"agent-{basic_agent.pk}", "busy") == ["Occupé (autre organisation) de 21h00 à 22h00"]
    day = column_cell(root, f"agent-{basic_agent.pk}", "day")
    assert [attribute(band, "style") for band in find_all(day, "div", class_="rdv-agenda__band--busy")] == [
        "top:56rem;height:4rem"
    ]
    assert text(find(root, "div", class_="rdv-agenda__hours")).split()[-1] == "21h"
    assert not any(secret in response.content.decode() for secret in SECRETS)
