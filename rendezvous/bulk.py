"""« Changer le statut de plusieurs RDV » in « Tous les RDVs »: the agent ticks RDVs (the past ones
still « À renseigner », typically, reached from the side menu's badge) and sets one status.

Only the statuses that say how an RDV went and message nobody: « Vu » and « Absent non excusé »
(`status_change_event` gives nothing to send). « Absent excusé » and « Annulé à l'initiative du
service » would send an annulation, which the RDV's page asks about first (« Prévenir les
usagers ? »): they stay there, one RDV at a time. For the same reason an RDV cancelled today is
left as it is: « Vu » would be a return from a cancellation, owing a confirmation.

Each RDV goes through `change_status`, as a button of its page would: the rule of its times,
the history naming the agent, its own transaction. Only RDVs the agent may change are accepted:
one id it may not see (another organisation's, another service's) refuses the whole form and
changes nothing.
"""

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agents.models import Agent
from agents.permissions import Membership, can_change_rdv
from notifications.services import status_change_event
from rdv.forms import DsfrForm, field_of
from rdv.words import short_date_time
from rendezvous.models import Rdv
from rendezvous.permissions import rdvs_visible_to
from rendezvous.services import change_status

BULK_STATUSES = (Rdv.Status.SEEN, Rdv.Status.NOSHOW)
# A page of « Tous les RDVs » shows 20; a hand-made request gets no more than this at once.
MAX_RDVS = 100


class BulkStatusForm(DsfrForm):
    rdvs = forms.ModelMultipleChoiceField(
        label=_("RDV choisis"),
        queryset=Rdv.objects.none(),
        error_messages={
            "required": _("Cochez au moins un RDV."),
            "invalid_choice": _("Un des RDV cochés n'existe pas ou ne vous est pas accessible : rien n'a été changé."),
            "invalid_pk_value": _("« %(pk)s » n'est pas un RDV."),
        },
    )
    status = forms.ChoiceField(
        label=_("Nouveau statut"),
        choices=[("", _("Choisir un statut")), *((s.value, s.label) for s in BULK_STATUSES)],
        error_messages={
            "required": _("Choisissez un statut."),
            "invalid_choice": _("Ce statut ne peut pas être donné à plusieurs RDV à la fois."),
        },
    )

    def __init__(self, *args, membership: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.membership = membership
        field_of(self, "rdvs", forms.ModelMultipleChoiceField).queryset = rdvs_visible_to(membership).order_by(
            "starts_at", "pk"
        )

    def clean_rdvs(self) -> QuerySet:
        rdvs = self.cleaned_data["rdvs"]
        if len(rdvs) > MAX_RDVS:
            raise ValidationError(_("Cochez au plus %(max)s RDV à la fois.") % {"max": MAX_RDVS})
        if not all(can_change_rdv(self.membership, rdv) for rdv in rdvs):
            raise ValidationError(self.fields["rdvs"].error_messages["invalid_choice"])
        return rdvs


@dataclass
class BulkResult:
    changed: list[Rdv] = field(default_factory=list)
    unchanged: list[tuple[Rdv, str]] = field(default_factory=list)  # with the reason


def set_statuses(*, rdvs: list[Rdv], status: str, by: Agent, now: dt.datetime | None = None) -> BulkResult:
    """Sets `status` (one of BULK_STATUSES) on each RDV that accepts it, through
    `change_status`; says which were left and why."""
    assert status in BULK_STATUSES
    result = BulkResult()
    for rdv in rdvs:
        if rdv.status == status:
            continue
        if status_change_event(rdv.status, status) is not None:
            result.unchanged.append(
                (rdv, str(_("il est annulé : changez son statut depuis sa page, qui propose de prévenir les usagers")))
            )
            continue
        try:
            change_status(rdv=rdv, status=status, by=by, now=now or timezone.now())
        except Rdv.DoesNotExist:
            result.unchanged.append((rdv, str(_("il a été supprimé entre-temps"))))
        except ValidationError as error:
            result.unchanged.append((rdv, " ".join(error.message_dict.get("status", error.messages))))
        else:
            result.changed.append(rdv)
    return result


def described(rdv: Rdv) -> str:
    """« 01/03/2027 à 14h15 », in the organisation's time."""
    return short_date_time(timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo))
