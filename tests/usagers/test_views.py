import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.agents.factories import AgentFactory
from tests.organisations.factories import OrganisationFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerProfile


def url(name, organisation, **kwargs):
    return reverse(f"usagers:{name}", kwargs={"organisation_id": organisation.pk, **kwargs})


def form_data(**overrides):
    data = {
        "first_name": "Hélène",
        "last_name": "Dupré",
        "birth_name": "",
        "birth_date": "",
        "email": "",
        "phone": "",
        "address": "",
        "caisse": "",
        "case_number": "",
        "family_situation": "",
        "number_of_children": "",
        "housing": "",
        "notify_by_email": "on",
        "notify_by_sms": "on",
        "notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def agent_client(client, basic_agent):
    client.force_login(basic_agent)
    return client


# List


def test_list_shows_the_organisations_usagers_with_create_buttons_top_and_bottom(agent_client, organisation):
    UsagerFactory(organisation=organisation, first_name="Chloé", last_name="Le Bihan", with_birth_date=True)
    UsagerFactory(organisation=OrganisationFactory(), first_name="Zoé", last_name="Ailleurs")
    response = agent_client.get(url("list", organisation))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Chloé LE BIHAN" in html
    assert "14/03/1987" in html
    assert "AILLEURS" not in html
    assert html.count("Créer un usager") >= 2
    assert html.count(url("create", organisation)) == 2


def test_list_is_paginated(agent_client, organisation):
    UsagerFactory.create_batch(52, organisation=organisation)
    first = agent_client.get(url("list", organisation)).content.decode()
    second = agent_client.get(url("list", organisation) + "?page=2").content.decode()
    assert "1 / 2" in first and "2 / 2" in second
    assert "52 usagers" in first
    assert len(first.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")) == 51
    assert len(second.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")) == 3


def test_every_agent_of_the_organisation_whatever_its_service_uses_the_base(client, organisation):
    usager = UsagerFactory(organisation=organisation)
    for agent in (
        AgentFactory(organisation=organisation, services=["Social"]),
        AgentFactory(organisation=organisation, secretariat=True),
        AgentFactory(organisation=organisation, admin=True, services=["PMI"]),
    ):
        client.force_login(agent)
        assert client.get(url("list", organisation)).status_code == 200
        assert client.get(url("detail", organisation, pk=usager.pk)).status_code == 200


def test_mes_usagers_lists_those_the_agent_follows(agent_client, organisation, basic_agent):
    UsagerFactory(organisation=organisation, last_name="Suivi", referents=[basic_agent])
    UsagerFactory(organisation=organisation, last_name="Autre", referents=[AgentFactory(organisation=organisation)])
    html = agent_client.get(url("list", organisation) + "?mes_usagers=1").content.decode()
    assert "SUIVI" in html
    assert "AUTRE" not in html
    assert "1 usager dont vous êtes référent" in " ".join(html.split())


def test_menu_has_vos_usagers_right_after_accueil_and_the_header_a_search_bar(agent_client, organisation):
    html = agent_client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})).content.decode()
    assert html.index("Accueil") < html.index("Vos usagers")
    assert "Rechercher un usager" in html
    assert f'action="{url("list", organisation)}"' in html


# Creation and validation


def test_create_with_only_first_and_last_name_and_referents(agent_client, organisation, basic_agent):
    colleague = AgentFactory(organisation=organisation, services=["Social"])
    response = agent_client.post(url("create", organisation), form_data(referents=[basic_agent.pk, colleague.pk]))
    usager = Usager.objects.get(last_name="Dupré")
    assert response.status_code == 302
    assert response["Location"] == url("detail", organisation, pk=usager.pk)
    assert usager.created_by == Usager.CreatedBy.AGENT
    profile = usager.profiles.get()
    assert profile.organisation == organisation
    assert set(profile.referents.all()) == {basic_agent, colleague}
    html = agent_client.get(url("list", organisation)).content.decode()
    assert "Hélène DUPRÉ" in html


def test_create_with_every_field(agent_client, organisation):
    data = form_data(
        birth_name="Lefèvre",
        birth_date="1987-03-14",
        email="Helene.Dupre@Example.com",
        phone="06 12 34 56 78",
        address="8 rue Pierre Mendès France, 77200 Torcy",
        caisse="caf",
        case_number="1234567",
        family_situation="in_a_relationship",
        number_of_children="2",
        housing="tenant",
        notes="Préfère être appelée le matin.",
    )
    del data["notify_by_sms"]
    assert agent_client.post(url("create", organisation), data).status_code == 302
    usager = Usager.objects.get()
    assert usager.email == "helene.dupre@example.com"
    assert usager.phone.as_e164 == "+33612345678"
    assert usager.birth_date == datetime.date(1987, 3, 14)
    assert usager.notify_by_email and not usager.notify_by_sms
    assert usager.profiles.get().notes == "Préfère être appelée le matin."
    html = agent_client.get(url("detail", organisation, pk=usager.pk)).content.decode()
    for text in ("Lefèvre", "06 12 34 56 78", "CAF", "1234567", "En couple", "Locataire", "Préfère être appelée"):
        assert text in html


