"""Sending SMS through a small backend interface, like Django's email backends.

`SMS_BACKEND` names the class: the console or a file locally, Twilio in production, an
in-memory outbox in tests. Providers are reached only through `send()`, the boundary that
tests may mock.
"""

import json
import sys
import threading
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Sms:
    to: str  # E.164, e.g. "+33612345678"
    body: str


@dataclass(frozen=True)
class SmsResult:
    provider_id: str
    status: str


# Provider answers that say nothing against the message itself: authentication and quota errors
# are ours to fix, timeouts and conflicts pass. Retried; any other 4xx refuses the message.
RETRYABLE_CLIENT_ERRORS = (401, 403, 408, 409, 429)


def is_permanent_http_error(status: int | None) -> bool:
    return status is not None and 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS


class SmsError(Exception):
    """The provider refused or could not be reached. `permanent` errors must not be retried."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmsBackend(ABC):
    @abstractmethod
    def send(self, sms: Sms) -> SmsResult:
        """Send one SMS; raise SmsError when the provider refuses or cannot be reached."""


class ConsoleSmsBackend(SmsBackend):
    _lock = threading.Lock()

    def send(self, sms: Sms) -> SmsResult:
        with self._lock:
            sys.stdout.write(f"SMS à {sms.to} :\n{sms.body}\n{'-' * 40}\n")
            sys.stdout.flush()
        return SmsResult(provider_id="console", status="sent")


class FileSmsBackend(SmsBackend):
    """Appends each SMS as a JSON line to a file of SMS_FILE_PATH, one file per day."""

    def send(self, sms: Sms) -> SmsResult:
        directory = Path(settings.SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        now = timezone.now()
        with open(directory / f"{now:%Y-%m-%d}.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({**asdict(sms), "at": now.isoformat()}, ensure_ascii=False) + "\n")
        return SmsResult(provider_id="file", status="sent")


class LocmemSmsBackend(SmsBackend):
    """Keeps sent SMS in `outbox`, for tests."""

    outbox: list[Sms] = []

    def send(self, sms: Sms) -> SmsResult:
        self.outbox.append(sms)
        return SmsResult(provider_id=f"locmem-{len(self.outbox)}", status="sent")


class TwilioSmsBackend(SmsBackend):
    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.SMS_TIMEOUT),
        )

    def send(self, sms: Sms) -> SmsResult:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            receipts = {"status_callback": settings.SMS_STATUS_CALLBACK_URL} if settings.SMS_STATUS_CALLBACK_URL else {}
            message = self.client.messages.create(to=sms.to, from_=settings.SMS_SENDER, body=sms.body, **receipts)
        except TwilioRestException as e:
            # 4xx from Twilio (invalid number, blocked recipient…) will fail the same way again.
            raise SmsError(str(e), permanent=is_permanent_http_error(e.status)) from e
        except (TwilioException, requests.RequestException) as e:  # network errors, timeouts
            raise SmsError(str(e) or e.__class__.__name__) from e
        return SmsResult(provider_id=message.sid, status=message.status)


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
