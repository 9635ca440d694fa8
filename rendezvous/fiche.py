"""What an usager's fiche shows of its RDVs (usagers.views): counts by status, each a link to
« Tous les RDVs » filtered the same way, and the next and the last RDVs, a bounded few of each.
Both read the RDVs the membership may see (`Rdv.objects.visible_to`), the set « Tous les RDVs »
filtered on the usager lists: a count never promises a line the list would not show."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rendezvous.models import TO_COME, TO_FILL, Rdv, displayed_status_condition

# The fiche lists this many upcoming and this many past RDVs; the rest is one click away.
LISTED = 10

# The seed's five words (« Comment consulter l'historique des rendez-vous d'un usager ? »), always
# shown, then the statuses it does not name, shown when some RDV has them: together they count
# every RDV once, so the counts add up to « Statuts sur N RDV ».
SEED_STATUSES = [
    (TO_FILL, _("À renseigner")),
    (Rdv.Status.SEEN.value, _("Vu")),
    (TO_COME, _("À venir")),
    (Rdv.Status.EXCUSED.value, _("Excusé")),
    (Rdv.Status.NOSHOW.value, _("Non excusé")),
]
OTHER_STATUSES = [Rdv.Status.WAITING, Rdv.Status.REVOKED]


def _list_url(organisation_id: int, **filters) -> str:
    return reverse("rendezvous:list", kwargs={"organisation_id": organisation_id}, query=filters)


def usager_rdv_counts(usager, membership) -> dict:
    """The fiche's « Rendez-vous » panel: the usager's RDVs that the membership may see counted
    by status, in one aggregate query."""
    organisation = membership.organisation
    now = timezone.now()
    keys = [key for key, _label in SEED_STATUSES] + [status.value for status in OTHER_STATUSES]
    counts = (
        Rdv.objects.visible_to(membership)
        .filter(participations__usager=usager)
        .aggregate(
            total=Count("pk"),
            **{key: Count("pk", filter=displayed_status_condition(key, now)) for key in keys},
        )
    )
    labels = [*SEED_STATUSES, *((status.value, status.label) for status in OTHER_STATUSES)]
    return {
        "total": counts["total"],
        "by_status": [
            {
                "label": label,
                "count": counts[key],
                "url": _list_url(organisation.pk, usager=usager.pk, statut=key),
            }
            for key, label in labels
            if counts[key] or key in dict(SEED_STATUSES)
        ],
        "url": _list_url(organisation.pk, usager=usager.pk),
    }


@dataclass
class RdvLines:
    """Some of the usager's RDVs, in the order to read them, and the full list's link when the
    fiche does not show them all (`more`)."""

    rdvs: list[Rdv]
    more: bool
    url: str


def usager_rdv_lines(usager, membership, now: dt.datetime | None = None) -> tuple[RdvLines, RdvLines]:
    """The fiche's « Prochains rendez-vous » (the next ones first) and « Rendez-vous passés » (the
    latest first): `LISTED` of each at most, with their motif, lieu and agents. Three queries
    whatever the usager's history."""
    now = now or timezone.now()
    organisation = membership.organisation
    rdvs = (
        Rdv.objects.visible_to(membership)
        .filter(participations__usager=usager)
        .select_related("motif__service", "lieu")
    )
    upcoming = list(rdvs.upcoming(now).order_by("starts_at", "pk")[: LISTED + 1])
    past = list(rdvs.past(now).order_by("-starts_at", "-pk")[: LISTED + 1])
    shown = [*upcoming[:LISTED], *past[:LISTED]]
    prefetch_related_objects(shown, "agents")
    for rdv in shown:
        rdv.status_key = rdv.displayed_status_key(now)  # type: ignore[attr-defined]
        rdv.status_label = rdv.display_status(now)  # type: ignore[attr-defined]
    today = timezone.localtime(now, organisation.tzinfo).date().isoformat()
    return (
        RdvLines(upcoming[:LISTED], len(upcoming) > LISTED, _list_url(organisation.pk, usager=usager.pk, du=today)),
        RdvLines(past[:LISTED], len(past) > LISTED, _list_url(organisation.pk, usager=usager.pk, au=today)),
    )