@pytest.mark.parametrize("phone", ["0692 12 34 56", "+262 692 12 34 56", "0590 12 34 56", "+33 6 12 34 56 78"])
def test_overseas_and_international_phone_numbers_are_valid(agent_client, organisation, phone):
    assert agent_client.post(url("create", organisation), form_data(phone=phone)).status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "06 12", "Saisissez un numéro de téléphone valide"),
        ("phone", "pas un numéro", "Saisissez un numéro de téléphone valide"),
        ("email", "helene@", "Saisissez une adresse email valide"),
        ("birth_date", "2099-01-01", "La date de naissance ne peut pas être dans le futur."),
        # The bound of every date of the project (rdv.forms.guard), before the usager's own rule.
        ("birth_date", "1850-01-01", "Saisissez une date entre 1900 et 2100."),
        ("number_of_children", "-1", "supérieure ou égale à 0"),
        ("first_name", "", "Ce champ est obligatoire."),
        ("last_name", "", "Ce champ est obligatoire."),
    ],
)
def test_bad_input_is_refused_on_its_field_with_422(agent_client, organisation, field, value, message):
    response = agent_client.post(url("create", organisation), form_data(**{field: value}))
    assert response.status_code == 422
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert message in " ".join(form.errors[field])
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not Usager.objects.exists()


def test_birth_date_today_is_accepted(agent_client, organisation):
    today = timezone.localdate().isoformat()
    assert agent_client.post(url("create", organisation), form_data(birth_date=today)).status_code == 302


def test_referent_must_be_an_agent_of_the_organisation(agent_client, organisation):
    stranger = AgentFactory(organisation=OrganisationFactory())
    response = agent_client.post(url("create", organisation), form_data(referents=[stranger.pk]))
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["referents"]


# Duplicates


