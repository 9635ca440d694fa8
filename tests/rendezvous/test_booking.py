"""« Comment poser un rendez-vous ? »: the wizard « Directement sur l'agenda de l'agent » and
« Trouver un créneau » (rendezvous/views/booking.py and creneaux.py)."""

import datetime as dt
import html
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent, AgentRole
from agents.permissions import get_membership
from motifs.models import Motif
from rendezvous.booking_forms import CreneauxForm
from rendezvous.conflicts import conflicts_signature, find_conflicts
from rendezvous.forms import MAX_AHEAD
from rendezvous.models import Participation, Rdv
from rendezvous.services import ConflictsChanged, create_rdv
from rendezvous.views import booking as booking_views
from tests.agents.factories import AgentFactory
from tests.helpers import next_monday, wait_for_a_blocked_transaction
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, service
from tests.planning.factories import AbsenceFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerProfile

pytestmark = pytest.mark.django_db


# Every test here books on DAY, the Monday of next week, from an ordinary Wednesday morning. Taken
# from the real clock, that Monday was a public holiday whenever the suite ran on Easter Sunday or
# on 31 October (lundi de Pâques, Toussaint): the organisation is closed and offers no slot.
NOW = dt.datetime(2027, 6, 9, 10, 30, tzinfo=timezone.get_default_timezone())
DAY = dt.date(2027, 6, 14)


@pytest.fixture(autouse=True)
def _wednesday_morning():
    with time_machine.travel(NOW, tick=False):
        assert next_monday() == DAY
        yield


def at(organisation, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=organisation.tzinfo)


def create_url(organisation, **params) -> str:
    url = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def creneaux_url(organisation) -> str:
    return reverse("rendezvous:creneaux", kwargs={"organisation_id": organisation.pk})


@pytest.fixture
def lieu(organisation):
    return LieuFactory(organisation=organisation, name="MDS de Noisiel")


@pytest.fixture
def motif(organisation):
    return MotifFactory(organisation=organisation, category__name="Consultation de puériculture")


@pytest.fixture
def plage(organisation, basic_agent, motif, lieu):
    """Monday next week, 9:00 to 12:00, for `basic_agent`."""
    return PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu, motifs=[motif], first_day=DAY)


@pytest.fixture
def usager(organisation):
    return UsagerFactory(organisation=organisation, first_name="Inès", last_name="Garrigue")


def step2_data(motif, agent=None, **extra) -> dict:
    data = {"etape": "usagers", "motif": motif.pk}
    if agent is not None:
        data["agent"] = agent.pk
    data.update(extra)
    return data


def step3_data(organisation, motif, agents, usagers, *, day=DAY, time="09:30", **extra) -> dict:
    data = {
        "etape": "rdv",
        "motif": motif.pk,
        "agent": agents[0].pk,
        "usagers": [u.pk for u in usagers],
        "notes": "Premier RDV",
        "date": day.isoformat(),
        "time": time,
        "duration_in_min": 30,
        "lieu": extra.pop("lieu_id", ""),
        "agents": [a.pk for a in agents],
        "action": "creer",
    }
    data.update(extra)
    return data


# Step 1: the motif


def test_step1_shows_the_start_and_the_motifs_of_the_clicked_agent(client, organisation, basic_agent, motif):
    social = MotifFactory(organisation=organisation, service=service("Social"), category__name="Suivi social")
    archived = MotifFactory(organisation=organisation, category__name="Pesée", archived=True)
    foreign = MotifFactory(category__name="Vaccination")
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, agent=basic_agent.pk, debut=f"{DAY.isoformat()}T09:30"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Commence le :" in page and "09h30" in page
    assert basic_agent.full_name in page
    assert "Consultation de puériculture (Sur place)" in page
    assert 'optgroup label="PMI' in page  # grouped by service
    for hidden in (social, archived, foreign):
        assert hidden.name not in page
    assert "Continuer" in page


def test_motifs_a_membership_may_book(client, organisation, admin_agent, basic_agent, motif):
    """Admin and secrétariat book any active motif of the organisation; a basic agent those of its
    services; the agent whose agenda was clicked narrows the list to the motifs it receives (the
    secrétariat: those marked for it)."""
    social = MotifFactory(organisation=organisation, service=service("Social"), category__name="Suivi social")
    for_secretariat = MotifFactory(organisation=organisation, category__name="Pesée", for_secretariat=True)
    secretariat = AgentFactory(organisation=organisation, secretariat=True)

    client.force_login(basic_agent)
    page = client.get(create_url(organisation)).content.decode()
    assert motif.name in page and for_secretariat.name in page and social.name not in page

    client.force_login(secretariat)
    page = client.get(create_url(organisation)).content.decode()
    assert motif.name in page and social.name in page
    page = client.get(create_url(organisation, agent=secretariat.pk)).content.decode()
    assert for_secretariat.name in page and motif.name not in page and social.name not in page

    client.force_login(admin_agent)
    page = client.get(create_url(organisation, agent=basic_agent.pk)).content.decode()
    assert motif.name in page and social.name not in page
    page = client.get(create_url(organisation)).content.decode()
    assert motif.name in page and social.name in page


