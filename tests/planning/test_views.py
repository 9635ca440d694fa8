import datetime as dt
import html
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from planning.models import Absence, AbsenceException, PlageOuverture, PlageOuvertureException
from planning.recurrence import Frequency, Rule
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import AbsenceFactory, PlageOuvertureExceptionFactory, PlageOuvertureFactory
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
MON, TUE, WED, THU, FRI = range(5)
FIRST_DAY = dt.date(2030, 3, 4)  # a Monday


def text(response) -> str:
    return html.unescape(response.content.decode())


def url(name, organisation, agent=None, **kwargs):
    if agent is not None:
        kwargs["agent_id"] = agent.pk
    return reverse(f"planning:{name}", kwargs={"organisation_id": organisation.pk, **kwargs})


@pytest.fixture
def lieu(organisation):
    return LieuFactory(organisation=organisation, name="MDS de Noisiel")


@pytest.fixture
def motif(organisation):
    return MotifFactory(organisation=organisation)


@pytest.fixture
def phone_motif(organisation):
    return MotifFactory(organisation=organisation, phone=True)


@pytest.fixture
def signed_in(client, basic_agent):
    client.force_login(basic_agent)
    return client


def plage_data(chosen_lieu, chosen_motifs, **overrides):
    data = {
        "title": "Consultation de PMI",
        "lieu": chosen_lieu.pk if chosen_lieu else "",
        "first_day": FIRST_DAY.isoformat(),
        "start_time": "09:00",
        "end_time": "12:00",
        "motifs": [motif.pk for motif in chosen_motifs],
        "repeat": "on",
        "interval": "1",
        "frequency": "weekly",
        "weekdays": [str(MON), str(THU)],
        "nth": "2",
        "month_weekday": str(TUE),
        "until": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def absence_data(**overrides):
    data = {
        "title": "Formation premiers secours",
        "first_day": FIRST_DAY.isoformat(),
        "start_time": "09:00",
        "end_day": (FIRST_DAY + dt.timedelta(days=2)).isoformat(),
        "end_time": "17:00",
        "interval": "1",
        "until": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- Menu and default pages -------------------------------------------------------------


def test_menu_leads_every_agent_to_its_own_plages_and_absences(signed_in, organisation, basic_agent):
    response = signed_in.get(reverse("organisations:home", kwargs={"organisation_id": organisation.pk}))
    content = text(response)
    assert "Votre planning" in content
    assert url("my_plages", organisation) in content
    assert url("my_absences", organisation) in content
    response = signed_in.get(url("my_plages", organisation))
    assert response.status_code == 302
    assert response["Location"] == url("plage_list", organisation, basic_agent)
    response = signed_in.get(url("my_absences", organisation))
    assert response["Location"] == url("absence_list", organisation, basic_agent)


# --- Plages d'ouverture -----------------------------------------------------------------


def test_agent_creates_a_weekly_plage_and_sees_it_in_the_list(signed_in, organisation, basic_agent, lieu, motif):
    response = signed_in.get(url("plage_create", organisation, basic_agent))
    assert response.status_code == 200
    content = text(response)
    for label in ("Créer une plage d'ouverture", "Premier jour", "Commence à", "Termine à", "Motifs"):
        assert label in content
    assert "Répéter la plage d'ouverture…" in content

    response = signed_in.post(url("plage_create", organisation, basic_agent), plage_data(lieu, [motif]))
    assert response.status_code == 302
    plage = PlageOuverture.objects.get()
    assert (plage.organisation, plage.agent, plage.lieu) == (organisation, basic_agent, lieu)
    assert list(plage.motifs.all()) == [motif]
    assert plage.rule == Rule(Frequency.WEEKLY, weekdays=(MON, THU))
    assert str(plage.recurrence).startswith("RRULE:FREQ=WEEKLY") or plage.recurrence.rrules
    assert plage.recurrence_ends_on is None

    response = signed_in.get(response["Location"])
    content = text(response)
    assert "La plage d'ouverture « Consultation de PMI » a été créée." in content
    assert "Consultation de PMI" in content
    assert "Chaque semaine, les lundis et jeudis" in content


def test_agent_creates_a_monthly_plage_on_the_second_tuesday_until_a_date(
    signed_in, organisation, basic_agent, lieu, motif
):
    data = plage_data(lieu, [motif], frequency="monthly", interval="2", until="2030-12-31", weekdays=None)
    response = signed_in.post(url("plage_create", organisation, basic_agent), data)
    assert response.status_code == 302
    plage = PlageOuverture.objects.get()
    assert plage.rule == Rule(Frequency.MONTHLY, interval=2, weekdays=(TUE,), nth=2, until=dt.date(2030, 12, 31))
    assert plage.recurrence_ends_on == dt.date(2030, 12, 31)


def test_a_single_plage_without_repeat(signed_in, organisation, basic_agent, lieu, motif):
    response = signed_in.post(url("plage_create", organisation, basic_agent), plage_data(lieu, [motif], repeat=None))
    assert response.status_code == 302
    plage = PlageOuverture.objects.get()
    assert plage.rule is None
    assert plage.recurrence_ends_on == FIRST_DAY


def test_a_plage_for_phone_motifs_needs_no_lieu(signed_in, organisation, basic_agent, phone_motif):
    response = signed_in.post(url("plage_create", organisation, basic_agent), plage_data(None, [phone_motif]))
    assert response.status_code == 302
    assert PlageOuverture.objects.get().lieu is None


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"end_time": "08:00"}, "end_time", "L'heure de fin doit être après l'heure de début."),
        ({"end_time": "09:00"}, "end_time", "L'heure de fin doit être après l'heure de début."),
        ({"until": "2030-03-01"}, "until", "La fin de la répétition ne peut pas précéder le premier jour."),
        ({"weekdays": None}, "weekdays", "Choisissez au moins un jour de la semaine."),
        ({"motifs": []}, "motifs", "Cochez au moins un motif."),
        ({"lieu": ""}, "lieu", "Choisissez un lieu : le motif « "),
        ({"title": ""}, "title", "Ce champ est obligatoire."),
        ({"first_day": "31/02/2030"}, "first_day", "Saisissez une date valide."),
        ({"interval": "9"}, "interval", "Sélectionnez un choix valide."),
    ],
)
def test_bad_plage_input_is_refused_on_its_field_and_changes_nothing(
    signed_in, organisation, basic_agent, lieu, motif, overrides, field, message
):
    response = signed_in.post(url("plage_create", organisation, basic_agent), plage_data(lieu, [motif], **overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    assert message in text(response)
    assert not PlageOuverture.objects.exists()


def test_motifs_and_lieux_of_another_organisation_are_refused(signed_in, organisation, basic_agent, lieu, motif):
    other = OrganisationFactory()
    data = plage_data(LieuFactory(organisation=other), [MotifFactory(organisation=other)])
    response = signed_in.post(url("plage_create", organisation, basic_agent), data)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert errors["motifs"] == ["Ce motif n'existe pas dans l'organisation ou n'est plus proposé."]
    assert errors["lieu"] == ["Choisissez un lieu actif de l'organisation."]
    assert not PlageOuverture.objects.exists()


def test_archived_motifs_and_lieux_are_not_offered(signed_in, organisation, basic_agent, lieu, motif):
    archived_motif = MotifFactory(organisation=organisation, archived=True)
    archived_lieu = LieuFactory(organisation=organisation, archived=True)
    response = signed_in.get(url("plage_create", organisation, basic_agent))
    form = response.context["form"]
    assert list(form.fields["motifs"].queryset) == [motif]
    assert list(form.fields["lieu"].queryset) == [lieu]
    response = signed_in.post(
        url("plage_create", organisation, basic_agent), plage_data(archived_lieu, [archived_motif])
    )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"lieu", "motifs"}


def test_motifs_are_grouped_by_service(signed_in, organisation, motif):
    from tests.organisations.factories import service

    MotifFactory(organisation=organisation, service=service("Social"))
    both = AgentFactory(organisation=organisation, services=["PMI", "Social"])
    response = signed_in.get(url("plage_create", organisation, both))
    groups = [group for group, _ in response.context["form"].fields["motifs"].choices]
    assert groups == ["PMI (Protection Maternelle Infantile)", "Service social"]


def test_an_overlapping_plage_is_refused_naming_the_other_and_the_first_clash(
    signed_in, organisation, basic_agent, lieu, motif
):
    PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Permanence du lundi",
        weekly=True,
        interval=2,
        weekdays=(MON,),
        first_day=dt.date(2030, 3, 11),
        start_time=dt.time(11),
        end_time=dt.time(13),
    )
    # The last Monday of every month, 9:00-12:00, from March 2030: 25 March is also one of the
    # every-other Mondays from the 11th.
    data = plage_data(lieu, [motif], frequency="monthly", nth="-1", month_weekday=str(MON), weekdays=None)
    response = signed_in.post(url("plage_create", organisation, basic_agent), data)
    assert response.status_code == 422
    [error] = response.context["form"].errors["start_time"]
    assert error.startswith("Cette plage chevauche la plage d'ouverture « Permanence du lundi » le ")
    assert error == ("Cette plage chevauche la plage d'ouverture « Permanence du lundi » le lundi 25 mars 2030.")
    assert PlageOuverture.objects.count() == 1