@pytest.mark.parametrize(
    ("existing", "posted"),
    [
        ({"first_name": "Hélène", "last_name": "DUPRÉ", "birth_date": datetime.date(1987, 3, 14)}, {}),
        ({"first_name": "Helene", "last_name": "dupre", "birth_date": datetime.date(1987, 3, 14)}, {}),
        ({"first_name": "Marie", "last_name": "Martin", "email": "h.dupre@example.com"}, {}),
        ({"first_name": "Marie", "last_name": "Martin", "phone": "+33612345678"}, {}),
    ],
)
def test_a_likely_duplicate_is_pointed_out_before_saving(agent_client, organisation, existing, posted):
    duplicate = UsagerFactory(organisation=organisation, **existing)
    data = form_data(birth_date="1987-03-14", email="H.Dupre@example.com", phone="06 12 34 56 78", **posted)
    response = agent_client.post(url("create", organisation), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Cet usager existe peut-être déjà" in html
    assert url("detail", organisation, pk=duplicate.pk) in html
    assert "Créer quand même" in html
    assert Usager.objects.count() == 1

    response = agent_client.post(url("create", organisation), {**data, "ignore_duplicates": "1"})
    assert response.status_code == 302
    assert Usager.objects.count() == 2


def test_same_name_without_birth_date_is_not_a_duplicate(agent_client, organisation):
    UsagerFactory(organisation=organisation, first_name="Hélène", last_name="Dupré")
    assert agent_client.post(url("create", organisation), form_data()).status_code == 302


def test_another_organisations_usager_is_never_pointed_out(agent_client, organisation):
    UsagerFactory(organisation=OrganisationFactory(), email="h.dupre@example.com")
    response = agent_client.post(url("create", organisation), form_data(email="h.dupre@example.com"))
    assert response.status_code == 302


# Fiche, proches


def test_fiche_shows_identity_contact_referents_proches_rdv_panel_and_history(agent_client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, complete=True, first_name="Anaïs", referents=[basic_agent])
    proche = UsagerFactory(organisation=organisation, responsible=usager, first_name="Léo", last_name=usager.last_name)
    UsagerFactory(organisation=OrganisationFactory(), responsible=usager, first_name="Caché")
    html = agent_client.get(url("detail", organisation, pk=usager.pk)).content.decode()
    assert "Informations générales" in html and "Informations sociales" in html
    assert usager.email in html and "06 12 34" in html
    assert basic_agent.full_name in html
    assert "Proches" in html and "Ajouter un proche" in html
    assert url("detail", organisation, pk=proche.pk) in html
    assert "Caché" not in html
    assert "Aucun rendez-vous n'est enregistré pour cet usager." in html
    assert "Historique des modifications" in html and "Création de la fiche" in html


def test_add_a_proche_with_only_first_and_last_name(agent_client, organisation):
    responsible = UsagerFactory(organisation=organisation, first_name="Camille", last_name="Garrigue")
    page = agent_client.get(url("create_proche", organisation, pk=responsible.pk))
    assert page.status_code == 200
    assert page.context["form"].initial["last_name"] == "Garrigue"
    response = agent_client.post(
        url("create_proche", organisation, pk=responsible.pk),
        {"first_name": "Lara", "last_name": "Tatouille", "birth_name": "", "birth_date": "", "notes": ""},
    )
    assert response.status_code == 302
    assert response["Location"] == url("detail", organisation, pk=responsible.pk)
    proche = Usager.objects.get(first_name="Lara")
    assert proche.responsible == responsible
    assert proche.notification_recipient == responsible
    assert proche.profiles.get().organisation == organisation

    responsible_page = agent_client.get(response["Location"]).content.decode()
    assert "Lara TATOUILLE" in responsible_page
    proche_page = agent_client.get(url("detail", organisation, pk=proche.pk)).content.decode()
    assert "Usager en charge" in proche_page
    assert url("detail", organisation, pk=responsible.pk) in proche_page
    assert "Ajouter un proche" not in proche_page
    base = agent_client.get(url("list", organisation)).content.decode()
    assert "Lara TATOUILLE" in base and "proche de Camille GARRIGUE" in base


def test_proche_form_refuses_a_birth_date_in_the_future(agent_client, organisation):
    responsible = UsagerFactory(organisation=organisation)
    response = agent_client.post(
        url("create_proche", organisation, pk=responsible.pk),
        {"first_name": "Lara", "last_name": "Tatouille", "birth_date": "2999-01-01"},
    )
    assert response.status_code == 422
    assert list(response.context["form"].errors) == ["birth_date"]
    assert not Usager.objects.filter(first_name="Lara").exists()


def test_a_proche_cannot_have_proches(agent_client, organisation):
    proche = UsagerFactory(organisation=organisation, proche=True)
    assert agent_client.get(url("create_proche", organisation, pk=proche.pk)).status_code == 404
    response = agent_client.post(
        url("create_proche", organisation, pk=proche.pk), {"first_name": "A", "last_name": "B"}
    )
    assert response.status_code == 404


def test_proche_duplicate_is_pointed_out(agent_client, organisation):
    responsible = UsagerFactory(organisation=organisation)
    existing = UsagerFactory(
        organisation=organisation, responsible=responsible, first_name="Léo", birth_date=datetime.date(2020, 1, 2)
    )
    response = agent_client.post(
        url("create_proche", organisation, pk=responsible.pk),
        {"first_name": "Leo", "last_name": existing.last_name, "birth_date": "2020-01-02"},
    )
    assert response.status_code == 200
    assert url("detail", organisation, pk=existing.pk) in response.content.decode()


# Edit, history, delete


def test_edit_records_the_change_with_its_author_in_the_history(agent_client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, with_phone=True, first_name="Noémie")
    data = form_data(
        first_name="Noémie",
        last_name=usager.last_name,
        phone="07 81 23 45 67",
        notes="Suivi PMI",
        referents=[basic_agent.pk],
    )
    response = agent_client.post(url("update", organisation, pk=usager.pk), data)
    assert response.status_code == 302
    usager.refresh_from_db()
    assert usager.phone.as_e164 == "+33781234567"
    html = agent_client.get(url("detail", organisation, pk=usager.pk)).content.decode()
    assert f"par {basic_agent.full_name}" in html
    assert "Numéro de téléphone" in html and "07 81 23 45 67" in html
    history = agent_client.get(url("history", organisation, pk=usager.pk)).content.decode()
    assert "Notes : — → Suivi PMI" in history
    assert f"Agent(s) référent(s) : — → {basic_agent.full_name}" in history


def test_saving_an_unchanged_form_adds_no_history(agent_client, organisation):
    usager = UsagerFactory(organisation=organisation, first_name="Zoé", last_name="Müller")
    agent_client.post(url("update", organisation, pk=usager.pk), form_data(first_name="Zoé", last_name="Müller"))
    assert usager.history.count() == 1


def test_edit_refuses_bad_input_with_422_and_changes_nothing(agent_client, organisation):
    usager = UsagerFactory(organisation=organisation, first_name="Zoé")
    response = agent_client.post(url("update", organisation, pk=usager.pk), form_data(email="zoe@"))
    assert response.status_code == 422
    usager.refresh_from_db()
    assert usager.first_name == "Zoé"


def test_a_proche_is_edited_with_the_proche_form(agent_client, organisation):
    proche = UsagerFactory(organisation=organisation, proche=True)
    response = agent_client.get(url("update", organisation, pk=proche.pk))
    assert "email" not in response.context["form"].fields
    response = agent_client.post(
        url("update", organisation, pk=proche.pk), {"first_name": "Maël", "last_name": "Nguyen", "birth_date": ""}
    )
    assert response.status_code == 302
    proche.refresh_from_db()
    assert (proche.first_name, proche.last_name, proche.responsible_id) == ("Maël", "Nguyen", proche.responsible_id)


def test_delete_asks_for_confirmation_then_removes_the_usager_and_its_proches(agent_client, organisation):
    responsible = UsagerFactory(organisation=organisation, last_name="Traoré")
    proche = UsagerFactory(organisation=organisation, responsible=responsible, first_name="Aya", last_name="Traoré")
    other = OrganisationFactory()
    UsagerProfile.objects.create(usager=responsible, organisation=other)

    confirm = agent_client.get(url("delete", organisation, pk=responsible.pk))
    assert confirm.status_code == 200
    assert "Aya TRAORÉ" in confirm.content.decode()
    assert Usager.objects.visible_in(organisation).count() == 2

    response = agent_client.post(url("delete", organisation, pk=responsible.pk))
    assert response.status_code == 302
    assert not Usager.objects.visible_in(organisation).exists()
    assert agent_client.get(url("detail", organisation, pk=proche.pk)).status_code == 404
    assert "TRAORÉ" not in agent_client.get(url("list", organisation)).content.decode()
    # Soft: the rows stay, the other organisation still knows the responsible.
    assert Usager.objects.filter(pk__in=[responsible.pk, proche.pk]).count() == 2
    assert list(Usager.objects.visible_in(other)) == [responsible]


def test_deleting_a_proche_keeps_its_responsible(agent_client, organisation):
    proche = UsagerFactory(organisation=organisation, proche=True)
    agent_client.post(url("delete", organisation, pk=proche.pk))
    assert list(Usager.objects.visible_in(organisation)) == [proche.responsible]


# Isolation


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("detail", "get"),
        ("update", "get"),
        ("update", "post"),
        ("delete", "get"),
        ("delete", "post"),
        ("history", "get"),
        ("create_proche", "get"),
        ("create_proche", "post"),
    ],
)
def test_another_organisations_usager_answers_404_everywhere(agent_client, organisation, name, method):
    stranger = UsagerFactory(organisation=OrganisationFactory(), first_name="Inès")
    response = getattr(agent_client, method)(url(name, organisation, pk=stranger.pk), form_data())
    assert response.status_code == 404
    stranger.refresh_from_db()
    assert stranger.first_name == "Inès"
    assert stranger.profiles.get().deleted_at is None


