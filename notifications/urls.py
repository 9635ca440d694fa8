from functools import wraps

from anymail import urls as anymail_urls
from anymail.utils import get_anymail_setting
from django.http import Http404
from django.urls import URLPattern, include, path

from notifications.receipts import twilio_status


def _only_with_a_secret(view):
    """django-anymail accepts unauthenticated webhook posts (with a warning) when no
    ANYMAIL_WEBHOOK_SECRET is set: anyone could then mark our emails delivered or not. Without
    a secret the webhooks do not exist."""

    @wraps(view)  # keeps csrf_exempt and login_not_required
    def guarded(request, *args, **kwargs):
        if not get_anymail_setting("webhook_secret", default=""):
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


anymail_patterns = [
    URLPattern(pattern.pattern, _only_with_a_secret(pattern.callback), pattern.default_args, pattern.name)
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern)
]

app_name = "notifications"
urlpatterns = [
    path("notifications/twilio/statut/", twilio_status, name="twilio_status"),
    # The email providers' tracking webhooks (django-anymail), e.g. /anymail/brevo/tracking/.
    path("anymail/", include((anymail_patterns, "anymail"))),
]
