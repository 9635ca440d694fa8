"""« Prendre rendez-vous » walked in Chromium on a phone (390×844) by a new usager: from the home
page to « Mes rendez-vous », then « Déplacer » and « Annuler »; axe-core on every public page on the
way, no sideways scroll at 320 px; and the same booking with JavaScript turned off. The link of a
message (`/r/<token>`) walked the same way: the three letters, the RDV, « Déplacer », « Annuler »."""

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from notifications.models import Notification
from rendezvous.models import Rdv
from tests.browser.axe import assert_accessible
from tests.organisations.factories import TerritoryFactory, service
from tests.reservation.search_helpers import (
    MONDAY,
    NOW,
    PARIS,
    lieu,
    online_motif,
    organisation,
    plage,
    seine_et_marne,
)
from tests.reservation.search_helpers import booked as booked_online
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerAccount

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("communes"),
]

PHONE = {"width": 390, "height": 844}
NARROWEST = {"width": 320, "height": 640}  # WCAG reflow: 320 CSS pixels, no sideways scroll
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
EMAIL = "lea.martin@exemple.fr"
TUESDAY, THURSDAY = MONDAY + dt.timedelta(days=1), MONDAY + dt.timedelta(days=3)
CODE = re.compile(r"\b([0-9]{6})\b")


# Monday 4 March 2030, 8:00 in Paris, a week without public holiday: the first free time is
# Tuesday 9:00. The live server runs in this process and reads this clock; the browser's own
# clock is not read by any page.
@pytest.fixture(autouse=True)
def _monday_morning():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    """Noisiel is served by the MDS de Noisiel: a PMI motif at two lieux, with instructions to
    accept and indications after; a service social motif by phone (so « Quel service ? » shows)."""
    territory = seine_et_marne()
    mds = organisation(territory, "MDS de Noisiel", phone="01 64 62 45 00")
    allee = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
    annexe = lieu(mds, "Antenne du Luzard", "4 place du Luzard, 77186 Noisiel")
    motif = online_motif(
        mds,
        "Consultation de puériculture",
        instructions_before="Venez avec le carnet de santé de l'enfant.",
        instructions_after="Prévoyez une couche de rechange.",
    )
    plage(motif, allee)
    plage(motif, annexe, weekdays=(3,), start=14, end=16)
    social = online_motif(
        mds, "Premier rendez-vous avec un travailleur social", location_type="phone", service=service("Social")
    )
    plage(social, None)
    # Quimper's département has a service but nothing bookable online: its contacts instead.
    organisation(TerritoryFactory(departement_number="29", name="Finistère"), "CDAS de Quimper")
    return {"organisation": mds, "lieu": allee, "motif": motif}


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=PARIS)


@pytest.fixture
def phone_context(live_server, browser, browser_context_args):
    context = browser.new_context(**{**browser_context_args, "viewport": PHONE, "base_url": live_server.url})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def phone_page(phone_context):
    return phone_context.new_page()


@pytest.fixture
def phone_page_without_js(live_server, browser, browser_context_args):
    context = browser.new_context(
        **{**browser_context_args, "viewport": PHONE, "base_url": live_server.url, "java_script_enabled": False}
    )
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def look(page, name: str) -> None:
    """axe-core finds no serious or critical violation, nothing overflows the phone's width; a
    screenshot to look at."""
    assert_accessible(page)
    assert scroll_width(page) <= PHONE["width"], name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"reservation-{name}.png", full_page=True)


