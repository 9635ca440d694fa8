"""Exports: each table as CSV and XLSX, and the RDVs of a period in the background."""

import csv
import datetime as dt
import html
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from rdv.dates import add_months
from rendezvous.models import Rdv
from stats import exports, tasks
from stats.figures import Filters
from stats.models import RdvExport
from stats.periods import Period, month_label
from tests.agents.factories import AgentFactory
from tests.helpers import count_queries
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, service
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory


@pytest.fixture
def month(organisation) -> dt.date:
    return add_months(timezone.localdate(timezone=organisation.tzinfo).replace(day=1), -1)


@pytest.fixture
def dataset(organisation, admin_agent, month):
    """Last month: two RDVs created by agents and one online; the first with two usagers."""
    tz = organisation.tzinfo
    lieu = LieuFactory(organisation=organisation, name="MDS du Centre")
    consultation = MotifFactory(organisation=organisation, service=service("PMI"), name="Consultation")
    call = MotifFactory(organisation=organisation, service=service("Social"), name="Appel", phone=True)
    colleague = AgentFactory(organisation=organisation, first_name="Zoé", last_name="Martin")
    admin_agent.first_name, admin_agent.last_name = "Anne", "Durand"
    admin_agent.save()
    usagers = [
        UsagerFactory(organisation=organisation, first_name="Léa", last_name="Petit"),
        UsagerFactory(organisation=organisation, first_name="Hugo", last_name="Bernard"),
    ]
    rdvs = [
        RdvFactory(
            organisation=organisation,
            motif=consultation,
            lieu=lieu,
            agents=[colleague, admin_agent],
            usagers=usagers,
            starts_at=dt.datetime.combine(month.replace(day=3), dt.time(9, 30), tzinfo=tz),
            status=Rdv.Status.SEEN,
        ),
        RdvFactory(
            organisation=organisation,
            motif=call,
            lieu=None,
            agents=[colleague],
            usagers=usagers[1:],
            starts_at=dt.datetime.combine(month.replace(day=5), dt.time(14), tzinfo=tz),
            created_by=Rdv.CreatedBy.USAGER,
        ),
        RdvFactory(
            organisation=organisation,
            motif=consultation,
            lieu=lieu,
            agents=[admin_agent],
            usagers=[],
            starts_at=dt.datetime.combine(month.replace(day=20), dt.time(8), tzinfo=tz),
            status=Rdv.Status.EXCUSED,
        ),
    ]
    for rdv in rdvs:
        Rdv.objects.filter(pk=rdv.pk).update(
            created_at=dt.datetime.combine(month.replace(day=2), dt.time(10), tzinfo=tz)
        )
    return rdvs


def stats_query(month) -> dict:
    return {"debut": f"{month:%Y-%m}", "fin": f"{month:%Y-%m}"}


def table_url(organisation, table, format, month) -> str:
    return reverse(
        "stats:table_export",
        kwargs={"organisation_id": organisation.pk, "table": table, "format": format},
        query=stats_query(month),
    )


def test_a_table_as_csv_with_the_pages_words(client, organisation, admin_agent, dataset, month):
    client.force_login(admin_agent)
    page = client.get(
        reverse("stats:organisation", kwargs={"organisation_id": organisation.pk}, query=stats_query(month))
    )
    path = reverse(
        "stats:table_export", kwargs={"organisation_id": organisation.pk, "table": "rdvs-crees", "format": "csv"}
    )
    assert f'href="{path}?debut={month:%Y-%m}&amp;fin={month:%Y-%m}&amp;par=mois"' in page.content.decode()
    response = client.get(table_url(organisation, "rdvs-crees", "csv", month))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="rdvs-crees-{month:%Y-%m}-{month:%Y-%m}.csv"'
    content = response.content.decode("utf-8-sig")
    label = month_label(month)
    assert list(csv.reader(io.StringIO(content), delimiter=";")) == [
        ["Créés par", label, "Total"],
        ["Agents", "2", "2"],
        ["Usagers", "1", "1"],
        ["Prescripteurs", "0", "0"],
        ["Total", "3", "3"],
    ]


def test_a_table_as_xlsx(client, organisation, admin_agent, dataset, month):
    client.force_login(admin_agent)
    response = client.get(table_url(organisation, "rdvs-par-service", "xlsx", month))
    assert response.status_code == 200
    assert response["Content-Type"] == exports.XLSX_CONTENT_TYPE
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Service" and rows[0][2] == "Total"
    assert rows[1:] == [
        [service("PMI").name, 2, 2],
        [service("Social").name, 1, 1],
        ["Total", 3, 3],
    ]


