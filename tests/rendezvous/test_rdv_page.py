"""The RDV page made for phone work (issue 17): a panel per usager (phone, email, the responsible's
for a proche, the address at home, its last and next RDVs among those the agent may see),
« Voir dans l'agenda », « Dupliquer », « supprimer » back where the agent came from, and the
history's creation naming the usagers."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.urls import reverse

from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.helpers import count_queries
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import dom, find, find_all, form_data, open_day, text
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

# A Wednesday morning; the RDV of the page is the next day.
NOW = dt.datetime(2027, 6, 9, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def url(name, rdv, **query):
    return reverse(f"rendezvous:{name}", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk}, query=query)


def at(organisation, day_offset: int, hour: int = 10) -> dt.datetime:
    day = NOW.astimezone(organisation.tzinfo).date() + dt.timedelta(days=day_offset)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=organisation.tzinfo)


def panel(page, usager):
    return find(page, "section", class_="rdv-usager-panel", aria_labelledby=f"usager-{usager.pk}")


def facts(section) -> dict[str, str]:
    """The panel's facts, « Téléphone » → its text."""
    terms = find_all(section, "dt")
    values = find_all(section, "dd")
    return {text(term): text(value) for term, value in zip(terms, values, strict=True)}


# A panel per usager


def test_the_panel_gives_the_phone_as_a_tel_link_and_the_email(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, phone="+33612345678", email="ines@example.com")
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    section = panel(dom(client.get(url("detail", rdv))), usager)
    assert text(find(section, "a", href="tel:+33612345678")) == "06 12 34 56 78"
    assert text(find(section, "a", href="mailto:ines@example.com")) == "ines@example.com"
    assert facts(section)["Dernier RDV"] == "Aucun"
    assert facts(section)["Prochain RDV"] == "Aucun"
    assert "Adresse" not in facts(section)  # sur place: the lieu's address is the RDV's


def test_the_panel_says_what_is_missing(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    client.force_login(basic_agent)
    shown = facts(panel(dom(client.get(url("detail", rdv))), usager))
    assert shown["Téléphone"] == "Non renseigné"
    assert shown["Email"] == "Non renseigné"


def test_a_proche_shows_its_responsibles_contacts(client, organisation, basic_agent):
    parent = UsagerFactory(organisation=organisation, first_name="Inès", last_name="Moreau", phone="+33698765432")
    child = UsagerFactory(organisation=organisation, first_name="Léo", last_name="Moreau", responsible=parent)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[child])
    client.force_login(basic_agent)
    section = panel(dom(client.get(url("detail", rdv))), child)
    assert "Proche d'Inès MOREAU" in text(section)
    assert facts(section)["Responsable"].startswith("Inès MOREAU")
    assert find(section, "a", href="tel:+33698765432")


def test_a_responsible_known_elsewhere_only_is_not_shown(client, organisation, basic_agent):
    parent = UsagerFactory(organisation=OrganisationFactory(), last_name="Ailleurs", phone="+33698765432")
    child = UsagerFactory(organisation=organisation, responsible=parent)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[child])
    client.force_login(basic_agent)
    section = panel(dom(client.get(url("detail", rdv))), child)
    assert "Responsable" not in facts(section)
    assert "AILLEURS" not in text(section)
    assert not find_all(section, "a", href="tel:+33698765432")


def test_at_home_the_panel_gives_the_address_or_the_responsibles(client, organisation, basic_agent):
    parent = UsagerFactory(organisation=organisation, address="3 rue des Lilas, 77200 Torcy")
    child = UsagerFactory(organisation=organisation, responsible=parent)
    own = UsagerFactory(organisation=organisation, address="8 rue Pierre Mendès France, 77200 Torcy")
    motif = MotifFactory(organisation=organisation, home=True)
    rdv = RdvFactory(organisation=organisation, motif=motif, lieu=None, agents=[basic_agent], usagers=[child, own])
    client.force_login(basic_agent)
    page = dom(client.get(url("detail", rdv)))
    assert facts(panel(page, child))["Adresse"] == "3 rue des Lilas, 77200 Torcy"
    assert facts(panel(page, own))["Adresse"] == "8 rue Pierre Mendès France, 77200 Torcy"
    assert text(find(page, "h2", id="usagers-du-rdv")) == "Usagers"


