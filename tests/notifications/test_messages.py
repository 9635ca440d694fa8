"""What the messages say (notifications.messages): each event's email and SMS, word for word;
the motif's name kept out of SMS and subjects; SMS in GSM-7, one segment for the ordinary case and
two at most with the longest names."""

import datetime as dt
import itertools

import pytest
from django.db.models import Prefetch
from pytest_django.asserts import assertInHTML

from motifs.models import Motif
from notifications import gsm
from notifications.messages import html_body, render
from notifications.models import Notification
from organisations.models import Service
from rendezvous.models import Participation, Rdv
from tests.helpers import at
from tests.motifs.factories import MotifCategoryFactory, MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, service
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

Event = Notification.Event
EMAIL, SMS = Notification.Channel.EMAIL, Notification.Channel.SMS
THURSDAY = dt.date(2027, 12, 9)
SITE_URL = "https://www.rdv-solidarites.fr"  # the real one: 30 characters of every link


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL


def tokens(rdv, *values: str) -> None:
    """Fixed link tokens, in the order of the RDV's participations."""
    for participation, value in zip(rdv.participations.order_by("pk"), values, strict=True):
        Participation.objects.filter(pk=participation.pk).update(link_token=value)


@pytest.fixture
def organisation(db):
    return OrganisationFactory(name="MDS de Noisiel", phone="01 64 62 12 34", email="mds.noisiel@seine-et-marne.fr")


@pytest.fixture
def amina(organisation):
    return UsagerFactory(
        organisation=organisation,
        first_name="Amina",
        last_name="Diallo",
        email="amina@example.com",
        phone="06 12 34 56 78",
        address="8 rue Pierre Mendès France, 77200 Torcy",
    )


@pytest.fixture
def lea(organisation, amina):
    return UsagerFactory(organisation=organisation, first_name="Léa", last_name="Diallo", responsible=amina)


def make_rdv(organisation, usagers, *, show_name=True, location_type=Motif.LocationType.PUBLIC_OFFICE, **kwargs):
    motif = MotifFactory(
        organisation=organisation,
        service=service("PMI"),
        category=MotifCategoryFactory(name="Consultation prénatale"),
        location_type=location_type,
        show_name_in_messages=show_name,
        instructions_after="Présentez-vous à l'accueil 10 minutes avant l'heure du rendez-vous.",
    )
    lieu = None
    if location_type == Motif.LocationType.PUBLIC_OFFICE:
        lieu = LieuFactory(
            organisation=organisation, name="Maison des solidarités", address="1 rue Haute, 77186 Noisiel"
        )
    rdv = RdvFactory(
        organisation=organisation, motif=motif, lieu=lieu, starts_at=at(THURSDAY, 15), usagers=usagers, **kwargs
    )
    tokens(rdv, *["AbCdEf123456", "GhIjKl789012"][: len(usagers)])
    return rdv


CONFIRMATION = """\
Bonjour Amina,

Votre rendez-vous est confirmé.

Service : PMI (Protection Maternelle Infantile)
Type de RDV : Consultation sur place
Motif : Consultation prénatale
Date : jeudi 9 décembre 2027 à 15h00
Lieu : Maison des solidarités, 1 rue Haute, 77186 Noisiel

Présentez-vous à l'accueil 10 minutes avant l'heure du rendez-vous.

Voir, annuler ou déplacer votre rendez-vous : https://www.rdv-solidarites.fr/r/AbCdEf123456

En cas d'empêchement, merci de prévenir : MDS de Noisiel, 01 64 62 12 34, mds.noisiel@seine-et-marne.fr.

Ce message est envoyé automatiquement par RDV Solidarités, merci de ne pas y répondre."""

MODIFICATION = """\
Bonjour Amina,

Votre rendez-vous a été modifié. Voici le rendez-vous tel qu'il est maintenant.

Service : PMI (Protection Maternelle Infantile)
Type de RDV : Consultation sur place
Motif : Consultation prénatale
Date : jeudi 9 décembre 2027 à 15h00
Lieu : Maison des solidarités, 1 rue Haute, 77186 Noisiel

Présentez-vous à l'accueil 10 minutes avant l'heure du rendez-vous.

Voir, annuler ou déplacer votre rendez-vous : https://www.rdv-solidarites.fr/r/AbCdEf123456

En cas d'empêchement, merci de prévenir : MDS de Noisiel, 01 64 62 12 34, mds.noisiel@seine-et-marne.fr.

Ce message est envoyé automatiquement par RDV Solidarités, merci de ne pas y répondre."""

