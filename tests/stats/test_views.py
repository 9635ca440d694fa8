import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rdv.dates import add_months
from rendezvous.models import Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory, TerritoryFactory, service
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import UsagerProfile


def url(organisation, **query):
    path = reverse("stats:organisation", kwargs={"organisation_id": organisation.pk})
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return path


def tiles(response) -> dict[str, int]:
    return {
        item["tile"].key: item["count"] for item in response.context["main_tiles"] + response.context["other_tiles"]
    }


def charts(response) -> dict[str, dict[str, list[int]]]:
    return {
        block.id: {str(series.label): series.values for series in block.figures.series}
        for block in response.context["charts"]
    }


def created(rdv: Rdv, when: dt.datetime) -> Rdv:
    # `created_at` is auto_now_add: a test sets the past directly in the table.
    Rdv.objects.filter(pk=rdv.pk).update(created_at=when)
    return rdv


# Permissions


def test_admin_sees_the_page_from_the_settings_menu(client, organisation, admin_agent):
    client.force_login(admin_agent)
    home = client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk}))
    assert f'href="{url(organisation)}"' in home.content.decode()
    response = client.get(url(organisation))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Vos statistiques globales" in page
    assert 'aria-current="page"' in page


@pytest.mark.parametrize("who", ["basic", "secretariat", "admin_elsewhere"])
def test_other_agents_get_404_and_no_menu_entry(client, organisation, who):
    agent = {
        "basic": lambda: AgentFactory(organisation=organisation, services=["PMI"]),
        "secretariat": lambda: AgentFactory(organisation=organisation, secretariat=True),
        "admin_elsewhere": lambda: AgentFactory(organisation=OrganisationFactory(), admin=True),
    }[who]()
    client.force_login(agent)
    assert client.get(url(organisation)).status_code == 404
    if who != "admin_elsewhere":
        home = client.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk}))
        assert url(organisation) not in home.content.decode()


def test_anonymous_visitor_is_sent_to_the_login_page(client, organisation):
    response = client.get(url(organisation))
    assert response.status_code == 302
    assert response.url.startswith(reverse("agents:login"))


def test_the_page_only_answers_get(client, organisation, admin_agent):
    client.force_login(admin_agent)
    assert client.post(url(organisation)).status_code == 405


# Statuses


def test_status_counters_count_every_rdv_of_the_organisation_with_the_seeds_words(client, organisation, admin_agent):
    now = timezone.now()
    motif = MotifFactory(organisation=organisation)
    lieu = LieuFactory(organisation=organisation)

    def rdv(**kwargs):
        return RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=[admin_agent], **kwargs)

    for _ in range(2):
        rdv(starts_at=now - dt.timedelta(hours=2))  # started, no status: « À renseigner »
    rdv(starts_at=now + dt.timedelta(hours=2))  # « À venir »
    for _ in range(3):
        rdv(past=True, seen=True)
    rdv(excused=True)
    rdv(past=True, excused=True)
    for _ in range(4):
        rdv(past=True, noshow=True)
    rdv(past=True, waiting=True)
    rdv(revoked=True)
    rdv(past=True, seen=True).delete()  # « Le RDV disparait de l'agenda et des statistiques »
    elsewhere = OrganisationFactory()
    for trait in ("seen", "excused", "noshow", "waiting", "revoked", "past"):
        RdvFactory(organisation=elsewhere, past=True, **({trait: True} if trait != "past" else {}))
    RdvFactory(organisation=elsewhere)

    client.force_login(admin_agent)
    response = client.get(url(organisation))

    assert tiles(response) == {
        "a_renseigner": 2,
        "seen": 3,
        "a_venir": 1,
        "excused": 2,
        "noshow": 4,
        "waiting": 1,
        "revoked": 1,
    }
    assert response.context["total"] == 14
    page = response.content.decode()
    for label in ("À renseigner", "Vus", "À venir", "Excusés", "Non-excusés", "Annulés par le service"):
        assert label in page
    assert 'Statuts <span class="rdv-stats__muted">sur 14 RDV</span>' in page
    # Each figure leads to « Tous les RDVs » filtered the same way, where the admin sweeps them.
    for item in response.context["main_tiles"] + response.context["other_tiles"]:
        listed = client.get(item["url"])
        assert listed.status_code == 200
        assert listed.context["page_obj"].paginator.count == item["count"], item["tile"].key
    list_url = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    assert f'href="{list_url}?statut=a_renseigner&amp;periode=tous"' in page


