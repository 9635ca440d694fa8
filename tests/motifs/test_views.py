import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from motifs.forms import MotifForm
from motifs.models import Motif
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import OrganisationFactory, service

# What this module checks never depends on the time: run once in CI, not again at the DST
# instant (.ci/run).
pytestmark = pytest.mark.once

D = Motif.BookingDelay


def list_url(organisation, **params):
    url = reverse("motifs:list", kwargs={"organisation_id": organisation.pk})
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


def create_url(organisation):
    return reverse("motifs:create", kwargs={"organisation_id": organisation.pk})


def motif_url(name, motif):
    return reverse(f"motifs:{name}", kwargs={"organisation_id": motif.organisation_id, "motif_id": motif.pk})


@pytest.fixture
def category(db):
    return MotifCategoryFactory(name="Consultation prénatale", service=service("PMI"))


def valid_data(category, /, **changes):
    data = {
        "service": service("PMI").pk,
        "category": category.pk,
        "default_duration_in_min": "45",
        "color": "#E4794A",
        "location_type": "public_office",
        "bookable_online": "on",
        "min_booking_delay": str(D.ONE_DAY),
        "max_booking_delay": str(D.TWO_MONTHS),
        "sectorisation_level": "organisation",
        "instructions_before": "Apportez votre carnet de santé.",
        "instructions_after": "Présentez-vous à l'accueil 10 minutes avant.",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


SEED_LABELS = [
    "Vos motifs",
    "Créer un motif",
    "Configuration générale",
    "Type de RDV",
    "Sur place",
    "Par téléphone",
    "À domicile",
    "RDV de suivi",
    "RDV secrétariat",
    "Le RDV pourra être effectué par le service secrétariat",
    "Prise de RDV en ligne par les usagers",
    "RDV en ligne",
    "Délai minimum de réservation",
    "Délai maximum de réservation",
    "Notifications des usagers par email et SMS",
    "Instructions",
    "Instructions à accepter avant la prise du rendez-vous",
    "Indications affichées après la confirmation du rendez-vous",
    "C&#x27;est un RDV en présentiel qui aura lieu au lieu sélectionné.",
    "L&#x27;usager sera notifié que le RDV se passera par téléphone, au numéro indiqué dans son profil.",
    "L&#x27;usager sera notifié que le RDV aura lieu à l&#x27;adresse remplie dans son profil.",
]


def test_create_page_shows_the_seed_sections_labels_and_hints(client, organisation, admin_agent, category):
    client.force_login(admin_agent)
    response = client.get(create_url(organisation))
    html = response.content.decode()
    assert response.status_code == 200
    for label in SEED_LABELS:
        assert label in html, label
    assert 'type="color"' in html
    assert 'data-home-value="home"' in html
    assert "js/motif_form.js" in html
    assert '<button type="submit" class="fr-btn">Créer</button>' in html
    # The référentiel in groups, by service.
    assert '<optgroup label="PMI (Protection Maternelle Infantile)">' in html
    assert "Consultation prénatale" in html


def test_admin_creates_a_motif_and_sees_it_in_the_list(client, organisation, admin_agent, category):
    client.force_login(admin_agent)
    response = client.post(create_url(organisation), valid_data(category))
    assert response.status_code == 302
    assert response.url == list_url(organisation)
    motif = Motif.objects.get()
    assert motif.organisation == organisation
    assert motif.name == "Consultation prénatale"
    assert motif.category == category
    assert motif.service == service("PMI")
    assert motif.default_duration_in_min == 45
    assert motif.color == "#e4794a"
    assert motif.location_type == Motif.LocationType.PUBLIC_OFFICE
    assert motif.bookable_online is True
    assert motif.follow_up is False
    assert motif.for_secretariat is False
    assert motif.notifications_disabled is False
    assert (motif.min_booking_delay, motif.max_booking_delay) == (D.ONE_DAY, D.TWO_MONTHS)
    assert motif.instructions_before == "Apportez votre carnet de santé."
    assert motif.sectorisation_level == "organisation"
    assert motif.archived_at is None
    assert motif.history.get().history_user == admin_agent

    html = client.get(response.url).content.decode()
    assert "Le motif « Consultation prénatale » a été créé." in html
    assert "Consultation prénatale" in html
    assert "#e4794a" in html
    assert "En ligne" in html


def test_every_option_is_saved(client, organisation, admin_agent, category):
    client.force_login(admin_agent)
    data = valid_data(
        category,
        location_type="phone",
        follow_up="on",
        for_secretariat="on",
        notifications_disabled="on",
        bookable_online=None,
    )
    assert client.post(create_url(organisation), data).status_code == 302
    motif = Motif.objects.get()
    assert motif.location_type == Motif.LocationType.PHONE
    assert (motif.follow_up, motif.for_secretariat, motif.notifications_disabled) == (True, True, True)
    assert motif.bookable_online is False


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"service": None}, "service", "Ce champ est obligatoire."),
        ({"category": None}, "category", "Ce champ est obligatoire."),
        ({"default_duration_in_min": ""}, "default_duration_in_min", "Ce champ est obligatoire."),
        ({"default_duration_in_min": "0"}, "default_duration_in_min", "La durée doit être d'au moins 1 minute."),
        ({"default_duration_in_min": "481"}, "default_duration_in_min", "ne peut pas dépasser 480 minutes"),
        ({"default_duration_in_min": "trente"}, "default_duration_in_min", "nombre entier"),
        ({"color": "rouge"}, "color", "Choisissez une couleur au format #RRVVBB"),
        ({"color": "#12345"}, "color", "Choisissez une couleur au format #RRVVBB"),
        ({"location_type": "ailleurs"}, "location_type", "Sélectionnez un choix valide"),
        ({"location_type": None}, "location_type", "Ce champ est obligatoire."),
        ({"min_booking_delay": "1234"}, "min_booking_delay", "Sélectionnez un choix valide"),
        (
            {"min_booking_delay": str(D.THREE_MONTHS), "max_booking_delay": str(D.ONE_HOUR)},
            "max_booking_delay",
            "Le délai maximum de réservation doit être supérieur au délai minimum de réservation.",
        ),
        (
            {"min_booking_delay": str(D.ONE_WEEK), "max_booking_delay": str(D.ONE_WEEK)},
            "max_booking_delay",
            "Le délai maximum de réservation doit être supérieur au délai minimum de réservation.",
        ),
        (
            {"location_type": "home", "for_secretariat": "on"},
            "for_secretariat",
            "Un RDV à domicile ne peut pas être effectué par le service secrétariat",
        ),
        (
            {"service": "social"},
            "category",
            "Le nom « Consultation prénatale » est réservé au service Service social",
        ),
    ],
)
def test_bad_input_is_refused_on_its_field_with_422_and_nothing_saved(
    client, organisation, admin_agent, category, changes, field, message
):
    if changes.get("service") == "social":
        changes["service"] = service("Social").pk
        # The name belongs to the PMI, not to the chosen service.
        message = "Le nom « Consultation prénatale » est réservé au service PMI (Protection Maternelle Infantile)"
    client.force_login(admin_agent)
    response = client.post(create_url(organisation), valid_data(category, **changes))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in error for error in errors[field]), errors[field]
    assert not Motif.objects.exists()
    assert message.replace("'", "&#x27;") in response.content.decode()


