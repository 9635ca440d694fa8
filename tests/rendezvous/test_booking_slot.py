"""« Trouver un créneau », a slot chosen (rendezvous/views/creneaux.py): its usagers step books
the RDV; a forged or gone slot books nothing. A slot taken meanwhile is in
test_booking_concurrency.py."""

import datetime as dt

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.helpers import DAY, at, creneaux_url, dom, field_errors, find, slot_params
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]


def address_field(response) -> tuple[str, str]:
    """The « Adresse du domicile » field: its label (without its hint) and its value."""
    page = dom(response)
    label = find(page, "label", for_="id_address").children[0]
    return label, dict(find(page, "input", name="address").attributes).get("value", "")


def test_book_a_slot(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    response = client.get(creneaux_url(organisation), params)
    assert response.status_code == 200
    assertContains(response, '<h2 class="fr-h5">Choisir le ou les usagers</h2>', html=True)
    end = dt.datetime.combine(DAY, dt.time(9, 30)) + dt.timedelta(minutes=motif.default_duration_in_min)
    assertContains(
        response,
        f"""<li><span class="fr-icon-check-line" aria-hidden="true"></span>
        Commence le : lundi 14 juin 2027 à 9h30 (fin à {end.hour}h{end:%M})</li>""",
        html=True,
    )
    assertContains(
        response,
        """<button type="submit" class="fr-link fr-link--sm" name="action" value="creer_usager"
        aria-describedby="creer-usager-notes">Créer un usager</button>""",
        html=True,
    )

    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    agenda = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk})
    assert response.url == f"{agenda}?date={DAY.isoformat()}"
    rdv = Rdv.objects.get()
    assert rdv.starts_at == at(organisation, DAY, 9, 30)
    assert rdv.duration_in_min == motif.default_duration_in_min
    assert rdv.lieu == plage.lieu
    assert list(rdv.agents.all()) == [basic_agent]
    assert list(rdv.usagers.all()) == [usager]
    assert rdv.created_by_agent == basic_agent
    assert rdv.history.earliest().history_user == basic_agent


def test_a_home_slot_needs_the_address(client, organisation, basic_agent):
    """« Trouver un créneau » has no step 3: its usagers step asks the address of an RDV « à
    domicile », prefilled from the usager, required to book."""
    home = MotifFactory(organisation=organisation, home=True, category__name="Visite à domicile post-natale")
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=None, motifs=[home], first_day=DAY)
    homeless = UsagerFactory(organisation=organisation, first_name="Sans", last_name="Adresse")
    housed = UsagerFactory(organisation=organisation, address="8 rue Pierre Mendès France, 77200 Torcy")
    params = {"motif": home.pk, "creneau": f"{DAY.isoformat()}T09:00", "agent": basic_agent.pk}
    client.force_login(basic_agent)
    assert address_field(client.get(creneaux_url(organisation), params)) == ("Adresse du domicile", "")

    response = client.post(creneaux_url(organisation), {**params, "usagers": [homeless.pk], "action": "continuer"})
    assert response.status_code == 422
    assert response.context["usagers"].form.errors["address"] == ["Indiquez l'adresse du domicile de l'usager."]
    assert response.context["usagers"].selected == [homeless]  # still chosen
    assert not Rdv.objects.exists()

    # Adding an usager is no error; its address fills the empty field.
    response = client.post(creneaux_url(organisation), {**params, "ajouter": homeless.pk})
    assert response.status_code == 200
    response = client.post(creneaux_url(organisation), {**params, "usagers": [homeless.pk], "ajouter": housed.pk})
    assert response.status_code == 200
    assert response.context["usagers"].form["address"].value() == housed.address
    # Required: no « (Optionnel) » after the label.
    assert address_field(response) == ("Adresse du domicile", housed.address)
    response = client.post(
        creneaux_url(organisation),
        {**params, "usagers": [homeless.pk], "address": "3 allée des Lilas, Noisiel", "action": "continuer"},
    )
    assert response.status_code == 302
    assert Rdv.objects.get().address == "3 allée des Lilas, Noisiel"


def test_phone_motif_slots_form_one_group_without_lieu(client, organisation, basic_agent):
    phone = MotifFactory(organisation=organisation, phone=True, category__name="Entretien prénatal précoce")
    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=None, motifs=[phone], first_day=DAY)
    usager = UsagerFactory(organisation=organisation)
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"motif": phone.pk, "a_partir_du": DAY.isoformat()})
    assert [group.title for group in response.context["groups"]] == ["Par téléphone"]
    slot_url = response.context["groups"][0].days[0].slots[0]["url"]
    assert "lieu=" not in slot_url
    response = client.post(
        creneaux_url(organisation),
        {
            "motif": phone.pk,
            "creneau": f"{DAY.isoformat()}T09:00",
            "agent": basic_agent.pk,
            "usagers": [usager.pk],
            "action": "continuer",
        },
    )
    assert response.status_code == 302
    assert Rdv.objects.get().lieu is None


def test_slot_step_needs_an_usager(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    response = client.post(creneaux_url(organisation), {**params, "action": "continuer"})
    assert response.status_code == 422
    assert field_errors(response, "usagers") == [
        "Choisissez au moins un usager : tapez son nom dans le champ « Usagers »."
    ]
    assert not Rdv.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"creneau": "lundi 9h"},
        {"agent": "x"},
        {"lieu": ""},
        {"lieu": "999999"},
        {"creneau": f"{DAY.isoformat()}T09:10"},  # not a slot of the plage
        {"creneau": f"{DAY.isoformat()}T14:00"},  # outside the plage
        {"creneau": "2020-01-06T09:00"},  # past
    ],
)
def test_forged_or_gone_slots_are_refused(client, organisation, basic_agent, motif, plage, usager, changes):
    client.force_login(basic_agent)
    params = {**slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30"), **changes}
    response = client.get(creneaux_url(organisation), params)
    assert response.status_code == 302
    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    assert not Rdv.objects.exists()


def test_slot_of_an_agent_the_membership_may_not_book_is_refused(client, organisation, basic_agent, motif, lieu):
    social = AgentFactory(organisation=organisation, services=["Social"])
    PlageOuvertureFactory(organisation=organisation, agent=social, lieu=lieu, motifs=[motif], first_day=DAY)
    usager = UsagerFactory(organisation=organisation)
    client.force_login(basic_agent)
    params = slot_params(motif, social, lieu, f"{DAY.isoformat()}T09:30")
    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    assert not Rdv.objects.exists()
