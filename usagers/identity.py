"""Who an usager booking online is: a 6-digit code sent to its email address proves that it reads
it; the address then names its account (`UsagerAccount`), hence its `Usager` and its proches.
No password. FranceConnect will be a second way to reach the same account.

No HTTP here: the public pages (reservation.identity_views) call these functions, apply the rate
limits per address and per IP, and keep the usager signed in (usagers.middleware).

The rules of a code (`EmailCode`):
- 6 digits drawn by `secrets`, stored as a keyed hash (HMAC of the project's SECRET_KEY), never in
  clear; the email carrying it leaves through the outbox (CODE_OUTBOX), recorded and retried;
- valid CODE_VALIDITY (30 minutes), once, for CODE_MAX_ATTEMPTS (5) tries;
- only the newest one is valid: sending a code replaces those sent before (a unique constraint
  keeps two requests at the same instant from leaving two valid codes);
- a new code can be asked CODE_RESEND_AFTER (60 seconds) after the previous one.
"""

import datetime as dt
import enum
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from usagers.models import (
    CODE_MAX_ATTEMPTS,
    CODE_RESEND_AFTER,
    CODE_VALIDITY,
    EmailCode,
    Usager,
    UsagerAccount,
    normalise_email,
)

Purpose = EmailCode.Purpose

# How a code's email leaves. The notifications app, which sits above this one, registers its
# outbox here from its AppConfig.ready() (keyword arguments `to`, `subject`, `body`): the email is
# a row written in the caller's transaction, delivered after the commit, retried and recorded.
# Without it, Django's send_mail after the commit.
CodeOutbox = Callable[..., object]
CODE_OUTBOX: list[CodeOutbox] = []

HASH_SALT = "usagers.identity.EmailCode"


class IdentityError(Exception):
    """A refusal the page explains to the usager."""


class TooSoon(IdentityError):
    """A code was sent to this address less than CODE_RESEND_AFTER ago."""

    def __init__(self, seconds: int):
        super().__init__(f"Nouveau code possible dans {seconds} s.")
        self.seconds = seconds


class CodeRefused(IdentityError):
    """The code typed does not open the door, and why."""

    class Reason(enum.Enum):
        WRONG = "wrong"  # not the newest code's digits: one try less
        EXPIRED = "expired"
        TOO_MANY_ATTEMPTS = "too_many_attempts"
        USED = "used"  # the newest code has been used already
        NONE = "none"  # no code was ever sent to this address for this purpose

    def __init__(self, reason: "CodeRefused.Reason", *, attempts_left: int = 0):
        super().__init__(reason.value)
        self.reason = reason
        self.attempts_left = attempts_left


def hash_code(email: str, purpose: str, code: str) -> str:
    """Keyed with SECRET_KEY: the table's content alone gives no way to test the million codes."""
    return salted_hmac(HASH_SALT, f"{purpose}:{normalise_email(email)}:{code}", algorithm="sha256").hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _seconds(delta: dt.timedelta) -> int:
    return max(math.ceil(delta.total_seconds()), 1)


@dataclass(frozen=True)
class SentCode:
    code: EmailCode
    # When the next code may be asked for this address.
    resend_at: dt.datetime


def send_code(email: str, *, ip: str | None, purpose: str = Purpose.LOGIN) -> SentCode:
    """Sends a new code to `email` and makes it the only valid one for `purpose`. Raises TooSoon
    when the previous code left less than CODE_RESEND_AFTER ago. The email is written in this
    transaction and leaves after its commit; its subject says nothing of the code."""
    email = normalise_email(email)
    now = timezone.now()
    code = _new_code()
    try:
        with transaction.atomic():
            live = list(EmailCode.objects.for_email(email, purpose).live().select_for_update().order_by("-created_at"))
            if live and now < live[0].created_at + CODE_RESEND_AFTER:
                raise TooSoon(_seconds(live[0].created_at + CODE_RESEND_AFTER - now))
            EmailCode.objects.filter(pk__in=[row.pk for row in live]).update(replaced=True)
            row = EmailCode.objects.create(
                email=email,
                purpose=purpose,
                code_hash=hash_code(email, purpose, code),
                created_at=now,
                expires_at=now + CODE_VALIDITY,
                ip=ip or None,
            )
            _send_email(email, code)
    except IntegrityError:  # another request sent one at the same instant (the live-code constraint)
        raise TooSoon(_seconds(CODE_RESEND_AFTER)) from None
    return SentCode(code=row, resend_at=now + CODE_RESEND_AFTER)