def no_sideways_scroll_at_320(page, name: str) -> None:
    page.set_viewport_size(NARROWEST)
    width = scroll_width(page)
    page.screenshot(path=SCREENSHOTS / f"reservation-{name}-320.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert width <= NARROWEST["width"], f"{name}: {width} px wide at 320 px"


def code_sent_to(mailoutbox, email: str) -> str:
    """The code, as the usager reads it in the email (Django's in-memory backend stands for the
    provider)."""
    sent = [message for message in mailoutbox if message.to == [email]]
    assert sent, f"no email to {email}"
    return CODE.search(sent[-1].body).group(1)


def heading(page, name: str):
    return page.get_by_role("heading", name=name, level=1)


def book_as_new_usager(page, mailoutbox, visit=lambda page, name: None) -> None:
    """From the home page to « Votre rendez-vous est confirmé », as Léa Martin who has never
    booked; `visit` is called on each page."""
    page.goto("/")
    expect(heading(page, "Où habitez-vous ?")).to_be_visible()
    visit(page, "accueil")
    page.get_by_label("Votre commune ou code postal").fill("Noisiel")
    page.get_by_role("button", name="Continuer").click()

    expect(heading(page, "Quel service souhaitez-vous rencontrer ?")).to_be_visible()
    expect(page.get_by_text("Vous habitez Noisiel (77186)")).to_be_visible()
    visit(page, "services")
    page.get_by_role("link", name="PMI (Protection Maternelle Infantile)").click()

    expect(heading(page, "Pour quel motif ?")).to_be_visible()
    visit(page, "motifs")
    page.get_by_role("link", name="Consultation de puériculture").click()

    expect(heading(page, "Où souhaitez-vous être reçu ?")).to_be_visible()
    first = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="MDS de Noisiel"))
    expect(first).to_contain_text("Grande Allée des Bois, 77186 Noisiel")
    expect(first).to_contain_text("Prochaine disponibilité le mardi 5 mars à 9h00")
    visit(page, "lieux")
    page.get_by_role("link", name="MDS de Noisiel").click()

    expect(heading(page, "Choisissez un horaire")).to_be_visible()
    expect(page.get_by_role("heading", name="Mardi 5 mars")).to_be_visible()
    visit(page, "creneaux")
    page.get_by_role("link", name="9h00 le mardi 5 mars").click()

    expect(heading(page, "Votre identité")).to_be_visible()
    visit(page, "identite")
    page.get_by_label("Prénom", exact=True).fill("Léa")
    page.get_by_label("Nom", exact=True).fill("Martin")
    page.get_by_label("Adresse e-mail").fill(EMAIL)
    page.get_by_role("button", name="Recevoir un code").click()

    expect(heading(page, "Saisissez le code reçu")).to_be_visible()
    expect(page.get_by_text(f"Nous avons envoyé un code à 6 chiffres à {EMAIL}")).to_be_visible()
    visit(page, "code")
    assert not Usager.objects.exists()  # nothing is created before the code
    page.get_by_label("Code à 6 chiffres").fill(code_sent_to(mailoutbox, EMAIL))
    page.get_by_role("button", name="Valider").click()

    expect(heading(page, "Vos informations")).to_be_visible()
    visit(page, "informations")
    # The new proche's names are asked only once « Un nouveau proche » is chosen (CSS only).
    expect(page.get_by_label("Prénom du proche")).to_be_hidden()
    page.get_by_label("Un nouveau proche").check(force=True)
    expect(page.get_by_label("Prénom du proche")).to_be_visible()
    visit(page, "informations-nouveau-proche")
    page.get_by_label("Léa MARTIN (moi)").check(force=True)
    expect(page.get_by_label("Prénom du proche")).to_be_hidden()
    page.get_by_label("Recevoir la confirmation et le rappel par e-mail").check(force=True)
    page.get_by_role("button", name="Continuer").click()

    expect(heading(page, "Vérifiez votre rendez-vous")).to_be_visible()
    expect(page.get_by_text("Votre rendez-vous n'est pas encore réservé")).to_be_visible()
    visit(page, "verification")
    assert not Rdv.objects.exists()
    page.get_by_label("J'ai lu et j'accepte ces instructions").check(force=True)
    page.get_by_role("button", name="Confirmer le rendez-vous").click()

    expect(page.get_by_role("heading", name="Votre rendez-vous est confirmé")).to_be_visible()
    expect(page.get_by_text("Prévoyez une couche de rechange.")).to_be_visible()
    visit(page, "confirmation")


def assert_booked(world) -> Rdv:
    rdv = Rdv.objects.get()
    usager = Usager.objects.get()
    assert (usager.first_name, usager.last_name, usager.email) == ("Léa", "Martin", EMAIL)
    assert UsagerAccount.objects.get().usager == usager
    assert (rdv.starts_at, rdv.lieu, rdv.motif, rdv.status) == (
        at(TUESDAY, 9),
        world["lieu"],
        world["motif"],
        Rdv.Status.UNKNOWN,
    )
    assert rdv.created_by == Rdv.CreatedBy.USAGER
    assert [participation.usager for participation in rdv.participations.all()] == [usager]
    assert list(Notification.objects.filter(rdv=rdv).values_list("channel", "to")) == [("email", EMAIL)]
    return rdv


