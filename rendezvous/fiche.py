"""What an usager's fiche shows of its RDVs (usagers.views): counts by status, each a link to
« Tous les RDVs » filtered the same way."""

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from rendezvous.models import TO_COME, TO_FILL, Rdv, displayed_status_condition


def usager_rdv_counts(usager, membership) -> dict:
    """The fiche's « Rendez-vous » panel: the usager's RDVs that the membership may see (the same
    set as « Tous les RDVs » filtered on the usager) counted by status, in one aggregate query."""
    organisation = membership.organisation
    now = timezone.now()

    def reading(displayed: str) -> Count:
        return Count("pk", filter=displayed_status_condition(displayed, now))

    counts = (
        Rdv.objects.visible_to(membership)
        .filter(participations__usager=usager)
        .aggregate(
            total=Count("pk"),
            a_renseigner=reading(TO_FILL),
            vu=reading(Rdv.Status.SEEN),
            a_venir=reading(TO_COME),
            excuse=reading(Rdv.Status.EXCUSED),
            non_excuse=reading(Rdv.Status.NOSHOW),
        )
    )
    list_url = reverse("rendezvous:list", kwargs={"organisation_id": organisation.pk})
    statuses = [
        ("a_renseigner", _("À renseigner"), "a_renseigner"),
        ("vu", _("Vu"), Rdv.Status.SEEN),
        ("a_venir", _("À venir"), "a_venir"),
        ("excuse", _("Excusé"), Rdv.Status.EXCUSED),
        ("non_excuse", _("Non excusé"), Rdv.Status.NOSHOW),
    ]
    return {
        "total": counts["total"],
        "by_status": [
            {
                "label": label,
                "count": counts[key],
                "url": f"{list_url}?{urlencode({'usager': usager.pk, 'statut': statut})}",
            }
            for key, label, statut in statuses
        ],
        "url": f"{list_url}?{urlencode({'usager': usager.pk})}",
    }