def test_back_to_back_plages_and_other_agents_plages_are_fine(signed_in, organisation, basic_agent, lieu, motif):
    PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        weekly=True,
        weekdays=(MON,),
        first_day=FIRST_DAY,
        start_time=dt.time(12),
        end_time=dt.time(14),
    )
    PlageOuvertureFactory(organisation=organisation, weekly=True, weekdays=(MON,), first_day=FIRST_DAY)
    response = signed_in.post(url("plage_create", organisation, basic_agent), plage_data(lieu, [motif]))
    assert response.status_code == 302
    assert PlageOuverture.objects.count() == 3


def test_a_plage_in_another_organisation_of_the_same_agent_conflicts_without_being_named(
    signed_in, organisation, basic_agent, lieu, motif
):
    other = OrganisationFactory()
    PlageOuvertureFactory(
        organisation=other, agent=basic_agent, title="Secret", weekly=True, weekdays=(THU,), first_day=FIRST_DAY
    )
    response = signed_in.post(url("plage_create", organisation, basic_agent), plage_data(lieu, [motif]))
    assert response.status_code == 422
    [error] = response.context["form"].errors["start_time"]
    assert "Secret" not in error
    assert "dans une autre organisation le jeudi 7 mars 2030" in error


def test_agent_edits_a_plage_from_its_page(signed_in, organisation, basic_agent, lieu, motif):
    plage = PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        lieu=lieu,
        motifs=[motif],
        weekly=True,
        weekdays=(MON, THU),
        first_day=FIRST_DAY,
    )
    page = url("plage_edit", organisation, basic_agent, pk=plage.pk)
    response = signed_in.get(page)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["repeat"] is True
    assert form.initial["weekdays"] == [MON, THU]
    assert "Modifier" in text(response)
    # Its own occurrences never conflict with it.
    response = signed_in.post(page, plage_data(lieu, [motif], title="Consultation du lundi", weekdays=[str(MON)]))
    assert response.status_code == 302
    plage.refresh_from_db()
    assert plage.title == "Consultation du lundi"
    assert plage.rule == Rule(Frequency.WEEKLY, weekdays=(MON,))
    assert plage.history.first().title == "Consultation du lundi"