def test_the_panel_gives_the_last_and_next_rdvs_the_agent_may_see(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, 1))
    older = RdvFactory(
        organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, -30)
    )
    last = RdvFactory(
        organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, -7), noshow=True
    )
    cancelled = RdvFactory(
        organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, 3), excused=True
    )
    following = RdvFactory(
        organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, 14)
    )
    # Not for this agent's eyes: an agent of another service, another organisation.
    social = AgentFactory(organisation=organisation, services=["Social"])
    hidden_past = RdvFactory(
        organisation=organisation, agents=[social], usagers=[usager], starts_at=at(organisation, -1)
    )
    hidden_next = RdvFactory(
        organisation=organisation, agents=[social], usagers=[usager], starts_at=at(organisation, 2)
    )
    elsewhere = OrganisationFactory()
    usager.profiles.create(organisation=elsewhere)
    RdvFactory(organisation=elsewhere, usagers=[usager], starts_at=at(organisation, 1, hour=15))
    client.force_login(basic_agent)
    section = panel(dom(client.get(url("detail", rdv))), usager)
    links = {dict(a.attributes).get("href") for a in find_all(section, "a")}
    assert url("detail", last) in links
    assert url("detail", following) in links
    for absent in (older, cancelled, hidden_past, hidden_next, rdv):
        assert url("detail", absent) not in links
    assert "Absent non excusé" in facts(section)["Dernier RDV"]
    assert "À venir" in facts(section)["Prochain RDV"]
    everything = find(
        section,
        "a",
        href=f"{reverse('rendezvous:list', kwargs={'organisation_id': organisation.pk})}?usager={usager.pk}",
    )
    assert text(everything).startswith("Tous ses RDVs")


def test_the_secretariat_sees_every_service_in_the_panel(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, 1))
    social = AgentFactory(organisation=organisation, services=["Social"])
    other = RdvFactory(organisation=organisation, agents=[social], usagers=[usager], starts_at=at(organisation, -1))
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    client.force_login(secretariat)
    section = panel(dom(client.get(url("detail", rdv))), usager)
    assert find(section, "a", href=url("detail", other))


def test_the_page_queries_do_not_grow_with_the_usagers_rdvs(client, organisation, basic_agent):
    parent = UsagerFactory(organisation=organisation, phone="+33698765432")
    usagers = [UsagerFactory(organisation=organisation, responsible=parent), UsagerFactory(organisation=organisation)]
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=usagers, starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    path = url("detail", rdv)
    before = count_queries(client, path)
    for offset in (-20, -10, -5, 5, 10, 20):
        RdvFactory(organisation=organisation, agents=[basic_agent], usagers=usagers, starts_at=at(organisation, offset))
    assert count_queries(client, path) == before
    assert before == 11


# « Voir dans l'agenda »


def test_voir_dans_l_agenda_opens_the_week_of_the_rdv_highlighted(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    neighbour = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1, hour=14))
    client.force_login(basic_agent)
    link = find(dom(client.get(url("detail", rdv))), "a", id="voir-agenda")
    href = dict(link.attributes)["href"]
    parts = urlsplit(href)
    assert parts.path == reverse(
        "rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk}
    )
    assert parse_qs(parts.query) == {"vue": ["semaine"], "date": ["2027-06-10"], "rdv": [str(rdv.pk)]}
    assert parts.fragment == f"rdv-{rdv.pk}"
    page = dom(client.get(href))
    item = find(page, "li", id=f"rdv-{rdv.pk}")
    marked = find(item, "a", class_="rdv-agenda__rdv--highlighted")
    assert dict(marked.attributes)["aria-current"] == "true"
    assert len(find_all(page, "a", aria_current="true", class_="rdv-agenda__rdv")) == 1
    assert not find_all(page, id=f"rdv-{neighbour.pk}")