REMINDER = """\
Bonjour Amina,

Votre rendez-vous approche.

Service : PMI (Protection Maternelle Infantile)
Type de RDV : Consultation sur place
Motif : Consultation prénatale
Date : jeudi 9 décembre 2027 à 15h00
Lieu : Maison des solidarités, 1 rue Haute, 77186 Noisiel

Présentez-vous à l'accueil 10 minutes avant l'heure du rendez-vous.

Voir, annuler ou déplacer votre rendez-vous : https://www.rdv-solidarites.fr/r/AbCdEf123456

En cas d'empêchement, merci de prévenir : MDS de Noisiel, 01 64 62 12 34, mds.noisiel@seine-et-marne.fr.

Ce message est envoyé automatiquement par RDV Solidarités, merci de ne pas y répondre."""


def cancellation(reason: str) -> str:
    return f"""\
Bonjour Amina,

Votre rendez-vous est annulé{reason}.

Service : PMI (Protection Maternelle Infantile)
Type de RDV : Consultation sur place
Motif : Consultation prénatale
Date : jeudi 9 décembre 2027 à 15h00

Pour prendre un nouveau rendez-vous : MDS de Noisiel, 01 64 62 12 34, mds.noisiel@seine-et-marne.fr.

Ce message est envoyé automatiquement par RDV Solidarités, merci de ne pas y répondre."""


@pytest.mark.parametrize(
    ("event", "status", "subject", "body"),
    [
        (Event.CREATED, Rdv.Status.UNKNOWN, "RDV confirmé le jeudi 9 décembre 2027 à 15h00", CONFIRMATION),
        (
            Event.UPDATED,
            Rdv.Status.UNKNOWN,
            "RDV modifié : nouveau rendez-vous le jeudi 9 décembre 2027 à 15h00",
            MODIFICATION,
        ),
        (Event.REMINDER, Rdv.Status.UNKNOWN, "Rappel : RDV le jeudi 9 décembre 2027 à 15h00", REMINDER),
        (
            Event.CANCELLED,
            Rdv.Status.EXCUSED,
            "RDV annulé le jeudi 9 décembre 2027 à 15h00",
            cancellation(" (absence excusée)"),
        ),
        (
            Event.CANCELLED,
            Rdv.Status.REVOKED,
            "RDV annulé le jeudi 9 décembre 2027 à 15h00",
            cancellation(" à l'initiative du service"),
        ),
        # An usager removed from an RDV that goes on: no reason to give.
        (Event.CANCELLED, Rdv.Status.UNKNOWN, "RDV annulé le jeudi 9 décembre 2027 à 15h00", cancellation("")),
    ],
)
def test_each_events_email(organisation, amina, event, status, subject, body):
    rdv = make_rdv(organisation, [amina], status=status)
    message = render(rdv, event, EMAIL, amina, [amina])
    assert message.subject == subject
    assert message.body == body


@pytest.mark.parametrize(
    ("event", "status", "text"),
    [
        (
            Event.CREATED,
            Rdv.Status.UNKNOWN,
            "RDV PMI confirmé le 09/12 à 15h00, Maison des solidarités. "
            "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/AbCdEf123456",
        ),
        (
            Event.UPDATED,
            Rdv.Status.UNKNOWN,
            "RDV PMI modifié : le 09/12 à 15h00, Maison des solidarités. "
            "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/AbCdEf123456",
        ),
        (
            Event.REMINDER,
            Rdv.Status.UNKNOWN,
            "Rappel : RDV PMI le 09/12 à 15h00, Maison des solidarités. "
            "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/AbCdEf123456",
        ),
        (
            Event.CANCELLED,
            Rdv.Status.EXCUSED,
            "RDV PMI du 09/12 à 15h00 annulé (absence excusée). Nouveau RDV : MDS de Noisiel, 01 64 62 12 34",
        ),
        (
            Event.CANCELLED,
            Rdv.Status.REVOKED,
            "RDV PMI du 09/12 à 15h00 annulé à l'initiative du service. Nouveau RDV : MDS de Noisiel, 01 64 62 12 34",
        ),
        (
            Event.CANCELLED,
            Rdv.Status.UNKNOWN,
            "RDV PMI du 09/12 à 15h00 annulé. Nouveau RDV : MDS de Noisiel, 01 64 62 12 34",
        ),
    ],
)
def test_each_events_sms(organisation, amina, event, status, text):
    rdv = make_rdv(organisation, [amina], status=status)
    message = render(rdv, event, SMS, amina, [amina])
    assert message.subject == ""
    assert message.body == text
    assert gsm.segments(message.body) == 1


def test_a_confirmation_after_a_cancelled_rdv_is_restored_reads_as_a_confirmation(organisation, amina):
    rdv = make_rdv(organisation, [amina], status=Rdv.Status.EXCUSED)
    rdv.status = Rdv.Status.UNKNOWN  # « Indéterminé » again: services.notify_status_change owes a confirmation
    assert render(rdv, Event.CREATED, SMS, amina, [amina]).body == (
        "RDV PMI confirmé le 09/12 à 15h00, Maison des solidarités. "
        "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/AbCdEf123456"
    )
    assert render(rdv, Event.CREATED, EMAIL, amina, [amina]).body == CONFIRMATION


