from functools import wraps

from django.http import Http404

from agents.permissions import can_manage_settings


def settings_access_required(view_func):
    """Settings pages answer 404 to non-admins: they learn nothing of what exists."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        if request.membership is None or not can_manage_settings(request.membership):
            raise Http404("Page réservée aux administrateurs de l'organisation.")
        return view_func(request, *args, **kwargs)

    return wrapper