@pytest.mark.parametrize(
    "path",
    [
        lambda o, m: table_url(o, "inconnu", "csv", m),
        lambda o, m: table_url(o, "rdvs-crees", "pdf", m),
        lambda o, m: table_url(o, "rdvs-crees", "csv", m).replace("debut=", "debut=x"),
    ],
)
def test_an_unknown_table_format_or_period_answers_404(client, organisation, admin_agent, month, path):
    client.force_login(admin_agent)
    assert client.get(path(organisation, month)).status_code == 404


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


@pytest.mark.parametrize("with_usagers", [False, True])
def test_the_rdvs_of_a_period_one_row_each(organisation, dataset, month, with_usagers):
    out = io.BytesIO()
    written = exports.write_rdvs(
        out,
        organisation=organisation,
        period=Period(month, month),
        filters=Filters(),
        with_usagers=with_usagers,
        format="csv",
        now=timezone.now(),
    )
    assert written == 3
    day = f"{month:%m/%Y}"
    expected = [
        ["Date", "Heure", "Lieu", "Motif", "Service", "Type", "Agents", "Statut", "Créé par", "Créé le"],
        [
            f"03/{day}",
            "09:30",
            "MDS du Centre",
            "Consultation",
            service("PMI").name,
            "Sur place",
            "Anne Durand, Zoé Martin",
            "Vu",
            "un agent",
            f"02/{day}",
        ],
        [
            f"05/{day}",
            "14:00",
            "Par téléphone",
            "Appel",
            service("Social").name,
            "Par téléphone",
            "Zoé Martin",
            "À renseigner",
            "l'usager",
            f"02/{day}",
        ],
        [
            f"20/{day}",
            "08:00",
            "MDS du Centre",
            "Consultation",
            service("PMI").name,
            "Sur place",
            "Anne Durand",
            "Absent excusé",
            "un agent",
            f"02/{day}",
        ],
    ]
    if with_usagers:
        expected[0].append("Usagers")
        for row, names in zip(expected[1:], ["Hugo Bernard, Léa Petit", "Hugo Bernard", ""], strict=True):
            row.append(names)
    assert read_csv(out.getvalue()) == expected


def test_the_rdvs_as_xlsx_and_filtered(organisation, dataset, month):
    out = io.BytesIO()
    exports.write_rdvs(
        out,
        organisation=organisation,
        period=Period(month, month),
        filters=Filters(service_id=service("Social").pk),
        with_usagers=False,
        format="xlsx",
        now=timezone.now(),
    )
    out.seek(0)
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][3:7] == ("Appel", service("Social").name, "Par téléphone", "Zoé Martin")


def test_progress_is_reported_every_few_thousand_rows(organisation, dataset, month, monkeypatch):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 2)
    calls = []
    exports.write_rdvs(
        io.BytesIO(),
        organisation=organisation,
        period=Period(month, month),
        filters=Filters(),
        with_usagers=False,
        format="csv",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(0, 3), (2, 3), (3, 3)]


def export_url(organisation, month) -> str:
    return reverse("stats:rdv_export_create", kwargs={"organisation_id": organisation.pk}, query=stats_query(month))


