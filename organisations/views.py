from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from agents.models import Agent, AgentRole
from organisations.decorators import settings_access_required
from organisations.forms import OrganisationForm
from organisations.models import Lieu, Organisation, Service, opening_hours_lines


def root(request):
    return redirect("organisations:choose")


def choose(request):
    """After login: straight into the agent's organisation, or a choice when it has several."""
    organisations = list(Organisation.objects.for_agent(request.user).select_related("territory").order_by("name"))
    if len(organisations) == 1:
        return redirect("organisations:home", organisation_id=organisations[0].pk)
    return render(request, "organisations/choose.html", {"organisations": organisations})


def home(request, organisation_id):
    """The organisation at a glance: its contacts and hours, its lieux, who works in which service."""
    organisation = request.organisation
    roles = (
        AgentRole.objects.filter(organisation=organisation, agent__is_active=True)
        .select_related("agent")
        .prefetch_related(Prefetch("agent__services", queryset=Service.objects.order_by("name")))
        .order_by("agent__last_name", "agent__first_name")
    )
    teams: dict[str, list[tuple[Agent, AgentRole]]] = {}
    for role in roles:
        for service in role.agent.services.all() or [None]:
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
def edit_settings(request, organisation_id):
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
