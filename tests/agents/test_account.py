"""« Mon compte »: every signed-in agent's name, password, notification choice and private
calendar address, from the account menu of the header, within its organisation or without one."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertRedirects

from agents.models import Agent
from planning.models import CalendarFeed
from tests.agents.factories import PASSWORD, AgentFactory
from tests.helpers import count_queries
from tests.rendezvous.helpers import dom, field_errors, find, find_all, text

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "un-nouveau-mot-de-passe-2030"


def account_url(organisation=None) -> str:
    if organisation is None:
        return reverse("agents:account")
    return reverse("agents:account_in_organisation", kwargs={"organisation_id": organisation.pk})


@pytest.fixture
def signed_in(client, organisation, basic_agent):
    client.force_login(basic_agent)
    return client


def test_anonymous_visitors_are_sent_to_the_login_page(client, organisation):
    for url in (account_url(), account_url(organisation)):
        assertRedirects(client.get(url), reverse("agents:login", query={"next": url}), fetch_redirect_response=False)


def test_the_account_menu_leads_to_mon_compte(signed_in, organisation):
    page = dom(signed_in.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})))
    menu = find(page, "div", id="menu-compte")
    (link,) = [a for a in find_all(menu, "a") if text(a) == "Mon compte"]
    assert dict(link.attributes)["href"] == account_url(organisation)


def test_the_page_shows_every_section(signed_in, organisation, basic_agent):
    response = signed_in.get(account_url(organisation))
    assert response.status_code == 200
    page = dom(response)
    assert text(find(page, "h1")) == "Mon compte"
    assert [text(h2) for h2 in find_all(find(page, "main"), "h2")] == [
        "Votre nom",
        "Votre mot de passe",
        "Vos notifications",
        "Votre planning dans votre agenda",
    ]
    assert dict(find(page, "input", name="first_name").attributes)["value"] == basic_agent.first_name
    radios = find_all(page, "input", name="rdv_notifications")
    assert [dict(radio.attributes)["value"] for radio in radios] == ["all", "others", "others_soon", "none"]
    (checked,) = [radio for radio in radios if "checked" in dict(radio.attributes)]
    assert dict(checked.attributes)["value"] == "others_soon"  # the default
    labels = [text(find(page, "label", for_=dict(radio.attributes)["id"])) for radio in radios]
    assert labels == [
        "Tous les changements de mes RDV",
        "Seulement les changements faits par d'autres (usagers ou autres agents)",
        "Seulement les changements faits par d'autres pour les RDV des prochaines 24 heures",
        "Aucune",
    ]
    # The side menu of the organisation stays.
    assert find(page, "nav", id="menu-lateral") is not None


def test_an_agent_of_no_organisation_has_its_account_too(client):
    loner = AgentFactory()
    client.force_login(loner)
    response = client.get(account_url())
    assert response.status_code == 200
    assert text(find(dom(response), "h1")) == "Mon compte"
    choose_page = dom(client.get(reverse("organisations:choose")))
    assert any(dict(a.attributes).get("href") == account_url() for a in find_all(choose_page, "a"))


def test_the_name_is_changed(signed_in, organisation, basic_agent):
    response = signed_in.post(
        account_url(organisation), {"formulaire": "nom", "first_name": "Sophie", "last_name": "Lambert"}
    )
    assertRedirects(response, account_url(organisation), fetch_redirect_response=False)
    basic_agent.refresh_from_db()
    assert (basic_agent.first_name, basic_agent.last_name) == ("Sophie", "Lambert")
    assert "Votre nom a été modifié." in signed_in.get(account_url(organisation)).content.decode()
    assert basic_agent.history.first().history_user == basic_agent


def test_an_empty_name_is_refused_on_its_field(signed_in, organisation, basic_agent):
    former = basic_agent.first_name
    response = signed_in.post(account_url(organisation), {"formulaire": "nom", "first_name": " ", "last_name": "X"})
    assert response.status_code == 422
    assert field_errors(response, "first_name") == ["Saisissez votre prénom."]
    basic_agent.refresh_from_db()
    assert basic_agent.first_name == former
    # The header still names the agent as it is.
    assert text(find(find(dom(response), "header"), "button", aria_controls="menu-compte")) == former


def test_a_wrong_current_password_is_refused_in_french(signed_in, organisation, basic_agent):
    response = signed_in.post(
        account_url(organisation),
        {
            "formulaire": "mot-de-passe",
            "old_password": "pas-le-bon",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert text(find(dom(response), "label", for_="id_old_password")) == "Mot de passe actuel"
    assert field_errors(response, "old_password") == ["Le mot de passe actuel est incorrect. Saisissez-le à nouveau."]
    basic_agent.refresh_from_db()
    assert basic_agent.check_password(PASSWORD)


def test_two_different_new_passwords_are_refused(signed_in, organisation):
    response = signed_in.post(
        account_url(organisation),
        {
            "formulaire": "mot-de-passe",
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD + "x",
        },
    )
    assert response.status_code == 422
    assert field_errors(response, "new_password2") == ["Les deux mots de passe ne sont pas identiques."]


def test_the_password_is_changed_and_the_session_goes_on(signed_in, organisation, basic_agent):
    response = signed_in.post(
        account_url(organisation),
        {
            "formulaire": "mot-de-passe",
            "old_password": PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assertRedirects(response, account_url(organisation), fetch_redirect_response=False)
    basic_agent.refresh_from_db()
    assert basic_agent.check_password(NEW_PASSWORD)
    page = signed_in.get(account_url(organisation))
    assert page.status_code == 200
    assert "Votre mot de passe a été modifié." in page.content.decode()


def test_the_notification_level_is_changed(signed_in, organisation, basic_agent):
    response = signed_in.post(account_url(organisation), {"formulaire": "notifications", "rdv_notifications": "others"})
    assertRedirects(response, account_url(organisation), fetch_redirect_response=False)
    basic_agent.refresh_from_db()
    assert basic_agent.rdv_notifications == Agent.RdvNotifications.OTHERS


def test_an_unknown_level_is_refused_on_its_field(signed_in, organisation, basic_agent):
    response = signed_in.post(account_url(organisation), {"formulaire": "notifications", "rdv_notifications": "x"})
    assert response.status_code == 422
    assert field_errors(response, "rdv_notifications") == ["Choisissez une option de la liste."]
    basic_agent.refresh_from_db()
    assert basic_agent.rdv_notifications == Agent.RdvNotifications.OTHERS_SOON


def test_the_calendar_address_is_made_shown_once_then_revoked(signed_in, client, organisation, basic_agent):
    page = dom(signed_in.get(account_url(organisation)))
    assert [text(button) for button in find_all(page, "button", name="action")] == ["Créer une adresse de calendrier"]
    response = signed_in.post(account_url(organisation), {"formulaire": "calendrier", "action": "regenerate"})
    assertRedirects(response, account_url(organisation), fetch_redirect_response=False)
    page = dom(signed_in.get(account_url(organisation)))
    feed_url = text(find(page, "p", class_="rdv-feed-url"))
    assert feed_url.startswith("http://testserver/calendrier/") and feed_url.endswith(".ics")
    assert dict(find(page, "p", class_="rdv-feed-url").children[0].attributes)["href"].startswith("webcal://")
    calendar = signed_in.get(feed_url.removeprefix("http://testserver"))
    assert (calendar.status_code, calendar["Content-Type"]) == (200, "text/calendar; charset=utf-8")
    # Shown once: only its hash is kept.
    page = dom(signed_in.get(account_url(organisation)))
    assert find_all(page, "p", class_="rdv-feed-url") == []
    assert [text(button) for button in find_all(page, "button", name="action")] == [
        "Régénérer l'adresse",
        "Révoquer l'adresse",
    ]
    signed_in.post(account_url(organisation), {"formulaire": "calendrier", "action": "revoke"})
    assert not CalendarFeed.objects.filter(agent=basic_agent).exists()
    assert signed_in.get(feed_url.removeprefix("http://testserver")).status_code == 404


def test_the_page_reads_a_fixed_number_of_queries(signed_in, organisation):
    # Session, agent, calendar feed; within an organisation, the membership with its organisation
    # and the menu's other organisations and its « À renseigner » badge too.
    assert count_queries(signed_in, account_url(organisation)) == 5
    assert count_queries(signed_in, account_url()) == 3
