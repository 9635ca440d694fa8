"""The RDV pages: « Tous les RDVs », an RDV's summary with its statuses and history, « modifier »,
the status buttons and « supprimer ».

Every RDV is fetched through `rendezvous.permissions.access_rdv`: any RDV the membership may not see
(or, to change it, change) answers 404, another organisation's included."""

from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from agents.permissions import can_change_rdv
from notifications.presentation import announcement, grace_notice, reasons_not_sent, status_change_preview
from organisations.middleware import OrganisationRequest
from rdv.redirects import local_url
from rendezvous.agenda.html import list_rows_html
from rendezvous.agenda.queries import people_of
from rendezvous.bulk import BULK_STATUSES
from rendezvous.forms import RdvFilterForm, RdvForm
from rendezvous.history import rdv_history
from rendezvous.listing import ListRow, ListWords
from rendezvous.models import Rdv
from rendezvous.permissions import access_rdv, rdvs_listed
from rendezvous.services import ConflictsChanged, change_status, delete_rdv, update_rdv
from rendezvous.views.common import with_params
from rendezvous.views.rdv_page import (
    ORIGIN,
    agenda_agent_of,
    agenda_week_url,
    duplicate_url,
    origin_url,
    team_day_url,
    usager_panels,
    with_origin,
)
from rendezvous.views.usagers_step import UsagersStep, usagers_step

PER_PAGE = 20
# The session's record of the last status change the agent may take back (« Annuler » in its
# confirmation, templates/includes/messages.html), and the tag of that confirmation.
UNDO_KEY = "status_undo"


def _status_buttons(rdv: Rdv) -> list[dict]:
    return [{"value": value, "label": label, "current": value == rdv.status} for value, label in Rdv.Status.choices]


@require_GET
def rdv_list(request: OrganisationRequest, organisation_id):
    """« Tous les RDVs »: filters, one page of RDVs; a bounded number of queries."""
    membership = request.membership
    now = timezone.now()
    form = RdvFilterForm(request.GET or None, membership=membership)
    rdvs, today = form.listed(rdvs_listed(membership, form.visible_agent_ids), now, request.organisation.tzinfo)
    page = Paginator(rdvs, PER_PAGE).get_page(request.GET.get("page"))
    query = {key: str(value) for key, value in request.GET.items() if key != "page" and value}
    period = form.period()
    # « Aujourd'hui » marks the first RDV from today on: the first row in the nearest-first order
    # of « À venir », the last such row in the latest-first order of the others.
    from_today = [rdv.pk for rdv in page if rdv.starts_at >= today]
    today_pk = (from_today[:1] if period == form.UPCOMING else from_today[-1:]) or [None]
    periods = [
        (
            key,
            label,
            with_params(request.path, [*[(k, v) for k, v in query.items() if k != "periode"], ("periode", key)]),
        )
        for key, label in form.PERIODS.items()
    ]
    usager = None
    if form.is_bound and form.is_valid() and form.cleaned_data.get("usager"):
        from usagers.permissions import usagers_visible_to

        usager = usagers_visible_to(membership).filter(pk=form.cleaned_data["usager"]).first()
    agent_rows, usager_names = people_of([rdv.pk for rdv in page])
    words = ListWords.of(request.organisation.pk)
    rows = [
        ListRow.of(
            rdv,
            now,
            words,
            is_today=rdv.pk == today_pk[0],
            agents=[f"{first} {last}".strip() for _pk, first, last in agent_rows[rdv.pk]],
            usagers=usager_names[rdv.pk],
        )
        for rdv in page
    ]
    list_url = request.get_full_path()
    return render(
        request,
        "rendezvous/list.html",
        {
            "form": form,
            "page_obj": page,
            "rows": rows,
            "rows_html": list_rows_html(rows, words, csrf_token=get_token(request), list_url=list_url),
            "query": urlencode(query) + "&" if query else "",
            "bulk_statuses": [(status.value, status.label) for status in BULK_STATUSES],
            "filtered_usager": usager,
            "list_url": list_url,
            "period": period,
            "periods": periods,
            "today_pk": today_pk[0],
        },
        # A filter refused (its French error on the field), as the other lists answer it.
        status=422 if form.errors else 200,
    )


