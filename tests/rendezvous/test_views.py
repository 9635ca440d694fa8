import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from rendezvous.conflicts import conflicts_signature
from rendezvous.models import Rdv
from rendezvous.services import ConflictsChanged, update_rdv
from rendezvous.views import rdv as rdv_views
from tests.agents.factories import AgentFactory
from tests.helpers import count_queries
from tests.organisations.factories import OrganisationFactory
from tests.planning.factories import AbsenceFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import form_data, open_day
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db


def url(name, rdv=None, organisation=None):
    kwargs = {"organisation_id": (organisation or rdv.organisation).pk}
    if rdv is not None:
        kwargs["pk"] = rdv.pk
    return reverse(f"rendezvous:{name}", kwargs=kwargs)


# Who sees and changes which RDV


def test_basic_agent_sees_rdvs_of_its_service_only(client, organisation, basic_agent):
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    social = AgentFactory(organisation=organisation, services=["Social"])
    mine = RdvFactory(organisation=organisation, agents=[basic_agent])
    colleagues = RdvFactory(organisation=organisation, agents=[colleague])
    hidden = RdvFactory(organisation=organisation, agents=[social])
    client.force_login(basic_agent)

    page = client.get(url("list", organisation=organisation)).content.decode()
    assert url("detail", mine) in page
    assert url("detail", colleagues) in page
    assert url("detail", hidden) not in page
    assert client.get(url("detail", colleagues)).status_code == 200
    assert client.get(url("detail", hidden)).status_code == 404
    assert client.post(url("status", hidden), {"status": "excused"}).status_code == 404
    hidden.refresh_from_db()
    assert hidden.status == Rdv.Status.UNKNOWN


def test_secretariat_sees_every_rdv_of_the_organisation(client, organisation):
    secretariat = AgentFactory(organisation=organisation, secretariat=True)
    rdv = RdvFactory(organisation=organisation, agents=[AgentFactory(organisation=organisation, services=["Social"])])
    client.force_login(secretariat)
    page = client.get(url("detail", rdv))
    assert page.status_code == 200
    assert "Modifier" in page.content.decode()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("detail", "get"),
        ("update", "get"),
        ("update", "post"),
        ("status", "post"),
        ("delete", "get"),
        ("delete", "post"),
    ],
)
def test_another_organisations_rdv_is_a_404(client, organisation, admin_agent, name, method):
    other = RdvFactory(organisation=OrganisationFactory())
    client.force_login(admin_agent)
    path = reverse(f"rendezvous:{name}", kwargs={"organisation_id": organisation.pk, "pk": other.pk})
    response = getattr(client, method)(path, {"status": "excused"} if method == "post" else None)
    assert response.status_code == 404
    assert Rdv.objects.filter(pk=other.pk, status=Rdv.Status.UNKNOWN).exists()


def test_menu_has_tous_les_rdvs(client, organisation, basic_agent):
    client.force_login(basic_agent)
    page = client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk})).content.decode()
    assert "Tous les RDVs" in page
    assert url("list", organisation=organisation) in page


# Summary page and statuses


def test_summary_shows_the_rdv(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation, first_name="Hélène", last_name="Bégué")
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], notes="Carnet de santé")
    client.force_login(basic_agent)
    page = client.get(url("detail", rdv)).content.decode()
    assert rdv.motif.name in page
    assert rdv.lieu.name in page
    assert "30 minutes" in page
    assert "Carnet de santé" in page
    assert reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": usager.pk}) in page
    assert basic_agent.full_name in page
    assert "Afficher l&#x27;historique des actions" in page or "Afficher l'historique des actions" in page
    # One button per status, the current one marked.
    for label in ["Indéterminé", "En salle d&#x27;attente", "Vu", "Absent excusé", "Absent non excusé"]:
        assert label in page
    assert 'aria-current="true"' in page