def test_voir_dans_l_agenda_of_an_rdv_of_others_opens_a_visible_agenda(client, organisation, basic_agent):
    colleague = AgentFactory(organisation=organisation, services=["PMI"], last_name="Zola")
    social = AgentFactory(organisation=organisation, services=["Social"], last_name="Abadie")
    rdv = RdvFactory(organisation=organisation, agents=[social, colleague], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    href = dict(find(dom(client.get(url("detail", rdv))), "a", id="voir-agenda").attributes)["href"]
    # Abadie comes first by name, but the agent may not open the Social service's agenda.
    assert urlsplit(href).path == reverse(
        "rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": colleague.pk}
    )
    assert client.get(href).status_code == 200


def test_voir_dans_l_agenda_from_the_team_day_rings_the_rdv_there(client, organisation, basic_agent):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    lieu = LieuFactory(organisation=organisation)
    rdv = RdvFactory(
        organisation=organisation, agents=[basic_agent, colleague], lieu=lieu, starts_at=at(organisation, 1)
    )
    neighbour = RdvFactory(
        organisation=organisation, agents=[basic_agent], lieu=lieu, starts_at=at(organisation, 1, 14)
    )
    client.force_login(secretariat)
    team = reverse(
        "rendezvous:agenda_secretariat",
        kwargs={"organisation_id": organisation.pk},
        query={"date": "2027-06-09", "lieu": lieu.pk},
    )
    # The team day's RDV link has no `retour`: the page knows where the agent came from by the Referer.
    page = dom(client.get(url("detail", rdv), headers={"referer": f"http://testserver{team}"}))
    href = dict(find(page, "a", id="voir-agenda").attributes)["href"]
    parts = urlsplit(href)
    assert parts.path == reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": organisation.pk})
    assert parse_qs(parts.query) == {"lieu": [str(lieu.pk)], "date": ["2027-06-10"], "rdv": [str(rdv.pk)]}
    assert parts.fragment == f"rdv-{rdv.pk}"
    response = client.get(href)
    assert response.status_code == 200
    grid = dom(response)
    # Marked in both its agents' columns, the page's anchor once.
    marked = find_all(grid, "a", class_="rdv-agenda__rdv--highlighted")
    assert len(marked) == 2
    assert all(dict(link.attributes)["aria-current"] == "true" for link in marked)
    assert len(find_all(grid, id=f"rdv-{rdv.pk}")) == 1
    assert find(find(grid, "li", id=f"rdv-{rdv.pk}"), "a", class_="rdv-agenda__rdv--highlighted")
    assert not find_all(grid, id=f"rdv-{neighbour.pk}")
    assert len(find_all(grid, "a", aria_current="true", class_="rdv-agenda__rdv")) == 2


def test_voir_dans_l_agenda_from_elsewhere_opens_the_agent_s_week(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    listing = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    page = dom(client.get(url("detail", rdv, retour=listing)))
    href = dict(find(page, "a", id="voir-agenda").attributes)["href"]
    assert urlsplit(href).path == reverse(
        "rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk}
    )


def test_a_wrong_rdv_parameter_marks_nothing_on_the_team_day(client, organisation, basic_agent):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    client.force_login(secretariat)
    for wrong in ("<script>", "0", "9" * 30):
        path = reverse(
            "rendezvous:agenda_secretariat",
            kwargs={"organisation_id": organisation.pk},
            query={"date": "2027-06-10", "rdv": wrong},
        )
        response = client.get(path)
        assert response.status_code == 200
        assert not find_all(dom(response), class_="rdv-agenda__rdv--highlighted")


def test_the_month_marks_the_rdv_too(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    path = reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk},
        query={"vue": "mois", "date": "2027-06-10", "rdv": rdv.pk},
    )
    marked = find(dom(client.get(path)), "a", id=f"rdv-{rdv.pk}")
    assert dict(marked.attributes)["aria-current"] == "true"