def test_a_failed_edit_changes_nothing(signed_in, organisation, basic_agent, lieu, motif):
    plage = PlageOuvertureFactory(organisation=organisation, agent=basic_agent, lieu=lieu, motifs=[motif])
    response = signed_in.post(
        url("plage_edit", organisation, basic_agent, pk=plage.pk), plage_data(lieu, [motif], end_time="08:00")
    )
    assert response.status_code == 422
    assert "Plage d'ouverture « " + plage.title in text(response)
    plage.refresh_from_db()
    assert plage.end_time == dt.time(12)
    assert plage.rule is None


def test_agent_deletes_a_plage_after_confirming(signed_in, organisation, basic_agent):
    plage = PlageOuvertureFactory(organisation=organisation, agent=basic_agent, weekly=True)
    page = url("plage_delete", organisation, basic_agent, pk=plage.pk)
    response = signed_in.get(page)
    assert response.status_code == 200
    assert "Confirmer la suppression" in text(response)
    assert PlageOuverture.objects.exists()
    response = signed_in.post(page)
    assert response.status_code == 302
    assert not PlageOuverture.objects.exists()


# --- Single occurrences ---------------------------------------------------------------------


@pytest.fixture
def weekly_plage(organisation, basic_agent):
    return PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, weekly=True, weekdays=(MON,), first_day=FIRST_DAY
    )


def _last_wednesday_noon() -> dt.datetime:
    """The last Wednesday before today, at noon in Paris: a past instant (the fixtures' sessions,
    made at the real time, are still valid then) that never drifts far from today."""
    today = dt.datetime.now(PARIS).date()
    return dt.datetime.combine(today - dt.timedelta(days=(today.weekday() - 2) % 7 or 7), dt.time(12), tzinfo=PARIS)


# On a Monday, that Monday's occurrence is still to come and comes first: held on a Wednesday.
@time_machine.travel(_last_wednesday_noon(), tick=False)
def test_the_plage_page_lists_its_next_occurrences(signed_in, organisation, basic_agent):
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    plage = PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, weekly=True, weekdays=(MON,), first_day=monday
    )
    PlageOuvertureExceptionFactory(plage=plage, original_date=monday + dt.timedelta(weeks=2))
    response = signed_in.get(url("plage_edit", organisation, basic_agent, pk=plage.pk))
    upcoming = response.context["upcoming"]
    assert [row["cancelled"] for row in upcoming[:3]] == [False, True, False]
    content = text(response)
    assert "Annulée" in content
    assert (
        url("plage_occurrence", organisation, basic_agent, pk=plage.pk, day=monday + dt.timedelta(weeks=1)) in content
    )


def test_cancelling_one_occurrence_leaves_the_others(signed_in, organisation, basic_agent, weekly_plage):
    second = FIRST_DAY + dt.timedelta(weeks=1)
    page = url("plage_occurrence", organisation, basic_agent, pk=weekly_plage.pk, day=second)
    assert signed_in.get(page).status_code == 200
    response = signed_in.post(page, {"action": "cancel"})
    assert response.status_code == 302
    exception = PlageOuvertureException.objects.get()
    assert (exception.plage, exception.original_date, exception.is_cancelled) == (weekly_plage, second, True)
    window_days = [
        item.occurrence.original_date
        for item in PlageOuverture.objects.occurrences(
            weekly_plage.local_window(FIRST_DAY, FIRST_DAY + dt.timedelta(weeks=2))
        )
    ]
    assert window_days == [FIRST_DAY, FIRST_DAY + dt.timedelta(weeks=2)]
    assert PlageOuverture.objects.count() == 1  # an exception, not a copy
    # And back.
    signed_in.post(page, {"action": "restore"})
    assert not PlageOuvertureException.objects.exists()


