"""The email code that identifies an usager booking online, and the account an address names
(usagers.identity): no HTTP here, the pages are tested in tests/reservation/test_identity_views.py."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError
from django.utils import timezone

from notifications.delivery import deliver_one
from notifications.models import Notification
from tests.usagers.factories import UsagerFactory
from usagers.identity import (
    CODE_OUTBOX,
    CodeRefused,
    TooSoon,
    account_for_email,
    check_code,
    hash_code,
    send_code,
)
from usagers.models import EmailCode, Usager, UsagerAccount

pytestmark = pytest.mark.django_db

EMAIL = "marie.dupont@exemple.fr"
NOON = dt.datetime(2026, 12, 15, 12, 0, tzinfo=dt.UTC)
Reason = CodeRefused.Reason


def code_sent_to(email: str) -> str:
    """The code of the last email written to `email` (the outbox row, before it leaves)."""
    row = Notification.objects.filter(to=email, event=Notification.Event.LOGIN_CODE).latest("pk")
    found = re.search(r"\b([0-9]{6})\b", row.body)
    assert found, row.body
    return found.group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def refusal_of(email: str, code: str) -> CodeRefused:
    with pytest.raises(CodeRefused) as caught:
        check_code(email, code)
    return caught.value


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def test_the_code_is_stored_as_a_keyed_hash_never_in_clear(clock):
    send_code(EMAIL, ip="203.0.113.7")
    code = code_sent_to(EMAIL)
    row = EmailCode.objects.get()
    assert (row.code_hash, row.ip, row.expires_at) == (
        hash_code(EMAIL, "login", code),
        "203.0.113.7",
        NOON + dt.timedelta(minutes=30),
    )
    assert code not in row.code_hash


def test_the_email_goes_through_the_outbox_and_forgets_the_code_once_sent(clock, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send_code("Marie.Dupont@Exemple.FR ", ip=None)
    notification = Notification.objects.get()
    assert (notification.event, notification.organisation, notification.to, notification.status) == (
        Notification.Event.LOGIN_CODE,
        None,
        EMAIL,
        Notification.Status.SENT,
    )
    [message] = mail.outbox
    code = re.search(r"\b([0-9]{6})\b", message.body).group(1)
    assert message.to == [EMAIL]
    assert message.subject == "Votre code pour vous identifier sur RDV Solidarités"
    assert not re.search(r"[0-9]", message.subject)
    assert code not in notification.body
    assert "••••••" in notification.body


def test_a_code_that_could_not_leave_in_time_is_dropped_not_sent_late(clock):
    send_code(EMAIL, ip=None)
    notification = Notification.objects.get()
    deliver_one(notification.pk, now=NOON + dt.timedelta(minutes=30))
    notification.refresh_from_db()
    assert (notification.status, notification.last_error, mail.outbox) == (
        Notification.Status.DROPPED,
        "Le code a expiré avant l'envoi.",
        [],
    )
    assert not re.search(r"\b[0-9]{6}\b", notification.body)


def test_without_the_outbox_the_email_leaves_after_the_commit(clock, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("usagers.identity.CODE_OUTBOX", [])
    with django_capture_on_commit_callbacks(execute=True):
        send_code(EMAIL, ip=None)
    assert (len(mail.outbox), Notification.objects.count(), len(CODE_OUTBOX)) == (1, 0, 1)


def test_the_right_code_opens_once(clock):
    send_code(EMAIL, ip=None)
    code = code_sent_to(EMAIL)
    assert check_code(EMAIL.upper(), code) is None  # no account yet
    assert refusal_of(EMAIL, code).reason == Reason.USED


def test_a_code_expires_after_30_minutes(clock):
    send_code(EMAIL, ip=None)
    code = code_sent_to(EMAIL)
    clock.shift(dt.timedelta(minutes=30))
    assert refusal_of(EMAIL, code).reason == Reason.EXPIRED


def test_a_code_is_still_valid_just_before_30_minutes(clock):
    send_code(EMAIL, ip=None)
    code = code_sent_to(EMAIL)
    clock.shift(dt.timedelta(minutes=29, seconds=59))
    assert check_code(EMAIL, code) is None


def test_only_the_newest_code_is_valid(clock):
    send_code(EMAIL, ip=None)
    first = code_sent_to(EMAIL)
    clock.shift(dt.timedelta(seconds=60))
    send_code(EMAIL, ip=None)
    newest = code_sent_to(EMAIL)
    if first != newest:  # one chance in a million they are the same digits
        refusal = refusal_of(EMAIL, first)
        assert (refusal.reason, refusal.attempts_left) == (Reason.WRONG, 4)
    assert check_code(EMAIL, newest) is None
    assert list(EmailCode.objects.order_by("pk").values_list("replaced", flat=True)) == [True, False]


def test_a_new_code_waits_60_seconds_after_the_previous_one(clock):
    send_code(EMAIL, ip=None)
    clock.shift(dt.timedelta(seconds=59))
    with pytest.raises(TooSoon) as caught:
        send_code(EMAIL, ip=None)
    assert caught.value.seconds == 1
    clock.shift(dt.timedelta(seconds=1))
    send_code(EMAIL, ip=None)
    assert EmailCode.objects.count() == 2


def test_the_wait_is_per_purpose(clock):
    send_code(EMAIL, ip=None)
    send_code(EMAIL, ip=None, purpose=EmailCode.Purpose.EMAIL_CHANGE)
    assert EmailCode.objects.count() == 2


def test_five_tries_per_code(clock):
    send_code(EMAIL, ip=None)
    code = code_sent_to(EMAIL)
    wrong = other_code(code)
    left = []
    for _ in range(4):
        refusal = refusal_of(EMAIL, wrong)
        left.append((refusal.reason, refusal.attempts_left))
    assert left == [(Reason.WRONG, 4), (Reason.WRONG, 3), (Reason.WRONG, 2), (Reason.WRONG, 1)]
    assert refusal_of(EMAIL, wrong).reason == Reason.TOO_MANY_ATTEMPTS
    # Even the right code is refused now: a new code is needed.
    assert refusal_of(EMAIL, code).reason == Reason.TOO_MANY_ATTEMPTS
    assert EmailCode.objects.get().attempts == 5


def test_no_code_sent_to_that_address(clock):
    assert refusal_of(EMAIL, "123456").reason == Reason.NONE


def test_the_database_keeps_a_single_live_code_per_address(clock):
    send_code(EMAIL, ip=None)
    with pytest.raises(IntegrityError):
        EmailCode.objects.create(
            email=EMAIL.upper(), purpose="login", code_hash="x", expires_at=NOON + dt.timedelta(minutes=30)
        )


def test_the_code_of_a_returning_usager_names_its_account(clock):
    usager = UsagerFactory(email=EMAIL)
    account_for_email(EMAIL)
    send_code(EMAIL, ip=None)
    assert check_code(EMAIL, code_sent_to(EMAIL)) == usager


# account_for_email: which usager an address proven by a code is.


def test_an_existing_account_is_found_whatever_the_case():
    account = UsagerAccount.objects.create(usager=UsagerFactory(), email=EMAIL)
    assert account_for_email("  MARIE.Dupont@exemple.fr", "Autre", "Nom") == account
    assert Usager.objects.count() == 1


def test_the_single_usager_an_agent_recorded_with_that_address_gets_the_account_and_its_proches(organisation):
    usager = UsagerFactory(organisation=organisation, email="Marie.Dupont@exemple.fr", first_name="Marie")
    proche = UsagerFactory(organisation=organisation, responsible=usager)
    account = account_for_email(EMAIL, "Mariette", "Dupont")
    assert (account.usager, account.email) == (usager, EMAIL)
    assert list(Usager.objects.filter(responsible=account.usager)) == [proche]
    usager.refresh_from_db()
    assert (usager.first_name, Usager.objects.count()) == ("Marie", 2)  # the agent's fiche untouched


def test_a_new_usager_is_created_once(clock):
    first = account_for_email(EMAIL, " Léa ", "Martin")
    again = account_for_email(EMAIL, "Léa", "Martin")
    assert first == again
    usager = first.usager
    assert (usager.first_name, usager.last_name, usager.email, usager.created_by, usager.responsible) == (
        "Léa",
        "Martin",
        EMAIL,
        Usager.CreatedBy.USAGER,
        None,
    )
    assert Usager.objects.count() == 1


def test_several_usagers_with_that_address_none_is_chosen():
    UsagerFactory(email=EMAIL)
    UsagerFactory(email=EMAIL)
    account = account_for_email(EMAIL, "Léa", "Martin")
    assert (account.usager.first_name, Usager.objects.count()) == ("Léa", 3)


def test_proches_anonymised_usagers_and_usagers_with_an_account_are_not_linked():
    responsible = UsagerFactory(email="autre@exemple.fr")
    UsagerAccount.objects.create(usager=responsible, email="autre@exemple.fr")
    UsagerFactory(email=EMAIL, responsible=responsible)
    UsagerFactory(email=EMAIL, anonymised_at=timezone.now())
    account = account_for_email(EMAIL, "Léa", "Martin")
    assert (account.usager.first_name, account.usager.created_by) == ("Léa", Usager.CreatedBy.USAGER)


def test_without_names_nor_usager_to_link_no_account():
    assert account_for_email(EMAIL) is None
    assert (Usager.objects.count(), UsagerAccount.objects.count()) == (0, 0)


def test_the_account_of_an_anonymised_usager_frees_the_address():
    gone = UsagerFactory(anonymised_at=timezone.now())
    UsagerAccount.objects.create(usager=gone, email=EMAIL)
    account = account_for_email(EMAIL, "Léa", "Martin")
    assert account.usager != gone
    assert list(UsagerAccount.objects.values_list("usager", flat=True)) == [account.usager.pk]


def test_one_account_per_address_whatever_the_case():
    UsagerAccount.objects.create(usager=UsagerFactory(), email=EMAIL)
    with pytest.raises(IntegrityError):
        UsagerAccount.objects.create(usager=UsagerFactory(), email="MARIE.DUPONT@exemple.fr")
