"""The RDVs an usager may see online: its own and its proches' (never another family's), and one
RDV as a calendar file."""

from notifications import ics
from rendezvous.models import Participation, Rdv, RdvQuerySet
from usagers.models import Usager


def family_rdvs(usager: Usager) -> RdvQuerySet:
    family = Usager.objects.filter(pk=usager.pk) | Usager.objects.filter(responsible=usager)
    return Rdv.objects.filter(pk__in=Participation.objects.filter(usager__in=family).values("rdv_id"))


def ics_for(rdv: Rdv, *, home_address: str = "") -> bytes:
    """The RDV as a file for the usager's phone calendar: the event its emails carry
    (notifications.ics, same UID and summary without the motif), as a file to import."""
    return ics.invitation(
        rdv,
        method=ics.Method.PUBLISH,
        sequence=ics.current_sequence(rdv),
        attendee_email=None,
        with_usager_names=True,
        link=None,
        home_address=home_address,
    )
