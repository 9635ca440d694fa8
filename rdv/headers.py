"""The headers every answer carries besides the Content-Security-Policy (django-csp, settings):
a Permissions-Policy that gives no page the camera, the microphone, the location or payments, and
`Cache-Control: no-store` on every page Django renders.

No-store everywhere, not page by page: agents and usagers use shared computers in public
buildings (a PMI's waiting room, a library), and a page kept in the browser's cache or history
shows a family's data to the next person; a page forgotten in a list would be the leak. The
public pages without personal data lose little by it (they are light and answer in
milliseconds). Static files (WhiteNoise, before this middleware) keep their long cache."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
)


class PrivacyHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response
