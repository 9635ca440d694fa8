"""The demo (`manage.py demo`, what `make run` loads) tells a believable story, in every app.

The demo is built once for the whole module (a few seconds), in a transaction rolled back at its
end; each test reads it in a savepoint of its own (pytest-django's `db`). What each app's demo step
builds without the others (no motifs, say) is tested in the app's own modules."""

import datetime as dt
import io
import itertools
from collections.abc import Iterator

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from agents.demo import AGENTS, DEMO_PASSWORD
from agents.models import Agent, AgentRole
from motifs.models import Motif
from notifications.models import Notification
from organisations.models import Lieu, Organisation, Service
from planning.intervals import Window
from planning.models import Absence, PlageOuverture
from rendezvous.models import Rdv
from usagers.models import Usager, UsagerProfile


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The demo, built once for the module; what it printed."""
    out = io.StringIO()
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        call_command("demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


pytestmark = pytest.mark.usefixtures("demo", "db")


def demo_rows() -> dict[str, int]:
    """The number of rows of every table the project's models own. Not their histories: a second
    run saves the agents, motifs, plages and absences it finds again, which writes a history line
    each (nothing an agent reads: « modifié par » stays the demo)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if not model.__name__.startswith("Historical")
    }


def test_a_second_run_changes_nothing_and_prints_the_logins(demo):
    """The only test that runs the demo twice: a second run (`make run` again) adds, moves and
    removes nothing, in any table."""
    rows = demo_rows()
    rdv_creations = sorted(Rdv.objects.values_list("created_at", flat=True))
    call_command("demo", stdout=io.StringIO())
    assert demo_rows() == rows
    assert sorted(Rdv.objects.values_list("created_at", flat=True)) == rdv_creations

    assert DEMO_PASSWORD in demo
    for email, *_ in AGENTS:
        assert email in demo
        assert Agent.objects.get(email=email).check_password(DEMO_PASSWORD)


def test_two_organisations_each_with_an_admin_a_secretariat_pmi_and_social():
    assert Organisation.objects.count() == 2
    assert set(Service.objects.values_list("short_name", flat=True)) >= {"PMI", "Social", "Secrétariat"}
    for organisation in Organisation.objects.all():
        roles = AgentRole.objects.filter(organisation=organisation)
        assert roles.filter(level="admin").exists()
        assert roles.filter(services__is_secretariat=True).exists()
        basic_services = set(roles.filter(level="basic").values_list("services__short_name", flat=True))
        assert {"PMI", "Social"} <= basic_services


def test_each_organisation_has_lieux_and_an_archived_one():
    for organisation in Organisation.objects.all():
        assert Lieu.objects.filter(organisation=organisation, is_active=False).count() == 1
        assert Lieu.objects.filter(organisation=organisation, is_active=True).count() >= 3


def test_a_dozen_motifs_per_organisation():
    for organisation in {motif.organisation for motif in Motif.objects.select_related("organisation")}:
        motifs = Motif.objects.for_organisation(organisation)
        assert motifs.active().count() >= 12
        assert set(motifs.values_list("location_type", flat=True)) == {"public_office", "phone", "home"}
        assert set(motifs.values_list("service__short_name", flat=True)) >= {"PMI", "Social"}
        assert motifs.active().bookable_online().count() >= 3
        assert motifs.filter(follow_up=True).exists()
        assert motifs.filter(for_secretariat=True).exists()
        assert motifs.exclude(instructions_before="").exists()
        assert motifs.archived().exists()


def test_the_motifs_are_discreet_as_their_name_asks():
    motifs = Motif.objects.select_related("category")
    assert motifs.filter(category__sensitive=True).exists()
    for motif in motifs:
        assert motif.show_name_in_messages is not motif.category.sensitive, motif.name


def test_usagers_with_proches_referents_and_accents():
    assert Usager.objects.count() > 300
    assert Usager.objects.filter(responsible__isnull=False).count() > 100
    assert UsagerProfile.objects.filter(referents__isnull=False).exists()
    assert Usager.objects.filter(first_name__in=["Hélène", "Loïc", "Chloé", "Anaïs", "Zoé"]).exists()
    assert [usager for usager in Usager.objects.all() if len(usager.organisation_ids) == 2]