def test_a_duplicate_name_is_refused_on_the_name_field(client, organisation, admin_agent, category):
    MotifFactory(organisation=organisation, category=category, service=service("PMI"))
    client.force_login(admin_agent)
    response = client.post(create_url(organisation), valid_data(category))
    assert response.status_code == 422
    [error] = response.context["form"].errors["category"]
    assert "Le motif « Consultation prénatale » (Sur place) existe déjà pour le service PMI" in error
    assert Motif.objects.count() == 1


@pytest.mark.parametrize(
    "existing",
    [
        {"phone": True},  # same name, other type
        {"service_short_name": "Social"},  # same name, other service
        {"archived": True},  # archived motifs free their name
        {"other_organisation": True},
    ],
)
def test_the_same_name_is_allowed_for_another_type_service_organisation_or_when_archived(
    client, organisation, admin_agent, existing
):
    category = MotifCategoryFactory(name="Information préoccupante", service=None)
    kwargs = {"organisation": organisation, "category": category}
    if existing.pop("service_short_name", None):
        kwargs["service"] = service("Social")
    if existing.pop("other_organisation", None):
        kwargs["organisation"] = OrganisationFactory()
    MotifFactory(**kwargs, **existing)
    client.force_login(admin_agent)
    response = client.post(create_url(organisation), valid_data(category))
    assert response.status_code == 302, response.context["form"].errors
    created = Motif.objects.for_organisation(organisation).active().filter(category=category, service=service("PMI"))
    assert created.filter(location_type="public_office").count() == 1