def test_moving_one_occurrence(signed_in, organisation, basic_agent, weekly_plage):
    page = url("plage_occurrence", organisation, basic_agent, pk=weekly_plage.pk, day=FIRST_DAY)
    response = signed_in.post(
        page, {"action": "move", "start_day": "2030-03-05", "start_time": "14:00", "end_time": "16:30"}
    )
    assert response.status_code == 302
    exception = PlageOuvertureException.objects.get()
    assert exception.starts_at == dt.datetime(2030, 3, 5, 14, tzinfo=PARIS)
    assert exception.ends_at == dt.datetime(2030, 3, 5, 16, 30, tzinfo=PARIS)
    [item] = PlageOuverture.objects.occurrences(weekly_plage.local_window(FIRST_DAY, FIRST_DAY + dt.timedelta(days=2)))
    assert item.occurrence.moved and item.start == exception.starts_at


@pytest.mark.parametrize(
    "data, field",
    [
        ({"start_day": "2030-03-05", "start_time": "14:00", "end_time": "13:00"}, "end_time"),
        ({"start_day": "2030-03-11", "start_time": "10:00", "end_time": "11:00"}, "start_time"),  # next occurrence
        ({"start_day": "", "start_time": "10:00", "end_time": "11:00"}, "start_day"),
    ],
)
def test_a_bad_move_is_refused_and_changes_nothing(signed_in, organisation, basic_agent, weekly_plage, data, field):
    page = url("plage_occurrence", organisation, basic_agent, pk=weekly_plage.pk, day=FIRST_DAY)
    response = signed_in.post(page, {"action": "move", **data})
    assert response.status_code == 422
    assert field in response.context["move_form"].errors
    assert not PlageOuvertureException.objects.exists()


def test_a_move_onto_another_plage_is_refused(signed_in, organisation, basic_agent, weekly_plage):
    PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, title="Permanence", first_day=FIRST_DAY + dt.timedelta(days=1)
    )
    page = url("plage_occurrence", organisation, basic_agent, pk=weekly_plage.pk, day=FIRST_DAY)
    response = signed_in.post(
        page, {"action": "move", "start_day": "2030-03-05", "start_time": "11:00", "end_time": "13:00"}
    )
    assert response.status_code == 422
    assert response.context["move_form"].errors["start_time"] == [
        "Ce créneau chevauche la plage d'ouverture « Permanence »."
    ]


@pytest.mark.parametrize("day", ["2030-03-05", "2030-02-25"])  # a Tuesday; a Monday before the first day
def test_a_date_outside_the_series_is_404(signed_in, organisation, basic_agent, weekly_plage, day):
    response = signed_in.get(url("plage_occurrence", organisation, basic_agent, pk=weekly_plage.pk, day=day))
    assert response.status_code == 404


# --- Absences ---------------------------------------------------------------------------


def test_agent_creates_an_absence_over_several_days_and_sees_it_in_the_list(signed_in, organisation, basic_agent):
    response = signed_in.get(url("absence_create", organisation, basic_agent))
    content = text(response)
    for label in ("Créer une absence", "Nom", "Commence à", "Termine à", "Répéter…"):
        assert label in content
    response = signed_in.post(url("absence_create", organisation, basic_agent), absence_data())
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.first_day, absence.end_day, absence.span_days) == (FIRST_DAY, FIRST_DAY + dt.timedelta(days=2), 2)
    assert absence.rule is None
    content = text(signed_in.get(response["Location"]))
    assert "Formation premiers secours" in content


