"""What several notification tests share: the email provider's HTTP API, answered at its client."""

import json
from unittest import mock

import requests


def brevo_answer(status: int, payload: dict):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    response.headers["Content-Type"] = "application/json"
    return mock.patch("requests.Session.request", return_value=response)
