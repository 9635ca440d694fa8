from django.conf import settings

from rdv.navigation import navigation_context


def navigation(request) -> dict:
    return {"SITE_NAME": settings.SITE_NAME, **navigation_context(request)}