@pytest.mark.parametrize(
    ("params", "warning"),
    [
        ({"agent": "abc"}, "L&#x27;agent demandé n&#x27;existe pas"),
        ({"agent": "999999999"}, "L&#x27;agent demandé n&#x27;existe pas"),
        ({"debut": "2026-13-45T99:00"}, "n&#x27;est pas valide (format attendu AAAA-MM-JJTHH:MM)"),
        ({"debut": "demain"}, "n&#x27;est pas valide"),
    ],
)
def test_bad_calendar_values_are_ignored_with_a_warning(client, organisation, basic_agent, motif, params, warning):
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, **params))
    assert response.status_code == 200
    assert warning in response.content.decode()


def test_an_agent_of_another_organisation_or_service_is_ignored(client, organisation, basic_agent, motif):
    stranger = AgentFactory(organisation=OrganisationFactory())
    social = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(basic_agent)
    for agent in (stranger, social):
        page = client.get(create_url(organisation, agent=agent.pk)).content.decode()
        assert "L&#x27;agent demandé n&#x27;existe pas" in page
        assert agent.full_name not in page


@pytest.mark.parametrize(
    ("value", "error"),
    [("", "Choisissez un motif."), ("foreign", "Ce motif n&#x27;existe pas ou ne peut pas être réservé ici.")],
)
def test_step1_refuses_a_missing_or_foreign_motif(client, organisation, basic_agent, motif, value, error):
    if value == "foreign":
        value = MotifFactory().pk
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, motif=value))
    assert response.status_code == 422
    assert error in response.content.decode()


def test_another_organisations_pages_answer_404(client, organisation, basic_agent):
    other = OrganisationFactory()
    client.force_login(basic_agent)
    for name in ("create", "creneaux", "usager_picker"):
        assert client.get(reverse(f"rendezvous:{name}", kwargs={"organisation_id": other.pk})).status_code == 404


# Step 2: the usagers


def test_step2_continue_without_usager_is_refused(client, organisation, basic_agent, motif):
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, action="continuer"))
    assert response.status_code == 422
    assert "Choisissez au moins un usager" in response.content.decode()


def test_step2_refuses_a_usager_of_another_organisation(client, organisation, basic_agent, motif):
    foreign = UsagerFactory(organisation=OrganisationFactory(), first_name="Zoé")
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, usagers=[foreign.pk], action="continuer"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Cet usager n&#x27;existe pas ou n&#x27;est pas connu de votre organisation." in page
    assert foreign.full_name not in page


def test_step2_adds_and_removes_usagers_and_keeps_the_notes(client, organisation, basic_agent, motif, usager):
    proche = UsagerFactory(organisation=organisation, proche=True, first_name="Léo")
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, ajouter=proche.pk, notes="Vaccins"))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'name="usagers" value="{proche.pk}"' in page
    assert "Vaccins" in page
    # A proche's responsible is offered in one click.
    assert f"Ajouter aussi {proche.responsible.full_name} (responsable)" in page
    response = client.post(
        create_url(organisation), step2_data(motif, usagers=[proche.pk], ajouter=proche.responsible_id)
    )
    assert [u.pk for u in response.context["usagers"].selected] == [proche.pk, proche.responsible_id]
    response = client.post(
        create_url(organisation),
        step2_data(motif, usagers=[proche.pk, proche.responsible_id], retirer=proche.pk),
    )
    assert [u.pk for u in response.context["usagers"].selected] == [proche.responsible_id]


def test_a_responsible_unknown_to_the_organisation_is_neither_offered_nor_read(client, organisation, basic_agent):
    """A proche known here whose responsible is known to another organisation only: no
    « Ajouter aussi », no « proche de », no address taken from it."""
    responsible = UsagerFactory(
        organisation=OrganisationFactory(), first_name="Gaspard", last_name="Lointain", address="12 rue Cachée, Lyon"
    )
    proche = UsagerFactory(organisation=organisation, responsible=responsible, first_name="Léo", last_name="Lointain")
    home = MotifFactory(organisation=organisation, home=True, category__name="Visite à domicile")
    client.force_login(basic_agent)

    response = client.post(create_url(organisation), step2_data(home, ajouter=proche.pk))
    assert response.context["usagers"].suggestions == []
    assert "Gaspard" not in response.content.decode()
    response = client.post(create_url(organisation), step2_data(home, usagers=[proche.pk], action="continuer"))
    assert response.context["form"].initial["address"] == ""
    assert "Cachée" not in response.content.decode()
    picker = reverse("rendezvous:usager_picker", kwargs={"organisation_id": organisation.pk})
    page = client.get(picker, {"q": "Lointain"}).content.decode()
    assert f'value="{proche.pk}"' in page and "Gaspard" not in page

    # Known here too, it is offered, named and its address prefilled.
    UsagerProfile.objects.create(usager=responsible, organisation=organisation)
    response = client.post(create_url(organisation), step2_data(home, ajouter=proche.pk))
    assert response.context["usagers"].suggestions == [responsible]
    response = client.post(create_url(organisation), step2_data(home, usagers=[proche.pk], action="continuer"))
    assert response.context["form"].initial["address"] == "12 rue Cachée, Lyon"
    assert "proche de Gaspard LOINTAIN" in client.get(picker, {"q": "Léo"}).content.decode()


