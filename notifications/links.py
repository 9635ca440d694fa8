"""The short link every message about an RDV carries to the usager's page of that RDV
(reservation.link_views: the first three letters of the last name, then the RDV, « Annuler »,
« Déplacer »). Built from the participation's unguessable token and the site's public address."""

from django.conf import settings
from django.urls import reverse


def usager_link(token: str) -> str:
    """« https://rdv-solidarites.example/r/AbCdEf123456 »."""
    return settings.SITE_URL + reverse("reservation:rdv_link", kwargs={"token": token})
