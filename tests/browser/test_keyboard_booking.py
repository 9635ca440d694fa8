"""« Prendre rendez-vous » with the keyboard alone, on a 390 px phone (issue 18, point 6): Tab,
Shift+Tab, Enter, Space and typing, from the home page to the booked RDV, as a person who cannot
use a mouse or a touch screen. On every page the first Tab reaches the skip link « Contenu »,
whose Enter moves the focus to the content; every element the walk passes through shows where
the focus is (an outline: DSFR's, on the element or on the label of a radio or a checkbox) and is
on the screen. The same flow with the mouse: tests/browser/test_reservation.py."""

import re
from urllib.parse import urlsplit

import pytest
import time_machine
from playwright.sync_api import expect

from rendezvous.models import Rdv
from tests.browser.test_reservation import EMAIL, NOW, PHONE, TUESDAY, at, code_sent_to, heading
from tests.organisations.factories import service
from tests.reservation.search_helpers import lieu, online_motif, organisation, plage, seine_et_marne

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("communes"),
]

# More Tabs than any page of the flow needs to reach what it is looking for (the créneaux' page
# has the most: a week of times).
MOST_TABS = 60
# What the focus is on: its name as read (a label's text for a field), whether a focus ring shows,
# whether it is on screen.
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const ring = (style) => style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1;
  const label = element.labels && element.labels.length ? element.labels[0] : null;
  const drawnOnLabel = label && (element.type === 'radio' || element.type === 'checkbox');
  // On the element; on its ::before, for a link that covers its whole tile (DSFR's fr-enlarge-link);
  // on its label's ::before, for a radio or a checkbox.
  const shown = ring(getComputedStyle(element)) || ring(getComputedStyle(element, '::before'))
    || (drawnOnLabel && ring(getComputedStyle(label, '::before')));
  const box = (drawnOnLabel ? label : element).getBoundingClientRect();
  const name = label ? label.innerText : element.getAttribute('aria-label') || element.innerText || '';
  return {
    tag: element.tagName.toLowerCase(),
    id: element.id,
    name: name.replace(/\\s+/g, ' ').trim(),
    shown,
    onScreen: box.bottom > 0 && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
    checked: !!element.checked,
    inContent: !!element.closest('main'),
  };
}"""


@pytest.fixture(autouse=True)
def _monday_morning():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world():
    """Noisiel's MDS: a PMI motif with instructions to accept, and a service social motif (so
    that « Quel service ? » is asked), as in tests/browser/test_reservation.py."""
    mds = organisation(seine_et_marne(), "MDS de Noisiel", phone="01 64 62 45 00")
    allee = lieu(mds, "MDS de Noisiel", "Grande Allée des Bois, 77186 Noisiel")
    motif = online_motif(
        mds, "Consultation de puériculture", instructions_before="Venez avec le carnet de santé de l'enfant."
    )
    plage(motif, allee)
    social = online_motif(
        mds, "Premier rendez-vous avec un travailleur social", location_type="phone", service=service("Social")
    )
    plage(social, None)
    return {"lieu": allee, "motif": motif}


@pytest.fixture
def phone(live_server, browser, browser_context_args):
    context = browser.new_context(**{**browser_context_args, "viewport": PHONE, "base_url": live_server.url})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def focused(page) -> dict | None:
    return page.evaluate(FOCUSED)


def tab_to(page, name: str | re.Pattern, *, backwards: bool = False) -> dict:
    """Tab (Shift+Tab `backwards`) until the focus is on `name` (the whole name, or a pattern it
    starts with); each element on the way shows its focus and is on the screen."""
    for _ in range(MOST_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        assert now is not None, f"the focus left the page before reaching « {name} »"
        assert now["shown"], f"no visible focus on {now}"
        assert now["onScreen"], f"the focus is off screen: {now}"
        if now["name"] == name if isinstance(name, str) else name.match(now["name"]):
            return now
    raise AssertionError(f"« {name} » not reached in {MOST_TABS} Tabs")


def skip_to_content(page) -> None:
    """The first Tab of a page reaches the skip link « Contenu »; Enter moves the focus to the
    page's <main>: the next Tab starts in the content, after the header."""
    page.locator("html[data-fr-js='true']").wait_for(state="attached")  # DSFR's script has started
    if urlsplit(page.url).fragment == "contenu":
        # A form posted from a page whose skip link was used: its redirect keeps the « #contenu »
        # (browsers carry a fragment over a redirect), and the page opens at its content.
        page.keyboard.press("Tab")
        assert focused(page)["inContent"], focused(page)
        page.keyboard.press("Shift+Tab")  # the next Tab is the content's first
        return
    page.keyboard.press("Tab")
    first = focused(page)
    assert first is not None and first["name"] == "Contenu", first
    assert first["shown"] and first["onScreen"], first  # DSFR shows the skip links on focus
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "contenu"


