"""Demo usager with an online account: Inès Garrigue of Noisiel and her son Lou, an RDV she booked
online next week. She signs in at « Mes rendez-vous » with her email: the code is printed by the
Celery worker (emails go to the console in development)."""

import datetime as dt

from django.utils import timezone

from motifs.models import Motif
from notifications.models import Notification
from planning.creneaux import available_slots
from rendezvous.models import Rdv
from rendezvous.online import book
from usagers.models import Usager, UsagerAccount
from usagers.services import make_known_to

EMAIL = "ines.garrigue@demo.rdv-solidarites.fr"
BOOKING_TOKEN = "demo-ines-garrigue"


def build(ctx: dict) -> None:
    organisation = ctx["organisations"]["noisiel"]
    ines, _ = Usager.objects.get_or_create(
        email=EMAIL,
        responsible=None,
        defaults={
            "first_name": "Inès",
            "last_name": "Garrigue",
            "phone": "+33612345678",
            "address": "12 Grande Allée des Bois, 77186 Noisiel",
            "created_by": Usager.CreatedBy.USAGER,
        },
    )
    lou, _ = Usager.objects.get_or_create(
        responsible=ines,
        first_name="Lou",
        defaults={"last_name": "Garrigue", "birth_date": dt.date(2025, 9, 14), "created_by": Usager.CreatedBy.USAGER},
    )
    UsagerAccount.objects.get_or_create(usager=ines, defaults={"email": EMAIL})
    for member in (ines, lou):
        make_known_to(usager=member, organisation=organisation)
    if not Rdv.objects.filter(booking_token=BOOKING_TOKEN).exists():
        _book_next_week(organisation, lou)
    ctx["logins"].append(
        (
            EMAIL,
            "usagère avec un compte (et son fils Lou) : « Mes rendez-vous » → son e-mail → le code "
            "s'affiche dans la console du worker Celery",
        )
    )


def _book_next_week(organisation, usager: Usager) -> None:
    motif = (
        Motif.objects.active()
        .bookable_online()
        .filter(organisation=organisation, name="Consultation de puériculture")
        .select_related("organisation__territory")
        .first()
    )
    if motif is None:
        return
    start = timezone.now() + dt.timedelta(days=7)
    for slot in available_slots(motif=motif, start=start, end=start + dt.timedelta(days=14), online=True):
        lieu = motif.organisation.lieux.get(pk=slot.lieu_id) if slot.lieu_id else None
        rdv = book(motif=motif, start=slot.start, lieu=lieu, usagers=[usager], booking_token=BOOKING_TOKEN)
        # Its confirmation went out when she booked: nothing left for `make run` to send.
        Notification.objects.filter(rdv=rdv, status=Notification.Status.PENDING).update(
            status=Notification.Status.SENT, attempts=1, sent_at=timezone.now()
        )
        return
