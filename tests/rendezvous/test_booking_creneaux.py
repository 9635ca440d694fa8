"""« Trouver un créneau » (rendezvous/views/creneaux.py): the filters and the week of slots,
grouped by lieu. Booking a slot is in test_booking_slot.py, the notices when nothing can be
offered in test_booking_creneaux_notices.py."""

import datetime as dt

import pytest
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import escape
from pytest_django.asserts import assertContains

from agents.permissions import get_membership
from rendezvous.booking_forms import CreneauxForm
from rendezvous.forms import MAX_AHEAD
from tests.agents.factories import AgentFactory
from tests.helpers import next_monday
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import DAY, at, creneaux_url, dom, field_errors, find, find_all, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]


def test_creneaux_page_without_motif(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"agents": basic_agent.pk})
    assert response.status_code == 200
    assertContains(response, '<h1 class="fr-h2">Trouver un créneau</h1>', html=True)
    assertContains(response, '<button type="submit" class="fr-btn">Afficher les créneaux</button>', html=True)
    assertContains(
        response,
        '<p class="fr-text--lead fr-mt-4w">Choisissez un motif pour afficher les créneaux disponibles.</p>',
        html=True,
    )
    assert response.context["form"]["agents"].value() == [str(basic_agent.pk)]


def test_creneaux_agents_filter_is_the_shared_searchable_field(client, organisation, basic_agent, motif):
    """The « Agent(s) » filter is the agents field of step 3: « Rechercher un agent », the ticked
    agents first, one group per service; an agent the membership may not book is a French error
    on the field (422), never a 500."""
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Aude")
    PlageOuvertureFactory(
        organisation=organisation, agent=colleague, lieu=LieuFactory(organisation=organisation), motifs=[motif]
    )
    social = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"agents": colleague.pk})
    assert response.status_code == 200
    page = dom(response)
    assert find(page, "label", for_="id_agents-recherche").children[0] == "Rechercher un agent"
    assert find(page, "input", id="id_agents-recherche", type="search")
    assert dict(find(page, data_agents_count=True).attributes)["aria-live"] == "polite"
    assertContains(response, f'<script src="{static("js/agents_search.js")}" defer></script>', count=1, html=True)
    assertContains(response, f'<link rel="stylesheet" href="{static("rendezvous/agents.css")}">', count=1, html=True)
    offered = {dict(box.attributes)["value"] for box in find_all(page, "input", type="checkbox", name="agents")}
    assert str(social.pk) not in offered
    assert str(colleague.pk) in offered
    # The ticked agents first: the colleague, ticked, and no one else.
    ticked = find(page, "fieldset", data_agents_ticked=True)
    assert text(find(ticked, "legend")) == "Agents cochés"
    boxes = [dict(box.attributes) for box in find_all(ticked, "input", type="checkbox", name="agents")]
    assert [(box["value"], "checked" in box) for box in boxes] == [(str(colleague.pk), True)]
    assert colleague.full_name in text(ticked) and basic_agent.full_name not in text(ticked)

    no_such_agent = "Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "agents": social.pk})
    assert response.status_code == 422
    assert field_errors(response, "agents") == [no_such_agent]
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "agents": "abc"})
    assert response.status_code == 422
    assert response.context["form"].errors["agents"]
    assert field_errors(response, "agents") == [no_such_agent]


@pytest.mark.parametrize("bad", ["missing", "motif", "agent", "lieu", "date"])
def test_creneaux_filters_refuse_what_the_membership_may_not_use(client, organisation, basic_agent, motif, bad):
    other = OrganisationFactory()
    params = {"motif": motif.pk}
    if bad == "missing":
        params["motif"] = ""
    elif bad == "motif":
        params["motif"] = MotifFactory(organisation=other).pk
    elif bad == "agent":
        params["agents"] = AgentFactory(organisation=other).pk
    elif bad == "lieu":
        params["lieux"] = LieuFactory(organisation=other).pk
    else:
        params["a_partir_du"] = "31/02/2030"
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), params)
    assert response.status_code == 422
    assert response.context["form"].errors
    # Shown under the field at fault.
    field = {"missing": "motif", "motif": "motif", "agent": "agents", "lieu": "lieux", "date": "a_partir_du"}[bad]
    assert field_errors(response, field) == response.context["form"].errors[field]


