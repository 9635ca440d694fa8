"""An RDV's status as a DSFR badge, for the templates (`{% load rdv_statuses %}`): the rule
`rendezvous.agenda.html` follows for the rows of « Tous les RDVs »."""

from django import template

from rendezvous.agenda import blocks

register = template.Library()


@register.filter(is_safe=True)
def badge_class(status: str) -> str:
    """« fr-badge--success » for « Vu »…, with its leading space: `fr-badge--sm{{ s|badge_class }}`."""
    return blocks.badge_class(status)