def test_live_search_lists_the_organisations_usagers_only(client, organisation, basic_agent, usager):
    chosen = UsagerFactory(organisation=organisation, first_name="Inès", last_name="Garrigou")
    UsagerFactory(organisation=OrganisationFactory(), first_name="Inès", last_name="Garrigue")
    client.force_login(basic_agent)
    url = reverse("rendezvous:usager_picker", kwargs={"organisation_id": organisation.pk})
    response = client.get(url, {"q": "garri", "usagers": [chosen.pk]}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    page = response.content.decode()
    assert f'name="ajouter" value="{usager.pk}"' in page
    assert page.count('name="ajouter"') == 1  # not the chosen one, not the other organisation's


def test_search_without_javascript(client, organisation, basic_agent, motif, usager):
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, q="Garrigue", action="rechercher"))
    assert response.status_code == 200
    assert f'name="ajouter" value="{usager.pk}"' in response.content.decode()


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
    assert "Créer RDV" in response.content.decode()


# Step 3: « Créer RDV »


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
    assert rdv.context == "Premier RDV"
    assert rdv.created_by == Rdv.CreatedBy.AGENT
    assert rdv.created_by_agent == basic_agent
    assert list(rdv.agents.all()) == [basic_agent]
    assert set(rdv.usagers.all()) == {proche, proche.responsible}
    assert rdv.history.earliest().history_user == basic_agent
    assert {p.history.get().history_user for p in Participation.objects.all()} == {basic_agent}
    page = client.get(response.url).content.decode()
    assert "a été créé." in page


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
    assert "Adresse du domicile" in response.content.decode()
    response = client.post(create_url(organisation), step3_data(organisation, home, [basic_agent], [usager]))
    assert response.status_code == 422
    assert "Indiquez l&#x27;adresse du domicile de l&#x27;usager." in response.content.decode()
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


def test_step3_refuses_ids_the_membership_may_not_use(client, organisation, basic_agent, motif, plage, usager):
    other = OrganisationFactory()
    social = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(basic_agent)
    cases = [
        ({"lieu": LieuFactory(organisation=other).pk}, "lieu", "Ce lieu n&#x27;existe pas ou n&#x27;est plus ouvert."),
        ({"lieu": LieuFactory(organisation=organisation, archived=True).pk}, "lieu", "n&#x27;est plus ouvert"),
        ({"agents": [AgentFactory(organisation=other).pk]}, "agents", "Cet agent n&#x27;existe pas"),
        ({"agents": [social.pk]}, "agents", "Cet agent n&#x27;existe pas"),
        ({"usagers": [UsagerFactory(organisation=other).pk]}, "usagers", "Cet usager n&#x27;existe pas"),
        ({"motif": MotifFactory(organisation=other).pk}, "motif", "Ce motif n&#x27;existe pas"),
    ]
    for changes, _field, error in cases:
        data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
        data.update(changes)
        response = client.post(create_url(organisation), data)
        assert response.status_code == 422, changes
        assert error in response.content.decode(), changes
    assert not Rdv.objects.exists()


# Conflicts


def test_conflicting_rdv_is_a_warning_to_confirm(client, organisation, basic_agent, motif, plage, usager):
    other = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "ce créneau est en conflit" in page
    assert f"a déjà un RDV « {other.motif.name} »" in page
    assert "Confirmer malgré le conflit" in page
    assert Rdv.objects.count() == 1

    signature = response.context["form"].current_signature
    response = client.post(create_url(organisation), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 302
    assert Rdv.objects.count() == 2


def test_conflict_appearing_during_confirmation_asks_again(client, organisation, basic_agent, motif, plage, usager):
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id, duration_in_min=90)
    signature = client.post(create_url(organisation), data).context["form"].current_signature
    # Meanwhile, another RDV is booked in the same time.
    late = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 10, 30))
    response = client.post(create_url(organisation), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 422
    assert late.motif.name in response.content.decode()
    assert not response.context["form"]["confirm"].value()
    assert Rdv.objects.count() == 2


def test_absence_and_outside_the_plages_are_conflicts(client, organisation, basic_agent, motif, plage, usager):
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Formation",
        first_day=DAY,
        start_time=dt.time(11),
        end_time=dt.time(13),
    )
    client.force_login(basic_agent)
    data = step3_data(
        organisation, motif, [basic_agent, colleague], [usager], lieu_id=plage.lieu_id, time="11:45", duration_in_min=30
    )
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    texts = [str(conflict.text) for conflict in response.context["form"].conflicts]
    day = DAY.strftime("%d/%m/%Y")
    assert sorted(texts) == sorted(
        [
            f"{basic_agent.full_name} est absent(e) (« Formation ») du {day} 11:00 au {day} 13:00.",
            f"Le {day} de 11:45 à 12:15 est en dehors des plages d'ouverture de {basic_agent.full_name}.",
            f"Le {day} de 11:45 à 12:15 est en dehors des plages d'ouverture de {colleague.full_name}.",
        ]
    )


