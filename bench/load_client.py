"""The simulated people of `make loadtest`: one `Visitor` per person (its own cookies and HTTP
connection), the pages each kind of person opens, and the `Recorder` of every answer's time.

Requests go to 127.0.0.1 only, as a reverse proxy would pass them: `X-Forwarded-Proto: https`
(the production settings redirect plain HTTP and send cookies `Secure`), an `Origin` on POSTs
for the CSRF check. Cookies are kept by hand: a browser would not send `Secure` cookies over the
plain HTTP of the loopback."""

import datetime as dt
import http.client
import random
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html import unescape
from http.client import HTTPMessage
from http.cookies import SimpleCookie
from urllib.parse import urlencode

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_INPUT = re.compile(r'name="token" value="([^"]+)"')
CONFIRMATION = re.compile(r"^/rendez-vous/(\d+)/confirmation/$")


def links(html: str, prefix: str) -> list[str]:
    """The distinct links of the page starting with `prefix`, in their order."""
    found = [unescape(href) for href in re.findall(r'href="(' + re.escape(prefix) + r'[^"]*)"', html)]
    return list(dict.fromkeys(found))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Recorder:
    """Every answer: its page, its time, whether it was the expected one. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.statuses: list[tuple[float, str, int]] = []  # (instant, page, status or 0)

    def add(self, page: str, seconds: float, status: int, expected: bool, detail: str = "") -> None:
        with self.lock:
            self.times[page].append(seconds)
            self.statuses.append((time.monotonic(), page, status))
            if not expected:
                self.errors[page].append(detail or f"HTTP {status}")

    def summary(self) -> dict:
        with self.lock:
            pages = {
                page: {
                    "requests": len(values),
                    "p50_ms": round(percentile(values, 0.50) * 1000),
                    "p95_ms": round(percentile(values, 0.95) * 1000),
                    "p99_ms": round(percentile(values, 0.99) * 1000),
                    "errors": len(self.errors[page]),
                }
                for page, values in sorted(self.times.items())
            }
            examples = {page: sorted(set(details))[:3] for page, details in self.errors.items() if details}
        return {"pages": pages, "error_examples": examples}

    def total(self) -> int:
        with self.lock:
            return sum(len(values) for values in self.times.values())

    def error_count(self) -> int:
        with self.lock:
            return sum(len(details) for details in self.errors.values())


@dataclass
class Response:
    status_code: int
    headers: HTTPMessage  # case-insensitive, as a browser reads them
    text: str


@dataclass
class Visitor:
    """One person: its cookies and its own kept-alive connection. `http.client`, not a client
    library: the people run on the two cores of the server they measure, and a library's own
    work per request (about 1.5 ms for `requests`, in Python, under one GIL shared by every
    simulated person) was time added to every answer measured and taken from the server."""

    base: str
    recorder: Recorder
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        host, port = self.base.split("://", 1)[1].rsplit(":", 1)
        self.address = (host, int(port))
        self.origin = f"https://{host}:{port}"
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self, page: str, method: str, path: str, data: dict | None = None, expect: tuple[int, ...] = (200,)
    ) -> Response | None:
        headers = {"X-Forwarded-Proto": "https", "Host": f"{self.address[0]}:{self.address[1]}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if method == "POST":
            headers["Origin"] = self.origin
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(data or {}).encode()
        started = time.perf_counter()
        try:
            response = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            self.recorder.add(page, time.perf_counter() - started, 0, False, type(error).__name__)
            return None
        elapsed = time.perf_counter() - started
        self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
        expected = response.status_code in expect
        self.recorder.add(page, elapsed, response.status_code, expected, f"HTTP {response.status_code} {path[:80]}")
        return response

    def _send(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> Response:
        kept = self.connection is not None
        if self.connection is None:
            self.connection = http.client.HTTPConnection(*self.address, timeout=30)
        try:
            self.connection.request(method, path, body=body, headers=headers)
            answer = self.connection.getresponse()
            text = answer.read().decode("utf-8", "replace")
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
            self.close()
            if not (kept and method == "GET"):
                raise  # counted as an error: a POST is never sent twice, nor a failure hidden
            # The server closed a kept-alive connection between two pages: once more, anew.
            return self._send(method, path, body, headers)
        if answer.will_close:
            self.close()
        return Response(answer.status, answer.msg, text)

    def _keep_cookies(self, set_cookies: list[str]) -> None:
        for header in set_cookies:
            parsed = SimpleCookie()
            parsed.load(header)
            for name, morsel in parsed.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def get(self, page: str, path: str, expect: tuple[int, ...] = (200,)) -> Response | None:
        return self.request(page, "GET", path, expect=expect)

    def post(
        self, page: str, path: str, form_html: str, data: dict, expect: tuple[int, ...] = (302,)
    ) -> Response | None:
        token = CSRF_INPUT.search(form_html)
        return self.request(
            page, "POST", path, {**data, "csrfmiddlewaretoken": token.group(1) if token else ""}, expect
        )


@dataclass
class Bookings:
    """What the usagers' confirmations answered: booked (the RDV's id), or the time was taken."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    booked: list[int] = field(default_factory=list)
    taken: int = 0

    def add(self, response: Response | None) -> None:
        if response is None or response.status_code != 302:
            return
        found = CONFIRMATION.match(response.headers["Location"])
        with self.lock:
            if found:
                self.booked.append(int(found.group(1)))
            else:
                self.taken += 1


