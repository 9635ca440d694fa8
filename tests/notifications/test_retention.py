"""Retention of the outbox (notifications.retention): messages anonymised 6 months after they were
sent, rows deleted after 2 years, the usagers' email codes deleted a day after they expired. At a
frozen instant, with rows on either side of each limit."""

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command

from notifications import retention, tasks
from notifications.models import Notification
from tests.helpers import PARIS
from usagers.models import EmailCode

pytestmark = pytest.mark.django_db

Status = Notification.Status
NOW = dt.datetime(2027, 3, 15, 10, 0, tzinfo=PARIS)
SIX_MONTHS_AGO = dt.datetime(2026, 9, 15, 10, 0, tzinfo=PARIS)
TWO_YEARS_AGO = dt.datetime(2025, 3, 15, 10, 0, tzinfo=PARIS)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def row(organisation, *, status=Status.SENT, created_at=None, sent_at=None, next_attempt_at=None, **fields):
    """An outbox row as the worker leaves it, with every field retention erases filled in."""
    created_at = created_at or (sent_at or next_attempt_at) - dt.timedelta(minutes=2)
    values = {
        "organisation": organisation,
        "event": Notification.Event.CREATED,
        "channel": Notification.Channel.SMS,
        "to": "+33612345678",
        "subject": "RDV confirmé",
        "body": "RDV PMI confirmé le 12/09 à 10h00, Maison des solidarités.",
        "provider_id": "SM123",
        "last_error": "Prestataire indisponible, nouvel essai prévu : 503",
        "delivery_error": "Numéro injoignable (+33612345678)",
        "status": status,
        "created_at": created_at,
        "sent_at": sent_at,
        "next_attempt_at": next_attempt_at or created_at,
        **fields,
    }
    return Notification.objects.create(**values)


def erased(notification) -> bool:
    notification.refresh_from_db()
    kept = (notification.to, notification.subject, notification.provider_id, notification.last_error)
    return (
        kept == ("", "", "", "")
        and notification.delivery_error == ""
        and notification.body == retention.anonymised_body()
    )


def test_the_limits_are_six_months_and_two_years_on_the_calendar():
    assert retention.months_before(NOW, 6) == SIX_MONTHS_AGO
    assert retention.months_before(NOW, 24) == TWO_YEARS_AGO


@pytest.mark.parametrize(
    "instant, expected",
    [
        (dt.datetime(2027, 8, 31, 12, 0, tzinfo=PARIS), dt.datetime(2027, 2, 28, 12, 0, tzinfo=PARIS)),
        (dt.datetime(2028, 8, 31, 12, 0, tzinfo=PARIS), dt.datetime(2028, 2, 29, 12, 0, tzinfo=PARIS)),
        (dt.datetime(2027, 1, 10, 0, 30, tzinfo=PARIS), dt.datetime(2026, 7, 10, 0, 30, tzinfo=PARIS)),
    ],
    ids=["shorter-month", "leap-year", "across-a-year-and-dst"],
)
def test_six_months_earlier_falls_on_the_last_day_of_a_shorter_month(instant, expected):
    assert retention.months_before(instant, 6) == expected


def test_a_message_sent_more_than_six_months_ago_is_anonymised(organisation):
    old = row(organisation, sent_at=SIX_MONTHS_AGO - MINUTE)
    recent = row(organisation, sent_at=dt.datetime(2026, 9, 16, 10, 0, tzinfo=PARIS))  # 5 months 29 days ago
    assert retention.purge().anonymised == 1
    assert erased(old)
    recent.refresh_from_db()
    assert (recent.to, recent.provider_id) == ("+33612345678", "SM123")


def test_what_the_rdv_page_lists_stays(organisation):
    old = row(organisation, sent_at=SIX_MONTHS_AGO - MINUTE, delivery=Notification.Delivery.DELIVERED)
    retention.purge()
    old.refresh_from_db()
    assert (old.event, old.channel, old.status, old.sent_at, old.delivery, old.display_to) == (
        Notification.Event.CREATED,
        Notification.Channel.SMS,
        Status.SENT,
        SIX_MONTHS_AGO - MINUTE,
        Notification.Delivery.DELIVERED,
        "",
    )