def test_inside_the_plage_and_free_is_no_conflict(client, organisation, basic_agent, motif, plage, usager):
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 30), excused=True)
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id, time="11:30")
    assert client.post(create_url(organisation), data).status_code == 302


def test_modifier_warns_outside_the_plages_too(client, organisation, basic_agent, motif, plage):
    rdv = RdvFactory(organisation=organisation, motif=motif, agents=[basic_agent], starts_at=at(organisation, DAY, 9))
    client.force_login(basic_agent)
    data = {
        "date": DAY.isoformat(),
        "time": "11:45",
        "duration_in_min": 30,
        "lieu": rdv.lieu_id,
        "agents": [basic_agent.pk],
        "usagers": [u.pk for u in rdv.usagers.all()],
    }
    url = reverse("rendezvous:update", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
    response = client.post(url, data)
    assert response.status_code == 422
    assert "en dehors des plages d&#x27;ouverture" in response.content.decode()
    assert client.post(url, {**data, "time": "11:30"}).status_code == 302


def test_conflict_check_reads_a_bounded_number_of_queries(
    client, organisation, admin_agent, motif, plage, usager, django_assert_max_num_queries
):
    def post(agents):
        data = step3_data(organisation, motif, agents, [usager], lieu_id=plage.lieu_id, duration_in_min=600)
        with django_assert_max_num_queries(30) as captured:
            response = client.post(create_url(organisation), data)
        assert response.status_code == 422
        return len(captured)

    def busy(agent):
        RdvFactory(organisation=organisation, agents=[agent], starts_at=at(organisation, DAY, 10))
        AbsenceFactory(organisation=organisation, agent=agent, first_day=DAY)
        PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=DAY)

    client.force_login(admin_agent)
    busy(admin_agent)
    few = post([admin_agent])
    many_agents = [AgentFactory(organisation=organisation, services=["PMI"]) for _ in range(8)]
    for agent in many_agents:
        RdvFactory(organisation=organisation, agents=[agent], starts_at=at(organisation, DAY, 10))
        AbsenceFactory(organisation=organisation, agent=agent, first_day=DAY)
        PlageOuvertureFactory(organisation=organisation, agent=agent, first_day=DAY)
    assert post(many_agents) == few


def test_another_organisations_rdv_is_a_conflict_without_its_motif(
    client, organisation, basic_agent, motif, plage, usager
):
    """An agent working for two organisations is busy in both, but the other organisation's
    motif is not ours to read: the warning dates the RDV only, as for its absences."""
    other = OrganisationFactory()
    AgentRole.objects.create(agent=basic_agent, organisation=other)
    RdvFactory(
        organisation=other,
        agents=[basic_agent],
        motif__category__name="Consultation en addictologie",
        starts_at=at(organisation, DAY, 9, 45),
    )
    client.force_login(basic_agent)
    response = client.post(
        create_url(organisation), step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    )
    assert response.status_code == 422
    day = DAY.strftime("%d/%m/%Y")
    assert [str(conflict.text) for conflict in response.context["form"].conflicts] == [
        f"{basic_agent.full_name} a déjà un RDV dans une autre organisation le {day} de 09:45 à 10:15."
    ]
    assert "addictologie" not in response.content.decode()


def accepted_none() -> str:
    """The signature of the conflicts an agent who saw none accepted."""
    return conflicts_signature([])


def test_create_rdv_checks_the_conflicts_again_under_the_lock(organisation, basic_agent, motif, plage, usager):
    """The form was checked while the agent was free; another RDV was booked before the save:
    nothing is created. With the conflicts it confirmed, the RDV is created."""
    taken = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
    values = {
        "organisation": organisation,
        "motif": motif,
        "starts_at": at(organisation, DAY, 9, 30),
        "duration_in_min": 30,
        "agents": [basic_agent],
        "usagers": [usager],
        "lieu": plage.lieu,
        "by": basic_agent,
    }
    with pytest.raises(ConflictsChanged) as raised:
        create_rdv(**values, accepted_conflicts=accepted_none())
    assert [str(conflict.text) for conflict in raised.value.conflicts] == [
        f"{basic_agent.full_name} a déjà un RDV « {taken.motif.name} » le {DAY:%d/%m/%Y} de 09:45 à 10:15."
    ]
    assert list(Rdv.objects.all()) == [taken]

    confirmed = find_conflicts(None, organisation, [basic_agent], values["starts_at"], at(organisation, DAY, 10))
    rdv = create_rdv(**values, accepted_conflicts=conflicts_signature(confirmed))
    assert Rdv.objects.count() == 2 and list(rdv.agents.all()) == [basic_agent]