def test_the_background_export_from_request_to_download(
    client, organisation, admin_agent, dataset, month, django_capture_on_commit_callbacks
):
    client.force_login(admin_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(export_url(organisation, month), {"format": "csv", "usagers": "oui"})
    export = RdvExport.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("stats:rdv_export", kwargs={"organisation_id": organisation.pk, "pk": export.pk})
    assert (export.state, export.rows_done, export.rows_total, export.with_usagers) == ("done", 3, 3, True)
    page = client.get(response.url)
    download = reverse("stats:rdv_export_download", kwargs={"organisation_id": organisation.pk, "pk": export.pk})
    assert "L'export est prêt : 3 RDV." in page.content.decode()
    assert f'href="{download}"' in page.content.decode()
    assert 'hx-trigger="every 2s"' not in page.content.decode()  # finished: no more polling
    file = client.get(download)
    assert file.status_code == 200
    rows = read_csv(b"".join(file.streaming_content))
    assert rows[0][-1] == "Usagers" and len(rows) == 4


def test_a_running_export_shows_its_progress_and_polls(client, organisation, admin_agent, month):
    export = RdvExport.objects.create(
        organisation=organisation,
        requested_by=admin_agent,
        first_month=month,
        last_month=month,
        state=RdvExport.State.RUNNING,
        rows_total=40_000,
        rows_done=10_000,
    )
    client.force_login(admin_agent)
    path = reverse("stats:rdv_export", kwargs={"organisation_id": organisation.pk, "pk": export.pk})
    page = client.get(path).content.decode()
    assert "Export en cours : 10000 RDV sur 40000." in page
    assert '<progress max="100" value="25"' in page
    assert 'hx-trigger="every 2s"' in page
    partial = client.get(path, headers={"HX-Request": "true"})
    assert partial.content.decode().startswith('<div id="export-etat"')
    download = reverse("stats:rdv_export_download", kwargs={"organisation_id": organisation.pk, "pk": export.pk})
    assert client.get(download).status_code == 404


def test_a_failed_export_says_so(client, organisation, admin_agent, dataset, month, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(tasks, "write_rdvs", broken)
    export = RdvExport.objects.create(
        organisation=organisation, requested_by=admin_agent, first_month=month, last_month=month
    )
    tasks.export_rdvs(export.pk)
    export.refresh_from_db()
    assert export.state == RdvExport.State.FAILED
    client.force_login(admin_agent)
    page = client.get(reverse("stats:rdv_export", kwargs={"organisation_id": organisation.pk, "pk": export.pk}))
    assert "L'export a échoué. L'export n'a pas pu être écrit." in html.unescape(page.content.decode())


def test_an_unreachable_broker_fails_the_export_at_once(organisation, admin_agent, month, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connexion refusée")

    monkeypatch.setattr(tasks.export_rdvs, "delay", unreachable)
    export = RdvExport.objects.create(
        organisation=organisation, requested_by=admin_agent, first_month=month, last_month=month
    )
    tasks.start_export(export.pk)
    export.refresh_from_db()
    assert export.state == RdvExport.State.FAILED
    assert export.error == "Le service d'export est indisponible : réessayez dans quelques minutes."


def test_a_finished_export_run_again_is_left_as_it_is(organisation, admin_agent, month):
    export = RdvExport.objects.create(
        organisation=organisation, requested_by=admin_agent, first_month=month, last_month=month, state="done"
    )
    tasks.export_rdvs(export.pk)
    export.refresh_from_db()
    assert (export.state, export.rows_done) == ("done", 0)


@pytest.mark.parametrize("who", ["other_admin", "basic", "admin_elsewhere"])
def test_an_export_is_only_for_the_agent_who_asked(client, organisation, admin_agent, month, who):
    export = RdvExport.objects.create(
        organisation=organisation, requested_by=admin_agent, first_month=month, last_month=month, state="done"
    )
    agent = {
        "other_admin": lambda: AgentFactory(organisation=organisation, admin=True),
        "basic": lambda: AgentFactory(organisation=organisation),
        "admin_elsewhere": lambda: AgentFactory(organisation=OrganisationFactory(), admin=True),
    }[who]()
    client.force_login(agent)
    for name in ("stats:rdv_export", "stats:rdv_export_download"):
        assert (
            client.get(reverse(name, kwargs={"organisation_id": organisation.pk, "pk": export.pk})).status_code == 404
        )
    if who != "other_admin":
        assert client.post(export_url(organisation, month), {"format": "csv"}).status_code == 404
        assert client.get(table_url(organisation, "rdvs-crees", "csv", month)).status_code == 404


def test_an_export_whose_file_is_gone_says_so_instead_of_an_error(client, organisation, admin_agent, month):
    export = RdvExport.objects.create(
        organisation=organisation,
        requested_by=admin_agent,
        first_month=month,
        last_month=month,
        state=RdvExport.State.DONE,
        file="exports/parti.csv",
    )
    client.force_login(admin_agent)
    kwargs = {"organisation_id": organisation.pk, "pk": export.pk}
    response = client.get(reverse("stats:rdv_export_download", kwargs=kwargs))
    assert (response.status_code, response.url) == (302, reverse("stats:rdv_export", kwargs=kwargs))
    export.refresh_from_db()
    assert export.state == RdvExport.State.FAILED
    page = client.get(response.url).content.decode()
    assert "Le fichier de cet export n&#x27;est plus disponible : relancez l&#x27;export." in page


def test_the_export_page_reads_a_fixed_number_of_queries(client, organisation, admin_agent, month):
    """Session, agent, membership, the export, then the layout's organisation and a counter of its
    menu: the page adds one query to the layout's."""
    export = RdvExport.objects.create(
        organisation=organisation, requested_by=admin_agent, first_month=month, last_month=month, state="done"
    )
    client.force_login(admin_agent)
    path = reverse("stats:rdv_export", kwargs={"organisation_id": organisation.pk, "pk": export.pk})
    assert count_queries(client, path) == 5
