"""What an agent's action owes the usagers waits a grace period (NOTIFICATIONS_GRACE_SECONDS): a
status set by mistake and corrected meanwhile sends nothing at all; what an usager does itself
online leaves at once."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from notifications.delivery import deliver_one
from notifications.models import Notification
from notifications.tasks import deliver_due
from rdv import sms
from rendezvous.models import Rdv
from rendezvous.online import cancel
from rendezvous.services import change_status
from tests.rendezvous.factories import RdvFactory
from tests.usagers.factories import UsagerFactory

pytestmark = pytest.mark.django_db

GRACE = dt.timedelta(seconds=120)


@pytest.fixture(autouse=True)
def _grace(settings):
    settings.NOTIFICATIONS_GRACE_SECONDS = 120


def told_rdv(organisation, agent) -> Rdv:
    """An RDV whose usager (email and mobile) received its confirmation."""
    usager = UsagerFactory(organisation=organisation, with_email=True, with_phone=True)
    rdv = RdvFactory(organisation=organisation, agents=[agent], usagers=[usager])
    Notification.objects.create(
        organisation=organisation, rdv=rdv, usager=usager, event="created", channel="email", to=usager.email,
        body="…", status="sent", rdv_starts_at=rdv.starts_at,
    )  # fmt: skip
    Notification.objects.create(
        organisation=organisation, rdv=rdv, usager=usager, event="created", channel="sms", to=usager.phone.as_e164,
        body="…", status="sent", rdv_starts_at=rdv.starts_at,
    )  # fmt: skip
    return rdv


def nothing_left():
    return not mail.outbox and not sms.LocmemSmsBackend.outbox


def test_an_agents_cancellation_waits_the_grace_period(organisation, basic_agent):
    rdv = told_rdv(organisation, basic_agent)
    now = timezone.now()
    change_status(rdv=rdv, status=Rdv.Status.REVOKED, by=basic_agent, now=now)
    waiting = list(Notification.objects.filter(event="cancelled"))
    assert {row.channel for row in waiting} == {"email", "sms"}
    assert {row.next_attempt_at for row in waiting} == {now + GRACE}
    assert nothing_left()
    for row in waiting:
        assert deliver_one(row.pk, now=now + GRACE - dt.timedelta(seconds=1)) is None
    assert nothing_left()
    for row in waiting:
        assert deliver_one(row.pk, now=now + GRACE).status == "sent"
    assert len(mail.outbox) == 1 and len(sms.LocmemSmsBackend.outbox) == 1


def test_a_status_corrected_within_the_grace_period_sends_nothing_at_all(organisation, basic_agent):
    """The seed's complaint: « Absent excusé » then « Indéterminé » sent an annulation and a new
    confirmation within a second."""
    rdv = told_rdv(organisation, basic_agent)
    now = timezone.now()
    change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=basic_agent, now=now)
    change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=basic_agent, now=now + dt.timedelta(seconds=20))
    rows = Notification.objects.exclude(status="sent")
    assert {(row.event, row.status) for row in rows} == {("cancelled", "dropped")}
    assert rows.count() == 2  # email and SMS, both dropped; no new confirmation written
    Notification.objects.filter(status="pending").update(next_attempt_at=now)  # (none)
    deliver_due()
    assert nothing_left()


def test_a_correction_after_the_grace_period_tells_the_family(organisation, basic_agent):
    rdv = told_rdv(organisation, basic_agent)
    now = timezone.now()
    change_status(rdv=rdv, status=Rdv.Status.EXCUSED, by=basic_agent, now=now)
    for row in Notification.objects.filter(event="cancelled"):
        deliver_one(row.pk, now=now + GRACE)
    change_status(rdv=rdv, status=Rdv.Status.UNKNOWN, by=basic_agent, now=now + GRACE + dt.timedelta(seconds=5))
    restored = Notification.objects.filter(event="created", status="pending")
    assert restored.count() == 2  # the family heard of the annulation: it hears of the return


def test_an_usagers_own_cancellation_leaves_at_once(organisation, basic_agent, django_capture_on_commit_callbacks):
    rdv = told_rdv(organisation, basic_agent)
    rdv.starts_at = timezone.now() + dt.timedelta(days=3)
    rdv.save(update_fields=["starts_at"])
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        cancel(rdv=rdv, now=now)
    assert {row.status for row in Notification.objects.filter(event="cancelled")} == {"sent"}
    assert len(mail.outbox) == 1 and len(sms.LocmemSmsBackend.outbox) == 1


def test_without_a_grace_period_messages_leave_at_once(
    settings, organisation, basic_agent, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_GRACE_SECONDS = 0
    rdv = told_rdv(organisation, basic_agent)
    with django_capture_on_commit_callbacks(execute=True):
        change_status(rdv=rdv, status=Rdv.Status.REVOKED, by=basic_agent)
    assert len(mail.outbox) == 1 and len(sms.LocmemSmsBackend.outbox) == 1