def test_a_duplicate_created_meanwhile_is_caught_by_the_database_on_the_name_field(
    client, organisation, admin_agent, category, monkeypatch
):
    MotifFactory(organisation=organisation, category=category, service=service("PMI"))
    # As if the other motif had been saved between this form's check and its save.
    monkeypatch.setattr(MotifForm, "_duplicates", lambda self, *args: False)
    client.force_login(admin_agent)
    response = client.post(create_url(organisation), valid_data(category))
    assert response.status_code == 422
    assert response.context["form"].errors["category"] == [
        "Un motif de ce nom existe déjà pour ce service et ce type de RDV dans l'organisation."
    ]
    assert Motif.objects.count() == 1


def test_withdrawn_names_are_not_offered_for_new_motifs_but_stay_on_existing_ones(
    client, organisation, admin_agent, category
):
    withdrawn = MotifCategoryFactory(name="Ancienne permanence", withdrawn=True)
    client.force_login(admin_agent)
    assert "Ancienne permanence" not in client.get(create_url(organisation)).content.decode()
    response = client.post(create_url(organisation), valid_data(withdrawn, service=service("PMI").pk))
    assert response.status_code == 422
    assert "category" in response.context["form"].errors

    motif = MotifFactory(organisation=organisation, category=withdrawn)
    assert "Ancienne permanence" in client.get(motif_url("edit", motif)).content.decode()
    data = valid_data(withdrawn, default_duration_in_min="20")
    assert client.post(motif_url("edit", motif), data).status_code == 302
    motif.refresh_from_db()
    assert motif.default_duration_in_min == 20


def test_admin_modifies_a_motif(client, organisation, admin_agent, category):
    motif = MotifFactory(organisation=organisation, category=category, service=service("PMI"))
    client.force_login(admin_agent)
    page = client.get(motif_url("edit", motif))
    assert page.status_code == 200
    assert '<button type="submit" class="fr-btn">Modifier</button>' in page.content.decode()
    assert "Archiver ce motif" in page.content.decode()
    data = valid_data(category, location_type="home", default_duration_in_min="60", follow_up="on")
    response = client.post(motif_url("edit", motif), data)
    assert response.status_code == 302
    motif.refresh_from_db()
    assert (motif.location_type, motif.default_duration_in_min, motif.follow_up) == ("home", 60, True)
    assert motif.history.count() == 2


def test_a_renamed_referentiel_does_not_rename_existing_motifs_until_their_name_is_changed(
    client, organisation, admin_agent, category
):
    motif = MotifFactory(organisation=organisation, category=category, service=service("PMI"))
    category.name = "Consultation prénatale (renommée)"
    category.save()
    client.force_login(admin_agent)
    assert client.post(motif_url("edit", motif), valid_data(category, color="#000091")).status_code == 302
    motif.refresh_from_db()
    assert motif.name == "Consultation prénatale"

    other = MotifCategoryFactory(name="Pesée", service=service("PMI"))
    assert client.post(motif_url("edit", motif), valid_data(other)).status_code == 302
    motif.refresh_from_db()
    assert (motif.category, motif.name) == (other, "Pesée")


def test_refused_modification_changes_nothing(client, organisation, admin_agent, category):
    motif = MotifFactory(organisation=organisation, category=category, service=service("PMI"))
    before = Motif.objects.values().get(pk=motif.pk)
    client.force_login(admin_agent)
    data = valid_data(category, location_type="home", for_secretariat="on", color="#000000")
    response = client.post(motif_url("edit", motif), data)
    assert response.status_code == 422
    assert "for_secretariat" in response.context["form"].errors
    assert Motif.objects.values().get(pk=motif.pk) == before