# Months


def month_start(month: dt.date, tz, hour=0, minute=30) -> dt.datetime:
    return dt.datetime.combine(month, dt.time(hour, minute), tzinfo=tz)


@pytest.mark.parametrize(
    "time_zone, departement", [("Europe/Paris", "77"), ("Indian/Reunion", "974"), ("America/Cayenne", "973")]
)
def test_monthly_figures_by_creator_type_and_service_in_the_organisations_time_zone(db, client, time_zone, departement):
    territory = TerritoryFactory(time_zone=time_zone, departement_number=departement)
    organisation = OrganisationFactory(territory=territory)
    admin = AgentFactory(organisation=organisation, admin=True, services=["PMI"])
    tz = zoneinfo.ZoneInfo(time_zone)
    this_month = timezone.localdate(timezone=tz).replace(day=1)
    month_a = add_months(this_month, -2)  # the 10th of the 12 months shown
    pmi, social = service("PMI"), service("Social")
    on_site = MotifFactory(organisation=organisation, service=pmi)
    by_phone = MotifFactory(organisation=organisation, service=social, phone=True)
    at_home = MotifFactory(organisation=organisation, service=pmi, home=True)

    def rdv(motif, created_by, when):
        return created(
            RdvFactory(organisation=organisation, motif=motif, agents=[admin], usagers=[], created_by=created_by),
            when,
        )

    # Around midnight between months B and A, local time: east of UTC (Paris, La Réunion) 00:30
    # on the 1st is still month B in UTC; west of it (Guyane) 23:30 on the last day is month A.
    rdv(on_site, Rdv.CreatedBy.AGENT, month_start(month_a, tz))
    rdv(by_phone, Rdv.CreatedBy.USAGER, month_start(month_a, tz) - dt.timedelta(hours=1))
    rdv(at_home, Rdv.CreatedBy.PRESCRIPTEUR, month_start(month_a, tz, hour=12))
    rdv(on_site, Rdv.CreatedBy.AGENT, month_start(add_months(this_month, -12), tz))  # before the 12 months
    rdv(on_site, Rdv.CreatedBy.USAGER, month_start(this_month, tz, hour=1))
    other = OrganisationFactory(territory=territory)
    created(RdvFactory(organisation=other, usagers=[]), month_start(month_a, tz, hour=12))

    in_a = [UsagerFactory(organisation=organisation) for _ in range(2)]
    in_b = UsagerFactory(organisation=organisation)
    UsagerProfile.objects.filter(usager__in=in_a).update(created_at=month_start(month_a, tz))
    UsagerProfile.objects.filter(usager=in_b).update(created_at=month_start(month_a, tz) - dt.timedelta(minutes=45))
    known_elsewhere_too = in_a[0]
    UsagerProfile.objects.create(usager=known_elsewhere_too, organisation=other)

    client.force_login(admin)
    response = client.get(url(organisation))
    assert response.status_code == 200
    months = [bucket.first for bucket in response.context["charts"][0].figures.buckets]
    assert len(months) == 12
    assert months[0] == add_months(this_month, -11) and months[-1] == this_month
    a, b, now = 9, 8, 11

    def only(**values):
        row = [0] * 12
        for index, value in values.items():
            row[{"a": a, "b": b, "now": now}[index]] = value
        return row

    figures = charts(response)
    assert figures["rdvs-crees"] == {
        "Agents": only(a=1),
        "Usagers": only(b=1, now=1),
        "Prescripteurs": only(a=1),
    }
    assert figures["rdvs-par-type"] == {
        "Sur place": only(a=1, now=1),
        "Par téléphone": only(b=1),
        "À domicile": only(a=1),
    }
    assert figures["rdvs-par-service"] == {
        pmi.name: only(a=2, now=1),
        social.name: only(b=1),
    }
    assert figures["usagers-crees"] == {"Usagers": only(a=2, b=1)}
    page = response.content.decode()
    assert 'RDV créés <span class="rdv-stats__muted">(4)</span>' in page
    assert 'Usagers créés <span class="rdv-stats__muted">(3)</span>' in page
    # The figures are in a table for screen readers; the drawing is hidden from them.
    assert "<caption>RDV créés par mois, selon qui les a créés</caption>" in page
    assert 'class="rdv-chart" aria-hidden="true"' in page
    # Drawn in the page, no charting script or style from elsewhere (the letters « cdn » may well
    # be in the page's CSRF token: the addresses are what is checked).
    assert "<svg" in page
    assert not re.search(r'<script[^>]*\ssrc="(https?:)?//', page)
    assert not re.search(r'<link[^>]*\shref="(https?:)?//', page)