# The public flow's steps, each a page: « Prendre rendez-vous » from the service onwards.
STEPS = [
    ("usager : services", "/prendre-rdv/motif/"),
    ("usager : motifs", "/prendre-rdv/lieu/"),
    ("usager : lieux", "/prendre-rdv/creneau/"),
]


def browse_to_creneaux(visitor: Visitor, commune: str, semaine: dt.date | None = None) -> str | None:
    """Service, motif, lieu chosen at random among those offered; returns the créneaux page (of
    the week of `semaine`, when given)."""
    path = f"/prendre-rdv/service/?commune={commune}"
    for page, next_prefix in STEPS:
        response = visitor.get(page, path)
        if response is None:
            return None
        choices = links(response.text, next_prefix)
        if not choices:
            return None
        path = random.choice(choices)
    if semaine is not None:
        path += f"&semaine={semaine.isoformat()}"
    response = visitor.get("usager : créneaux", path)
    return response.text if response is not None else None


def prepare_booking(
    visitor: Visitor, informations_path: str, bookings: Bookings, tag: str = ""
) -> tuple[str, str] | None:
    """« Vos informations » answered for oneself, by email; returns the verify page's path and HTML
    (the form to confirm), or None when the créneau was taken meanwhile (counted in `bookings`:
    each page then sends back to the créneaux, « Ce créneau vient d'être pris »)."""
    response = visitor.get("usager : vos informations" + tag, informations_path, expect=(200, 302))
    if response is None or response.status_code != 200:
        bookings.add(response)
        return None
    response = visitor.post(
        "usager : vos informations (envoi)" + tag,
        informations_path,
        response.text,
        {"for_whom": "moi", "notify_by_email": "on"},
        expect=(302,),
    )
    if response is None or "/prendre-rdv/verification/" not in response.headers.get("Location", ""):
        bookings.add(response)
        return None
    verify_path = response.headers["Location"]
    response = visitor.get("usager : vérification" + tag, verify_path, expect=(200, 302))
    if response is None or response.status_code != 200:
        bookings.add(response)
        return None
    return verify_path, response.text


def confirm(visitor: Visitor, verify_path: str, verify_html: str, page: str) -> Response | None:
    """« Confirmer le rendez-vous »: 302 to the confirmation, or back to the créneaux when taken."""
    token = TOKEN_INPUT.search(verify_html)
    data = {"token": token.group(1) if token else ""}
    if 'name="accept_instructions"' in verify_html:
        data["accept_instructions"] = "on"  # the motif's instructions, read and accepted
    return visitor.post(page, verify_path, verify_html, data, expect=(302,))