@pytest.mark.parametrize(
    ("location_type", "kind", "where", "sms_where"),
    [
        (
            Motif.LocationType.PHONE,
            "RDV téléphonique",
            "Par téléphone : un agent vous appellera au 06 12 34 56 78.",
            "par téléphone",
        ),
        (
            Motif.LocationType.HOME,
            "RDV à votre domicile",
            "À domicile : 8 rue Pierre Mendès France, 77200 Torcy.",
            "à domicile",
        ),
    ],
)
def test_the_kind_of_rdv_and_its_place(organisation, amina, location_type, kind, where, sms_where):
    rdv = make_rdv(organisation, [amina], location_type=location_type)
    email = render(rdv, Event.CREATED, EMAIL, amina, [amina]).body
    assert f"\nType de RDV : {kind}\n" in email
    # Its own line, not « Lieu : Par téléphone : … » (issue 17).
    assert f"\n{where}\n" in email
    assert "Lieu :" not in email
    assert render(rdv, Event.CREATED, SMS, amina, [amina]).body == (
        f"RDV PMI confirmé le 09/12 à 15h00 {sms_where}. "
        "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/AbCdEf123456"
    )


def test_a_motif_that_hides_its_name_is_not_named_in_the_email(organisation, amina):
    rdv = make_rdv(organisation, [amina], show_name=False)
    message = render(rdv, Event.CREATED, EMAIL, amina, [amina])
    assert message.body == CONFIRMATION.replace("Motif : Consultation prénatale\n", "")
    assert "Consultation prénatale" not in message.body


def test_a_proche_and_its_responsible(organisation, amina, lea):
    rdv = make_rdv(organisation, [amina, lea])
    email = render(rdv, Event.CREATED, EMAIL, amina, [amina, lea]).body
    assert "\n\nLe rendez-vous pour vous et Léa DIALLO est confirmé.\n\n" in email
    assert render(rdv, Event.CREATED, SMS, amina, [amina, lea]).body == (
        "RDV PMI pour vous et Léa confirmé le 09/12 à 15h00, Maison des solidarités. "
        "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/AbCdEf123456"
    )


def test_a_proche_alone_gets_its_own_link(organisation, amina, lea):
    rdv = make_rdv(organisation, [lea])
    tokens(rdv, "GhIjKl789012")
    email = render(rdv, Event.REMINDER, EMAIL, amina, [lea]).body
    assert "\n\nLe rendez-vous de Léa DIALLO approche.\n\n" in email
    assert "\nVoir, annuler ou déplacer votre rendez-vous : https://www.rdv-solidarites.fr/r/GhIjKl789012\n" in email
    assert render(rdv, Event.REMINDER, SMS, amina, [lea]).body == (
        "Rappel : RDV PMI pour Léa le 09/12 à 15h00, Maison des solidarités. "
        "Voir, annuler, déplacer : https://www.rdv-solidarites.fr/r/GhIjKl789012"
    )


def test_many_proches_are_counted_in_an_sms(organisation, amina):
    children = [
        UsagerFactory(organisation=organisation, first_name=name, last_name="Diallo", responsible=amina)
        for name in ("Léa", "Hugo", "Inès")
    ]
    rdv = make_rdv(organisation, [amina])
    assert render(rdv, Event.CANCELLED, SMS, amina, [amina, *children]).body == (
        "RDV PMI pour vous et 3 proches du 09/12 à 15h00 annulé. Nouveau RDV : MDS de Noisiel, 01 64 62 12 34"
    )


def test_the_html_email_links_to_the_rdvs_page(organisation, amina):
    rdv = make_rdv(organisation, [amina])
    message = render(rdv, Event.CREATED, EMAIL, amina, [amina])
    html = html_body(Notification(subject=message.subject, body=message.body))
    assertInHTML("<title>RDV confirmé le jeudi 9 décembre 2027 à 15h00</title>", html)
    assertInHTML(
        '<a href="https://www.rdv-solidarites.fr/r/AbCdEf123456">https://www.rdv-solidarites.fr/r/AbCdEf123456</a>',
        html,
    )
    assert "Consultation prénatale" in html


def test_the_link_reads_the_participations_once_or_not_at_all_when_prefetched(
    organisation, amina, django_assert_num_queries
):
    rdv = make_rdv(organisation, [amina])
    loaded = Rdv.objects.select_related("organisation__territory", "motif__service", "lieu")
    rdv = loaded.get(pk=rdv.pk)
    with django_assert_num_queries(1):
        render(rdv, Event.REMINDER, SMS, amina, [amina])
    rdv = loaded.prefetch_related(Prefetch("participations")).get(pk=rdv.pk)
    with django_assert_num_queries(0):
        render(rdv, Event.REMINDER, SMS, amina, [amina])
    with django_assert_num_queries(0):  # an annulation carries no link
        render(rdv, Event.CANCELLED, SMS, amina, [amina])


