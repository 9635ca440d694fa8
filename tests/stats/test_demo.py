import io

from django.core.management import call_command
from django.urls import reverse

from agents.models import Agent


def test_the_demo_gives_a_year_of_history_to_every_chart(client, db):
    # Run twice, it changes nothing: tests/test_project.py::test_demo_is_idempotent….
    call_command("demo", stdout=io.StringIO())

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
