"""The lockout behind a reverse proxy (issue 18, point 2): the client's address is the N-th from
the right of X-Forwarded-For behind TRUSTED_PROXY_COUNT proxies, REMOTE_ADDR without one. The
lock stays per (email, address): a client failing an agent's email five times locks itself out
of that account, not the other people behind the same proxy."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from rdv.proxies import client_ip_address
from reservation.limits import client_ip, ip_key
from tests.agents.factories import AgentFactory
from usagers.models import EmailCode

PROXY = "10.0.0.1"
CLIENT_A = "203.0.113.5"
CLIENT_B = "198.51.100.7"
WRONG_PASSWORD = "mauvais-mot-de-passe"


def request(remote: str = PROXY, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def behind_the_proxy(forwarded: str) -> Client:
    """A browser whose requests reach us through the proxy, which appended its address."""
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def log_in(client: Client, email: str, password: str):
    return client.post(reverse("agents:login"), {"username": email, "password": password})


# ---------------------------------------------------------------------------------------------
# The address read


def test_without_a_trusted_proxy_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip_address(request(CLIENT_A, forwarded=CLIENT_B)) == CLIENT_A


@pytest.mark.parametrize(
    "count, forwarded, expected",
    [
        (1, CLIENT_A, CLIENT_A),
        # Entries the client wrote itself stand left of the one the proxy appended.
        (1, f"1.2.3.4, {CLIENT_A}", CLIENT_A),
        (1, f"{CLIENT_B},{CLIENT_A}", CLIENT_A),
        # Two proxies (a load balancer, then nginx): the second from the right.
        (2, f"1.2.3.4, {CLIENT_A}, 192.0.2.10", CLIENT_A),
        # Ports and brackets as some proxies write them; addresses normalised.
        (1, "203.0.113.5:51234", CLIENT_A),
        (1, "[2001:DB8::1]:443", "2001:db8::1"),
        (1, "2001:db8:0::1", "2001:db8::1"),
    ],
)
def test_behind_trusted_proxies_the_nth_address_from_the_right(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip_address(request(forwarded=forwarded)) == expected


@pytest.mark.parametrize(
    "count, forwarded",
    [
        # Fewer entries than proxies: the header did not come through all of them.
        (2, None),
        (2, ""),
        (2, CLIENT_A),
        # What the proxy wrote is no address.
        (1, "inconnu"),
        (1, f"{CLIENT_A}, unknown"),
    ],
)
def test_a_header_that_gives_no_address_is_not_read(settings, count, forwarded):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip_address(request(forwarded=forwarded)) == PROXY


def test_the_usagers_rate_limits_read_the_same_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    forwarded = request(forwarded=f"1.2.3.4, {CLIENT_A}")
    assert client_ip(forwarded) == CLIENT_A
    assert ip_key(forwarded) == CLIENT_A
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(forwarded) == PROXY


def test_the_code_asked_by_an_usager_records_its_address(settings, db):
    settings.TRUSTED_PROXY_COUNT = 1
    data = {"first_name": "Léa", "last_name": "Martin", "email": "lea.martin@exemple.fr"}
    response = behind_the_proxy(f"1.2.3.4, {CLIENT_A}").post(reverse("reservation:identity"), data)
    assert response.status_code == 302
    assert EmailCode.objects.get().ip == CLIENT_A


# ---------------------------------------------------------------------------------------------
# The lockout


@pytest.fixture
def agent(organisation):
    return AgentFactory(organisation=organisation)


def test_five_failures_lock_client_a_not_client_b_behind_the_same_proxy(settings, agent, password):
    settings.TRUSTED_PROXY_COUNT = 1
    client_a, client_b = behind_the_proxy(CLIENT_A), behind_the_proxy(CLIENT_B)
    statuses = [log_in(client_a, agent.email, WRONG_PASSWORD).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    # A is locked out of that account, even with the right password.
    assert log_in(client_a, agent.email, password).status_code == 429
    # B, behind the same proxy, signs in.
    assert log_in(client_b, agent.email, password).status_code == 302


def test_a_forged_forwarded_entry_does_not_change_the_address(settings, agent, password):
    settings.TRUSTED_PROXY_COUNT = 1
    for index in range(settings.AXES_FAILURE_LIMIT):
        # Each try claims another origin; the proxy appends A's real address after it.
        forged = behind_the_proxy(f"192.0.2.{index}, {CLIENT_A}")
        log_in(forged, agent.email, WRONG_PASSWORD)
    assert log_in(behind_the_proxy(f"192.0.2.99, {CLIENT_A}"), agent.email, password).status_code == 429
    # Claiming to be B does not lock B out either.
    assert log_in(behind_the_proxy(CLIENT_B), agent.email, password).status_code == 302


def test_a_client_cannot_claim_an_address_without_a_trusted_proxy(settings, agent, password):
    settings.TRUSTED_PROXY_COUNT = 0
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(Client(REMOTE_ADDR=CLIENT_A, HTTP_X_FORWARDED_FOR=CLIENT_B), agent.email, WRONG_PASSWORD)
    assert log_in(Client(REMOTE_ADDR=CLIENT_A), agent.email, password).status_code == 429
    assert log_in(Client(REMOTE_ADDR=CLIENT_B), agent.email, password).status_code == 302


def test_the_lock_is_per_email_and_address(settings):
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_CLIENT_IP_CALLABLE == "rdv.proxies.client_ip_address"