def _send_email(email: str, code: str) -> None:
    context = {"code": code, "validity_minutes": int(CODE_VALIDITY.total_seconds() // 60)}
    subject = render_to_string("usagers/emails/code_subject.txt", context).strip()
    body = render_to_string("usagers/emails/code.txt", context)
    if CODE_OUTBOX:
        CODE_OUTBOX[0](to=email, subject=subject, body=body)
    else:
        transaction.on_commit(partial(send_mail, subject, body, None, [email]))


def check_code(email: str, code: str, *, purpose: str = Purpose.LOGIN) -> Usager | None:
    """Uses the newest code sent to `email` for `purpose` if `code` is its digits. Returns the
    Usager of the address's account, or None when the address has none yet (the caller then
    calls `account_for_email`). Raises CodeRefused otherwise; a wrong code costs one of the
    CODE_MAX_ATTEMPTS tries, and that count is saved even though the call fails."""
    email = normalise_email(email)
    now = timezone.now()
    with transaction.atomic():
        # Locked: two submissions of the same code cannot both use it.
        newest = EmailCode.objects.for_email(email, purpose).select_for_update().order_by("-created_at").first()
        refusal = _refusal(newest, email, purpose, code, now)
        if newest is not None and refusal is None:
            newest.used_at = now
            newest.save(update_fields=["used_at"])
    if refusal is not None:
        raise refusal
    account = UsagerAccount.objects.for_email(email).select_related("usager").first()
    if account is None or account.usager.anonymised_at is not None:
        return None
    return account.usager


def _refusal(newest: EmailCode | None, email: str, purpose: str, code: str, now: dt.datetime) -> CodeRefused | None:
    """Why `code` does not match `newest` (a wrong try is counted on the row), or None."""
    Reason = CodeRefused.Reason
    if newest is None:
        return CodeRefused(Reason.NONE)
    if newest.used_at is not None:
        return CodeRefused(Reason.USED)
    if newest.replaced:  # replaced by a newer one being written: treat as gone
        return CodeRefused(Reason.NONE)
    if newest.is_expired(now):
        return CodeRefused(Reason.EXPIRED)
    if newest.attempts >= CODE_MAX_ATTEMPTS:
        return CodeRefused(Reason.TOO_MANY_ATTEMPTS)
    if constant_time_compare(newest.code_hash, hash_code(email, purpose, code)):
        return None
    newest.attempts += 1
    newest.save(update_fields=["attempts"])
    if newest.attempts >= CODE_MAX_ATTEMPTS:
        return CodeRefused(Reason.TOO_MANY_ATTEMPTS)
    return CodeRefused(Reason.WRONG, attempts_left=newest.attempts_left)


def account_for_email(email: str, first_name: str = "", last_name: str = "") -> UsagerAccount | None:
    """The account of the verified address `email`, found or made, in this order:

    1. the account already proven for that address (whatever its case), unless its usager was
       anonymised: that account is then deleted and the address is free again;
    2. else the single usager en charge (no `responsible`) not anonymised and without an account
       whose email is that address (an usager an agent recorded): it gets the account, and its
       fiche is left as the agent wrote it; with several such usagers none is chosen (they may
       be different people sharing an address), and rule 3 applies;
    3. else a new usager with `first_name`, `last_name` and that address (`created_by` usager),
       when both names are given; without them, None (the page then asks for them).

    The names given are used only by rule 3. One transaction: two requests at the same instant
    (a form sent twice) leave one account and one usager. Its proches are then
    `Usager.objects.filter(responsible=account.usager)`."""
    email = normalise_email(email)
    first_name, last_name = first_name.strip(), last_name.strip()
    try:
        with transaction.atomic():
            return _find_or_make_account(email, first_name, last_name)
    except IntegrityError:  # the same account made meanwhile by a concurrent request
        return UsagerAccount.objects.for_email(email).select_related("usager").first()


def _find_or_make_account(email: str, first_name: str, last_name: str) -> UsagerAccount | None:
    account = UsagerAccount.objects.for_email(email).select_related("usager").select_for_update(of=("self",)).first()
    if account is not None:
        if account.usager.anonymised_at is None:
            return account
        account.delete()
    candidates: list[Usager] = list(
        Usager.objects.filter(responsible__isnull=True, anonymised_at__isnull=True, account__isnull=True)
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email)
        .order_by("pk")[:2]
    )
    if len(candidates) == 1:
        usager = candidates[0]
    elif first_name and last_name:
        usager = Usager.objects.create(
            first_name=first_name, last_name=last_name, email=email, created_by=Usager.CreatedBy.USAGER
        )
    else:
        return None
    return UsagerAccount.objects.create(usager=usager, email=email)
