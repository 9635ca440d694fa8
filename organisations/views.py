from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from agents.models import Agent, AgentInvitation, AgentRole
from organisations.decorators import settings_access_required
from organisations.forms import LIEU_NAME_TAKEN, LieuForm, OrganisationForm, active_lieu_named
from organisations.middleware import AgentRequest, OrganisationRequest
from organisations.models import Lieu, Organisation, Service, opening_hours_lines


def choose(request: AgentRequest) -> HttpResponse:
    """After login: straight into the agent's organisation, or a choice when it has several or
    when an invitation to another one awaits its answer."""
    organisations = list(Organisation.objects.for_agent(request.user).select_related("territory").order_by("name"))
    invitations = list(
        AgentInvitation.objects.pending()
        .for_email(request.user.email)
        .filter(expires_at__gt=timezone.now())
        .select_related("organisation", "service")
        .order_by("organisation__name")
    )
    if len(organisations) == 1 and not invitations:
        return redirect("organisations:home", organisation_id=organisations[0].pk)
    return render(request, "organisations/choose.html", {"organisations": organisations, "invitations": invitations})


def home(request: OrganisationRequest, organisation_id):
    """The organisation at a glance: its contacts and hours, its lieux, who works in which service."""
    organisation = request.organisation
    roles = (
        AgentRole.objects.filter(organisation=organisation, agent__is_active=True)
        .select_related("agent")
        .prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
        .order_by("agent__last_name", "agent__first_name")
    )
    teams: dict[str, list[tuple[Agent, AgentRole]]] = {}
    for role in roles:
        for service in role.services.all() or [None]:
            teams.setdefault(service.name if service else _("Sans service"), []).append((role.agent, role))
    return render(
        request,
        "organisations/home.html",
        {
            "organisation": organisation,
            "membership": request.membership,
            "opening_hours": opening_hours_lines(organisation.opening_hours),
            "lieux": Lieu.objects.for_organisation(organisation).active(),
            "teams": sorted(teams.items()),
        },
    )


@settings_access_required
def edit_settings(request: OrganisationRequest, organisation_id):
    organisation = request.organisation
    form = OrganisationForm(request.POST or None, instance=organisation)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, _("Les informations de l'organisation ont été enregistrées."))
            return redirect("organisations:settings", organisation_id=organisation.pk)
        status = 422
    else:
        status = 200
    return render(request, "organisations/settings.html", {"form": form}, status=status)


LIEU_NAME_CONSTRAINT = "lieu_name_unique_among_active"


def _is_lieu_name_conflict(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == LIEU_NAME_CONSTRAINT


def _redirect_to_lieux(request: OrganisationRequest):
    return redirect("organisations:lieux", organisation_id=request.organisation.pk)


@settings_access_required
def lieux(request: OrganisationRequest, organisation_id):
    """« Vos lieux »: the active lieux, then the archived ones, in one query."""
    lieux = list(Lieu.objects.for_organisation(request.organisation).by_name())
    return render(
        request,
        "organisations/lieux.html",
        {
            "active_lieux": [lieu for lieu in lieux if lieu.is_active],
            "archived_lieux": [lieu for lieu in lieux if not lieu.is_active],
        },
    )


def _save_lieu_form(form: LieuForm) -> bool:
    """Save a valid form. When two admins create the same name at once the database decides and
    the loser sees the error on the name field."""
    if not form.is_valid():
        return False
    try:
        with transaction.atomic():
            form.save()
    except IntegrityError as error:
        if not _is_lieu_name_conflict(error):
            raise
        form.add_error("name", LIEU_NAME_TAKEN)
        return False
    return True


@settings_access_required
@require_http_methods(["GET", "POST"])
def lieu_create(request: OrganisationRequest, organisation_id):
    form = LieuForm(request.POST or None, organisation=request.organisation)
    status = 200
    if request.method == "POST":
        if _save_lieu_form(form):
            messages.success(request, _("Le lieu « %(name)s » a été créé.") % {"name": form.instance.name})
            return _redirect_to_lieux(request)
        status = 422
    return render(request, "organisations/lieu_form.html", {"form": form, "lieu": None, "title": ""}, status=status)


@settings_access_required
@require_http_methods(["GET", "POST"])
def lieu_edit(request: OrganisationRequest, organisation_id, pk):
    lieu = get_object_or_404(Lieu.objects.for_organisation(request.organisation), pk=pk)
    title = lieu.name  # as saved: validating the form writes the submitted name on the instance
    form = LieuForm(request.POST or None, instance=lieu, organisation=request.organisation)
    status = 200
    if request.method == "POST":
        if _save_lieu_form(form):
            messages.success(request, _("Le lieu « %(name)s » a été modifié.") % {"name": lieu.name})
            return _redirect_to_lieux(request)
        status = 422
    return render(request, "organisations/lieu_form.html", {"form": form, "lieu": lieu, "title": title}, status=status)


@settings_access_required
@require_http_methods(["GET", "POST"])
def lieu_archive(request: OrganisationRequest, organisation_id, pk):
    """A lieu is archived, never deleted: the plages and RDVs that name it keep it."""
    lieu = get_object_or_404(Lieu.objects.for_organisation(request.organisation), pk=pk)
    if not lieu.is_active:
        messages.info(request, _("Le lieu « %(name)s » est déjà archivé.") % {"name": lieu.name})
        return _redirect_to_lieux(request)
    if request.method == "POST":
        lieu.is_active = False
        lieu.save(update_fields=["is_active"])
        messages.success(request, _("Le lieu « %(name)s » a été archivé.") % {"name": lieu.name})
        return _redirect_to_lieux(request)
    return render(request, "organisations/lieu_confirm.html", {"lieu": lieu, "action": "archive", "error": ""})


def _reactivate(lieu: Lieu, organisation: Organisation) -> bool:
    """Reactivate unless an active lieu took the name meanwhile."""
    if active_lieu_named(organisation, lieu.name):
        return False
    try:
        with transaction.atomic():
            lieu.is_active = True
            lieu.save(update_fields=["is_active"])
    except IntegrityError as error:
        lieu.is_active = False
        if not _is_lieu_name_conflict(error):
            raise
        return False
    return True


@settings_access_required
@require_http_methods(["GET", "POST"])
def lieu_reactivate(request: OrganisationRequest, organisation_id, pk):
    lieu = get_object_or_404(Lieu.objects.for_organisation(request.organisation), pk=pk)
    if lieu.is_active:
        messages.info(request, _("Le lieu « %(name)s » est déjà actif.") % {"name": lieu.name})
        return _redirect_to_lieux(request)
    name_taken = _(
        "Un lieu actif de l'organisation porte déjà le nom « %(name)s ». "
        "Renommez l'un des deux lieux avant de réactiver celui-ci."
    ) % {"name": lieu.name}
    if request.method == "POST":
        if _reactivate(lieu, request.organisation):
            messages.success(request, _("Le lieu « %(name)s » a été réactivé.") % {"name": lieu.name})
            return _redirect_to_lieux(request)
        context = {"lieu": lieu, "action": "reactivate", "error": name_taken}
        return render(request, "organisations/lieu_confirm.html", context, status=422)
    error = name_taken if active_lieu_named(request.organisation, lieu.name) else ""
    return render(request, "organisations/lieu_confirm.html", {"lieu": lieu, "action": "reactivate", "error": error})