def test_creneaux_lists_the_weeks_slots_by_lieu(client, organisation, basic_agent, motif, plage):
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Aude")
    other_lieu = LieuFactory(organisation=organisation, name="Antenne de Torcy")
    PlageOuvertureFactory(
        organisation=organisation, agent=colleague, lieu=other_lieu, motifs=[motif], first_day=DAY, end_time=dt.time(10)
    )
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 10))
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
    assert response.status_code == 200
    groups = response.context["groups"]
    assert [group.title for group in groups] == ["Antenne de Torcy", "MDS de Noisiel"]
    monday = groups[1].days[0]
    assert [(slot["time"], slot["agent"]) for slot in monday.slots] == [
        ("9h00", basic_agent.full_name),
        ("9h30", basic_agent.full_name),
        ("10h30", basic_agent.full_name),
        ("11h00", basic_agent.full_name),
        ("11h30", basic_agent.full_name),
    ]
    assert [slot["agent"] for slot in groups[0].days[0].slots] == [colleague.full_name] * 2
    assertContains(
        response,
        f"""<a class="fr-btn fr-btn--secondary fr-icon-arrow-right-s-line fr-btn--icon-right"
        href="{escape(response.context["next_url"])}">Semaine suivante</a>""",
        count=1,
        html=True,
    )
    # Filtered on an agent and a lieu.
    response = client.get(
        creneaux_url(organisation),
        {"motif": motif.pk, "a_partir_du": DAY.isoformat(), "agents": colleague.pk, "lieux": other_lieu.pk},
    )
    assert [group.title for group in response.context["groups"]] == ["Antenne de Torcy"]


def test_basic_agent_sees_only_slots_of_agents_it_may_book_for(client, organisation, basic_agent, motif, plage):
    social = AgentFactory(organisation=organisation, services=["Social"])
    PlageOuvertureFactory(organisation=organisation, agent=social, motifs=[motif], first_day=DAY)
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
    agents = {slot["agent"] for group in response.context["groups"] for day in group.days for slot in day.slots}
    assert agents == {basic_agent.full_name}


def test_empty_week_offers_the_next_availability(client, organisation, basic_agent, motif, lieu):
    later = next_monday(weeks=4)
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu, motifs=[motif], first_day=later)
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
    assert response.status_code == 200
    assert response.context["groups"] == []
    link = find(dom(response), "a", href=response.context["next_slot_url"])
    assert text(link) == f"Prochaine disponibilité : lundi 5 juillet 2027 à 9h00 ({basic_agent.full_name})"
    assert f"a_partir_du={later.isoformat()}" in response.context["next_slot_url"]
    response = client.get(response.context["next_slot_url"])
    assert response.context["groups"][0].days[0].slots[0]["time"] == "9h00"


def test_closed_lieux_offer_no_slot(client, organisation, basic_agent, motif, plage):
    closed = LieuFactory(organisation=organisation, name="Ancienne antenne", archived=True)
    PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, lieu=closed, motifs=[motif], first_day=DAY + dt.timedelta(days=1)
    )
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]


@pytest.mark.parametrize(
    ("time_zone", "utc_now"),
    [
        # Already the next day in Nouméa, not in Paris (the server's zone).
        ("Pacific/Noumea", dt.datetime(2030, 6, 3, 14, tzinfo=dt.UTC)),
        # Still the day before in Papeete, already the next day in Paris.
        ("Pacific/Tahiti", dt.datetime(2030, 6, 3, 8, tzinfo=dt.UTC)),
    ],
)
def test_creneaux_date_limit_counts_from_the_organisations_today(
    organisation, basic_agent, motif, monkeypatch, time_zone, utc_now
):
    organisation.time_zone = time_zone
    organisation.save(update_fields=["time_zone"])
    monkeypatch.setattr(timezone, "now", lambda: utc_now)
    limit = utc_now.astimezone(organisation.tzinfo).date() + MAX_AHEAD
    assert limit != timezone.localdate() + MAX_AHEAD
    membership = get_membership(basic_agent, organisation.pk)

    def accepts(day: dt.date) -> bool:
        data = {"motif": motif.pk, "a_partir_du": day.isoformat()}
        form = CreneauxForm(data, membership=membership, motifs=[motif], agents=[basic_agent])
        return form.is_valid()

    assert accepts(limit)
    assert not accepts(limit + dt.timedelta(days=1))


def test_creneaux_page_reads_a_bounded_number_of_queries(
    client, organisation, admin_agent, motif, lieu, django_assert_max_num_queries
):
    def count() -> int:
        with django_assert_max_num_queries(20) as captured:
            response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
        assert response.status_code == 200
        return len(captured)

    client.force_login(admin_agent)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=DAY)
    few = count()
    for _ in range(10):
        agent = AgentFactory(organisation=organisation, services=["PMI"])
        PlageOuvertureFactory(
            organisation=organisation,
            agent=agent,
            lieu=LieuFactory(organisation=organisation),
            motifs=[motif],
            first_day=DAY,
            weekly=True,
            weekdays=(0, 1, 2),
        )
        RdvFactory(organisation=organisation, agents=[agent], starts_at=at(organisation, DAY, 10))
        AbsenceFactory(organisation=organisation, agent=agent, first_day=DAY + dt.timedelta(days=1))
    assert count() == few