def test_every_pmi_and_social_agent_has_recurring_plages_and_absences():
    hélène = Agent.objects.get(email="pmi.noisiel@demo.rdv-solidarites.fr")
    plages = PlageOuverture.objects.for_agent(hélène)
    assert plages.count() == 3
    assert all(plage.is_recurring and plage.motifs.exists() for plage in plages)
    assert all(plage.find_overlap() is None for plage in PlageOuverture.objects.all())
    now = timezone.now()
    upcoming = plages.occurrences(Window(now, now + dt.timedelta(days=60)))
    assert len(upcoming) > 20
    absences = Absence.objects.for_agent(hélène)
    assert {absence.title for absence in absences} == {"Formation premiers secours", "Réunion d'équipe", "Congés"}
    assert any(absence.span_days >= 2 for absence in absences)
    assert any(absence.is_recurring for absence in absences)
    assert not PlageOuverture.objects.filter(agent__email__startswith="secretariat").exists()


def test_the_week_of_every_agent_with_plages_looks_like_a_working_service(client):
    now = timezone.now()
    agents = Agent.objects.filter(plageouvertures__isnull=False).distinct()
    assert agents.count() >= 6
    for agent in agents:
        for organisation in {plage.organisation for plage in PlageOuverture.objects.for_agent(agent)}:
            tz = organisation.tzinfo
            today = timezone.localdate(now, tz)
            monday = today - dt.timedelta(days=today.weekday())
            week = Window(
                dt.datetime.combine(monday, dt.time(), tzinfo=tz),
                dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=tz),
            )
            plages = PlageOuverture.objects.for_organisation(organisation).for_agent(agent).occurrences(week)
            rdvs = list(
                Rdv.objects.for_organisation(organisation).filter(agents=agent).overlapping(week.start, week.end)
            )
            assert rdvs, (agent, organisation)
            # Inside its plages, never two at the same time.
            for rdv in rdvs:
                assert any(o.start <= rdv.starts_at and rdv.ends_at <= o.end for o in plages), rdv
            held = sorted((rdv.starts_at, rdv.ends_at) for rdv in rdvs if not rdv.is_cancelled)
            assert all(first[1] <= second[0] for first, second in itertools.pairwise(held))
            # The past days of this week hold RDVs to fill in (« À renseigner »).
            past_days = [rdv for rdv in rdvs if timezone.localdate(rdv.starts_at, tz) < today]
            if past_days:
                assert any(rdv.status == Rdv.Status.UNKNOWN for rdv in past_days), agent
        # Every status among its past RDVs.
        past = Rdv.objects.filter(agents=agent, starts_at__lt=now)
        assert set(past.values_list("status", flat=True)) == set(Rdv.Status.values), agent

    # Every demo agent's agenda and the team day answer.
    for email in ("admin.noisiel", "pmi.noisiel", "secretariat.noisiel", "pmi.chelles"):
        agent = Agent.objects.get(email=f"{email}@demo.rdv-solidarites.fr")
        client.force_login(agent)
        organisation = agent.roles.order_by("pk").first().organisation
        url = reverse("rendezvous:agenda", kwargs={"organisation_id": organisation.pk})
        for view in ("jour", "semaine", "mois"):
            assert client.get(url, {"vue": view}, follow=True).status_code == 200
        team = reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": organisation.pk})
        assert client.get(team).status_code == 200


def test_the_rdvs_show_their_receipts():
    receipts = Notification.objects.all()
    assert receipts.filter(status=Notification.Status.SENT, event=Notification.Event.CREATED).exists()
    assert receipts.filter(status=Notification.Status.SENT, event=Notification.Event.REMINDER).exists()
    assert receipts.filter(event=Notification.Event.CANCELLED).exists()
    assert receipts.filter(status=Notification.Status.FAILED).exists()
    assert not receipts.filter(status=Notification.Status.PENDING).exists()


def test_a_year_of_history_in_every_chart(client):
    admin = Agent.objects.get(email="admin.noisiel@demo.rdv-solidarites.fr")
    organisation = admin.roles.get().organisation
    client.force_login(admin)
    response = client.get(reverse("stats:organisation", kwargs={"organisation_id": organisation.pk}))
    assert response.status_code == 200
    for block in response.context["charts"]:
        assert all(block.figures.bucket_totals), block.id
        assert all(len(series.values) == 12 for series in block.figures.series)
    by_creator = {series.key: series.total for series in response.context["charts"][0].figures.series}
    assert all(by_creator.values()), by_creator  # agents, usagers and prescripteurs
    counts = {item["tile"].key: item["count"] for item in response.context["main_tiles"]}
    assert all(counts.values()), counts