def test_a_chosen_period_shows_its_months(client, organisation, admin_agent):
    this_month = timezone.localdate(timezone=organisation.tzinfo).replace(day=1)
    first = add_months(this_month, -20)
    created(RdvFactory(organisation=organisation, usagers=[]), month_start(first, organisation.tzinfo))
    client.force_login(admin_agent)
    response = client.get(url(organisation, debut=f"{first:%Y-%m}", fin=f"{add_months(first, 2):%Y-%m}"))
    assert response.status_code == 200
    block = response.context["charts"][0]
    assert [bucket.first for bucket in block.figures.buckets] == [first, add_months(first, 1), add_months(first, 2)]
    assert block.figures.total == 1
    # A start alone: the twelve months from it.
    response = client.get(url(organisation, debut=f"{first:%Y-%m}"))
    assert response.context["charts"][0].figures.buckets[-1].first == add_months(first, 11)


def test_an_empty_period_says_so(client, organisation, admin_agent):
    client.force_login(admin_agent)
    response = client.get(url(organisation))
    assert response.status_code == 200
    assert response.content.decode().count("Aucun sur cette période.") == 4
    assert "<svg" not in response.content.decode()


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"debut": "mars"}, "debut", "Saisissez un mois au format AAAA-MM, par exemple 2025-03."),
        ({"debut": "2025-13"}, "debut", "Saisissez un mois au format AAAA-MM, par exemple 2025-03."),
        ({"fin": "2099-12"}, "fin", "Choisissez au plus tard le mois en cours."),
        # Beyond any calendar's reach, the bound of every date of the project (rdv.forms.guard).
        ({"fin": "9999-12"}, "fin", "Saisissez une date entre 1900 et 2100."),
        ({"debut": "1999-12"}, "debut", "Choisissez un mois à partir de janvier 2000."),
        (
            {"debut": "2024-05", "fin": "2024-04"},
            "fin",
            "Le mois de fin doit être le mois de début ou un mois suivant.",
        ),
        ({"debut": "2019-01", "fin": "2024-01"}, "fin", "La période ne peut pas dépasser 60 mois."),
        (
            {"debut": "2022-01", "fin": "2024-01", "par": "mois"},
            "par",
            "Par mois, la période ne peut pas dépasser 24 mois : regroupez par trimestre ou par année.",
        ),
        ({"par": "semaine"}, "par", "Sélectionnez un choix valide. semaine n’en fait pas partie."),
        ({"service": "999999"}, "service", "Sélectionnez un choix valide. 999999 n’en fait pas partie."),
    ],
)
def test_a_bad_period_answers_422_with_a_french_error_on_its_field(
    client, organisation, admin_agent, query, field, message
):
    client.force_login(admin_agent)
    response = client.get(url(organisation, **query))
    assert response.status_code == 422
    assert response.context["form"].errors[field] == [message]
    page = response.content.decode()
    assert message in page
    assert response.context["charts"] == []
    assert "Statuts" in page  # the counters do not depend on the period