def _detail_context(request: OrganisationRequest, rdv: Rdv, **extra) -> dict:
    now = timezone.now()
    show_history = request.GET.get("historique") == "1"
    participations = list(rdv.participations.all())
    agents = list(rdv.agents.all())
    detail_path = reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})
    origin = origin_url(request, detail_path)
    return {
        "rdv": rdv,
        "origin": origin,
        "page_url": with_origin(detail_path, origin),
        # Absolute: the page is also the answer of its status buttons' POST (/statut/).
        "history_url": with_params(detail_path, [("historique", "1"), (ORIGIN, origin)]) + "#historique",
        "delete_url": reverse(
            "rendezvous:delete",
            kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk},
            query={"next": origin} if origin else None,
        ),
        "update_url": with_origin(
            reverse("rendezvous:update", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk}), origin
        ),
        "agenda_url": team_day_url(rdv, origin)
        or agenda_week_url(rdv, agenda_agent_of(request.membership, agents), highlight=True),
        "duplicate_url": duplicate_url(rdv, agents, participations),
        "usager_panels": usager_panels(request.membership, rdv, participations),
        "display_status": rdv.display_status(now),
        "status_buttons": _status_buttons(rdv),
        "can_change": can_change_rdv(request.membership, rdv),
        "participations": participations,
        "agents": agents,
        "notifications": list(rdv.notifications.select_related("usager", "agent").order_by("-created_at", "-pk")),
        "reasons_not_sent": reasons_not_sent(rdv, participations, now),
        "show_history": show_history,
        "history": rdv_history(rdv) if show_history else [],
        "status_error": "",
        "status_question": None,
        **extra,
    }


@require_GET
def rdv_detail(request: OrganisationRequest, organisation_id, pk):
    rdv = access_rdv(request.membership, pk)
    return render(request, "rendezvous/detail.html", _detail_context(request, rdv))


@require_POST
def rdv_status(request: OrganisationRequest, organisation_id, pk):
    """One POST per status button; a refused transition answers 422 with the reason. Where to go
    next (the page of the button, or the RDV's) is settled before the change is written.

    A status that would message the usagers (« Absent excusé », « Annulé à l'initiative du
    service », back from them) is not applied at once: the page asks « Prévenir les usagers ? »,
    listing what would be sent to whom, ticked by default; the agent confirms (`confirme`),
    ticked or not (`prevenir`). The others apply in one click. After a change that messages
    someone, the confirmation offers « Annuler » (the former status back, `annulation`) while
    the messages wait their grace period."""
    rdv = access_rdv(request.membership, pk, to_change=True)
    next_url = local_url(request, request.POST.get("next") or request.GET.get("next")) or reverse(
        "rendezvous:detail", kwargs={"organisation_id": organisation_id, "pk": rdv.pk}
    )
    new_status = request.POST.get("status", "")
    if new_status not in Rdv.Status.values:
        reason = _("Ce statut n'existe pas.")
        return render(request, "rendezvous/detail.html", _detail_context(request, rdv, status_error=reason), status=422)
    confirmed = request.POST.get("confirme") == "1"
    if not confirmed and new_status != rdv.status:
        previews = status_change_preview(rdv, new_status, list(rdv.participations.all()))
        if previews and rdv.status_refusal(new_status, timezone.now()) is None:
            asked = {"status": new_status, "label": Rdv.Status(new_status).label, "previews": previews}
            return render(request, "rendezvous/detail.html", _detail_context(request, rdv, status_question=asked))
    notify_usagers = not confirmed or request.POST.get("prevenir") == "on"
    old_status = rdv.status
    since = timezone.now()
    try:
        change_status(rdv=rdv, status=new_status, by=request.membership.agent, notify_usagers=notify_usagers)
    except Rdv.DoesNotExist:  # deleted by someone else meanwhile
        raise Http404 from None
    except ValidationError as error:
        reason = " ".join(error.message_dict.get("status", error.messages))
        return render(request, "rendezvous/detail.html", _detail_context(request, rdv, status_error=reason), status=422)
    # The words of the button the agent pressed (« Indéterminé »), not the list's (« À venir »).
    done = _("Le statut du RDV est maintenant « %(status)s ».") % {"status": rdv.get_status_display()}
    said = announcement(rdv, since)
    if said and old_status != rdv.status and request.POST.get("annulation") != "1":
        request.session[UNDO_KEY] = {
            "url": request.path,
            "status": old_status,
            "label": str(Rdv.Status(old_status).label),
            "next": next_url,
        }
        messages.success(request, f"{done} {said} {grace_notice()}".strip(), extra_tags=UNDO_KEY)
    else:
        messages.success(request, f"{done} {said}".strip())
    return HttpResponseRedirect(next_url)