def test_conflict_booked_between_the_check_and_the_save_brings_step3_back(
    client, organisation, basic_agent, motif, plage, usager, monkeypatch
):
    """The RDV booked by a colleague after « Créer RDV » was validated, before the save: step 3
    again with the new warning, nothing created; confirmed, the RDV is created."""
    create = booking_views.create_rdv
    late = []

    def booked_meanwhile(**kwargs):
        if not late:
            late.append(
                RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 15))
            )
        return create(**kwargs)

    monkeypatch.setattr(booking_views, "create_rdv", booked_meanwhile)
    client.force_login(basic_agent)
    data = step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    assert response.context["step"] == "rdv"
    page = response.content.decode()
    assert "ce créneau est en conflit" in page and late[0].motif.name in page
    assert "Un conflit est apparu pendant l&#x27;enregistrement : rien n&#x27;a été enregistré." in page
    assert list(Rdv.objects.all()) == late

    signature = response.context["form"].current_signature
    response = client.post(create_url(organisation), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 302
    assert Rdv.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_agents_booking_the_same_colleague_at_once(client, organisation, basic_agent, motif, plage, usager):
    """A colleague's booking holds the agent's row and has not committed yet when « Créer RDV »
    is checked (it sees a free time); the save waits for that booking, then sees its RDV and
    creates nothing."""
    holding = threading.Event()
    errors = []

    def colleague_booking():
        try:
            with transaction.atomic():
                list(Agent.objects.select_for_update().filter(pk=basic_agent.pk))
                RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 45))
                holding.set()
                # Commit once the other booking waits for the agent's row.
                assert wait_for_a_blocked_transaction()
        except Exception as error:  # surfaced by the main thread
            errors.append(error)
        finally:
            holding.set()
            connection.close()

    client.force_login(basic_agent)  # before: logging in writes the agent's row
    thread = threading.Thread(target=colleague_booking)
    thread.start()
    assert holding.wait(timeout=10)
    response = client.post(
        create_url(organisation), step3_data(organisation, motif, [basic_agent], [usager], lieu_id=plage.lieu_id)
    )
    thread.join()
    assert errors == []
    assert response.status_code == 422
    assert "Un conflit est apparu pendant l&#x27;enregistrement" in response.content.decode()
    assert Rdv.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_agents_booking_each_other_at_once_do_not_deadlock(organisation, motif, plage, usager, monkeypatch):
    """A books for B while B books for A: each holds its colleague's row, then inserts an RDV
    whose author is the agent the other holds. FOR UPDATE would block those inserts' FOR KEY
    SHARE locks and PostgreSQL would kill one booking (« deadlock detected », a 500)."""
    from rendezvous import services

    a = AgentFactory(organisation=organisation, services=["PMI"])
    b = AgentFactory(organisation=organisation, services=["PMI"])
    bookings = []
    for author, colleague, hour in ((a, b, 9), (b, a, 10)):
        start = at(organisation, DAY, hour)
        # Neither has a plage: the « outside the plages » warning, which the authors accepted.
        accepted = conflicts_signature(
            find_conflicts(None, organisation, [colleague], start, start + dt.timedelta(minutes=30))
        )
        bookings.append((author, colleague, start, accepted))
    both_locked = threading.Barrier(2, timeout=10)
    original = services.find_conflicts

    def find_conflicts_once_both_hold_their_lock(*args, **kwargs):
        both_locked.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "find_conflicts", find_conflicts_once_both_hold_their_lock)
    errors = []

    def book(author, colleague, start, accepted):
        try:
            create_rdv(
                organisation=organisation,
                motif=motif,
                starts_at=start,
                duration_in_min=30,
                agents=[colleague],
                usagers=[usager],
                lieu=plage.lieu,
                by=author,
                accepted_conflicts=accepted,
            )
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=booking) for booking in bookings]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Rdv.objects.count() == 2


# « Créer un usager » and back


def test_create_usager_round_trip(client, organisation, basic_agent, motif, usager):
    client.force_login(basic_agent)
    data = step2_data(
        motif, basic_agent, debut=f"{DAY.isoformat()}T09:30", usagers=[usager.pk], notes="Bilan", action="creer_usager"
    )
    response = client.post(create_url(organisation), data)
    assert response.status_code == 302
    create_usager_url = response.url
    assert create_usager_url.startswith(reverse("usagers:create", kwargs={"organisation_id": organisation.pk}))
    page = client.get(create_usager_url).content.decode()
    assert 'name="next"' in page
    next_url = parse_qs(urlsplit(create_usager_url).query)["next"][0]
    # The notes are private and may be long: never in an address (access logs, history).
    assert "Bilan" not in create_usager_url and "notes" not in next_url

    response = client.post(
        create_usager_url, {"first_name": "Nour", "last_name": "Haddad", "next": next_url}, follow=False
    )
    assert response.status_code == 302
    assert response.url.startswith(create_url(organisation))
    response = client.get(response.url)
    assert response.status_code == 200
    names = [u.full_name for u in response.context["usagers"].selected]
    assert names == [usager.full_name, "Nour HADDAD"]
    assert response.context["step"] == "usagers"
    assert response.context["usagers"].form["notes"].value() in (None, "")


