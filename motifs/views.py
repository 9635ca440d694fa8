from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from motifs.forms import MotifFilterForm, MotifForm
from motifs.models import Motif
from organisations.decorators import settings_access_required
from organisations.middleware import OrganisationRequest

MOTIFS_PER_PAGE = 20
UNIQUE_CONSTRAINT = "motif_unique_per_organisation_service_name_type"


def _organisation_motifs(request: OrganisationRequest):
    return Motif.objects.for_organisation(request.organisation)


def _get_motif(request: OrganisationRequest, motif_id) -> Motif:
    """Another organisation's motif is a 404, the same answer as a missing one."""
    return get_object_or_404(_organisation_motifs(request).select_related("service", "category"), pk=motif_id)


def _is_unique_violation(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == UNIQUE_CONSTRAINT


class DsfrPage(Page[Motif]):
    """A page as django-dsfr's pagination template reads it: with `pages_list`, the page numbers
    to link, « … » standing for those left out."""

    def __init__(self, page: Page[Motif]) -> None:
        super().__init__(page.object_list, page.number, page.paginator)
        self.pages_list = list(page.paginator.get_elided_page_range(page.number))


def _save(form: MotifForm) -> Motif | None:
    """Saves, or puts a duplicate created meanwhile by someone else on the name field."""
    try:
        with transaction.atomic():
            return form.save()
    except IntegrityError as error:
        if not _is_unique_violation(error):
            raise
        constraint = next(c for c in Motif._meta.constraints if c.name == UNIQUE_CONSTRAINT)
        form.add_error("category", ValidationError(constraint.get_violation_error_message()))
        return None


@settings_access_required
def motif_list(request: OrganisationRequest, organisation_id):
    filter_form = MotifFilterForm(request.GET)
    motifs = filter_form.filter(_organisation_motifs(request)).select_related("service")
    motifs = motifs.order_by("name", "service__name", "location_type", "pk")
    page_obj = DsfrPage(Paginator(motifs, MOTIFS_PER_PAGE).get_page(request.GET.get("page")))
    filtered = any(request.GET.get(name) for name in ("service", "online")) or request.GET.get("status") not in (
        None,
        "",
        MotifFilterForm.ACTIVE,
    )
    return render(
        request,
        "motifs/motif_list.html",
        {"filter_form": filter_form, "page_obj": page_obj, "filtered": filtered},
        status=422 if filter_form.errors else 200,
    )


@settings_access_required
def motif_create(request: OrganisationRequest, organisation_id):
    form = MotifForm(request.POST or None, organisation=request.organisation)
    if request.method == "POST":
        if form.is_valid() and (motif := _save(form)):
            messages.success(request, _("Le motif « %(name)s » a été créé.") % {"name": motif.name})
            return redirect("motifs:list", organisation_id=request.organisation.pk)
        status = 422
    else:
        status = 200
    context = {"form": form, "motif": None, "title": _("Créer un motif"), "submit_label": _("Créer")}
    return render(request, "motifs/motif_form.html", context, status=status)


@settings_access_required
def motif_edit(request: OrganisationRequest, organisation_id, motif_id):
    motif = _get_motif(request, motif_id)
    form = MotifForm(request.POST or None, instance=motif, organisation=request.organisation)
    if request.method == "POST":
        if form.is_valid() and _save(form):
            messages.success(request, _("Le motif « %(name)s » a été modifié.") % {"name": motif.name})
            return redirect("motifs:list", organisation_id=request.organisation.pk)
        status = 422
        # The page shows the motif as stored, not the refused input.
        motif.refresh_from_db()
    else:
        status = 200
    context = {
        "form": form,
        "motif": motif,
        "title": _("Modifier le motif « %(name)s »") % {"name": motif.name},
        "submit_label": _("Modifier"),
    }
    return render(request, "motifs/motif_form.html", context, status=status)


@settings_access_required
def motif_archive(request: OrganisationRequest, organisation_id, motif_id):
    """Archive rather than delete: RDVs and plages d'ouverture keep their motif, which is no
    longer offered for new ones."""
    motif = _get_motif(request, motif_id)
    if motif.is_archived:
        messages.info(request, _("Ce motif est déjà archivé."))
        return redirect("motifs:edit", organisation_id=request.organisation.pk, motif_id=motif.pk)
    if request.method == "POST":
        motif.archive()
        messages.success(request, _("Le motif « %(name)s » a été archivé.") % {"name": motif.name})
        return redirect("motifs:list", organisation_id=request.organisation.pk)
    return render(
        request,
        "motifs/motif_confirm.html",
        {
            "motif": motif,
            "title": _("Archiver ce motif ?"),
            "explanation": _(
                "Le motif ne sera plus proposé pour de nouveaux RDV ni à la prise de RDV en ligne. "
                "Les RDV existants le conservent. Vous pourrez le désarchiver à tout moment."
            ),
            "submit_label": _("Archiver"),
            "error": "",
        },
    )


@settings_access_required
def motif_unarchive(request: OrganisationRequest, organisation_id, motif_id):
    motif = _get_motif(request, motif_id)
    if not motif.is_archived:
        messages.info(request, _("Ce motif n'est pas archivé."))
        return redirect("motifs:edit", organisation_id=request.organisation.pk, motif_id=motif.pk)
    error, status = "", 200
    if request.method == "POST":
        if not motif.conflicting_active_motifs().exists():
            try:
                with transaction.atomic():
                    motif.unarchive()
            except IntegrityError as integrity_error:
                if not _is_unique_violation(integrity_error):
                    raise
            else:
                messages.success(request, _("Le motif « %(name)s » a été désarchivé.") % {"name": motif.name})
                return redirect("motifs:list", organisation_id=request.organisation.pk)
            motif.refresh_from_db(fields=["archived_at"])
        error = _(
            "Un motif actif porte déjà ce nom pour ce service et ce type de RDV : archivez-le ou modifiez-le "
            "avant de désarchiver celui-ci."
        )
        status = 422
    return render(
        request,
        "motifs/motif_confirm.html",
        {
            "motif": motif,
            "title": _("Désarchiver ce motif ?"),
            "explanation": _("Le motif sera de nouveau proposé pour de nouveaux RDV."),
            "submit_label": _("Désarchiver"),
            "error": error,
        },
        status=status,
    )