# Every event × location type × who is concerned, with ordinary and with the longest realistic
# names. Ordinary: a lieu name of 22 characters, the usager alone or with one proche of a short
# first name: one SMS. Longest: names of 60 characters with accents, a long address and first
# names, a service with a 20-character short name, several proches: two SMS at most.
ORDINARY = {
    "organisation": "MDS de Noisiel",
    "lieu": "Maison des solidarités",
    "address": "1 rue Haute, 77186 Noisiel",
    "service": "PMI",
    "motif": "Consultation prénatale",
    "first_names": ["Amina", "Léa", "Hugo", "Inès"],
}
LONGEST = {
    "organisation": "Maison départementale des solidarités de Saint-Étienne-du-Rouvray",
    "lieu": "Centre médico-social Pôle Enfance Famille de l’Hôtel-de-Ville",
    "address": "Résidence « Les Œillets », bâtiment B, 3ᵉ étage, 127 boulevard du Maréchal-de-Lattre-de-Tassigny, "
    "76800 Saint-Étienne-du-Rouvray",
    "service": "Aide sociale enfance",
    "motif": "Information préoccupante",
    "first_names": ["Marie-Hélène-Françoise", "Jean-Baptiste-Noël", "Anne-Sophie-Maëlle", "Pierre-Éloïse"],
}
SHAPES = {"alone": (1, True), "with a proche": (2, True), "a proche alone": (2, False), "with 3 proches": (4, True)}
EVENTS = [Event.CREATED, Event.UPDATED, Event.CANCELLED, Event.REMINDER]
CANCELLATION_STATUSES = [Rdv.Status.EXCUSED, Rdv.Status.REVOKED, Rdv.Status.UNKNOWN]


def scene(names: dict, location_type: str, show_name: bool):
    organisation = OrganisationFactory(name=names["organisation"], phone="01 64 62 12 34", email="mds@example.fr")
    if names is ORDINARY:
        service_ = service("PMI")
    else:
        service_ = Service.objects.create(name="Aide sociale à l'enfance", short_name=names["service"])
    motif = MotifFactory(
        organisation=organisation,
        service=service_,
        category=MotifCategoryFactory(name=names["motif"]),
        location_type=location_type,
        show_name_in_messages=show_name,
    )
    last_name = "de La Rochefoucauld-Lévêque" if names is LONGEST else "Diallo"
    responsible = UsagerFactory(
        organisation=organisation,
        first_name=names["first_names"][0],
        last_name=last_name,
        email="famille@example.com",
        phone="06 12 34 56 78",
        address=names["address"],
    )
    family = [responsible] + [
        UsagerFactory(organisation=organisation, first_name=name, last_name=last_name, responsible=responsible)
        for name in names["first_names"][1:]
    ]
    lieu = LieuFactory(organisation=organisation, name=names["lieu"], address=names["address"])
    rdv = RdvFactory(
        organisation=organisation,
        motif=motif,
        lieu=lieu if location_type == Motif.LocationType.PUBLIC_OFFICE else None,
        starts_at=at(THURSDAY, 15),
        usagers=family,
    )
    return rdv, responsible, family


@pytest.mark.parametrize("location_type", Motif.LocationType.values)
@pytest.mark.parametrize("names", [ORDINARY, LONGEST], ids=["ordinary", "longest"])
def test_every_sms_is_gsm7_short_and_discreet(names, location_type):
    show_name = names is ORDINARY  # the name is shown in emails only: never in an SMS or a subject
    rdv, responsible, family = scene(names, location_type, show_name)
    for (shape, (size, with_responsible)), event in itertools.product(SHAPES.items(), EVENTS):
        concerned = family[:size] if with_responsible else family[1:size]
        for status in CANCELLATION_STATUSES if event == Event.CANCELLED else [Rdv.Status.UNKNOWN]:
            rdv.status = status
            case = f"{shape}, {event}, {status}: "
            sms = render(rdv, event, SMS, responsible, concerned).body
            assert gsm.is_gsm7(sms), case + sms
            assert gsm.segments(sms) <= 2, case + sms
            if names is ORDINARY and shape in ("alone", "with a proche"):
                assert gsm.segments(sms) == 1, case + sms
            assert names["motif"] not in sms, case + sms
            assert gsm.to_gsm7(names["motif"]) not in sms, case + sms
            email = render(rdv, event, EMAIL, responsible, concerned)
            assert names["motif"] not in email.subject, case + email.subject
            assert (names["motif"] in email.body) == show_name, case + email.body