def test_the_step_says_that_notes_are_not_kept_by_creer_un_usager(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    hint = "Les notes libres ne sont pas conservées pendant la création de l'usager : saisissez-les à votre retour."
    page = client.get(create_url(organisation, motif=motif.pk)).content.decode()
    assert hint in page
    assert 'aria-describedby="creer-usager-notes"' in page
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    assert hint in client.get(creneaux_url(organisation), params).content.decode()


def test_long_notes_never_make_an_address_too_long(client, organisation, basic_agent, motif, usager):
    client.force_login(basic_agent)
    data = step2_data(motif, usagers=[usager.pk], notes="Situation familiale : " * 200, action="creer_usager")
    response = client.post(create_url(organisation), data)
    assert response.status_code == 302
    assert len(response.url) < 500


def test_create_usager_never_goes_back_to_another_site(client, organisation, basic_agent):
    client.force_login(basic_agent)
    url = reverse("usagers:create", kwargs={"organisation_id": organisation.pk})
    response = client.post(url, {"first_name": "Nour", "last_name": "Haddad", "next": "https://evil.example/"})
    assert response.status_code == 302
    created = Usager.objects.get(last_name="Haddad")
    assert response.url == reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": created.pk})


# « Trouver un créneau »


def test_creneaux_page_without_motif(client, organisation, basic_agent, motif):
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"agents": basic_agent.pk})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Trouver un créneau" in page and "Afficher les créneaux" in page
    assert "Choisissez un motif pour afficher les créneaux disponibles." in page
    assert response.context["form"]["agents"].value() == [str(basic_agent.pk)]


def test_creneaux_agents_filter_is_the_shared_searchable_field(client, organisation, basic_agent, motif):
    """The « Agent(s) » filter is the agents field of step 3: « Rechercher un agent », the ticked
    agents first, one group per service; an agent the membership may not book is a French error
    on the field (422), never a 500."""
    colleague = AgentFactory(organisation=organisation, services=["PMI"], first_name="Aude")
    social = AgentFactory(organisation=organisation, services=["Social"])
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"agents": colleague.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_agents-recherche"' in page and "Rechercher un agent" in page
    assert "data-agents-count" in page and 'aria-live="polite"' in page
    assert "js/agents_search.js" in page and "rendezvous/agents.css" in page
    assert "Agents cochés" in page and f'name="agents" value="{colleague.pk}"' in page
    assert f'value="{social.pk}"' not in page
    ticked = page.split("Agents cochés", 1)[1].split("</fieldset>", 1)[0]
    assert colleague.full_name in ticked and basic_agent.full_name not in ticked

    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "agents": social.pk})
    assert response.status_code == 422
    assert "Cet agent n&#x27;existe pas ou vous ne pouvez pas lui poser de RDV." in response.content.decode()
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "agents": "abc"})
    assert response.status_code == 422
    assert response.context["form"].errors["agents"]


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
        ("09:00", basic_agent.full_name),
        ("09:30", basic_agent.full_name),
        ("10:30", basic_agent.full_name),
        ("11:00", basic_agent.full_name),
        ("11:30", basic_agent.full_name),
    ]
    assert [slot["agent"] for slot in groups[0].days[0].slots] == [colleague.full_name] * 2
    page = response.content.decode()
    assert "Semaine suivante" in page
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
    page = response.content.decode()
    assert "Prochaine disponibilité :" in page
    assert f"a_partir_du={later.isoformat()}" in response.context["next_slot_url"]
    response = client.get(response.context["next_slot_url"])
    assert response.context["groups"][0].days[0].slots[0]["time"] == "09:00"


def slot_params(motif, agent, lieu, start: str) -> dict:
    return {"motif": motif.pk, "a_partir_du": DAY.isoformat(), "creneau": start, "agent": agent.pk, "lieu": lieu.pk}


