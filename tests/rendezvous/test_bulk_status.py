"""« Changer le statut de plusieurs RDV » in « Tous les RDVs » (issue 17, « Personal figures »):
tick RDVs, choose « Vu » or « Absent non excusé »; each through `change_status` (the history
names the agent), only RDVs the agent may change, nothing that messages the usagers."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import Notification
from rendezvous.models import TO_FILL, Rdv
from tests.agents.factories import AgentFactory
from tests.helpers import PARIS
from tests.organisations.factories import OrganisationFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.usagers.factories import UsagerFactory

NOW = dt.datetime(2026, 3, 11, 15, 0, tzinfo=PARIS)


def bulk_url(organisation):
    return reverse("rendezvous:bulk_status", kwargs={"organisation_id": organisation.pk})


def list_url(organisation, **query):
    return reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk}, query=query or None)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def to_fill(organisation, basic_agent):
    """Three past RDVs of the agent still « À renseigner », each with an usager who can be told."""
    return [
        RdvFactory(
            organisation=organisation,
            agents=[basic_agent],
            usagers=[UsagerFactory(organisation=organisation, with_email=True, with_phone=True)],
            starts_at=NOW - dt.timedelta(days=days),
        )
        for days in (1, 2, 3)
    ]


def statuses(rdvs) -> list[str]:
    return [Rdv.objects.get(pk=rdv.pk).status for rdv in rdvs]


def test_the_list_offers_to_tick_rdvs_and_set_a_status(client, organisation, basic_agent, to_fill):
    client.force_login(basic_agent)
    response = client.get(list_url(organisation, statut=TO_FILL, agent=basic_agent.pk))
    page = dom(response)
    form = find(page, "form", id="statuts-groupes")
    assert dict(form.attributes)["action"] == bulk_url(organisation)
    options = [text(option) for option in find_all(find(form, "select", name="status"), "option")]
    assert options == ["Choisir un statut", "Vu", "Absent non excusé"]
    boxes = find_all(page, "input", type="checkbox", name="rdvs", form="statuts-groupes")
    assert sorted(int(dict(box.attributes)["value"]) for box in boxes) == sorted(rdv.pk for rdv in to_fill)


def test_tout_cocher_is_a_labelled_box_that_a_script_shows(client, organisation, basic_agent, to_fill):
    """« Tout cocher » is a native checkbox (keyboard and screen readers know it), hidden until
    static/js/agenda.js shows it and ticks the rows' boxes: without JavaScript, each row's box."""
    client.force_login(basic_agent)
    page = dom(client.get(list_url(organisation, statut=TO_FILL, agent=basic_agent.pk)))
    group = find(page, "div", data_select_all="rdvs")
    assert "hidden" in dict(group.attributes)
    box = find(group, "input", type="checkbox", id="choix-tous")
    assert dict(box.attributes)["aria-controls"] == "rdvs-rows"
    assert "name" not in dict(box.attributes)  # not posted with the ticked RDVs
    assert text(find(group, "label", for_="choix-tous")) == "Tout cocher (les RDV de cette page)"
    rows = find(page, "tbody", id="rdvs-rows")
    assert len(find_all(rows, "input", type="checkbox", name="rdvs")) == 3
    assert find(page, "script", src="/static/js/agenda.js")


def test_no_tout_cocher_on_an_empty_list(client, organisation, basic_agent):
    client.force_login(basic_agent)
    page = dom(client.get(list_url(organisation, statut=TO_FILL, agent=basic_agent.pk)))
    assert find_all(page, "input", id="choix-tous") == []


def test_ticked_rdvs_are_seen_with_their_history_and_nobody_told(client, organisation, basic_agent, to_fill):
    client.force_login(basic_agent)
    back = list_url(organisation, statut=TO_FILL, agent=basic_agent.pk)
    response = client.post(
        bulk_url(organisation), {"rdvs": [to_fill[0].pk, to_fill[1].pk], "status": "seen", "next": back}
    )
    assert response.status_code == 302
    assert response.url == back
    assert statuses(to_fill) == ["seen", "seen", "unknown"]
    for rdv in to_fill[:2]:
        # The history keeps where it came from, and who changed it.
        history = list(Rdv.objects.get(pk=rdv.pk).history.order_by("history_id"))
        assert [entry.status for entry in history][-2:] == ["unknown", "seen"]
        assert history[-1].history_user == basic_agent
    assert Notification.objects.count() == 0
    page = dom(client.get(back))
    assert "2 RDV sont maintenant « Vu »." in text(find(page, "div", class_="fr-alert--success"))
    assert find(page, "caption").children[0].strip() == "Rendez-vous (1)"


def test_no_show_too(client, organisation, basic_agent, to_fill):
    client.force_login(basic_agent)
    client.post(bulk_url(organisation), {"rdvs": [to_fill[2].pk], "status": "noshow"})
    assert statuses(to_fill) == ["unknown", "unknown", "noshow"]


@pytest.mark.parametrize("status", ["excused", "revoked", "waiting", "unknown", "vu", ""])
def test_statuses_that_message_or_do_not_fit_are_refused(client, organisation, basic_agent, to_fill, status):
    client.force_login(basic_agent)
    response = client.post(bulk_url(organisation), {"rdvs": [to_fill[0].pk], "status": status})
    assert response.status_code == 422
    assert statuses(to_fill) == ["unknown"] * 3
    message = "Choisissez un statut." if not status else "Ce statut ne peut pas être donné à plusieurs RDV à la fois."
    assert message in text(find(dom(response), "div", class_="fr-alert--error"))


def test_nothing_ticked_says_so(client, organisation, basic_agent, to_fill):
    client.force_login(basic_agent)
    response = client.post(bulk_url(organisation), {"status": "seen"})
    assert response.status_code == 422
    assert "Cochez au moins un RDV." in text(dom(response))


@pytest.mark.parametrize("hostile", ["other_organisation", "other_service", "missing", "not_a_number"])
def test_one_rdv_the_agent_may_not_change_changes_nothing(client, organisation, basic_agent, to_fill, hostile):
    elsewhere = OrganisationFactory()
    foreign = {
        "other_organisation": lambda: RdvFactory(organisation=elsewhere, starts_at=NOW - dt.timedelta(days=1)).pk,
        "other_service": lambda: (
            RdvFactory(
                organisation=organisation,
                agents=[AgentFactory(organisation=organisation, services=["Social"])],
                starts_at=NOW - dt.timedelta(days=1),
            ).pk
        ),
        "missing": lambda: 999_999_999,
        "not_a_number": lambda: "1 OR 1=1",
    }[hostile]()
    client.force_login(basic_agent)
    response = client.post(bulk_url(organisation), {"rdvs": [to_fill[0].pk, foreign], "status": "seen"})
    assert response.status_code == 422
    assert statuses(to_fill) == ["unknown"] * 3
    assert not Rdv.objects.exclude(status="unknown").exists()
    assert "rien n'a été changé" in text(dom(response)) or "n'est pas un RDV" in text(dom(response))


def test_an_admin_of_another_organisation_changes_nothing_through_its_own(client, organisation, to_fill):
    elsewhere = OrganisationFactory()
    admin = AgentFactory(organisation=elsewhere, admin=True, services=["PMI"])
    client.force_login(admin)
    response = client.post(bulk_url(elsewhere), {"rdvs": [to_fill[0].pk], "status": "seen"})
    assert response.status_code == 422
    assert statuses(to_fill) == ["unknown"] * 3


def test_a_cancelled_or_future_rdv_is_left_with_the_reason(client, organisation, basic_agent, to_fill):
    cancelled = RdvFactory(
        organisation=organisation, agents=[basic_agent], starts_at=NOW - dt.timedelta(days=1), excused=True
    )
    tomorrow = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=NOW + dt.timedelta(days=1))
    client.force_login(basic_agent)
    response = client.post(
        bulk_url(organisation), {"rdvs": [to_fill[0].pk, cancelled.pk, tomorrow.pk], "status": "seen"}, follow=True
    )
    assert statuses([to_fill[0], cancelled, tomorrow]) == ["seen", "excused", "unknown"]
    assert Notification.objects.count() == 0
    warning = text(find(dom(response), "div", class_="fr-alert--warning"))
    assert "Des RDV n'ont pas été changés" in warning
    assert "10/03/2026 à 15h00 : il est annulé : changez son statut depuis sa page" in warning
    assert "12/03/2026 à 15h00 : « Vu » ne peut être indiqué qu'à partir d'une heure avant le début du RDV." in warning


def test_the_secretariat_may_set_any_agents_rdvs(client, organisation, to_fill):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    client.force_login(secretariat)
    client.post(bulk_url(organisation), {"rdvs": [rdv.pk for rdv in to_fill], "status": "seen"})
    assert statuses(to_fill) == ["seen"] * 3
    assert {Rdv.objects.get(pk=rdv.pk).history.first().history_user for rdv in to_fill} == {secretariat}


def test_the_page_only_takes_post(client, organisation, basic_agent):
    client.force_login(basic_agent)
    assert client.get(bulk_url(organisation)).status_code == 405


def test_the_queries_grow_with_the_rdvs_ticked_only(client, organisation, basic_agent, to_fill):
    client.force_login(basic_agent)
    client.get(list_url(organisation))  # the session is saved on the first request
    with CaptureQueriesContext(connection) as one:
        client.post(bulk_url(organisation), {"rdvs": [to_fill[0].pk], "status": "seen"})
    with CaptureQueriesContext(connection) as two:
        client.post(bulk_url(organisation), {"rdvs": [rdv.pk for rdv in to_fill[1:]], "status": "seen"})
    # Session, agent, membership, the RDVs ticked with their agents and usagers; then each RDV
    # through `change_status` in its savepoint: its locked row, the update, its history (7).
    assert (len(one), len(two)) == (6 + 7, 6 + 2 * 7)