def test_a_wrong_rdv_parameter_marks_nothing(client, organisation, basic_agent):
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    path = reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk},
        query={"date": "2027-06-10", "rdv": "<script>"},
    )
    response = client.get(path)
    assert response.status_code == 200
    assert not find_all(dom(response), class_="rdv-agenda__rdv--highlighted")


# « Dupliquer »


def duplicate_href(client, rdv) -> str:
    return dict(find(dom(client.get(url("detail", rdv))), "a", id="dupliquer").attributes)["href"]


def test_dupliquer_opens_step_3_with_the_rdv_prefilled_and_the_time_to_choose(client, organisation, basic_agent):
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    usagers = [UsagerFactory(organisation=organisation), UsagerFactory(organisation=organisation)]
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent, colleague], usagers=usagers, seen=True)
    client.force_login(basic_agent)
    response = client.get(duplicate_href(client, rdv))
    assert response.status_code == 200
    assert response.context["step"] == "rdv"
    assert response.context["motif"] == rdv.motif
    assert response.context["usagers"].selected == usagers
    form = response.context["form"]
    assert set(form.initial["agents"]) == {basic_agent.pk, colleague.pk}
    assert form.initial["lieu"] == rdv.lieu_id
    assert "date" not in form.initial
    assert "time" not in form.initial
    page = dom(response)
    assert dict(find(page, "input", name="date").attributes).get("value") in (None, "")
    assert "selected" in dict(find(page, "option", value=str(rdv.lieu_id)).attributes)
    assert {dict(box.attributes)["value"] for box in find_all(page, "input", name="agents", checked=True)} == {
        str(basic_agent.pk),
        str(colleague.pk),
    }


def test_dupliquer_keeps_the_rdv_s_duration_not_the_motif_s_default(client, organisation, basic_agent):
    motif = MotifFactory(organisation=organisation, default_duration_in_min=30)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], motif=motif, duration_in_min=45)
    client.force_login(basic_agent)
    response = client.get(duplicate_href(client, rdv))
    assert response.status_code == 200
    assert response.context["form"].initial["duration_in_min"] == 45
    assert dict(find(dom(response), "input", name="duration_in_min").attributes)["value"] == "45"


def test_dupliquer_s_duration_survives_a_return_to_the_usagers_step(client, organisation, basic_agent):
    motif = MotifFactory(organisation=organisation, default_duration_in_min=30)
    usager = UsagerFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], motif=motif, usagers=[usager], duration_in_min=50)
    client.force_login(basic_agent)
    client.get(duplicate_href(client, rdv))
    create = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    # « Revenir en arrière » from step 3, the duration changed to 55 there.
    back = {"etape": "rdv", "motif": motif.pk, "usagers": [usager.pk], "notes": "", "duration_in_min": "55"}
    step2 = client.post(create, {**back, "agents": [basic_agent.pk], "action": "retour"})
    assert step2.context["step"] == "usagers"
    hidden = find(dom(step2), "input", type="hidden", name="duree")
    assert dict(hidden.attributes)["value"] == "55"
    # « Continuer »: step 3 again, with that duration.
    step2_data = {"etape": "usagers", "motif": motif.pk, "usagers": [usager.pk], "notes": "", "duree": "55"}
    again = client.post(create, {**step2_data, "action": "continuer"})
    assert again.context["step"] == "rdv"
    assert again.context["form"].initial["duration_in_min"] == 55


@pytest.mark.parametrize("duree", ["0", "-5", "abc", "1441", "9" * 20])
def test_dupliquer_with_a_wrong_duration_warns_and_proposes_the_motif_s(client, organisation, basic_agent, duree):
    motif = MotifFactory(organisation=organisation, default_duration_in_min=30)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], motif=motif, duration_in_min=45)
    client.force_login(basic_agent)
    href = duplicate_href(client, rdv).replace("duree=45", f"duree={duree}")
    response = client.get(href)
    assert response.status_code == 200
    assert response.context["form"].initial["duration_in_min"] == 30
    warnings = [text(alert) for alert in find_all(dom(response), "div", class_="fr-alert--warning")]
    assert any("La durée demandée" in warning and "n'est pas valide" in warning for warning in warnings)