def test_modifying_into_a_duplicate_is_refused(client, organisation, admin_agent, category):
    MotifFactory(organisation=organisation, category=category, service=service("PMI"), phone=True)
    motif = MotifFactory(organisation=organisation, category=category, service=service("PMI"))
    client.force_login(admin_agent)
    response = client.post(motif_url("edit", motif), valid_data(category, location_type="phone"))
    assert response.status_code == 422
    assert "existe déjà" in response.context["form"].errors["category"][0]
    motif.refresh_from_db()
    assert motif.location_type == "public_office"


def test_list_filters_by_service_online_and_archived(client, organisation, admin_agent):
    MotifFactory(organisation=organisation, category__name="Pesée", online=True)
    MotifFactory(organisation=organisation, category__name="Consultation de puériculture")
    MotifFactory(organisation=organisation, category__name="Suivi social", service=service("Social"), online=True)
    MotifFactory(
        organisation=organisation, category__name="Accompagnement RSA", service=service("Social"), archived=True
    )
    MotifFactory(category__name="Motif d'une autre organisation")
    client.force_login(admin_agent)

    def names(**params):
        response = client.get(list_url(organisation, **params))
        assert response.status_code == 200
        return sorted(motif.name for motif in response.context["page_obj"])

    assert names() == ["Consultation de puériculture", "Pesée", "Suivi social"]
    assert names(service=service("Social").pk) == ["Suivi social"]
    assert names(online="oui") == ["Pesée", "Suivi social"]
    assert names(online="non") == ["Consultation de puériculture"]
    assert names(status="archives") == ["Accompagnement RSA"]
    assert names(status="tous") == ["Accompagnement RSA", "Consultation de puériculture", "Pesée", "Suivi social"]
    assert names(status="tous", service=service("Social").pk, online="non") == ["Accompagnement RSA"]


def test_list_shows_each_motifs_columns_and_badges(client, organisation, admin_agent):
    MotifFactory(
        organisation=organisation,
        category__name="Suivi social",
        service=service("Social"),
        online=True,
        follow_up=True,
        for_secretariat=True,
        notifications_disabled=True,
        color="#34bab5",
        default_duration_in_min=45,
        phone=True,
    )
    client.force_login(admin_agent)
    html = client.get(list_url(organisation)).content.decode()
    for text in ["Suivi social", "Social", "Par téléphone", "45 min", "#34bab5", "En ligne", "Secrétariat"]:
        assert text in html, text
    assert "Sans notification" in html
    assert "<caption>" in html


def test_an_invalid_filter_is_reported_on_its_field_and_ignored(client, organisation, admin_agent):
    MotifFactory(organisation=organisation, category__name="Pesée")
    client.force_login(admin_agent)
    response = client.get(list_url(organisation, service="abc", online="peut-etre"))
    assert response.status_code == 422
    errors = response.context["filter_form"].errors
    assert set(errors) == {"service", "online"}
    assert [motif.name for motif in response.context["page_obj"]] == ["Pesée"]


def test_list_is_paginated_and_pages_keep_the_filters(client, organisation, admin_agent):
    for _ in range(23):
        MotifFactory(organisation=organisation, online=True)
    MotifFactory(organisation=organisation)
    client.force_login(admin_agent)
    first = client.get(list_url(organisation, online="oui"))
    assert len(first.context["page_obj"]) == 20
    html = first.content.decode()
    assert "online=oui&amp;page=2" in html or "page=2&amp;online=oui" in html
    second = client.get(list_url(organisation, online="oui", page=2))
    assert len(second.context["page_obj"]) == 3


def test_list_queries_are_bounded(client, organisation, admin_agent):
    client.force_login(admin_agent)
    MotifFactory(organisation=organisation)
    client.get(list_url(organisation))  # warm up the session

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(list_url(organisation, status="tous")).status_code == 200
        return len(ctx)

    before = count()
    for index in range(20):
        MotifFactory(
            organisation=organisation,
            service=service(["PMI", "Social", "Secrétariat"][index % 3]),
            online=index % 2 == 0,
            archived=index % 5 == 0,
        )
    after = count()
    assert after == before
    assert after == 7  # with the side menu's « À renseigner » badge


