from django.utils import timezone
from django.utils.translation import gettext as _

from planning.models import PlageOuverture


def current_plages(*, agent, organisation) -> list[str]:
    """An agent leaving an organisation must not leave plages d'ouverture behind: online booking
    would keep offering slots of someone who no longer works there."""
    today = timezone.localdate(timezone=organisation.tzinfo)
    plages = (
        PlageOuverture.objects.for_organisation(organisation).for_agent(agent).current(today).select_related("lieu")
    )
    return [
        _("Plage d'ouverture « %(title)s »%(lieu)s : à supprimer ou à terminer avant de retirer l'agent.")
        % {"title": plage.title, "lieu": f" ({plage.lieu.name})" if plage.lieu else ""}
        for plage in plages.order_by("first_day")
    ]
