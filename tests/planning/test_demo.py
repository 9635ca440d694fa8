import datetime as dt
import io

from django.core.management import call_command
from django.utils import timezone

from agents.models import Agent
from motifs.models import Motif
from planning import demo as planning_demo
from planning.intervals import Window
from planning.models import Absence, PlageOuverture


def test_demo_gives_every_pmi_and_social_agent_recurring_plages_and_absences(db):
    # Run twice, it changes nothing: tests/test_project.py::test_demo_is_idempotent….
    call_command("demo", stdout=io.StringIO())

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


def test_the_step_does_not_crash_without_motifs(db):
    from agents import demo as agents_demo
    from organisations import demo as organisations_demo

    ctx: dict = {}
    organisations_demo.build(ctx)
    agents_demo.build(ctx)
    assert not Motif.objects.exists()
    planning_demo.build(ctx)
    assert not PlageOuverture.objects.exists()