def test_agent_creates_a_weekly_absence_until_a_date(signed_in, organisation, basic_agent):
    data = absence_data(
        title="Réunion d'équipe",
        end_day="",
        start_time="14:00",
        end_time="16:00",
        repeat="on",
        weekdays=[str(FRI)],
        until="2030-06-28",
    )
    response = signed_in.post(url("absence_create", organisation, basic_agent), data)
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert absence.end_day == absence.first_day  # « Termine le » left empty: the same day
    assert absence.rule == Rule(Frequency.WEEKLY, weekdays=(FRI,), until=dt.date(2030, 6, 28))


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        (
            {"end_day": FIRST_DAY.isoformat(), "end_time": "08:00"},
            "end_time",
            "La fin de l'absence doit être après son début.",
        ),
        ({"end_day": "2030-03-01"}, "end_day", "La fin de l'absence ne peut pas précéder son début."),
        ({"repeat": "on", "weekdays": None}, "weekdays", "Choisissez au moins un jour de la semaine."),
        (
            {"repeat": "on", "weekdays": ["0"], "until": "2030-01-01"},
            "until",
            "La fin de la répétition ne peut pas précéder le premier jour.",
        ),
        ({"title": ""}, "title", "Ce champ est obligatoire."),
    ],
)
def test_bad_absence_input_is_refused_on_its_field(signed_in, organisation, basic_agent, overrides, field, message):
    response = signed_in.post(url("absence_create", organisation, basic_agent), absence_data(**overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert errors[field] == [message]
    assert not Absence.objects.exists()


def test_absence_page_modifies_and_deletes_it(signed_in, organisation, basic_agent):
    absence = AbsenceFactory(organisation=organisation, agent=basic_agent, title="Absence", first_day=FIRST_DAY)
    page = url("absence_edit", organisation, basic_agent, pk=absence.pk)
    # « Cliquez sur le nom de l'absence dans la liste »
    assert page in text(signed_in.get(url("absence_list", organisation, basic_agent)))
    content = text(signed_in.get(page))
    assert "Modifier" in content and "Supprimer" in content
    response = signed_in.post(page, absence_data(title="Formation"))
    assert response.status_code == 302
    absence.refresh_from_db()
    assert absence.title == "Formation"
    delete = url("absence_delete", organisation, basic_agent, pk=absence.pk)
    assert delete in text(signed_in.get(page))
    assert signed_in.post(delete).status_code == 302
    assert not Absence.objects.exists()


def test_cancelling_one_occurrence_of_a_recurring_absence(signed_in, organisation, basic_agent):
    absence = AbsenceFactory(
        organisation=organisation, agent=basic_agent, weekly=True, weekdays=(MON,), first_day=FIRST_DAY
    )
    page = url("absence_occurrence", organisation, basic_agent, pk=absence.pk, day=FIRST_DAY)
    assert signed_in.post(page, {"action": "cancel"}).status_code == 302
    assert AbsenceException.objects.get().is_cancelled


# --- Lists ------------------------------------------------------------------------------


def test_lists_filter_current_past_and_by_lieu(signed_in, organisation, basic_agent, lieu):
    today = timezone.localdate()
    other_lieu = LieuFactory(organisation=organisation)
    current = PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, lieu=lieu, weekly=True, title="En cours"
    )
    elsewhere = PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        lieu=other_lieu,
        title="Ailleurs",
        first_day=today + dt.timedelta(days=3),
    )
    past = PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        lieu=lieu,
        title="Passée",
        weekly=True,
        first_day=today - dt.timedelta(days=60),
        until=today - dt.timedelta(days=1),
    )

    def plages(query=""):
        response = signed_in.get(url("plage_list", organisation, basic_agent) + query)
        return [plage for plage, _ in response.context["rows"]]

    assert plages() == [current, elsewhere]
    assert plages("?period=past") == [past]
    assert plages(f"?period=current&lieu={lieu.pk}") == [current]
    assert plages(f"?period=past&lieu={other_lieu.pk}") == []
    response = signed_in.get(url("plage_list", organisation, basic_agent) + "?period=bogus")
    assert response.status_code == 422


def test_absence_list_filters_current_and_past(signed_in, organisation, basic_agent):
    today = timezone.localdate()
    current = AbsenceFactory(
        organisation=organisation, agent=basic_agent, first_day=today - dt.timedelta(days=1), days=3
    )
    past = AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=today - dt.timedelta(days=10))

    def absences(query=""):
        response = signed_in.get(url("absence_list", organisation, basic_agent) + query)
        return [absence for absence, _ in response.context["rows"]]

    assert absences() == [current]
    assert absences("?period=past") == [past]