@pytest.mark.parametrize("status", [Status.FAILED, Status.DROPPED])
def test_a_message_that_finally_failed_or_was_dropped_is_anonymised_six_months_later(organisation, status):
    old = row(organisation, status=status, next_attempt_at=SIX_MONTHS_AGO - MINUTE)
    recent = row(organisation, status=status, next_attempt_at=SIX_MONTHS_AGO + MINUTE)
    assert retention.purge().anonymised == 1
    assert erased(old)
    assert not erased(recent)


@pytest.mark.parametrize("status", [Status.PENDING, Status.SENDING])
def test_a_message_still_in_progress_is_never_touched(organisation, status):
    waiting = row(organisation, status=status, created_at=TWO_YEARS_AGO - dt.timedelta(days=1))
    assert retention.purge() == retention.Purged(anonymised=0, deleted=0, codes=0)
    assert not erased(waiting)


def test_rows_written_more_than_two_years_ago_are_deleted(organisation):
    old = row(organisation, created_at=TWO_YEARS_AGO - MINUTE, sent_at=TWO_YEARS_AGO - MINUTE)
    kept = row(
        organisation, created_at=TWO_YEARS_AGO + dt.timedelta(days=1), sent_at=TWO_YEARS_AGO + dt.timedelta(days=1)
    )
    purged = retention.purge()
    assert (purged.deleted, purged.anonymised) == (1, 1)
    assert list(Notification.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Notification.objects.filter(pk=old.pk).exists()
    assert erased(kept)


def test_the_usagers_codes_are_deleted_a_day_after_they_expired():
    def code(expires_at, **fields):
        return EmailCode.objects.create(
            email="amina@exemple.fr",
            purpose=EmailCode.Purpose.LOGIN,
            code_hash="x",
            created_at=expires_at - dt.timedelta(minutes=30),
            expires_at=expires_at,
            **fields,
        )

    code(NOW - dt.timedelta(days=1) - MINUTE, used_at=NOW - dt.timedelta(days=1, minutes=10))
    code(NOW - dt.timedelta(days=1) - MINUTE, replaced=True)
    expired_lately = code(NOW - dt.timedelta(hours=23), replaced=True)
    live = code(NOW + dt.timedelta(minutes=20))
    assert retention.purge().codes == 2
    assert set(EmailCode.objects.values_list("pk", flat=True)) == {expired_lately.pk, live.pk}


def test_purging_twice_changes_nothing_more(organisation):
    row(organisation, sent_at=SIX_MONTHS_AGO - MINUTE)
    row(organisation, created_at=TWO_YEARS_AGO - MINUTE, sent_at=TWO_YEARS_AGO - MINUTE)
    row(organisation, sent_at=NOW - dt.timedelta(days=3))
    assert retention.purge(batch_size=1) == retention.Purged(anonymised=1, deleted=1, codes=0)
    state = list(Notification.objects.order_by("pk").values())
    assert retention.purge(batch_size=1) == retention.Purged(anonymised=0, deleted=0, codes=0)
    assert list(Notification.objects.order_by("pk").values()) == state


def test_batches_go_through_every_row(organisation):
    for minutes in range(1, 6):
        row(organisation, sent_at=SIX_MONTHS_AGO - minutes * MINUTE)
    assert retention.purge(batch_size=2).anonymised == 5
    assert not Notification.objects.exclude(to="").exists()


def test_the_nightly_task_and_the_command_purge(organisation, capsys):
    row(organisation, sent_at=SIX_MONTHS_AGO - MINUTE)
    tasks.purge()
    assert not Notification.objects.exclude(to="").exists()
    row(organisation, sent_at=SIX_MONTHS_AGO - 2 * MINUTE)
    call_command("purge_notifications")
    assert capsys.readouterr().out == (
        "1 notification(s) anonymisée(s), 0 supprimée(s), 0 code(s) de connexion expiré(s) supprimé(s).\n"
    )


def test_the_purge_runs_every_night(settings):
    (entry,) = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == "notifications.purge"]
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({3}, {30})