def test_a_new_usager_books_moves_and_cancels_on_a_phone(phone_page, world, mailoutbox):
    page = phone_page

    def visit(page, name):
        look(page, name)
        if name in ("creneaux", "verification"):
            no_sideways_scroll_at_320(page, name)

    book_as_new_usager(page, mailoutbox, visit)
    booked = assert_booked(world)

    page.get_by_role("link", name="Voir mes rendez-vous").click()
    expect(heading(page, "Mes rendez-vous")).to_be_visible()
    card = page.locator(f"#rdv-{booked.pk}")
    expect(card).to_contain_text("Mardi 5 mars 2030 à 9h00")
    look(page, "mes-rendez-vous")

    # « Déplacer » to Thursday 10:00, same motif and lieu.
    card.get_by_role("link", name=re.compile("^Déplacer")).click()
    expect(heading(page, re.compile("^Déplacer le rendez-vous du mardi 5 mars"))).to_be_visible()
    look(page, "deplacer")
    page.get_by_role("link", name="10h00 le jeudi 7 mars").click()
    expect(heading(page, "Déplacer votre rendez-vous ?")).to_be_visible()
    look(page, "deplacer-confirmer")
    page.get_by_role("button", name="Confirmer le déplacement").click()
    expect(page.get_by_text("Votre rendez-vous a été déplacé.")).to_be_visible()
    expect(page.get_by_role("heading", name="Votre rendez-vous est confirmé")).to_be_visible()

    booked.refresh_from_db()
    moved = Rdv.objects.exclude(pk=booked.pk).get()
    assert booked.status == Rdv.Status.EXCUSED
    assert (moved.starts_at, moved.lieu, moved.motif, moved.status) == (
        at(THURSDAY, 10),
        world["lieu"],
        world["motif"],
        Rdv.Status.UNKNOWN,
    )
    assert [p.usager for p in moved.participations.all()] == [p.usager for p in booked.participations.all()]

    # « Annuler »: a confirmation page, then the button.
    page.get_by_role("link", name="Voir mes rendez-vous").click()
    page.locator(f"#rdv-{moved.pk}").get_by_role("link", name=re.compile("^Annuler")).click()
    expect(heading(page, "Annuler le rendez-vous du jeudi 7 mars à 10h00 ?")).to_be_visible()
    look(page, "annuler")
    page.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(page.get_by_text("Votre rendez-vous a été annulé.")).to_be_visible()
    expect(heading(page, "Mes rendez-vous")).to_be_visible()
    look(page, "mes-rendez-vous-apres-annulation")
    moved.refresh_from_db()
    assert moved.status == Rdv.Status.EXCUSED
    assert list(Rdv.objects.filter(status=Rdv.Status.UNKNOWN)) == []

    # Signed out: « Se connecter » to « Mes rendez-vous ». At phone width the header's links are
    # in its « Menu », which DSFR's script draws (`<html data-fr-js="true">` once started).
    page.locator("html[data-fr-js='true']").wait_for(state="attached")
    page.get_by_role("button", name="Menu").click()
    page.locator("#menu-usager").get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté(e).")).to_be_visible()
    page.locator("html[data-fr-js='true']").wait_for(state="attached")
    page.get_by_role("button", name="Menu").click()
    page.locator("#menu-usager").get_by_role("link", name="Mes rendez-vous").click()
    expect(heading(page, "Se connecter")).to_be_visible()
    look(page, "connexion")

    # Several communes answer « Quimper »: the list to choose from. Nothing is bookable online
    # there: how to reach the département's service instead.
    page.goto("/")
    page.get_by_label("Votre commune ou code postal").fill("Quimper")
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", name="2 communes correspondent à « Quimper »")).to_be_visible()
    look(page, "communes")
    page.get_by_role("link", name=re.compile("^Quimper 29000")).click()
    expect(heading(page, "Aucun rendez-vous n'est proposé en ligne pour votre commune")).to_be_visible()
    contact = page.get_by_role("region", name="CDAS de Quimper")
    expect(contact.get_by_role("link", name="01 60 05 00 00")).to_be_visible()
    expect(contact.get_by_role("heading", name="Horaires d'ouverture")).to_be_visible()
    look(page, "aucune-offre")