def test_a_removed_usager_answers_404(agent_client, organisation):
    usager = UsagerFactory(organisation=organisation)
    UsagerProfile.objects.filter(usager=usager).update(deleted_at=timezone.now())
    assert agent_client.get(url("detail", organisation, pk=usager.pk)).status_code == 404


def test_pages_of_an_organisation_the_agent_does_not_belong_to_answer_404(agent_client):
    other = OrganisationFactory()
    usager = UsagerFactory(organisation=other)
    assert agent_client.get(url("list", other)).status_code == 404
    assert agent_client.get(url("search", other) + "?q=ab").status_code == 404
    assert agent_client.get(url("detail", other, pk=usager.pk)).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page(client, organisation):
    response = client.get(url("list", organisation))
    assert response.status_code == 302
    assert reverse("agents:login") in response["Location"]


def test_a_responsible_the_organisation_does_not_know_is_never_shown(agent_client, organisation):
    """A proche known here whose responsible is followed only by another organisation: the list,
    the live search, the duplicate warning and the fiche never name that responsible."""
    elsewhere = OrganisationFactory()
    responsible = UsagerFactory(organisation=elsewhere, first_name="Secret", last_name="Responsable")
    proche = UsagerFactory(
        organisation=organisation, first_name="Léa", last_name="Proche", email="lea@example.fr", responsible=responsible
    )
    base = {"organisation_id": organisation.pk}
    pages = [
        agent_client.get(reverse("usagers:list", kwargs=base)),
        agent_client.get(reverse("usagers:search", kwargs=base), {"q": "léa proche"}),
        agent_client.post(
            reverse("usagers:create", kwargs=base),
            {"first_name": "Léa", "last_name": "Proche", "email": "lea@example.fr"},
        ),
        agent_client.get(reverse("usagers:detail", kwargs={**base, "pk": proche.pk})),
    ]
    for page in pages:
        assert "Léa PROCHE" in page.content.decode()
        assert "Secret" not in page.content.decode()