# Queries


@pytest.mark.parametrize("count", [0, 3, 40])
def test_the_number_of_queries_does_not_depend_on_the_data(client, organisation, admin_agent, count):
    tz = organisation.tzinfo
    this_month = timezone.localdate(timezone=tz).replace(day=1)
    motifs = [
        MotifFactory(organisation=organisation, service=service("PMI")),
        MotifFactory(organisation=organisation, service=service("Social"), phone=True),
    ]
    lieu = LieuFactory(organisation=organisation)
    usager = UsagerFactory(organisation=organisation)
    for index in range(count):
        rdv = RdvFactory(
            organisation=organisation,
            motif=motifs[index % 2],
            lieu=lieu,
            agents=[admin_agent],
            usagers=[usager],
            created_by=Rdv.CreatedBy.values[index % 3],
            status=Rdv.Status.values[index % len(Rdv.Status.values)],
        )
        created(rdv, month_start(add_months(this_month, -(index % 12)), tz, hour=10))
        UsagerFactory(organisation=organisation)
    client.force_login(admin_agent)
    client.get(url(organisation))  # the session and the user are now in the caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(organisation))
    assert response.status_code == 200
    assert response.context["total"] == count
    # session, agent, membership, the filters' motifs, lieux and agents, statuses, RDVs created, usagers,
    # the other organisations of the header's selector, the side menu's « À renseigner » badge
    assert len(queries) == 10, [query["sql"] for query in queries.captured_queries]
    assert response.context["charts"][0].figures.total == count


# Filters and long periods


@pytest.fixture
def filtered_world(organisation, admin_agent):
    """Two services, two lieux, two agents; RDVs created two months ago at noon."""
    tz = organisation.tzinfo
    month = add_months(timezone.localdate(timezone=tz).replace(day=1), -2)
    pmi = MotifFactory(organisation=organisation, service=service("PMI"))
    social = MotifFactory(organisation=organisation, service=service("Social"), phone=True)
    lieux = [LieuFactory(organisation=organisation) for _ in range(2)]
    other = AgentFactory(organisation=organisation, services=["Social"])
    specs = [
        (pmi, lieux[0], [admin_agent], {"seen": True, "past": True}),
        (pmi, lieux[1], [admin_agent, other], {"noshow": True, "past": True}),
        (social, None, [other], {"past": True}),  # « À renseigner »
        (social, None, [other], {}),  # « À venir »
    ]
    for motif, lieu, agents, traits in specs:
        rdv = RdvFactory(organisation=organisation, motif=motif, lieu=lieu, agents=agents, usagers=[], **traits)
        created(rdv, month_start(month, tz, hour=12))
    return {"pmi": pmi, "social": social, "lieux": lieux, "other": other, "month": month}


@pytest.mark.parametrize(
    "choose, expected_tiles, expected_total",
    [
        (lambda w, admin: {"service": service("PMI").pk}, {"seen": 1, "noshow": 1}, 2),
        (lambda w, admin: {"lieu": w["lieux"][1].pk}, {"noshow": 1}, 1),
        (lambda w, admin: {"motif": w["social"].pk}, {"a_renseigner": 1, "a_venir": 1}, 2),
        (lambda w, admin: {"agent": w["other"].pk}, {"noshow": 1, "a_renseigner": 1, "a_venir": 1}, 3),
        (lambda w, admin: {"agent": admin.pk, "service": service("PMI").pk}, {"seen": 1, "noshow": 1}, 2),
    ],
)
def test_filters_narrow_the_counters_and_the_charts_and_lead_to_the_same_rdvs(
    client, organisation, admin_agent, filtered_world, choose, expected_tiles, expected_total
):
    query = choose(filtered_world, admin_agent)
    client.force_login(admin_agent)
    response = client.get(url(organisation, **query))
    assert response.status_code == 200
    assert {key: count for key, count in tiles(response).items() if count} == expected_tiles
    assert response.context["total"] == expected_total
    assert response.context["charts"][0].figures.total == expected_total
    for item in response.context["main_tiles"] + response.context["other_tiles"]:
        listed = client.get(item["url"])
        assert listed.context["page_obj"].paginator.count == item["count"], item["tile"].key
    assert client.get(response.context["total_url"]).context["page_obj"].paginator.count == expected_total