def test_status_button_changes_the_status(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent], past=True)
    client.force_login(basic_agent)
    response = client.post(url("status", rdv), {"status": "seen"})
    assert response.status_code == 302
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.SEEN
    assert rdv.history.first().history_user == basic_agent


def test_refused_status_answers_422_with_the_reason(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])  # tomorrow
    client.force_login(basic_agent)
    response = client.post(url("status", rdv), {"status": "waiting"})
    assert response.status_code == 422
    assert "ne peut être indiqué que le jour du RDV" in response.content.decode()
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.UNKNOWN
    # Its links lead to the RDV's page, not to the status URL that answered (POST only).
    history = url("detail", rdv) + "?historique=1#historique"
    assert f'href="{history}"' in response.content.decode()
    assert client.get(history.split("#")[0]).status_code == 200


def test_status_from_the_list_goes_back_to_the_list(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    list_url = url("list", organisation=organisation) + "?statut=a_venir"
    response = client.post(url("status", rdv), {"status": "excused", "next": list_url})
    assert response.status_code == 302
    assert response.url == list_url
    rdv.refresh_from_db()
    assert rdv.status == Rdv.Status.EXCUSED


# « modifier »


def test_modify_changes_the_duration_and_the_history_shows_it(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    open_day(rdv, basic_agent)
    client.force_login(basic_agent)
    response = client.post(url("update", rdv), form_data(rdv, duration_in_min=45, notes="Nouveau"))
    assert response.status_code == 302
    rdv.refresh_from_db()
    assert rdv.duration_in_min == 45
    assert rdv.ends_at == rdv.starts_at + dt.timedelta(minutes=45)

    page = client.get(url("detail", rdv) + "?historique=1").content.decode()
    assert "Historique des actions" in page
    assert "Création" in page
    assert "30 min" in page and "45 min" in page
    assert "Nouveau" in page
    assert basic_agent.full_name in page


def test_history_shows_status_changes_and_agents(client, organisation, basic_agent):
    last_week = timezone.localdate() - dt.timedelta(days=7)
    rdv = RdvFactory(
        organisation=organisation,
        agents=[basic_agent],
        starts_at=dt.datetime.combine(last_week, dt.time(10), tzinfo=organisation.tzinfo),
    )
    other = AgentFactory(organisation=organisation, services=["PMI"], first_name="Zélie")
    open_day(rdv, basic_agent, other)
    client.force_login(basic_agent)
    client.post(url("status", rdv), {"status": "noshow"})
    client.post(url("update", rdv), form_data(rdv, agents=[basic_agent.pk, other.pk]))
    page = client.get(url("detail", rdv) + "?historique=1").content.decode()
    assert "Changement de statut" in page
    assert "Absent non excusé" in page
    assert "Agents" in page and "Zélie" in page


def test_modify_refuses_zero_minutes(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    response = client.post(url("update", rdv), form_data(rdv, duration_in_min=0))
    assert response.status_code == 422
    assert "Un RDV ne peut pas durer 0 minute." in response.content.decode()
    rdv.refresh_from_db()
    assert rdv.duration_in_min == 30


def test_modify_refuses_more_than_48_hours_in_the_past(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    day = timezone.localdate() - dt.timedelta(days=3)
    response = client.post(url("update", rdv), form_data(rdv, date=day.isoformat()))
    assert response.status_code == 422
    assert "plus de 48 heures dans le passé" in response.content.decode()
    assert Rdv.objects.get(pk=rdv.pk).starts_at == rdv.starts_at


def test_modify_warns_of_a_conflicting_rdv_and_saves_once_confirmed(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    other = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at + dt.timedelta(hours=1))
    client.force_login(basic_agent)
    data = form_data(rdv, duration_in_min=90)
    response = client.post(url("update", rdv), data)
    assert response.status_code == 422
    page = response.content.decode()
    assert "ce créneau est en conflit" in page
    assert other.motif.name in page
    assert "Confirmer malgré le conflit" in page
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 30

    signature = response.context["form"].current_signature
    response = client.post(url("update", rdv), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 302
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 90


def test_a_cancelled_rdv_is_no_conflict(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    open_day(rdv, basic_agent)
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at, excused=True)
    client.force_login(basic_agent)
    assert client.post(url("update", rdv), form_data(rdv)).status_code == 302


def test_modify_warns_of_an_absence(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    AbsenceFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Formation",
        first_day=timezone.localdate(rdv.starts_at),
        start_time=dt.time(9),
        end_time=dt.time(12),
    )
    client.force_login(basic_agent)
    response = client.post(url("update", rdv), form_data(rdv))
    assert response.status_code == 422
    assert "Formation" in response.content.decode()


def test_conflict_appearing_during_confirmation_is_checked_again(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at + dt.timedelta(hours=1))
    client.force_login(basic_agent)
    data = form_data(rdv, duration_in_min=120)
    response = client.post(url("update", rdv), data)
    signature = response.context["form"].current_signature
    # Meanwhile another RDV is booked in the same time.
    late = RdvFactory(
        organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at + dt.timedelta(minutes=90)
    )
    response = client.post(url("update", rdv), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 422
    assert late.motif.name in response.content.decode()
    assert not response.context["form"]["confirm"].value()  # to confirm again, knowing the new conflict
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 30


def test_modify_changes_usagers_and_agents(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    usager = UsagerFactory(organisation=organisation)
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    open_day(rdv, basic_agent, colleague)
    client.force_login(basic_agent)
    response = client.post(
        url("update", rdv), form_data(rdv, usagers=[usager.pk], agents=[basic_agent.pk, colleague.pk])
    )
    assert response.status_code == 302
    assert list(rdv.usagers.all()) == [usager]
    assert set(rdv.agents.all()) == {basic_agent, colleague}


def test_modify_refuses_an_agent_of_another_organisation(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    stranger = AgentFactory(organisation=OrganisationFactory())
    client.force_login(basic_agent)
    response = client.post(url("update", rdv), form_data(rdv, agents=[stranger.pk]))
    assert response.status_code == 422
    assert list(rdv.agents.all()) == [basic_agent]


def test_modify_offers_the_agents_the_creation_offers(client, organisation, basic_agent):
    """A basic agent adds only agents whose agenda it may open (those of its services), as when
    it creates an RDV; the RDV's current agents stay valid, so that moving an RDV shared with
    another service does not force it to drop that colleague."""
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    social = AgentFactory(organisation=organisation, services=["Social"], first_name="Solène")
    open_day(rdv, basic_agent, social)
    client.force_login(basic_agent)
    response = client.get(url("update", rdv))
    assert social not in response.context["form"].fields["agents"].queryset
    response = client.post(url("update", rdv), form_data(rdv, agents=[basic_agent.pk, social.pk]))
    assert response.status_code == 422
    assert response.context["form"].errors["agents"] == [
        "Cet agent n'existe pas ou vous ne pouvez pas lui poser de RDV."
    ]
    assert list(rdv.agents.all()) == [basic_agent]

    shared = RdvFactory(
        organisation=organisation, agents=[basic_agent, social], starts_at=rdv.starts_at + dt.timedelta(hours=2)
    )
    open_day(shared, basic_agent, social)
    response = client.post(url("update", shared), form_data(shared, duration_in_min=45))
    assert response.status_code == 302
    assert set(shared.agents.all()) == {basic_agent, social}
    response = client.post(url("update", shared), form_data(shared, agents=[basic_agent.pk]))
    assert response.status_code == 302
    assert list(shared.agents.all()) == [basic_agent]


def test_update_rdv_checks_the_conflicts_again_under_the_lock(organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    open_day(rdv, basic_agent)
    taken = RdvFactory(organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at + dt.timedelta(hours=1))
    with pytest.raises(ConflictsChanged) as raised:
        update_rdv(
            rdv=rdv,
            starts_at=rdv.starts_at,
            duration_in_min=90,
            lieu=rdv.lieu,
            agents=[basic_agent],
            usagers=list(rdv.usagers.all()),
            notes="",
            by=basic_agent,
            accepted_conflicts=conflicts_signature([]),
            notify_usagers=False,
        )
    assert taken.motif.name in str(raised.value.conflicts[0].text)
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 30


def test_modify_conflict_booked_between_the_check_and_the_save(client, organisation, basic_agent, monkeypatch):
    """Another RDV booked after « Enregistrer » was validated, before the save: the form again
    with the new warning, nothing changed; confirmed, the change is saved."""
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    open_day(rdv, basic_agent)
    update = rdv_views.update_rdv
    late = []

    def booked_meanwhile(**kwargs):
        if not late:
            late.append(
                RdvFactory(
                    organisation=organisation, agents=[basic_agent], starts_at=rdv.starts_at + dt.timedelta(hours=1)
                )
            )
        return update(**kwargs)

    monkeypatch.setattr(rdv_views, "update_rdv", booked_meanwhile)
    client.force_login(basic_agent)
    data = form_data(rdv, duration_in_min=90)
    response = client.post(url("update", rdv), data)
    assert response.status_code == 422
    page = response.content.decode()
    assert late[0].motif.name in page
    assert "Un conflit est apparu pendant l&#x27;enregistrement : rien n&#x27;a été enregistré." in page
    assert not response.context["form"]["confirm"].value()
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 30

    signature = response.context["form"].current_signature
    response = client.post(url("update", rdv), {**data, "confirm": "on", "conflicts_signature": signature})
    assert response.status_code == 302
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 90


# « supprimer »


def test_delete_asks_for_confirmation_then_deletes(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    page = client.get(url("delete", rdv)).content.decode()
    assert "Le RDV disparait de l&#x27;agenda et des statistiques." in page or "disparait de l'agenda" in page
    assert "Absent non excusé" in page
    assert Rdv.objects.filter(pk=rdv.pk).exists()
    response = client.post(url("delete", rdv))
    assert response.status_code == 302
    assert not Rdv.objects.filter(pk=rdv.pk).exists()
    assert url("detail", rdv) not in client.get(url("list", organisation=organisation)).content.decode()


# « Tous les RDVs »


def test_list_filters(client, organisation, admin_agent):
    other_agent = AgentFactory(organisation=organisation, services=["PMI"])
    usager = UsagerFactory(organisation=organisation)
    upcoming = RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[usager])
    to_fill = RdvFactory(organisation=organisation, agents=[admin_agent], past=True)
    seen = RdvFactory(organisation=organisation, agents=[other_agent], past=True, seen=True)
    excused = RdvFactory(organisation=organisation, agents=[other_agent], excused=True)
    everything = [upcoming, to_fill, seen, excused]
    client.force_login(admin_agent)
    base = url("list", organisation=organisation)

    def shown(query):
        page = client.get(base + query).content.decode()
        return {rdv for rdv in everything if url("detail", rdv) in page}

    # « À venir » by default (tests/rendezvous/test_list_period.py); the filters, on every time.
    assert shown("") == {upcoming, excused}
    assert shown("?periode=tous") == set(everything)
    assert shown("?statut=a_venir") == {upcoming}
    assert shown("?statut=a_renseigner") == {to_fill}
    assert shown("?statut=seen") == {seen}
    assert shown("?statut=excused") == {excused}
    assert shown(f"?periode=tous&agent={other_agent.pk}") == {seen, excused}
    assert shown(f"?periode=tous&motif={upcoming.motif.pk}") == {upcoming}
    assert shown(f"?periode=tous&lieu={to_fill.lieu.pk}") == {to_fill}
    assert shown(f"?periode=tous&service={seen.motif.service_id}") >= {seen}
    assert shown(f"?usager={usager.pk}") == {upcoming}
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert shown(f"?du={tomorrow.isoformat()}&au={tomorrow.isoformat()}") == {upcoming, excused}


def add_rdvs(organisation, agents, n):
    for i in range(n):
        RdvFactory(
            organisation=organisation,
            agents=agents,
            usagers=[UsagerFactory(organisation=organisation), UsagerFactory(organisation=organisation)],
            starts_at=timezone.now() + dt.timedelta(hours=i + 1),
        )


def test_list_queries_are_bounded(client, organisation, basic_agent):
    agents = [basic_agent, AgentFactory(organisation=organisation, services=["PMI"])]
    add_rdvs(organisation, agents, 5)
    client.force_login(basic_agent)
    path = url("list", organisation=organisation)
    client.get(path)
    before = count_queries(client, path)
    add_rdvs(organisation, agents, 35)
    assert count_queries(client, path) == before
    assert count_queries(client, path + "?statut=a_venir") == before
    assert before == 10  # with the side menu's « À renseigner » badge


def test_summary_queries_are_bounded(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    # The panels of the usagers read their last and next RDVs (2); the history its usagers (2).
    for path, expected in ((url("detail", rdv), 10), (url("detail", rdv) + "?historique=1", 17)):
        client.get(path)
        before = count_queries(client, path)
        for i in range(5):
            colleague = AgentFactory(organisation=organisation, services=["PMI"])
            client.post(
                url("update", rdv),
                form_data(
                    rdv,
                    duration_in_min=31 + i,
                    agents=[basic_agent.pk, colleague.pk],
                    usagers=[*[u.pk for u in rdv.usagers.all()], UsagerFactory(organisation=organisation).pk],
                ),
            )
            client.post(url("status", rdv), {"status": "excused" if i % 2 else "unknown"})
        assert count_queries(client, path) == before
        assert before == expected


# The usager's fiche


def test_fiche_counts_rdvs_by_status(client, organisation, basic_agent):
    usager = UsagerFactory(organisation=organisation)
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager])
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], past=True, seen=True)
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], past=True, seen=True)
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], past=True, noshow=True)
    RdvFactory(organisation=OrganisationFactory(), usagers=[usager], past=True, seen=True)
    client.force_login(basic_agent)
    page = client.get(reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": usager.pk}))
    text = page.content.decode()
    assert "Statuts sur 4 RDV" in text
    assert "Vu : 2" in text
    assert "À venir : 1" in text
    assert "Non excusé : 1" in text
    assert "Excusé : 0" in text
    assert "À renseigner : 0" in text
    assert "Voir tous les rendez-vous" in text
    assert f"{url('list', organisation=organisation)}?usager={usager.pk}" in text


def test_fiche_counts_only_the_rdvs_the_agent_may_see(client, organisation, basic_agent):
    """The counts match « Tous les RDVs » filtered on the usager: a basic agent does not count the
    RDVs of another service's agents, which its list does not show either."""
    usager = UsagerFactory(organisation=organisation)
    social = AgentFactory(organisation=organisation, services=["Social"])
    RdvFactory(organisation=organisation, agents=[basic_agent], usagers=[usager], past=True, seen=True)
    RdvFactory(organisation=organisation, agents=[social], usagers=[usager], past=True, seen=True)
    RdvFactory(organisation=organisation, agents=[basic_agent, social], usagers=[usager])
    client.force_login(basic_agent)
    text = client.get(
        reverse("usagers:detail", kwargs={"organisation_id": organisation.pk, "pk": usager.pk})
    ).content.decode()
    assert "Statuts sur 2 RDV" in text
    assert "Vu : 1" in text
    listed = client.get(url("list", organisation=organisation), {"usager": usager.pk})
    assert len(listed.context["page_obj"]) == 2


# « modifier »: the usagers are chosen as when posing the RDV (live search, « ajouter »,
# « retirer »), never from a list of the whole organisation; an RDV « à domicile » has its address.


def test_modify_lists_the_chosen_usagers_not_the_organisation(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    chosen = rdv.usagers.get()
    others = UsagerFactory.create_batch(30, organisation=organisation)
    client.force_login(basic_agent)
    page = client.get(url("update", rdv)).content.decode()
    assert f'aria-label="Retirer {chosen.full_name}"' in page
    assert f'<input type="hidden" name="usagers" value="{chosen.pk}">' in page
    assert not any(usager.full_name in page for usager in others)
    assert "Créer un usager" not in page  # no way back to « modifier » from the usager form


def test_modify_adds_and_removes_usagers_before_saving(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    first = rdv.usagers.get()
    joining = UsagerFactory(organisation=organisation, first_name="Yasmine", last_name="Cordier")
    open_day(rdv, basic_agent)
    client.force_login(basic_agent)

    response = client.post(
        url("update", rdv), {**form_data(rdv, duration_in_min=45), "q": "cordier", "action": "rechercher"}
    )
    assert response.status_code == 200
    assert f'name="ajouter" value="{joining.pk}"' in response.content.decode()

    data = {**form_data(rdv, duration_in_min=45), "ajouter": str(joining.pk)}
    response = client.post(url("update", rdv), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'aria-label="Retirer {joining.full_name}"' in page
    assert 'value="45"' in page  # what the agent typed stays, not yet saved
    assert list(Rdv.objects.get(pk=rdv.pk).usagers.all()) == [first]
    assert Rdv.objects.get(pk=rdv.pk).duration_in_min == 30

    data = {**form_data(rdv, duration_in_min=45, usagers=[first.pk, joining.pk]), "retirer": str(first.pk)}
    page = client.post(url("update", rdv), data).content.decode()
    assert f'aria-label="Retirer {first.full_name}"' not in page

    data = {**form_data(rdv, duration_in_min=45, usagers=[joining.pk]), "action": "enregistrer"}
    assert client.post(url("update", rdv), data).status_code == 302
    rdv.refresh_from_db()
    assert (list(rdv.usagers.all()), rdv.duration_in_min) == ([joining], 45)


def test_modify_needs_an_usager_and_says_where(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    client.force_login(basic_agent)
    response = client.post(url("update", rdv), {**form_data(rdv, usagers=[]), "action": "enregistrer"})
    assert response.status_code == 422
    assert "Choisissez au moins un usager : tapez son nom dans le champ « Usagers »." in response.content.decode()
    assert rdv.usagers.exists()


def test_modify_refuses_an_usager_of_another_organisation(client, organisation, basic_agent):
    rdv = RdvFactory(organisation=organisation, agents=[basic_agent])
    stranger = UsagerFactory(organisation=OrganisationFactory())
    client.force_login(basic_agent)
    response = client.post(url("update", rdv), form_data(rdv, usagers=[stranger.pk]))
    assert response.status_code == 422
    assert "Cet usager n&#x27;existe pas ou n&#x27;est pas connu de votre organisation." in response.content.decode()
    assert stranger not in rdv.usagers.all()


def test_modify_changes_the_address_of_an_rdv_at_home(client, organisation, basic_agent):
    rdv = RdvFactory(
        organisation=organisation, agents=[basic_agent], motif__home=True, lieu=None, address="3 rue des Lilas, Noisiel"
    )
    open_day(rdv, basic_agent)
    client.force_login(basic_agent)
    page = client.get(url("update", rdv)).content.decode()
    assert "Adresse du domicile" in page and 'value="3 rue des Lilas, Noisiel"' in page
    response = client.post(url("update", rdv), form_data(rdv, address=""))
    assert response.status_code == 422
    assert "Indiquez l&#x27;adresse du domicile de l&#x27;usager." in response.content.decode()
    assert client.post(url("update", rdv), form_data(rdv, address="8 allée des Bois, Noisiel")).status_code == 302
    rdv.refresh_from_db()
    assert rdv.address == "8 allée des Bois, Noisiel"
