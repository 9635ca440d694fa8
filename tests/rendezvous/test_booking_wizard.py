"""« Poser un rendez-vous », « Directement sur l'agenda de l'agent » (rendezvous/views/booking.py):
step 1, the motif, from the calendar's agent and start; step 3, « Créer RDV », its validation and
the RDV it creates. The usagers step is in test_booking_usagers.py, the conflicts' warnings in
test_booking_conflicts.py."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from motifs.models import Motif
from rendezvous.models import Participation, Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, service
from tests.planning.factories import PlageOuvertureFactory
from tests.rendezvous.helpers import (
    DAY,
    at,
    create_url,
    creneaux_url,
    dom,
    field_errors,
    find,
    find_all,
    slot_params,
    step2_data,
    step3_data,
    text,
)
from tests.usagers.factories import UsagerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]

# A warning about what the calendar sent, above the wizard.
WARNING = '<div class="fr-alert fr-alert--warning fr-alert--sm fr-mb-2w" role="alert"><p>{}</p></div>'
NO_SUCH_AGENT = (
    "L'agent demandé n'existe pas ou vous ne pouvez pas lui poser de RDV : choisissez les agents à l'étape 3."
)


def bad_start(value: str) -> str:
    return (
        f"L'heure de début « {value} » n'est pas valide (format attendu AAAA-MM-JJTHH:MM) : choisissez-la à l'étape 3."
    )


def recap(line: str) -> str:
    """A line of « Votre choix », the recap above the step."""
    return f'<li><span class="fr-icon-check-line" aria-hidden="true"></span> {line}</li>'


def offered(response) -> list[int]:
    """The motifs step 1 offers: the options of its « Motif » select."""
    select = find(dom(response), "select", name="motif")
    return [int(value) for option in find_all(select, "option") if (value := dict(option.attributes)["value"])]


def test_step1_shows_the_start_and_the_motifs_of_the_clicked_agent(client, organisation, basic_agent, motif):
    social = MotifFactory(organisation=organisation, service=service("Social"), category__name="Suivi social")
    archived = MotifFactory(organisation=organisation, category__name="Pesée", archived=True)
    foreign = MotifFactory(category__name="Vaccination")
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, agent=basic_agent.pk, debut=f"{DAY.isoformat()}T09:30"))
    assert response.status_code == 200
    assertContains(response, recap("Commence le : lundi 14 juin 2027 à 9h30"), html=True)
    assertContains(response, recap(f"Agenda de : {basic_agent.full_name}"), html=True)
    # Grouped by service.
    assertContains(
        response,
        f"""<optgroup label="PMI (Protection Maternelle Infantile)">
        <option value="{motif.pk}">Consultation de puériculture (Sur place)</option>
        </optgroup>""",
        html=True,
    )
    assert offered(response) == [motif.pk]
    page = response.content.decode()
    for hidden in (social, archived, foreign):
        assert hidden.name not in page
    assertContains(response, '<button type="submit" class="fr-btn">Continuer</button>', html=True)


def test_motifs_a_membership_may_book(client, organisation, admin_agent, basic_agent, motif):
    """Admin and secrétariat book any active motif of the organisation; a basic agent those of its
    services; the agent whose agenda was clicked narrows the list to the motifs it receives (the
    secrétariat: those marked for it)."""
    social = MotifFactory(organisation=organisation, service=service("Social"), category__name="Suivi social")
    for_secretariat = MotifFactory(organisation=organisation, category__name="Pesée", for_secretariat=True)
    secretariat = AgentFactory(organisation=organisation, secretariat=True)

    client.force_login(basic_agent)
    response = client.get(create_url(organisation))
    assert {motif.pk, for_secretariat.pk} <= set(offered(response))
    assert social.name not in response.content.decode()

    client.force_login(secretariat)
    response = client.get(create_url(organisation))
    assert {motif.pk, social.pk} <= set(offered(response))
    response = client.get(create_url(organisation, agent=secretariat.pk))
    assert for_secretariat.pk in offered(response)
    page = response.content.decode()
    assert motif.name not in page and social.name not in page

    client.force_login(admin_agent)
    response = client.get(create_url(organisation, agent=basic_agent.pk))
    assert motif.pk in offered(response)
    assert social.name not in response.content.decode()
    response = client.get(create_url(organisation))
    assert {motif.pk, social.pk} <= set(offered(response))


def test_motif_location_types_are_labelled(client, organisation, basic_agent):
    visite = MotifFactory(organisation=organisation, location_type=Motif.LocationType.HOME, category__name="Visite")
    client.force_login(basic_agent)
    response = client.get(create_url(organisation))
    assertContains(response, f'<option value="{visite.pk}">Visite (À domicile)</option>', html=True)


@pytest.mark.parametrize(
    ("params", "warning"),
    [
        ({"agent": "abc"}, NO_SUCH_AGENT),
        ({"agent": "999999999"}, NO_SUCH_AGENT),
        ({"debut": "2026-13-45T99:00"}, bad_start("2026-13-45T99:00")),
        ({"debut": "demain"}, bad_start("demain")),
    ],
)
def test_bad_calendar_values_are_ignored_with_a_warning(client, organisation, basic_agent, motif, params, warning):
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, **params))
    assert response.status_code == 200
    assertContains(response, WARNING.format(warning), count=1, html=True)


def test_an_agent_of_another_organisation_or_service_is_ignored(client, organisation, basic_agent, motif):
    stranger = AgentFactory(organisation=OrganisationFactory())
    social = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(basic_agent)
    for agent in (stranger, social):
        response = client.get(create_url(organisation, agent=agent.pk))
        assertContains(response, WARNING.format(NO_SUCH_AGENT), count=1, html=True)
        assert agent.full_name not in response.content.decode()


@pytest.mark.parametrize(
    ("value", "error"),
    [("", "Choisissez un motif."), ("foreign", "Ce motif n'existe pas ou ne peut pas être réservé ici.")],
)
def test_step1_refuses_a_missing_or_foreign_motif(client, organisation, basic_agent, motif, value, error):
    if value == "foreign":
        value = MotifFactory().pk
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, motif=value))
    assert response.status_code == 422
    assert field_errors(response, "motif") == [error]


def test_another_organisations_pages_answer_404(client, organisation, basic_agent):
    other = OrganisationFactory()
    client.force_login(basic_agent)
    for name in ("create", "creneaux", "usager_picker"):
        assert client.get(reverse(f"rendezvous:{name}", kwargs={"organisation_id": other.pk})).status_code == 404


def test_step3_is_prefilled_from_the_calendar_the_motif_and_the_plage(
    client, organisation, basic_agent, motif, plage, usager
):
    client.force_login(basic_agent)
    data = step2_data(motif, basic_agent, debut=f"{DAY.isoformat()}T09:30", usagers=[usager.pk], action="continuer")
    response = client.post(create_url(organisation), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["date"] == DAY
    assert form.initial["time"] == dt.time(9, 30)
    assert form.initial["duration_in_min"] == 30
    assert form.initial["agents"] == [basic_agent.pk]
    assert form.initial["lieu"] == plage.lieu_id
    assertContains(
        response, '<button type="submit" class="fr-btn" name="action" value="creer">Créer RDV</button>', html=True
    )


def test_create_rdv_with_several_usagers(client, organisation, basic_agent, motif, plage, usager):
    proche = UsagerFactory(organisation=organisation, proche=True)
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [proche, proche.responsible], lieu_id=plage.lieu_id)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 302
    agenda = reverse("rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk})
    assert response.url == f"{agenda}?date={DAY.isoformat()}"
    rdv = Rdv.objects.get()
    assert rdv.starts_at == at(organisation, DAY, 9, 30)
    assert rdv.duration_in_min == 30
    assert rdv.lieu_id == plage.lieu_id
    assert rdv.notes == "Premier RDV"
    assert rdv.created_by == Rdv.CreatedBy.AGENT
    assert rdv.created_by_agent == basic_agent
    assert list(rdv.agents.all()) == [basic_agent]
    assert set(rdv.usagers.all()) == {proche, proche.responsible}
    assert rdv.history.earliest().history_user == basic_agent
    assert {p.history.get().history_user for p in Participation.objects.all()} == {basic_agent}
    created = find(dom(client.get(response.url)), "div", class_="fr-alert--success")
    assert text(created).startswith(f"Le RDV « {motif.name} » du lundi 14 juin 2027 à 9h30 a été créé.")


def test_phone_and_home_motifs(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, address="8 rue Pierre Mendès France, 77200 Torcy")
    phone = MotifFactory(organisation=organisation, phone=True, category__name="Entretien prénatal précoce")
    home = MotifFactory(organisation=organisation, home=True, category__name="Visite à domicile post-natale")
    for motif in (phone, home):
        PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=None, motifs=[motif], first_day=DAY)
    client.force_login(basic_agent)

    # À domicile: the address is prefilled from the usager and required.
    response = client.post(create_url(organisation), step2_data(home, usagers=[usager.pk], action="continuer"))
    assert response.context["form"].initial["address"] == usager.address
    page = dom(response)
    assert find(page, "label", for_="id_address").children[0] == "Adresse du domicile"
    assert dict(find(page, "input", name="address").attributes)["value"] == usager.address
    response = client.post(create_url(organisation), step3_data(organisation, home, [basic_agent], [usager]))
    assert response.status_code == 422
    assert field_errors(response, "address") == ["Indiquez l'adresse du domicile de l'usager."]
    data = step3_data(organisation, home, [basic_agent], [usager], address=usager.address, lieu_id=LieuFactory().pk)
    assert client.post(create_url(organisation), data).status_code == 302
    rdv = Rdv.objects.get(motif=home)
    assert rdv.address == usager.address and rdv.lieu is None

    # Par téléphone: no lieu.
    data = step3_data(organisation, phone, [basic_agent], [usager], time="10:30")
    assert client.post(create_url(organisation), data).status_code == 302
    assert Rdv.objects.get(motif=phone).lieu is None


@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        ({"duration_in_min": 0}, "duration_in_min", "Un RDV ne peut pas durer 0 minute."),
        ({"duration_in_min": ""}, "duration_in_min", "Ce champ est obligatoire."),
        ({"lieu": ""}, "lieu", "Choisissez le lieu du RDV."),
        ({"agents": []}, "agents", "Choisissez au moins un agent."),
        ({"date": "2026-02-30"}, "date", "Saisissez une date valide."),
    ],
)
def test_step3_validation(client, organisation, basic_agent, motif, plage, usager, changes, field, error):
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    data.update(changes)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    assert error in response.context["form"].errors[field]
    assert not Rdv.objects.exists()


def test_no_rdv_more_than_48_hours_in_the_past(client, organisation, basic_agent, motif, lieu, usager):
    client.force_login(basic_agent)
    day = timezone.localdate() - dt.timedelta(days=3)
    response = client.post(
        create_url(organisation), step3_data(organisation, motif, [basic_agent], [usager], day=day, lieu_id=lieu.pk)
    )
    assert response.status_code == 422
    assert "Un RDV ne peut pas être créé plus de 48 heures dans le passé." in response.context["form"].errors["date"]
    assert not Rdv.objects.exists()


NO_SUCH_LIEU = "Ce lieu n'existe pas ou n'est plus ouvert."
NO_SUCH_AGENT_TO_BOOK = "Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."
NO_SUCH_USAGER = "Cet usager n'existe pas ou n'est pas connu de votre organisation."
NO_SUCH_MOTIF = "Ce motif n'existe pas ou ne peut pas être réservé ici."


def test_step3_refuses_ids_the_membership_may_not_use(client, organisation, basic_agent, motif, plage, usager):
    other = OrganisationFactory()
    social = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(basic_agent)
    cases = [
        ({"lieu": LieuFactory(organisation=other).pk}, "lieu", NO_SUCH_LIEU),
        ({"lieu": LieuFactory(organisation=organisation, archived=True).pk}, "lieu", NO_SUCH_LIEU),
        ({"agents": [AgentFactory(organisation=other).pk]}, "agents", NO_SUCH_AGENT_TO_BOOK),
        ({"agents": [social.pk]}, "agents", NO_SUCH_AGENT_TO_BOOK),
        ({"usagers": [UsagerFactory(organisation=other).pk]}, "usagers", NO_SUCH_USAGER),
        ({"motif": MotifFactory(organisation=other).pk}, "motif", NO_SUCH_MOTIF),
    ]
    for changes, field, error in cases:
        data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
        data.update(changes)
        response = client.post(create_url(organisation), data)
        assert response.status_code == 422, changes
        assert field_errors(response, field) == [error], changes
    assert not Rdv.objects.exists()


def test_far_dates_are_refused_without_error(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, debut="9999-12-31T23:59", motif=motif.pk))
    assert response.status_code == 200
    assertContains(response, WARNING.format(bad_start("9999-12-31T23:59")), count=1, html=True)
    # Beyond any calendar's reach: the bound of every date of the project (rdv.forms.guard).
    for day, error in (
        (dt.date(9999, 12, 31), "Saisissez une date entre 1900 et 2100."),
        (dt.date(2099, 12, 31), "Un RDV ne peut pas être posé plus de cinq ans à l'avance."),
    ):
        data = step3_data(organisation, motif, [basic_agent], [usager], day=day, lieu_id=plage.lieu_id)
        response = client.post(create_url(organisation), data)
        assert response.status_code == 422
        assert field_errors(response, "date") == [error]
    for day, error in (
        ("9999-12-31", "Saisissez une date entre 1900 et 2100."),
        ("2099-12-31", "Choisissez une date dans les cinq prochaines années."),
    ):
        response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": day})
        assert response.status_code == 422
        assert field_errors(response, "a_partir_du") == [error]
    params = slot_params(motif, basic_agent, plage.lieu, "9999-12-31T23:59")
    assert client.get(creneaux_url(organisation), params).status_code == 302
    assert not Rdv.objects.exists()


def test_wizard_steps_read_a_bounded_number_of_queries(
    client, organisation, admin_agent, motif, usager, django_assert_max_num_queries
):
    client.force_login(admin_agent)
    for _ in range(10):
        MotifFactory(organisation=organisation)
        AgentFactory(organisation=organisation)
        UsagerFactory(organisation=organisation, last_name="Garrigue")
    with django_assert_max_num_queries(8):
        assert client.get(create_url(organisation, agent=admin_agent.pk, debut=f"{DAY}T09:00")).status_code == 200
    with django_assert_max_num_queries(10):
        response = client.post(create_url(organisation), step2_data(motif, q="garrigue", action="rechercher"))
        assert response.status_code == 200
    with django_assert_max_num_queries(12):
        response = client.post(create_url(organisation), step2_data(motif, usagers=[usager.pk], action="continuer"))
        assert response.status_code == 200