def test_booking_works_without_javascript(phone_page_without_js, world, mailoutbox):
    page = phone_page_without_js

    def visit(page, name):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"reservation-sans-js-{name}.png", full_page=True)
        assert scroll_width(page) <= PHONE["width"], name

    book_as_new_usager(page, mailoutbox, visit)
    assert_booked(world)
    expect(page.locator("html")).not_to_have_attribute("data-fr-js", "true")  # no script ran
    # The header's « Menu » needs JavaScript: its links show at phone width instead.
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="Mes rendez-vous")).to_be_visible()
    header.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_text("Vous êtes déconnecté(e).")).to_be_visible()
    expect(header.get_by_role("link", name="Espace agents")).to_be_visible()


@pytest.fixture
def link_token(world) -> str:
    """Élodie Lefèvre's RDV on Tuesday 5 March at 9:30, its motif's name kept off the messages."""
    world["motif"].show_name_in_messages = False
    world["motif"].save(update_fields=["show_name_in_messages"])
    usager = UsagerFactory(first_name="Élodie", last_name="Lefèvre", email="elodie@exemple.fr")
    return booked_online(world, usager).participations.get().link_token


def answer_letters(page, letters: str) -> None:
    page.get_by_label("Les trois premières lettres du nom de famille").fill(letters)
    page.get_by_role("button", name="Voir le rendez-vous").click()


def test_the_link_of_a_message_on_a_phone(phone_page, link_token):
    page = phone_page
    page.goto(f"/r/{link_token}")
    expect(heading(page, "Votre rendez-vous")).to_be_visible()
    expect(page.get_by_text("Noisiel")).to_have_count(0)  # nothing before the letters
    look(page, "lien-question")

    answer_letters(page, "lfe")
    expect(page.get_by_text("Ces informations ne correspondent à aucun rendez-vous à venir.")).to_be_visible()
    look(page, "lien-erreur")

    answer_letters(page, "Lef")
    expect(page.get_by_role("heading", name="Mardi 5 mars 2030 à 9h30")).to_be_visible()
    expect(page.get_by_text("À venir", exact=True)).to_be_visible()
    expect(page.get_by_text("Prévoyez une couche de rechange.")).to_be_visible()
    expect(page.get_by_text("Consultation de puériculture")).to_have_count(0)
    look(page, "lien-rdv")

    page.get_by_role("link", name="Déplacer le rendez-vous").click()
    expect(heading(page, "Déplacer le rendez-vous du mardi 5 mars à 9h30")).to_be_visible()
    look(page, "lien-deplacer")
    page.get_by_role("link", name="10h00 le mardi 5 mars").click()
    expect(heading(page, "Déplacer votre rendez-vous ?")).to_be_visible()
    look(page, "lien-deplacer-confirmer")
    page.get_by_role("button", name="Confirmer le déplacement").click()
    expect(page.get_by_text("Votre rendez-vous a été déplacé.")).to_be_visible()
    expect(page.get_by_role("heading", name="Mardi 5 mars 2030 à 10h00")).to_be_visible()
    look(page, "lien-deplace")

    page.get_by_role("link", name="Annuler le rendez-vous").click()
    expect(heading(page, "Annuler le rendez-vous du mardi 5 mars à 10h00 ?")).to_be_visible()
    look(page, "lien-annuler")
    page.get_by_role("button", name="Annuler le rendez-vous").click()
    expect(page.get_by_text("Votre rendez-vous a été annulé.")).to_be_visible()
    expect(page.get_by_text("Annulé", exact=True)).to_be_visible()
    look(page, "lien-annule")
    assert sorted(Rdv.objects.values_list("status", flat=True)) == [Rdv.Status.EXCUSED, Rdv.Status.EXCUSED]


def test_the_link_works_without_javascript(phone_page_without_js, link_token):
    page = phone_page_without_js
    page.goto(f"/r/{link_token}")
    answer_letters(page, "LEF")
    expect(page.get_by_role("heading", name="Mardi 5 mars 2030 à 9h30")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "reservation-sans-js-lien-rdv.png", full_page=True)
    # Five wrong tries from this address: « Trop d'essais », whichever link.
    for _n in range(5):
        page.goto("/r/inconnu")
        answer_letters(page, "abc")
    answer_letters(page, "abc")
    expect(page.get_by_role("alert")).to_have_text("Trop d'essais. Réessayez dans 15 minutes.")
    page.screenshot(path=SCREENSHOTS / "reservation-sans-js-lien-trop-d-essais.png", full_page=True)
