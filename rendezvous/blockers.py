from django.utils import timezone
from django.utils.translation import gettext as _

from rdv import words
from rendezvous.models import Rdv


def future_rdvs(*, agent, organisation) -> list[str]:
    """An RDV never points at nobody: an agent with future RDVs in the organisation stays until
    they are given to another agent or cancelled."""
    rdvs = (
        Rdv.objects.for_organisation(organisation)
        .filter(agents=agent)
        .holding_time()
        .upcoming(timezone.now())
        .select_related("motif")
        .order_by("starts_at")
    )
    return [
        _("RDV « %(motif)s » du %(date)s : à confier à un autre agent ou à annuler avant de retirer l'agent.")
        % {
            "motif": rdv.motif.name,
            "date": words.short_date_time(timezone.localtime(rdv.starts_at, organisation.tzinfo)),
        }
        for rdv in rdvs
    ]