def test_admin_archives_then_unarchives_a_motif_with_confirmation(client, organisation, admin_agent, category):
    motif = MotifFactory(organisation=organisation, category=category)
    client.force_login(admin_agent)

    confirmation = client.get(motif_url("archive", motif))
    assert confirmation.status_code == 200
    assert "Archiver ce motif ?" in confirmation.content.decode()
    motif.refresh_from_db()
    assert motif.archived_at is None

    response = client.post(motif_url("archive", motif))
    assert response.status_code == 302
    motif.refresh_from_db()
    assert motif.archived_at is not None
    listed = client.get(response.url)
    assert "Le motif « Consultation prénatale » a été archivé." in listed.content.decode()
    assert list(listed.context["page_obj"]) == []
    edit_page = client.get(motif_url("edit", motif)).content.decode()
    assert "Ce motif est archivé" in edit_page and "Désarchiver ce motif" in edit_page

    assert "Désarchiver ce motif ?" in client.get(motif_url("unarchive", motif)).content.decode()
    assert client.post(motif_url("unarchive", motif)).status_code == 302
    motif.refresh_from_db()
    assert motif.archived_at is None


def test_archiving_twice_or_unarchiving_an_active_motif_changes_nothing(client, organisation, admin_agent):
    motif = MotifFactory(organisation=organisation)
    client.force_login(admin_agent)
    assert client.post(motif_url("unarchive", motif)).status_code == 302
    motif.refresh_from_db()
    assert motif.archived_at is None
    motif.archive()
    archived_at = motif.archived_at
    assert client.post(motif_url("archive", motif)).status_code == 302
    motif.refresh_from_db()
    assert motif.archived_at == archived_at


def test_unarchiving_is_refused_when_an_active_motif_took_the_name(client, organisation, admin_agent, category):
    archived = MotifFactory(organisation=organisation, category=category, archived=True)
    MotifFactory(organisation=organisation, category=category)
    client.force_login(admin_agent)
    response = client.post(motif_url("unarchive", archived))
    assert response.status_code == 422
    assert "Un motif actif porte déjà ce nom" in response.content.decode()
    archived.refresh_from_db()
    assert archived.archived_at is not None


def test_there_is_no_delete(client, organisation, admin_agent):
    motif = MotifFactory(organisation=organisation)
    client.force_login(admin_agent)
    html = client.get(motif_url("edit", motif)).content.decode()
    assert "Supprimer" not in html


def all_urls(motif):
    organisation = motif.organisation
    return [
        list_url(organisation),
        create_url(organisation),
        motif_url("edit", motif),
        motif_url("archive", motif),
        motif_url("unarchive", motif),
    ]


@pytest.mark.parametrize("role", ["basic", "secretariat"])
def test_non_admins_get_404_on_every_motifs_url(client, organisation, role):
    agent = AgentFactory(organisation=organisation, services=["PMI"], secretariat=role == "secretariat")
    motif = MotifFactory(organisation=organisation)
    client.force_login(agent)
    for url in all_urls(motif):
        assert client.get(url).status_code == 404, url
        assert client.post(url, {}).status_code == 404, url
    motif.refresh_from_db()
    assert motif.archived_at is None


def test_another_organisations_motif_answers_404(client, organisation, admin_agent):
    foreign = MotifFactory(organisation=OrganisationFactory())
    own = MotifFactory(organisation=organisation)
    client.force_login(admin_agent)
    for name in ("edit", "archive", "unarchive"):
        # The foreign motif's id under the admin's own organisation.
        url = reverse(f"motifs:{name}", kwargs={"organisation_id": organisation.pk, "motif_id": foreign.pk})
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    for url in all_urls(foreign):
        assert client.get(url).status_code == 404
    assert client.get(motif_url("edit", own)).status_code == 200


def test_anonymous_visitors_are_sent_to_the_login_page(client, organisation):
    response = client.get(list_url(organisation))
    assert response.status_code == 302
    assert "/connexion/" in response.url


def test_menu_shows_vos_motifs_to_admins_only(client, organisation, admin_agent, basic_agent):
    home = reverse("organisations:home", kwargs={"organisation_id": organisation.pk})
    client.force_login(admin_agent)
    assert list_url(organisation) in client.get(home).content.decode()
    client.force_login(basic_agent)
    html = client.get(home).content.decode()
    assert "Vos motifs" not in html