@pytest.mark.parametrize("kind", ["plage", "absence"])
def test_list_queries_are_bounded(signed_in, organisation, basic_agent, lieu, motif, kind):
    def count():
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.get(url(f"{kind}_list", organisation, basic_agent))
        assert response.status_code == 200
        return len(queries)

    def add(n):
        for _ in range(n):
            if kind == "plage":
                PlageOuvertureFactory(
                    organisation=organisation,
                    agent=basic_agent,
                    lieu=LieuFactory(organisation=organisation),
                    motifs=[motif, MotifFactory(organisation=organisation)],
                    weekly=True,
                    weekdays=(_ % 7,),
                    start_time=dt.time(6 + _ // 7),
                    end_time=dt.time(7 + _ // 7),
                )
            else:
                AbsenceFactory(organisation=organisation, agent=basic_agent, weekly=True)

    add(1)
    baseline = count()
    add(20)
    assert count() == baseline


# --- Permissions ------------------------------------------------------------------------


@pytest.fixture
def team(organisation):
    return {
        "admin": AgentFactory(organisation=organisation, admin=True, services=["Social"]),
        "pmi": AgentFactory(organisation=organisation, services=["PMI"]),
        "pmi_2": AgentFactory(organisation=organisation, services=["PMI"]),
        "social": AgentFactory(organisation=organisation, services=["Social"]),
        "secretariat": AgentFactory(organisation=organisation, secretariat=True),
    }


@pytest.mark.parametrize(
    "who, manages",
    [
        ("admin", {"admin", "pmi", "pmi_2", "social", "secretariat"}),
        ("secretariat", {"admin", "pmi", "pmi_2", "social", "secretariat"}),
        ("pmi", {"pmi", "pmi_2"}),
        ("social", {"admin", "social"}),
    ],
)
def test_who_manages_whose_planning(client, organisation, team, lieu, motif, who, manages):
    from agents.permissions import can_manage_planning_of, get_membership

    membership = get_membership(team[who], organisation.pk)
    client.force_login(team[who])
    for name, agent in team.items():
        allowed = name in manages
        assert can_manage_planning_of(membership, agent) is allowed
        plage = PlageOuvertureFactory(organisation=organisation, agent=agent, lieu=lieu, motifs=[motif])
        absence = AbsenceFactory(organisation=organisation, agent=agent)
        expected = 200 if allowed else 404
        for page in (
            url("plage_list", organisation, agent),
            url("plage_create", organisation, agent),
            url("plage_edit", organisation, agent, pk=plage.pk),
            url("plage_delete", organisation, agent, pk=plage.pk),
            url("absence_list", organisation, agent),
            url("absence_create", organisation, agent),
            url("absence_edit", organisation, agent, pk=absence.pk),
            url("absence_delete", organisation, agent, pk=absence.pk),
        ):
            assert client.get(page).status_code == expected, page
        assert client.post(url("plage_delete", organisation, agent, pk=plage.pk)).status_code == (
            302 if allowed else 404
        )
        assert PlageOuverture.objects.filter(pk=plage.pk).exists() is not allowed
        assert client.get(url("my_plages", organisation) + f"?agent={agent.pk}").status_code == (
            302 if allowed else 404
        )
    selector = [agent.pk for agent in client.get(url("plage_list", organisation, team[who])).context["agents"]]
    assert set(selector) == {team[name].pk for name in manages}


def test_another_organisations_plage_or_agent_is_404(signed_in, organisation, basic_agent):
    other = OrganisationFactory()
    stranger = AgentFactory(organisation=other, services=["PMI"])
    foreign_plage = PlageOuvertureFactory(organisation=other, agent=stranger)
    # The agent's own plage in another organisation, read through this one's URL.
    own_elsewhere = PlageOuvertureFactory(organisation=other, agent=basic_agent)
    assert signed_in.get(url("plage_list", organisation, stranger)).status_code == 404
    assert signed_in.get(url("plage_edit", organisation, basic_agent, pk=foreign_plage.pk)).status_code == 404
    assert signed_in.get(url("plage_edit", organisation, basic_agent, pk=own_elsewhere.pk)).status_code == 404
    assert signed_in.get(url("plage_list", other, basic_agent)).status_code == 404  # no role there
    # Another agent's plage under this agent's URL.
    colleague = AgentFactory(organisation=organisation, services=["PMI"])
    theirs = PlageOuvertureFactory(organisation=organisation, agent=colleague)
    assert signed_in.get(url("plage_edit", organisation, basic_agent, pk=theirs.pk)).status_code == 404
    assert signed_in.get(url("my_plages", organisation) + "?agent=abc").status_code == 404


# --- Public holidays --------------------------------------------------------------------


def test_admin_switches_public_holidays_off_and_on(client, organisation, admin_agent):
    client.force_login(admin_agent)
    content = text(client.get(url("absence_list", organisation, admin_agent)))
    assert "Fermer l'organisation les jours fériés" in content
    assert "Noël" in content
    response = client.post(url("public_holidays", organisation))
    assert response.status_code == 302
    organisation.refresh_from_db()
    assert organisation.close_on_public_holidays is False
    client.post(url("public_holidays", organisation), {"close_on_public_holidays": "on"})
    organisation.refresh_from_db()
    assert organisation.close_on_public_holidays is True


def test_basic_agents_cannot_switch_public_holidays(signed_in, organisation, basic_agent):
    content = text(signed_in.get(url("absence_list", organisation, basic_agent)))
    assert "Fermer l'organisation les jours fériés" not in content
    assert signed_in.post(url("public_holidays", organisation)).status_code == 404
    organisation.refresh_from_db()
    assert organisation.close_on_public_holidays is True


def test_an_agent_with_current_plages_cannot_leave_the_organisation(client, organisation, admin_agent, basic_agent):
    from agents.models import AgentRole

    PlageOuvertureFactory(organisation=organisation, agent=basic_agent, title="Consultation de PMI", weekly=True)
    PlageOuvertureFactory(
        organisation=organisation,
        agent=basic_agent,
        title="Ancienne permanence",
        weekly=True,
        first_day=dt.date(2020, 1, 6),
        until=dt.date(2020, 6, 29),
    )
    client.force_login(admin_agent)
    url = reverse("agents:remove", kwargs={"organisation_id": organisation.pk, "agent_pk": basic_agent.pk})
    response = client.post(url)
    assert response.status_code == 422
    page = html.unescape(response.content.decode())
    assert "Plage d'ouverture « Consultation de PMI »" in page
    assert "Ancienne permanence" not in page
    assert AgentRole.objects.filter(agent=basic_agent, organisation=organisation).exists()


# --- RDVs left outside availability: warned, never refused ----------------------------------


@pytest.fixture
def booked(organisation, basic_agent, lieu, motif):
    """A weekly Monday plage 9:00–12:00 of the agent from next week, and an RDV on it in two weeks."""
    organisation.close_on_public_holidays = False  # whatever day the tests run, no holiday in the way
    organisation.save()
    today = timezone.localdate(timezone=PARIS)
    monday = today + dt.timedelta(days=7 - today.weekday())
    plage = PlageOuvertureFactory(
        organisation=organisation, agent=basic_agent, lieu=lieu, motifs=[motif], weekly=True, first_day=monday
    )
    usager = UsagerFactory(organisation=organisation, first_name="Camille", last_name="Durand")
    rdv = RdvFactory(
        organisation=organisation,
        motif=motif,
        lieu=lieu,
        agents=[basic_agent],
        usagers=[usager],
        starts_at=dt.datetime.combine(monday + dt.timedelta(weeks=2), dt.time(10, 30), tzinfo=PARIS),
    )
    return {"plage": plage, "rdv": rdv, "day": monday + dt.timedelta(weeks=2)}


def warning(response) -> dict | None:
    return response.context["rdvs_outside"]


def test_an_absence_over_an_rdv_is_saved_with_a_warning_listing_it(signed_in, organisation, basic_agent, booked):
    day = booked["day"].isoformat()
    response = signed_in.post(
        url("absence_create", organisation, basic_agent),
        absence_data(first_day=day, end_day=day, start_time="10:00", end_time="11:00"),
    )
    assert response.status_code == 302  # never refused
    assert Absence.objects.count() == 1
    response = signed_in.get(response["Location"])
    assert warning(response)["rdvs"] == [booked["rdv"]]
    content = text(response)
    assert "L'absence « Formation premiers secours » a été créée." in content
    assert "Un RDV à venir est désormais en dehors de vos disponibilités" in content
    detail = reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": booked["rdv"].pk})
    assert f'href="{detail}"' in content
    assert booked["rdv"].motif.name in content
    assert "Camille DURAND" in content
    assert "à 10h30" in content
    # Shown once.
    assert warning(signed_in.get(response.request["PATH_INFO"])) is None


def test_an_absence_elsewhere_gives_no_warning(signed_in, organisation, basic_agent, booked):
    day = booked["day"].isoformat()
    response = signed_in.post(
        url("absence_create", organisation, basic_agent),
        absence_data(first_day=day, end_day=day, start_time="14:00", end_time="17:00"),
    )
    assert warning(signed_in.get(response["Location"])) is None


def test_editing_an_absence_onto_an_rdv_warns(signed_in, organisation, basic_agent, booked):
    absence = AbsenceFactory(organisation=organisation, agent=basic_agent, first_day=booked["day"])  # 14:00–17:00
    day = booked["day"].isoformat()
    response = signed_in.post(
        url("absence_edit", organisation, basic_agent, pk=absence.pk),
        absence_data(first_day=day, end_day=day, start_time="08:00", end_time="17:00"),
    )
    assert response.status_code == 302
    assert warning(signed_in.get(response["Location"]))["rdvs"] == [booked["rdv"]]


def test_shrinking_a_plage_warns_about_the_rdv_it_leaves_out(signed_in, organisation, basic_agent, lieu, motif, booked):
    plage = booked["plage"]
    data = plage_data(lieu, [motif], first_day=plage.first_day.isoformat(), weekdays=[str(MON)], end_time="10:00")
    response = signed_in.post(url("plage_edit", organisation, basic_agent, pk=plage.pk), data)
    assert response.status_code == 302
    plage.refresh_from_db()
    assert plage.end_time == dt.time(10)
    response = signed_in.get(response["Location"])
    assert warning(response)["rdvs"] == [booked["rdv"]]
    assert "La plage d'ouverture « Consultation de PMI » a été modifiée." in text(response)


def test_a_plage_edit_that_keeps_the_rdv_inside_gives_no_warning(
    signed_in, organisation, basic_agent, lieu, motif, booked
):
    plage = booked["plage"]
    data = plage_data(lieu, [motif], first_day=plage.first_day.isoformat(), weekdays=[str(MON)], end_time="12:30")
    response = signed_in.post(url("plage_edit", organisation, basic_agent, pk=plage.pk), data)
    assert warning(signed_in.get(response["Location"])) is None


def test_deleting_a_plage_warns(signed_in, organisation, basic_agent, booked):
    response = signed_in.post(url("plage_delete", organisation, basic_agent, pk=booked["plage"].pk))
    assert response.status_code == 302
    assert warning(signed_in.get(response["Location"]))["rdvs"] == [booked["rdv"]]


def test_cancelling_the_plage_occurrence_of_an_rdv_warns_on_the_plage_page(
    signed_in, organisation, basic_agent, booked
):
    plage = booked["plage"]
    page = url("plage_occurrence", organisation, basic_agent, pk=plage.pk, day=booked["day"])
    response = signed_in.post(page, {"action": "cancel"})
    assert response["Location"] == url("plage_edit", organisation, basic_agent, pk=plage.pk)
    response = signed_in.get(response["Location"])
    assert warning(response)["rdvs"] == [booked["rdv"]]
    assert "Un RDV à venir est désormais en dehors de vos disponibilités" in text(response)
    # Another occurrence: nothing booked on it.
    other = url("plage_occurrence", organisation, basic_agent, pk=plage.pk, day=booked["day"] + dt.timedelta(weeks=1))
    signed_in.post(other, {"action": "cancel"})
    assert warning(signed_in.get(url("plage_edit", organisation, basic_agent, pk=plage.pk))) is None


def test_moving_the_plage_occurrence_of_an_rdv_warns(signed_in, organisation, basic_agent, booked):
    plage = booked["plage"]
    page = url("plage_occurrence", organisation, basic_agent, pk=plage.pk, day=booked["day"])
    response = signed_in.post(
        page, {"action": "move", "start_day": booked["day"].isoformat(), "start_time": "14:00", "end_time": "17:00"}
    )
    assert response.status_code == 302
    assert warning(signed_in.get(response["Location"]))["rdvs"] == [booked["rdv"]]


def test_moving_an_absence_occurrence_onto_an_rdv_warns(signed_in, organisation, basic_agent, booked):
    absence = AbsenceFactory(
        organisation=organisation, agent=basic_agent, weekly=True, first_day=booked["day"] - dt.timedelta(weeks=1)
    )
    page = url("absence_occurrence", organisation, basic_agent, pk=absence.pk, day=booked["day"])
    day = booked["day"].isoformat()
    response = signed_in.post(
        page, {"action": "move", "start_day": day, "start_time": "10:00", "end_day": day, "end_time": "11:00"}
    )
    assert response["Location"] == url("absence_edit", organisation, basic_agent, pk=absence.pk)
    response = signed_in.get(response["Location"])
    assert warning(response)["rdvs"] == [booked["rdv"]]


def test_the_warning_names_the_agent_on_someone_elses_planning(client, organisation, admin_agent, basic_agent, booked):
    client.force_login(admin_agent)
    day = booked["day"].isoformat()
    response = client.post(
        url("absence_create", organisation, basic_agent),
        absence_data(first_day=day, end_day=day, start_time="08:00", end_time="12:00"),
    )
    content = text(client.get(response["Location"]))
    assert f"Un RDV à venir est désormais en dehors des disponibilités de {basic_agent.full_name}" in content


def test_a_long_list_is_cut_with_a_link_to_all_the_rdvs(
    signed_in, organisation, basic_agent, lieu, motif, booked, django_assert_max_num_queries
):
    start = dt.datetime.combine(booked["day"], dt.time(9), tzinfo=PARIS)
    for index in range(1, 25):
        RdvFactory(
            organisation=organisation,
            motif=motif,
            lieu=lieu,
            agents=[basic_agent],
            starts_at=start + dt.timedelta(weeks=index),
        )
    response = signed_in.post(url("plage_delete", organisation, basic_agent, pk=booked["plage"].pk))
    with django_assert_max_num_queries(15):
        response = signed_in.get(response["Location"])
    shown = warning(response)
    assert (shown["count"], len(shown["rdvs"]), shown["more"]) == (25, 20, 5)
    content = text(response)
    assert "25 RDV à venir sont désormais en dehors de vos disponibilités" in content
    assert "Voir les 5 autres RDV dans « Tous les RDVs »" in content
    assert f"agent={basic_agent.pk}" in shown["list_url"]


def test_saving_with_the_check_issues_as_many_queries_for_one_rdv_as_for_forty(
    signed_in, organisation, basic_agent, lieu, motif, booked
):
    start = dt.datetime.combine(booked["day"], dt.time(9), tzinfo=PARIS)
    first, last = booked["day"].isoformat(), (booked["day"] + dt.timedelta(days=14)).isoformat()

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = signed_in.post(
                url("absence_create", organisation, basic_agent),
                absence_data(first_day=first, end_day=last, start_time="08:00", end_time="18:00"),
            )
        assert response.status_code == 302
        with CaptureQueriesContext(connection) as page_queries:
            assert warning(signed_in.get(response["Location"])) is not None
        return len(queries), len(page_queries)

    Absence.objects.all().delete()
    baseline = count()
    Absence.objects.all().delete()
    for index in range(40):
        RdvFactory(
            organisation=organisation,
            motif=motif,
            lieu=lieu,
            agents=[basic_agent],
            starts_at=start + dt.timedelta(days=index // 3, hours=index % 3),
        )
    assert count() == baseline
