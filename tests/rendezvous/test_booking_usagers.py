"""The usagers step of posing an RDV, shared by the wizard (step 2) and « Trouver un créneau »
(rendezvous/views/usagers_step.py): choosing, searching, adding a responsible, and the round trip
through « Créer un usager »."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains

from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import OrganisationFactory
from tests.rendezvous.helpers import (
    DAY,
    create_url,
    creneaux_url,
    dom,
    field_errors,
    find,
    find_all,
    slot_params,
    step2_data,
    text,
)
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager, UsagerProfile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wednesday_morning")]

NOTES_KEPT = "Les usagers choisis et les notes libres vous attendent au retour."


def found(response) -> dict[int, str]:
    """The usagers the search offers to add, in order: the buttons of « Usagers trouvés », by pk,
    with their text (name, then birth date, « proche de », e-mail)."""
    results = find(dom(response), "div", role="region", aria_label="Usagers trouvés")
    return {
        int(dict(button.attributes)["value"]): text(button) for button in find_all(results, "button", name="ajouter")
    }


def chosen(usager) -> str:
    """An usager chosen for the RDV, as the picker lists it: kept in the form, removed in one click."""
    return f"""<li>
      <input type="hidden" name="usagers" value="{usager.pk}">
      <button type="submit" class="fr-tag rdv-tag-remove" name="retirer" value="{usager.pk}"
              aria-label="Retirer {usager.full_name}">{usager.full_name}</button>
    </li>"""


def notes(response) -> str:
    return text(find(dom(response), "textarea", name="notes"))


def test_step2_continue_without_usager_is_refused(client, organisation, basic_agent, motif):
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, action="continuer"))
    assert response.status_code == 422
    assert field_errors(response, "usagers") == [
        "Choisissez au moins un usager : tapez son nom dans le champ « Usagers »."
    ]


def test_step2_refuses_a_usager_of_another_organisation(client, organisation, basic_agent, motif):
    foreign = UsagerFactory(organisation=OrganisationFactory(), first_name="Zoé")
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, usagers=[foreign.pk], action="continuer"))
    assert response.status_code == 422
    assert field_errors(response, "usagers") == ["Cet usager n'existe pas ou n'est pas connu de votre organisation."]
    assert foreign.full_name not in response.content.decode()


def test_step2_adds_and_removes_usagers_and_keeps_the_notes(client, organisation, basic_agent, motif, usager):
    proche = UsagerFactory(organisation=organisation, proche=True, first_name="Léo")
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, ajouter=proche.pk, notes="Vaccins"))
    assert response.status_code == 200
    assertContains(response, chosen(proche), count=1, html=True)
    assert notes(response) == "Vaccins"
    # A proche's responsible is offered in one click.
    assertContains(
        response,
        f"""<button type="submit" class="fr-btn fr-btn--tertiary fr-btn--sm fr-btn--icon-left fr-icon-add-line"
                    name="ajouter" value="{proche.responsible_id}">
          Ajouter aussi {proche.responsible.full_name} (responsable)
        </button>""",
        html=True,
    )
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
    response = client.get(picker, {"q": "Lointain"})
    assert list(found(response)) == [proche.pk]
    assert "Gaspard" not in response.content.decode()

    # Known here too, it is offered, named and its address prefilled.
    UsagerProfile.objects.create(usager=responsible, organisation=organisation)
    response = client.post(create_url(organisation), step2_data(home, ajouter=proche.pk))
    assert response.context["usagers"].suggestions == [responsible]
    response = client.post(create_url(organisation), step2_data(home, usagers=[proche.pk], action="continuer"))
    assert response.context["form"].initial["address"] == "12 rue Cachée, Lyon"
    assert found(client.get(picker, {"q": "Léo"})) == {proche.pk: "Léo LOINTAIN proche de Gaspard LOINTAIN"}


def test_live_search_lists_the_organisations_usagers_only(client, organisation, basic_agent, usager):
    chosen = UsagerFactory(organisation=organisation, first_name="Inès", last_name="Garrigou")
    UsagerFactory(organisation=OrganisationFactory(), first_name="Inès", last_name="Garrigue")
    client.force_login(basic_agent)
    url = reverse("rendezvous:usager_picker", kwargs={"organisation_id": organisation.pk})
    response = client.get(url, {"q": "garri", "usagers": [chosen.pk]}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    # Not the chosen one, not the other organisation's.
    assert list(found(response)) == [usager.pk]
    assert len(find_all(dom(response), name="ajouter")) == 1


def test_search_without_javascript(client, organisation, basic_agent, motif, usager):
    client.force_login(basic_agent)
    response = client.post(create_url(organisation), step2_data(motif, q="Garrigue", action="rechercher"))
    assert response.status_code == 200
    assert list(found(response)) == [usager.pk]


def test_create_usager_round_trip(client, organisation, basic_agent, motif, usager):
    client.force_login(basic_agent)
    data = step2_data(
        motif, basic_agent, debut=f"{DAY.isoformat()}T09:30", usagers=[usager.pk], notes="Bilan", action="creer_usager"
    )
    response = client.post(create_url(organisation), data)
    assert response.status_code == 302
    create_usager_url = response.url
    assert create_usager_url.startswith(reverse("usagers:create", kwargs={"organisation_id": organisation.pk}))
    next_url = parse_qs(urlsplit(create_usager_url).query)["next"][0]
    assertContains(client.get(create_usager_url), f'<input type="hidden" name="next" value="{next_url}">', html=True)
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
    # Kept in the session meanwhile (issue 17): the notes typed before are there again.
    assert notes(response) == "Bilan"


def test_the_notes_kept_are_the_session_s_own(client, organisation, basic_agent, motif, usager):
    """The way back names a draft of the session: in another agent's session, or made up, that
    name brings nothing back."""
    client.force_login(basic_agent)
    data = step2_data(motif, usagers=[usager.pk], notes="Bilan", action="creer_usager")
    next_url = parse_qs(urlsplit(client.post(create_url(organisation), data).url).query)["next"][0]
    assert "brouillon=" in next_url
    colleague = Client()
    colleague.force_login(AgentFactory(organisation=organisation, services=["PMI"]))
    assert notes(colleague.get(next_url)) == ""
    made_up = next_url.replace("brouillon=", "brouillon=x")
    assert notes(client.get(made_up)) == ""
    assert notes(client.get(next_url)) == "Bilan"


def test_the_step_says_that_notes_are_kept_by_creer_un_usager(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    for response in (
        client.get(create_url(organisation, motif=motif.pk)),
        client.get(creneaux_url(organisation), params),
    ):
        assert response.status_code == 200
        assertContains(response, f'<p class="fr-hint-text" id="creer-usager-notes">{NOTES_KEPT}</p>', html=True)
        assertContains(
            response,
            """<button type="submit" class="fr-link fr-link--sm" name="action" value="creer_usager"
            aria-describedby="creer-usager-notes">Créer un usager</button>""",
            html=True,
        )


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


def test_creneaux_create_usager_round_trip(client, organisation, basic_agent, motif, plage):
    client.force_login(basic_agent)
    params = slot_params(motif, basic_agent, plage.lieu, f"{DAY.isoformat()}T09:30")
    response = client.post(creneaux_url(organisation), {**params, "notes": "Bilan", "action": "creer_usager"})
    assert response.status_code == 302
    assert "Bilan" not in response.url
    next_url = parse_qs(urlsplit(response.url).query)["next"][0]
    response = client.post(response.url, {"first_name": "Nour", "last_name": "Haddad", "next": next_url})
    assert response.status_code == 302
    response = client.get(response.url)
    assert response.status_code == 200
    assert [u.full_name for u in response.context["usagers"].selected] == ["Nour HADDAD"]
    assert notes(response) == "Bilan"