def test_another_organisations_motif_is_refused_like_an_unknown_one(client, organisation, admin_agent):
    elsewhere = MotifFactory(organisation=OrganisationFactory())
    client.force_login(admin_agent)
    response = client.get(url(organisation, motif=elsewhere.pk))
    assert response.status_code == 422
    assert response.context["form"].errors["motif"] == [
        f"Sélectionnez un choix valide. {elsewhere.pk} n’en fait pas partie."
    ]


def test_five_years_are_shown_by_quarter_and_by_year_on_demand(client, organisation, admin_agent):
    tz = organisation.tzinfo
    this_month = timezone.localdate(timezone=tz).replace(day=1)
    first = add_months(this_month, -59)
    for months_back in (0, 59, 30):
        rdv = RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[])
        created(rdv, month_start(add_months(this_month, -months_back), tz, hour=12))
    client.force_login(admin_agent)
    response = client.get(url(organisation, debut=f"{first:%Y-%m}", fin=f"{this_month:%Y-%m}"))
    assert response.status_code == 200
    figures = response.context["charts"][0].figures
    assert {bucket.grain for bucket in figures.buckets} == {"trimestre"}
    assert len(figures.buckets) in (20, 21)  # 21 when the period starts within a quarter
    assert figures.total == 3
    assert figures.bucket_totals[0] == 1 and figures.bucket_totals[-1] == 1
    page = response.content.decode()
    assert "<caption>RDV créés par trimestre, selon qui les a créés</caption>" in page

    response = client.get(url(organisation, debut=f"{first:%Y-%m}", fin=f"{this_month:%Y-%m}", par="annee"))
    buckets = response.context["charts"][0].figures.buckets
    assert [bucket.first.year for bucket in buckets] == list(range(first.year, this_month.year + 1))


@pytest.mark.parametrize("months", [12, 60])
@pytest.mark.parametrize("filtered", [False, True])
def test_the_number_of_queries_does_not_depend_on_the_period_or_the_filters(
    client, organisation, admin_agent, filtered_world, months, filtered
):
    this_month = timezone.localdate(timezone=organisation.tzinfo).replace(day=1)
    query = {"debut": f"{add_months(this_month, -(months - 1)):%Y-%m}", "fin": f"{this_month:%Y-%m}"}
    if filtered:
        query |= {"agent": admin_agent.pk, "service": service("PMI").pk, "lieu": filtered_world["lieux"][0].pk}
    client.force_login(admin_agent)
    client.get(url(organisation, **query))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(organisation, **query))
    assert response.status_code == 200
    assert len(queries) == 10, [query["sql"] for query in queries.captured_queries]


def test_rdvs_of_today_read_to_come_until_they_start(client, organisation, admin_agent):
    tz = organisation.tzinfo
    today = dt.date(2026, 3, 10)
    with time_machine.travel(dt.datetime.combine(today, dt.time(12), tzinfo=tz), tick=False):
        for hour in (9, 11, 15):  # before and after noon today
            RdvFactory(
                organisation=organisation,
                agents=[admin_agent],
                usagers=[],
                starts_at=dt.datetime.combine(today, dt.time(hour), tzinfo=tz),
            )
        RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[])  # tomorrow
        RdvFactory(organisation=organisation, agents=[admin_agent], usagers=[], past=True)  # last week
        client.force_login(admin_agent)
        response = client.get(url(organisation))
    counts = tiles(response)
    assert (counts["a_venir"], counts["a_renseigner"]) == (2, 3)