def test_dupliquer_then_creer_books_the_follow_up(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], starts_at=at(organisation, -7))
    client.force_login(basic_agent)
    step3 = client.get(duplicate_href(client, rdv))
    day = at(organisation, 7).date()
    open_day(Rdv(organisation=organisation, starts_at=at(organisation, 7)), basic_agent)
    data = {
        "etape": "rdv",
        "motif": rdv.motif_id,
        "usagers": [usager.pk],
        "notes": "",
        "date": day.isoformat(),
        "time": "11:00",
        "duration_in_min": 30,
        "lieu": step3.context["form"].initial["lieu"],
        "agents": step3.context["form"].initial["agents"],
        "action": "creer",
    }
    response = client.post(reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk}), data)
    assert response.status_code == 302
    follow_up = Rdv.objects.exclude(pk=rdv.pk).get()
    assert (follow_up.motif, follow_up.lieu) == (rdv.motif, rdv.lieu)
    assert list(follow_up.agents.all()) == [basic_agent]
    assert list(follow_up.usagers.all()) == [usager]


def test_dupliquer_ignores_another_organisations_agents_and_lieu(client, organisation, basic_agent):
    other = OrganisationFactory()
    stranger = AgentFactory(organisation=other, services=["PMI"], last_name="Étrangère")
    far_lieu = LieuFactory(organisation=other, name="Lieu d'ailleurs")
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    href = duplicate_href(client, rdv) + f"&agents={stranger.pk}&lieu={far_lieu.pk}"
    response = client.get(href)
    assert response.status_code == 200
    assert response.context["form"].initial["agents"] == [basic_agent.pk]
    page = response.content.decode()
    assert stranger.last_name.upper() not in page
    assert "Lieu d&#x27;ailleurs" not in page and "Lieu d'ailleurs" not in page
    warnings = [text(alert) for alert in find_all(dom(response), "div", class_="fr-alert--warning")]
    assert any("Un des agents demandés n'existe pas" in warning for warning in warnings)
    assert any("Le lieu demandé n'existe pas" in warning for warning in warnings)


def test_dupliquer_refuses_another_organisations_usager_or_motif(client, organisation, basic_agent):
    other = OrganisationFactory()
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    href = duplicate_href(client, rdv)
    stranger = UsagerFactory(organisation=other, last_name="Inconnue")
    response = client.get(href + f"&usagers={stranger.pk}")
    assert response.status_code == 422
    assert response.context["step"] == "usagers"
    assert "INCONNUE" not in response.content.decode()
    far_motif = MotifFactory(organisation=other)
    response = client.get(href.replace(f"motif={rdv.motif_id}", f"motif={far_motif.pk}"))
    assert response.status_code == 422
    assert response.context["step"] == "motif"


def test_dupliquer_is_offered_on_the_rdv_page(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    assert find_all(dom(client.get(url("detail", rdv))), "a", id="dupliquer")


# « supprimer »: back where the agent came from


def test_supprimer_goes_back_to_the_page_the_agent_came_from(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    usager = rdv.usagers.get()
    fiche = reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": usager.pk})
    client.force_login(basic_agent)
    page = dom(client.get(url("detail", rdv), HTTP_REFERER=f"http://testserver{fiche}"))
    delete_href = dict(find(page, "a", href=url("delete", rdv, next=fiche)).attributes)["href"]
    confirm = dom(client.get(delete_href))
    assert dict(find(confirm, "input", name="next").attributes)["value"] == fiche
    response = client.post(delete_href, {"next": fiche})
    assert response.status_code == 302
    assert response.url == fiche
    assert not Rdv.objects.filter(pk=rdv.pk).exists()


def test_the_origin_survives_a_status_change(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], past=True)
    listing = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk}) + "?statut=a_renseigner"
    client.force_login(basic_agent)
    page = dom(client.get(url("detail", rdv), HTTP_REFERER=f"http://testserver{listing}"))
    next_field = find_all(page, "input", name="next")[0]
    response = client.post(url("status", rdv), {"status": "seen", "next": dict(next_field.attributes)["value"]})
    assert response.url == url("detail", rdv, retour=listing)
    page = dom(client.get(response.url, HTTP_REFERER=f"http://testserver{url('detail', rdv)}"))
    assert find(page, "a", href=url("delete", rdv, next=listing))


