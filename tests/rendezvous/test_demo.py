import datetime as dt
import io
import itertools

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from agents.models import Agent
from planning.intervals import Window
from planning.models import PlageOuverture
from rendezvous.models import Rdv


def test_the_demo_week_of_every_agent_with_plages_looks_like_a_working_service(client, db):
    call_command("demo", stdout=io.StringIO())
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
