"""The fiche's « Rendez-vous » panel (rendezvous/fiche.py): counts by status that add up to the
total, each a link to « Tous les RDVs » filtered on the usager and that status; the next and the
last RDVs, bounded, only those the agent may see; « Prendre un RDV »; and « Ajouter un proche »
prefilled with the usager's last name and address."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from rendezvous.fiche import LISTED
from tests.agents.factories import AgentFactory
from tests.helpers import count_queries
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, text
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager

NOW = dt.datetime(2027, 6, 9, 10, 30, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def fiche_url(organisation, usager):
    return reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": usager.pk})


def list_url(organisation):
    return reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})


def panel(response):
    return find(dom(response), "section", id="rendez-vous")


def test_counts_add_up_to_the_total_and_each_links_to_the_filtered_list(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)

    def rdv(**traits):
        RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], **traits)

    rdv()  # À venir
    rdv(past=True)  # À renseigner
    rdv(past=True, seen=True)
    rdv(past=True, seen=True)
    rdv(past=True, excused=True)
    rdv(past=True, noshow=True)
    rdv(revoked=True)
    rdv(past=True, revoked=True)
    client.force_login(basic_agent)
    response = client.get(fiche_url(organisation, usager))
    box = panel(response)
    assert text(find(box, "p", class_="fr-mt-2w")) == "Statuts sur 8 RDV :"
    tags = find_all(box, "a", class_="fr-tag")
    assert [text(tag) for tag in tags] == [
        "À renseigner : 1",
        "Vu : 2",
        "À venir : 1",
        "Excusé : 1",
        "Non excusé : 1",
        "Annulé à l'initiative du service : 2",
    ]
    assert sum(int(text(tag).rsplit(":", 1)[1]) for tag in tags) == 8
    for tag, statut in zip(tags, ["a_renseigner", "seen", "a_venir", "excused", "noshow", "revoked"], strict=True):
        href = dict(tag.attributes)["href"]
        assert href == f"{list_url(organisation)}?usager={usager.pk}&statut={statut}"
        listed = client.get(href)
        assert len(listed.context["page_obj"]) == int(text(tag).rsplit(":", 1)[1])


def test_waiting_counts_when_some_rdv_is_in_the_waiting_room(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], waiting=True)
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    client.force_login(basic_agent)
    tags = [text(tag) for tag in find_all(panel(client.get(fiche_url(organisation, usager))), "a", class_="fr-tag")]
    assert "En salle d'attente : 1" in tags
    assert "Annulé à l'initiative du service : 0" not in tags  # the statuses the seed does not name: when some


def test_next_and_last_rdvs_are_listed_bounded_with_the_full_lists_one_click_away(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    for days in range(1, LISTED + 3):
        RdvFactory(
            organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=NOW + dt.timedelta(days=days)
        )
        RdvFactory(
            organisation=organisation,
            agents=[basic_agent],
            usagers=[usager],
            starts_at=NOW - dt.timedelta(days=days),
            seen=True,
        )
    client.force_login(basic_agent)
    box = panel(client.get(fiche_url(organisation, usager)))
    upcoming = find(box, "ul", aria_labelledby="rdv-prochains")
    past = find(box, "ul", aria_labelledby="rdv-passes")
    assert len(find_all(upcoming, "li")) == LISTED
    assert len(find_all(past, "li")) == LISTED
    # The next one first; the latest past one first.
    assert text(find_all(upcoming, "a")[0]) == "jeudi 10 juin 2027 à 12h30"
    assert text(find_all(past, "a")[0]) == "mardi 8 juin 2027 à 12h30"
    assert "Vu" in text(find_all(past, "li")[0])
    more = {text(link): dict(link.attributes)["href"] for link in find_all(box, "a", class_="fr-link--sm")}
    assert more == {
        "Voir tous les rendez-vous à venir": f"{list_url(organisation)}?usager={usager.pk}&du=2027-06-09",
        "Voir tous les rendez-vous passés": f"{list_url(organisation)}?usager={usager.pk}&au=2027-06-09",
    }


def test_only_the_rdvs_the_agent_may_see_are_listed(client, organisation, basic_agent):
    """A basic agent does not see the RDVs of another service's agents: neither counted nor listed."""
    usager = UsagerFactory(organisation=organisation)
    social = AgentFactory(organisation=organisation, services=["Social"])
    RdvFactory(organisation=organisation, agents=[social], usagers=[usager], motif__name="Accompagnement social")
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], motif__name="Pesée")
    client.force_login(basic_agent)
    box = panel(client.get(fiche_url(organisation, usager)))
    assert "Pesée" in text(box)
    assert "Accompagnement social" not in text(box)
    assert len(find_all(find(box, "ul", aria_labelledby="rdv-prochains"), "li")) == 1
    assert text(find(box, "p", class_="fr-mt-2w")) == "Statuts sur 1 RDV :"
    assert not find_all(box, "ul", aria_labelledby="rdv-passes")
    assert "Aucun rendez-vous passé." in text(box)


def test_fiche_queries_do_not_grow_with_the_rdvs(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)

    def add_rdvs():
        for days in (1, 2, 3):
            colleague = AgentFactory(organisation=organisation, services=["PMI"])
            for sign in (1, -1):
                RdvFactory(
                    organisation=organisation,
                    agents=[basic_agent, colleague],
                    usagers=[usager, UsagerFactory(organisation=organisation)],
                    starts_at=NOW + sign * dt.timedelta(days=days, hours=len(Usager.objects.all())),
                )

    add_rdvs()
    client.force_login(basic_agent)
    path = fiche_url(organisation, usager)
    client.get(path)
    before = count_queries(client, path)
    add_rdvs()
    add_rdvs()
    assert count_queries(client, path) == before
    assert before == 15


def test_prendre_un_rdv_opens_trouver_un_creneau_with_the_usager_chosen(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    client.force_login(basic_agent)
    box = panel(client.get(fiche_url(organisation, usager)))
    link = find(box, "a", class_="fr-btn")
    assert text(link) == "Prendre un RDV"
    creneaux = reverse("rendezvous:creneaux", kwargs={"organisation_id": organisation.pk})
    assert dict(link.attributes)["href"] == f"{creneaux}?usagers={usager.pk}"


def test_ajouter_un_proche_prefills_the_last_name_and_the_address(client, organisation, basic_agent):
    responsible = UsagerFactory(
        organisation=organisation, last_name="Garrigue", address="3 rue des Lilas 77186 Noisiel"
    )
    client.force_login(basic_agent)
    add = reverse("usagers:create_proche", kwargs={"organisation_id": organisation.pk, "pk": responsible.pk})
    page = dom(client.get(add))
    assert dict(find(page, "input", name="last_name").attributes)["value"] == "Garrigue"
    assert dict(find(page, "input", name="address").attributes)["value"] == "3 rue des Lilas 77186 Noisiel"
    response = client.post(
        add, {"first_name": "Lara", "last_name": "Garrigue", "address": "3 rue des Lilas 77186 Noisiel"}
    )
    assert response.status_code == 302
    proche = Usager.objects.get(first_name="Lara")
    assert proche.address == "3 rue des Lilas 77186 Noisiel"
    fiche = dom(client.get(fiche_url(organisation, proche)))
    assert "3 rue des Lilas 77186 Noisiel" in text(find(fiche, "dl", class_="rdv-usager-fields"))