def test_supprimer_without_origin_goes_to_the_agenda_week(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    response = client.post(url("delete", rdv))
    assert response.url == reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk},
        query={"vue": "semaine", "date": "2027-06-10"},
    )


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/nulle-part/", "0"],
)
def test_supprimer_never_leaves_the_site(client, organisation, basic_agent, next_url):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    client.force_login(basic_agent)
    assert "evil" not in client.get(url("detail", rdv), HTTP_REFERER=next_url).content.decode()
    response = client.post(url("delete", rdv), {"next": next_url})
    assert response.status_code == 302
    assert urlsplit(response.url).path == reverse(
        "rendezvous:agenda_agent", kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk}
    )


def test_an_external_referer_is_no_origin(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    page = dom(client.get(url("detail", rdv), HTTP_REFERER="https://evil.example/organisations/"))
    assert find(page, "a", href=url("delete", rdv))


# The history names the usagers


def test_the_creation_entry_names_the_usagers(client, organisation, basic_agent):
    usagers = [
        UsagerFactory(organisation=organisation, first_name="Inès", last_name="Moreau"),
        UsagerFactory(organisation=organisation, first_name="Léo", last_name="Moreau"),
    ]
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=usagers)
    client.force_login(basic_agent)
    history = client.get(url("detail", rdv, historique=1)).context["history"]
    assert history[0].action == "Création"
    created = {change.label: change.new for change in history[0].changes}
    assert created["Usagers"] == "Inès MOREAU, Léo MOREAU"
    assert created["Agents"] == basic_agent.full_name
    assert len(history) == 1


def test_a_modification_names_the_usagers_added_and_removed(client, organisation, basic_agent):
    first = UsagerFactory(organisation=organisation, first_name="Inès", last_name="Moreau")
    second = UsagerFactory(organisation=organisation, first_name="Léo", last_name="Moreau")
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[first], starts_at=at(organisation, 1))
    open_day(rdv, basic_agent)
    client.force_login(basic_agent)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        assert client.post(url("update", rdv), form_data(rdv, usagers=[second.pk])).status_code == 302
    history = client.get(url("detail", rdv, historique=1)).context["history"]
    changes = {change.label: (change.old, change.new) for change in history[-1].changes}
    assert history[-1].action == "Modification"
    assert changes["Usagers"] == ("Inès MOREAU", "Léo MOREAU")
    page = dom(client.get(url("detail", rdv, historique=1)))
    assert "Création — Usagers" in text(find(page, "section", id="historique"))


def test_modifier_keeps_the_origin_for_supprimer(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=at(organisation, 1))
    open_day(rdv, basic_agent)
    agenda = reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": organisation.pk, "agent_id": basic_agent.pk},
        query={"date": "2027-06-10"},
    )
    client.force_login(basic_agent)
    page = dom(client.get(url("detail", rdv), HTTP_REFERER=f"http://testserver{agenda}"))
    update = dict(find(page, "a", href=url("update", rdv, retour=agenda)).attributes)["href"]
    form = dom(client.get(update))
    assert find(form, "a", href=url("detail", rdv, retour=agenda))
    response = client.post(update, form_data(rdv, duration_in_min=45))
    assert response.url == url("detail", rdv, retour=agenda)
    confirm = dom(client.get(url("delete", rdv, next=agenda)))
    assert find(confirm, "a", href=url("detail", rdv, retour=agenda))
