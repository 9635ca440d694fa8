"""The RDV exports' files: kept STATS_EXPORT_RETENTION_DAYS after they are ready, then deleted
with their row by beat (stats.retention); written to and sent from the `exports` storage
(stats.storage), whatever backend the settings name. At frozen instants, on either side of the
limit."""

import datetime as dt
import os

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from stats import retention, tasks
from stats.models import RdvExport
from tests.helpers import PARIS, close_file

NOW = dt.datetime(2026, 12, 5, 14, 30, tzinfo=PARIS)
MINUTE = dt.timedelta(minutes=1)
WEEK = dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def export_of(
    organisation, agent, *, state=RdvExport.State.DONE, at=NOW, finished=True, content=b"Date;Heure\n"
) -> RdvExport:
    """An export asked for at `at`, finished then (a file written) unless told otherwise."""
    with time_machine.travel(at, tick=False):
        export = RdvExport.objects.create(
            organisation=organisation,
            requested_by=agent,
            first_month=dt.date(2026, 10, 1),
            last_month=dt.date(2026, 10, 1),
            state=state,
            finished_at=at if finished else None,
        )
    if state == RdvExport.State.DONE:
        export.file.save(f"rdv-{export.pk}.csv", ContentFile(content), save=True)
    return export


def urls(export) -> tuple[str, str]:
    kwargs = {"organisation_id": export.organisation_id, "pk": export.pk}
    return reverse("stats:rdv_export", kwargs=kwargs), reverse("stats:rdv_export_download", kwargs=kwargs)


@pytest.mark.parametrize(
    "finished_at, until",
    [
        (NOW, "12 décembre 2026 à 14h30"),
        (dt.datetime(2026, 11, 24, 10, 5, tzinfo=PARIS), "1er décembre 2026 à 10h05"),
    ],
)
def test_the_page_says_until_when_the_file_is_available(organisation, client, admin_agent, finished_at, until):
    export = export_of(organisation, admin_agent, at=finished_at)
    client.force_login(admin_agent)
    page, _ = urls(export)
    with time_machine.travel(finished_at + MINUTE, tick=False):
        assertContains(client.get(page), f"<p>Disponible jusqu'au {until}.</p>", html=True)


def test_the_delay_is_a_setting(organisation, client, admin_agent, settings):
    settings.STATS_EXPORT_RETENTION_DAYS = 2
    export = export_of(organisation, admin_agent)
    client.force_login(admin_agent)
    page, _ = urls(export)
    assertContains(client.get(page), "<p>Disponible jusqu'au 7 décembre 2026 à 14h30.</p>", html=True)


def test_the_file_is_downloaded_until_its_deadline_then_gone(organisation, client, admin_agent):
    export = export_of(organisation, admin_agent, at=NOW - WEEK + MINUTE)
    client.force_login(admin_agent)
    page, download = urls(export)
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"Date;Heure\n"
    with time_machine.travel(NOW + MINUTE, tick=False):
        gone = client.get(download)
        assert gone.status_code == 410
        assertContains(
            gone,
            "Le fichier de cet export n'est plus disponible : les exports sont gardés 7 jours.",
            status_code=410,
        )
        assertNotContains(gone, "Télécharger le fichier", status_code=410)
        assertContains(client.get(page), "n'est plus disponible")


def test_the_retention_deletes_files_and_rows_past_the_delay(organisation, client, admin_agent):
    expired = export_of(organisation, admin_agent, at=NOW - WEEK - MINUTE)
    kept = export_of(organisation, admin_agent, at=NOW - WEEK + MINUTE)
    failed = export_of(organisation, admin_agent, state=RdvExport.State.FAILED, at=NOW - WEEK - MINUTE)
    stuck = export_of(organisation, admin_agent, state=RdvExport.State.RUNNING, at=NOW - WEEK - MINUTE, finished=False)
    waiting = export_of(
        organisation, admin_agent, state=RdvExport.State.PENDING, at=NOW - WEEK + MINUTE, finished=False
    )
    storage = storages["exports"]
    expired_name = expired.file.name
    assert storage.exists(expired_name)

    assert retention.purge_exports() == 3
    assert set(RdvExport.objects.values_list("pk", flat=True)) == {kept.pk, waiting.pk}
    assert not storage.exists(expired_name)
    assert storage.exists(kept.file.name)
    assert retention.purge_exports() == 0  # idempotent

    client.force_login(admin_agent)
    for path in urls(expired) + urls(failed) + urls(stuck):
        assert client.get(path).status_code == 404


def test_a_file_the_storage_cannot_delete_keeps_its_row_for_the_next_run(organisation, admin_agent, monkeypatch):
    first = export_of(organisation, admin_agent, at=NOW - WEEK - MINUTE)
    second = export_of(organisation, admin_agent, at=NOW - WEEK - MINUTE)
    storage = storages["exports"]
    delete = storage.delete

    def unreachable(name):
        if name == first.file.name:
            raise ConnectionError("stockage injoignable")
        delete(name)

    monkeypatch.setattr(storage, "delete", unreachable)
    assert retention.purge_exports(batch_size=1) == 1
    assert list(RdvExport.objects.values_list("pk", flat=True)) == [first.pk]
    assert storage.exists(first.file.name) and not storage.exists(second.file.name)
    monkeypatch.undo()
    tasks.purge_expired_exports()
    assert not RdvExport.objects.exists()


def test_beat_runs_the_retention_every_hour(settings):
    (entry,) = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == "stats.purge_exports"]
    assert tasks.purge_expired_exports.name == "stats.purge_exports"
    assert (entry["schedule"].minute, len(entry["schedule"].hour)) == ({15}, 24)


def test_the_files_go_through_the_storage_the_settings_name(organisation, client, admin_agent, settings):
    """An object storage in production: here Django's in-memory one, nothing written on disk."""
    settings.STORAGES = {**settings.STORAGES, "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    export = RdvExport.objects.create(
        organisation=organisation,
        requested_by=admin_agent,
        first_month=dt.date(2026, 10, 1),
        last_month=dt.date(2026, 10, 1),
    )
    tasks.export_rdvs(export.pk)
    export.refresh_from_db()
    assert export.state == RdvExport.State.DONE
    assert export.file.name == f"statistiques/{export.organisation_id}/rdv-2026-10-2026-10-{export.pk}.csv"
    assert storages["exports"].exists(export.file.name)
    assert not os.path.exists(settings.MEDIA_ROOT)

    client.force_login(admin_agent)
    response = client.get(urls(export)[1])
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="rdv-2026-10-2026-10-{export.pk}.csv"'
    assert "no-store" in response["Cache-Control"].split(", ")
    assert b"".join(response.streaming_content).decode("utf-8-sig").startswith("Date;Heure;Lieu")


def test_a_file_the_web_server_cannot_read_is_not_an_error(organisation, client, admin_agent):
    """A worker that wrote to its own disk, without a shared storage: the page says so."""
    export = export_of(organisation, admin_agent)
    storages["exports"].delete(export.file.name)
    client.force_login(admin_agent)
    page, download = urls(export)
    response = client.get(download)
    assert (response.status_code, response.url) == (302, page)
    assertContains(client.get(page), "Le fichier de cet export n&#x27;est plus disponible : relancez l&#x27;export.")


def test_the_download_is_never_cached(organisation, client, admin_agent):
    export = export_of(organisation, admin_agent)
    client.force_login(admin_agent)
    response = client.get(urls(export)[1])
    assert "no-store" in response["Cache-Control"].split(", ")
    assert response["Content-Type"] == "text/csv"
    close_file(response)