@require_http_methods(["GET", "POST"])
def rdv_update(request: OrganisationRequest, organisation_id, pk):
    """« modifier »: the conflict check runs again on every POST, the confirmation included, and
    once more under a lock when saving (update_rdv)."""
    rdv = access_rdv(request.membership, pk, to_change=True)
    membership = request.membership
    organisation = membership.organisation
    if request.method == "GET":
        current = QueryDict(mutable=True)
        current.setlist("usagers", [str(participation.usager_id) for participation in rdv.participations.all()])
        usagers = usagers_step(membership, current)
        form = RdvForm(rdv=rdv, membership=membership)
        status = 200
    else:
        usagers = usagers_step(membership, request.POST)
        usagers.can_create = False
        if usagers.picking:
            # « ajouter », « retirer », « Rechercher »: the form as the agent left it, not checked yet.
            form = RdvForm(rdv=rdv, membership=membership)
            form.initial = _posted_values(form, cast(QueryDict, usagers.form.data))
            return _render_update(request, rdv, form, usagers, status=200)
        form = RdvForm(usagers.form.data, rdv=rdv, membership=membership)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            since = timezone.now()
            try:
                concerns_usagers = update_rdv(
                    rdv=rdv,
                    starts_at=data["starts_at"],
                    duration_in_min=data["duration_in_min"],
                    lieu=data["lieu"],
                    agents=data["agents"],
                    usagers=data["usagers"],
                    address=data["address"],
                    notes=data["notes"],
                    by=membership.agent,
                    accepted_conflicts=form.current_signature,
                    notify_usagers=data.get("notify_usagers", False),
                )
            except ConflictsChanged as changed:
                form.conflicts_changed(changed.conflicts)
            except Rdv.DoesNotExist:  # deleted by someone else meanwhile
                raise Http404 from None
            else:
                said = announcement(rdv, since) if data.get("notify_usagers") else ""
                messages.success(request, f"{_('Le RDV a été modifié.')} {said}".strip())
                if concerns_usagers and not said:
                    messages.warning(
                        request,
                        _("La modification n'a pas été notifiée aux usagers : pensez à les avertir."),
                    )
                detail_path = reverse("rendezvous:detail", kwargs={"organisation_id": organisation.pk, "pk": rdv.pk})
                return HttpResponseRedirect(with_origin(detail_path, _update_origin(request, detail_path)))
        if "usagers" in form.errors and "usagers" not in usagers.form.errors:
            for error in form.errors["usagers"]:
                usagers.form.add_error("usagers", error)
    usagers.can_create = False
    return _render_update(request, rdv, form, usagers, status=status)


def _update_origin(request: OrganisationRequest, detail_path: str) -> str:
    """The page the agent came to the RDV from, carried by « modifier » (`retour`) to the RDV
    page it goes back to."""
    origin = local_url(request, request.POST.get(ORIGIN) or request.GET.get(ORIGIN))
    return "" if origin.split("?")[0].startswith(detail_path) else origin


def _render_update(request: OrganisationRequest, rdv: Rdv, form: RdvForm, usagers: UsagersStep, *, status: int):
    detail_path = reverse("rendezvous:detail", kwargs={"organisation_id": rdv.organisation_id, "pk": rdv.pk})
    origin = _update_origin(request, detail_path)
    context = {
        "rdv": rdv,
        "form": form,
        "usagers": usagers,
        "organisation": request.membership.organisation,
        "origin": origin,
        "detail_url": with_origin(detail_path, origin),
    }
    return render(request, "rendezvous/form.html", context, status=status)


def _posted_values(form, data: QueryDict) -> dict:
    """The values posted for `form`'s fields, as initial values: shown as typed, not validated."""
    return {
        name: data.getlist(name) if isinstance(field, forms.ModelMultipleChoiceField) else data.get(name)
        for name, field in form.fields.items()
        if name in data
    }


@require_http_methods(["GET", "POST"])
def rdv_delete(request: OrganisationRequest, organisation_id, pk):
    """« supprimer », then back where the agent came to the RDV from (`next`: « Tous les RDVs »
    as it was filtered, an usager's fiche, an agenda), else to the agenda on the RDV's week.
    `next` is read before the delete: a bad one changes where the agent lands, not what is done."""
    rdv = access_rdv(request.membership, pk, to_change=True)
    next_url = local_url(request, request.POST.get("next") or request.GET.get("next"))
    detail_path = reverse("rendezvous:detail", kwargs={"organisation_id": organisation_id, "pk": rdv.pk})
    if next_url.split("?")[0].startswith(detail_path):
        next_url = ""
    if request.method == "POST":
        back = next_url or agenda_week_url(
            rdv, agenda_agent_of(request.membership, list(rdv.agents.all())), highlight=False
        )
        delete_rdv(rdv=rdv, by=request.membership.agent)
        messages.success(request, _("Le RDV a été supprimé."))
        return HttpResponseRedirect(back)
    context = {"rdv": rdv, "next_url": next_url, "cancel_url": with_origin(detail_path, next_url)}
    return render(request, "rendezvous/confirm_delete.html", context)