def test_book_a_slot(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    response = client.get(creneaux_url(organisation), params)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choisir le ou les usagers" in page and "09h30" in page and "Créer un usager" in page

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
    page = client.get(creneaux_url(organisation), params).content.decode()
    assert "Adresse du domicile" in page

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
    assert "Adresse du domicile\N{NO-BREAK SPACE}(Optionnel)" not in response.content.decode()
    response = client.post(
        creneaux_url(organisation),
        {**params, "usagers": [homeless.pk], "address": "3 allée des Lilas, Noisiel", "action": "continuer"},
    )
    assert response.status_code == 302
    assert Rdv.objects.get().address == "3 allée des Lilas, Noisiel"


def test_slot_step_needs_an_usager(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    response = client.post(creneaux_url(organisation), {**params, "action": "continuer"})
    assert response.status_code == 422
    assert "Choisissez au moins un usager" in response.content.decode()
    assert not Rdv.objects.exists()


def test_slot_taken_meanwhile_creates_nothing(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    assert client.get(creneaux_url(organisation), params).status_code == 200
    # Another agent books the same time while this one picks the usager.
    taken = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, DAY, 9, 15))
    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    assert "creneau=" not in response.url and f"motif={motif.pk}" in response.url
    assert list(Rdv.objects.all()) == [taken]
    page = client.get(response.url).content.decode()
    assert "Ce créneau vient d&#x27;être pris" in page


def test_slot_closed_meanwhile_by_an_absence_creates_nothing(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=DAY, start_time=dt.time(9))
    response = client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert response.status_code == 302
    assert not Rdv.objects.exists()


def test_booking_locks_the_agent(client, organisation, basic_agent, motif, plage, usager, django_assert_num_queries):
    """is_still_free runs inside the booking transaction: it locks the agent's row."""
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.post(creneaux_url(organisation), {**params, "usagers": [usager.pk], "action": "continuer"})
    assert any("FOR NO KEY UPDATE" in query["sql"] for query in captured.captured_queries)
    assert Rdv.objects.count() == 1


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


def test_creneaux_create_usager_round_trip(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    response = client.post(creneaux_url(organisation), {**params, "notes": "Bilan", "action": "creer_usager"})
    assert response.status_code == 302
    assert "Bilan" not in response.url
    next_url = parse_qs(urlsplit(response.url).query)["next"][0]
    response = client.post(response.url, {"first_name": "Nour", "last_name": "Haddad", "next": next_url})
    response = client.get(response.url)
    assert response.status_code == 200
    assert [u.full_name for u in response.context["usagers"].selected] == ["Nour HADDAD"]
    assert "Bilan" not in response.content.decode()


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


def test_motif_location_types_are_labelled(client, organisation, basic_agent):
    MotifFactory(organisation=organisation, location_type=Motif.LocationType.HOME, category__name="Visite")
    client.force_login(basic_agent)
    assert "Visite (À domicile)" in client.get(create_url(organisation)).content.decode()


# Out-of-range values: a clear error, never a 500.


def test_far_dates_are_refused_without_error(client, organisation, basic_agent, motif, plage, usager):
    client.force_login(basic_agent)
    response = client.get(create_url(organisation, debut="9999-12-31T23:59", motif=motif.pk))
    assert response.status_code == 200
    assert "n&#x27;est pas valide" in response.content.decode()
    data = step3_data(organisation, motif, [basic_agent], [usager], day=dt.date(9999, 12, 31), lieu_id=plage.lieu_id)
    response = client.post(create_url(organisation), data)
    assert response.status_code == 422
    assert "plus de cinq ans à l&#x27;avance" in response.content.decode()
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": "9999-12-31"})
    assert response.status_code == 422
    assert "Choisissez une date dans les cinq prochaines années." in response.content.decode()
    params = slot_params(motif, basic_agent, plage.lieu, "9999-12-31T23:59")
    assert client.get(creneaux_url(organisation), params).status_code == 302
    assert not Rdv.objects.exists()


def test_closed_lieux_offer_no_slot(client, organisation, basic_agent, motif, plage):
    closed = LieuFactory(organisation=organisation, name="Ancienne antenne", archived=True)
    PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, lieu=closed, motifs=[motif], first_day=DAY + dt.timedelta(days=1)
    )
    client.force_login(basic_agent)
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat()})
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]


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


def test_modifier_works_from_the_stored_rdv_not_the_form_s_copy(organisation, basic_agent, usager):
    """Two agents modify the same RDV: the second adds the usager the first has just added. It
    works from what is stored (no duplicate participation, no IntegrityError, a 500)."""
    from rendezvous.services import update_rdv

    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    stale = Rdv.objects.prefetch_related("agents", "participations").get(pk=rdv.pk)
    list(stale.participations.all()), list(stale.agents.all())
    Participation.objects.create(rdv=rdv, usager=usager)  # the first agent's change
    update_rdv(
        rdv=stale,
        starts_at=rdv.starts_at,
        duration_in_min=rdv.duration_in_min,
        lieu=rdv.lieu,
        agents=[basic_agent],
        usagers=[*rdv.usagers.all()],
        context="",
        by=basic_agent,
        accepted_conflicts=conflicts_signature(
            find_conflicts(rdv, organisation, [basic_agent], rdv.starts_at, rdv.ends_at)
        ),
        notify_usagers=False,
    )
    assert Participation.objects.filter(rdv=rdv, usager=usager).count() == 1


# ---------------------------------------------------------------------------------------------
# « Trouver un créneau » says why nothing shows: agents or lieux without a plage for the motif


def search(client, organisation, motif, **params):
    response = client.get(creneaux_url(organisation), {"motif": motif.pk, "a_partir_du": DAY.isoformat(), **params})
    assert response.status_code == 200
    return response, response.content.decode()


def alert(page, dom_id):
    found = re.search(rf'<div class="fr-alert[^"]*"[^>]*id="{dom_id}">(.*?)</div>', page, re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(found.group(1)))).strip() if found else ""


def test_an_agent_chosen_without_plage_for_the_motif_is_named_beside_the_others_slots(
    client, organisation, admin_agent, motif, plage
):
    marie = AgentFactory(organisation=organisation, services=["PMI"], first_name="Marie", last_name="Dupont")
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif, agents=[marie.pk, plage.agent.pk])
    assert alert(page, "creneaux-agents-sans-plage") == "Marie Dupont n'a pas de plage d'ouverture pour ce motif."
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]
    assert "creneaux-sans-plage" not in page


