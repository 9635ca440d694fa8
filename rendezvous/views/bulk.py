"""« Changer le statut » of the RDVs ticked in « Tous les RDVs » (rendezvous/bulk.py): a POST of
the list's form, back to the list with what was done; a form that cannot be applied (nothing
ticked, no status, an RDV the agent may not change) answers 422 and changes nothing."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from organisations.middleware import OrganisationRequest
from rdv.redirects import local_url
from rendezvous.bulk import BulkStatusForm, described, set_statuses
from rendezvous.models import Rdv


@require_POST
def rdv_bulk_status(request: OrganisationRequest, organisation_id):
    membership = request.membership
    back = local_url(request, request.POST.get("next")) or reverse(
        "rendezvous:list", kwargs={"organisation_id": organisation_id}
    )
    form = BulkStatusForm(request.POST, membership=membership)
    if not form.is_valid():
        return render(request, "rendezvous/bulk_status.html", {"form": form, "back": back}, status=422)
    status = form.cleaned_data["status"]
    label = Rdv.Status(status).label
    result = set_statuses(rdvs=list(form.cleaned_data["rdvs"]), status=status, by=membership.agent)
    if result.changed:
        count = len(result.changed)
        messages.success(
            request,
            ngettext(
                "%(count)s RDV est maintenant « %(status)s ».",
                "%(count)s RDV sont maintenant « %(status)s ».",
                count,
            )
            % {"count": count, "status": label},
        )
    if result.unchanged:
        reasons = " ; ".join(f"{described(rdv)} : {reason}" for rdv, reason in result.unchanged)
        messages.warning(
            request,
            ngettext(
                "Un RDV n'a pas été changé (%(reasons)s).",
                "Des RDV n'ont pas été changés (%(reasons)s).",
                len(result.unchanged),
            )
            % {"reasons": reasons},
        )
    if not result.changed and not result.unchanged:
        messages.info(request, _("Les RDV cochés étaient déjà « %(status)s ».") % {"status": label})
    return HttpResponseRedirect(back)