def press_on(page, name: str | re.Pattern, key: str = "Enter") -> None:
    tab_to(page, name)
    page.keyboard.press(key)


def check(page, name: str | re.Pattern) -> None:
    """Tab to a radio or a checkbox and make sure it is checked: Space checks it."""
    if not tab_to(page, name)["checked"]:
        page.keyboard.press("Space")
    assert focused(page)["checked"], name


def test_an_usager_books_with_the_keyboard_alone(phone, world, mailoutbox):
    page = phone
    page.goto("/")
    expect(heading(page, "Où habitez-vous ?")).to_be_visible()
    skip_to_content(page)
    tab_to(page, re.compile("^Votre commune ou code postal"))
    page.keyboard.type("Noisiel")
    page.keyboard.press("Enter")  # submits the form

    expect(heading(page, "Quel service souhaitez-vous rencontrer ?")).to_be_visible()
    skip_to_content(page)
    press_on(page, "PMI (Protection Maternelle Infantile)")

    expect(heading(page, "Pour quel motif ?")).to_be_visible()
    skip_to_content(page)
    press_on(page, re.compile("^Consultation de puériculture"))

    expect(heading(page, "Où souhaitez-vous être reçu ?")).to_be_visible()
    skip_to_content(page)
    press_on(page, re.compile("^MDS de Noisiel"))

    expect(heading(page, "Choisissez un horaire")).to_be_visible()
    skip_to_content(page)
    tab_to(page, "9h00 le mardi 5 mars")
    page.screenshot(path="/tmp/h/a11y-clavier-creneaux.png")  # where the focus is, as one sees it
    page.keyboard.press("Enter")

    expect(heading(page, "Votre identité")).to_be_visible()
    skip_to_content(page)
    tab_to(page, re.compile("^Prénom"))
    page.keyboard.type("Léa")
    tab_to(page, re.compile("^Nom"))
    page.keyboard.type("Martin")
    tab_to(page, re.compile("^Adresse e-mail"))
    page.keyboard.type(EMAIL)
    # Back up to the first name with Shift+Tab, as one who checks what was typed.
    tab_to(page, re.compile("^Prénom"), backwards=True)
    press_on(page, "Recevoir un code")

    expect(heading(page, "Saisissez le code reçu")).to_be_visible()
    skip_to_content(page)
    tab_to(page, re.compile("^Code à 6 chiffres"))
    page.keyboard.type(code_sent_to(mailoutbox, EMAIL))
    page.keyboard.press("Enter")

    expect(heading(page, "Vos informations")).to_be_visible()
    skip_to_content(page)
    check(page, "Léa MARTIN (moi)")
    page.screenshot(path="/tmp/h/a11y-clavier-informations.png")
    check(page, "Recevoir la confirmation et le rappel par e-mail")
    press_on(page, "Continuer")

    expect(heading(page, "Vérifiez votre rendez-vous")).to_be_visible()
    skip_to_content(page)
    check(page, re.compile("^J'ai lu et j'accepte ces instructions"))
    press_on(page, "Confirmer le rendez-vous")

    expect(page.get_by_role("heading", name="Votre rendez-vous est confirmé")).to_be_visible()
    page.screenshot(path="/tmp/h/a11y-clavier-confirmation.png", full_page=True)
    rdv = Rdv.objects.get()
    assert (rdv.starts_at, rdv.lieu, rdv.motif) == (at(TUESDAY, 9), world["lieu"], world["motif"])
    assert [participation.usager.email for participation in rdv.participations.all()] == [EMAIL]