def test_agents_chosen_without_plage_for_the_motif_get_a_notice_instead_of_an_empty_week(
    client, organisation, admin_agent, motif, plage
):
    marie = AgentFactory(organisation=organisation, services=["PMI"], first_name="Marie", last_name="Dupont")
    jean = AgentFactory(organisation=organisation, services=["Social"], first_name="Jean", last_name="Martin")
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif, agents=[marie.pk, jean.pk])
    assert alert(page, "creneaux-sans-plage") == (
        "Aucun créneau ne peut être proposé pour ce motif "
        "Marie Dupont n'a pas de plage d'ouverture pour ce motif. "
        "Jean Martin n'a pas de plage d'ouverture pour ce motif et n'appartient pas au service "
        "PMI (Protection Maternelle Infantile). "
        "D'autres agents proposent ce motif : afficher les créneaux de tous les agents"
    )
    assert 'class="fr-alert fr-alert--warning fr-mb-3w" role="status"' in page
    # Neither an empty week, nor weeks to browse, nor « Prochaine disponibilité ».
    assert response.context["groups"] == [] and response.context["next_slot"] is None
    assert "Aucun créneau disponible du" not in page and "Semaine suivante" not in page
    # The link searches again for every agent, the rest kept.
    widen = response.context["coverage"].widen_url
    assert parse_qs(urlsplit(widen).query) == {"motif": [str(motif.pk)], "a_partir_du": [DAY.isoformat()]}
    response = client.get(widen)
    assert [group.title for group in response.context["groups"]] == ["MDS de Noisiel"]
    assert "creneaux-sans-plage" not in response.content.decode()


def test_an_agent_with_a_plage_elsewhere_than_the_lieux_chosen(client, organisation, basic_agent, motif, plage):
    torcy = LieuFactory(organisation=organisation, name="Antenne de Torcy")
    client.force_login(basic_agent)
    response, page = search(client, organisation, motif, agents=[basic_agent.pk], lieux=[torcy.pk])
    assert f"{basic_agent.full_name} n'a pas de plage d'ouverture pour ce motif dans les lieux choisis." in alert(
        page, "creneaux-sans-plage"
    )
    assert "Ce motif est proposé ailleurs : afficher les créneaux de tous les lieux" in page
    assert "lieux" not in parse_qs(urlsplit(response.context["coverage"].widen_url).query)
    # Without agents chosen, the lieux alone.
    response, page = search(client, organisation, motif, lieux=[torcy.pk])
    assert alert(page, "creneaux-sans-plage").startswith(
        "Aucun créneau ne peut être proposé pour ce motif Aucune plage d'ouverture ne propose ce motif "
        "dans les lieux choisis : ajoutez-le"
    )
    assert "afficher les créneaux de tous les lieux" in page


def test_no_plage_at_all_for_the_motif_says_so(client, organisation, admin_agent, motif, lieu):
    # A finished plage, one at a closed lieu and one of another motif offer nothing.
    PlageOuvertureFactory(
        organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=DAY - dt.timedelta(weeks=3)
    )
    closed = LieuFactory(organisation=organisation, archived=True)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=closed, motifs=[motif], first_day=DAY)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[MotifFactory()])
    client.force_login(admin_agent)
    response, page = search(client, organisation, motif)
    assert alert(page, "creneaux-sans-plage") == (
        "Aucun créneau ne peut être proposé pour ce motif "
        "Aucune plage d'ouverture ne propose ce motif : ajoutez-le aux plages d'ouverture des agents qui le "
        "reçoivent (menu « Votre planning », « Plages d'ouverture »)."
    )
    assert response.context["coverage"].widen_url == ""
    # A plage later than the week searched is an offer: the week is empty, the next one found.
    PlageOuvertureFactory(
        organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=next_monday(weeks=3)
    )
    response, page = search(client, organisation, motif, agents=[admin_agent.pk])
    assert "creneaux-sans-plage" not in page and "creneaux-agents-sans-plage" not in page
    assert "Prochaine disponibilité :" in page


def test_a_secretariat_agent_receives_the_motifs_made_for_it(client, organisation, admin_agent):
    motif = MotifFactory(organisation=organisation, for_secretariat=True)
    secretariat = AgentFactory(organisation=organisation, secretariat=True, first_name="Léa", last_name="Roux")
    client.force_login(admin_agent)
    _response, page = search(client, organisation, motif, agents=[secretariat.pk])
    assert "Léa Roux n'a pas de plage d'ouverture pour ce motif." in alert(page, "creneaux-sans-plage")
    assert "n'appartient pas" not in page


def test_the_notice_reads_the_same_number_of_queries_for_one_or_many_agents(
    client, organisation, admin_agent, motif, lieu, django_assert_num_queries
):
    """One query tells which agents have a plage for the motif; when none searched has, the
    créneaux engine is not asked."""
    client.force_login(admin_agent)
    PlageOuvertureFactory(organisation=organisation, agent=admin_agent, lieu=lieu, motifs=[motif], first_day=DAY)
    few = [AgentFactory(organisation=organisation, services=["PMI"])]
    # Some of another service: their sentence names the motif's service, already loaded.
    many = few + [AgentFactory(organisation=organisation, services=[("PMI", "Social")[n % 2]]) for n in range(6)]
    for agent in many:
        PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[MotifFactory()])
    search(client, organisation, motif)  # sessions and caches warmed
    with django_assert_num_queries(9):
        search(client, organisation, motif, agents=[agent.pk for agent in few])
    with django_assert_num_queries(9):
        search(client, organisation, motif, agents=[agent.pk for agent in many])
    # Slots beside the notice: the engine's queries on top.
    with django_assert_num_queries(14):
        search(client, organisation, motif, agents=[admin_agent.pk, *[agent.pk for agent in many]])
