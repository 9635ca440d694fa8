"""What the RDV page shows around the RDV itself, for an agent on the phone: a panel per usager
(how to reach it, its responsible's contacts for a proche, its address for an RDV à domicile, its
last and next RDVs), « Voir dans l'agenda », « Dupliquer », and the page the agent came from,
where « supprimer » leads back.

Everything here reads what the membership may see: the other RDVs of the usagers through
`Rdv.objects.visible_to` (the rule of « Tous les RDVs »), a proche's responsible only when the
organisation knows it, an agenda the membership may open. A fixed number of queries whatever the
number of usagers and of their RDVs."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.http import QueryDict
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from agents.models import Agent
from agents.permissions import Membership, agents_with_visible_agenda, can_access_all_agendas
from motifs.models import Motif
from organisations.middleware import OrganisationRequest
from rdv.redirects import local_url
from rendezvous.models import Participation, Rdv
from rendezvous.views.booking import DURATION_PARAM
from rendezvous.views.common import visible_responsibles
from usagers.models import Usager

# The RDV page's parameter naming the page the agent came from (« Tous les RDVs » filtered, an
# usager's fiche, an agenda's week), carried by the page's own links and forms.
ORIGIN = "retour"


@dataclass
class UsagerPanel:
    usager: Usager
    # Its responsible, for a proche whose responsible the organisation knows.
    responsible: Usager | None
    # Where an RDV à domicile takes place for it: its address, or its responsible's ("" otherwise).
    home_address: str
    # Its RDVs just before and after now, other than this one, among those the agent may see.
    last: Rdv | None
    next: Rdv | None
    rdvs_url: str


def usager_panels(membership: Membership, rdv: Rdv, participations: list[Participation]) -> list[UsagerPanel]:
    """One panel per usager of `rdv` (its participations, usagers loaded). The last RDV is the
    latest started before now, whatever its status (an « Absent non excusé » is worth knowing);
    the next one the soonest to come that is not cancelled. Two queries, one more with a proche."""
    usagers = [participation.usager for participation in participations]
    if not usagers:
        return []
    responsibles = visible_responsibles(membership, usagers)
    now = timezone.now()
    others = (
        Participation.objects.filter(
            usager_id__in=[usager.pk for usager in usagers],
            rdv__in=Rdv.objects.visible_to(membership).exclude(pk=rdv.pk).values("pk"),
        )
        .select_related("rdv__motif__service", "rdv__lieu", "rdv__organisation__territory")
        .distinct("usager_id")
    )
    last = {
        p.usager_id: p.rdv
        for p in others.filter(rdv__starts_at__lt=now).order_by("usager_id", "-rdv__starts_at", "-rdv_id")
    }
    upcoming = (
        others.filter(rdv__starts_at__gte=now)
        .exclude(rdv__status__in=Rdv.CANCELLED_STATUSES)
        .order_by("usager_id", "rdv__starts_at", "rdv_id")
    )
    following = {p.usager_id: p.rdv for p in upcoming}
    for other in (*last.values(), *following.values()):
        other.shown_status = other.display_status(now)  # type: ignore[attr-defined]
    at_home = rdv.motif.location_type == Motif.LocationType.HOME
    panels = []
    for usager in usagers:
        responsible = responsibles.get(usager.responsible_id) if usager.responsible_id else None
        address = ""
        if at_home:
            address = usager.address or (responsible.address if responsible is not None else "")
        panels.append(
            UsagerPanel(
                usager=usager,
                responsible=responsible,
                home_address=address,
                last=last.get(usager.pk),
                next=following.get(usager.pk),
                rdvs_url=reverse(
                    "rendezvous:list",
                    kwargs={"organisation_id": membership.organisation.pk},
                    query={"usager": usager.pk},
                ),
            )
        )
    return panels


def agenda_agent_of(membership: Membership, agents: list[Agent]) -> Agent | None:
    """Whose agenda shows the RDV: the signed-in agent's if it is one of its agents, else the
    first of them (by name) whose agenda the membership may open. No query for its own RDVs or
    for those who open every agenda."""
    if not agents:
        return None
    ordered = sorted(agents, key=lambda agent: (agent.last_name.lower(), agent.first_name.lower(), agent.pk))
    for agent in ordered:
        if agent.pk == membership.agent.pk:
            return agent
    if can_access_all_agendas(membership):
        return ordered[0]
    visible = set(
        agents_with_visible_agenda(membership).filter(pk__in=[a.pk for a in agents]).values_list("pk", flat=True)
    )
    return next((agent for agent in ordered if agent.pk in visible), None)


def agenda_week_url(rdv: Rdv, agent: Agent | None, *, highlight: bool) -> str:
    """The week of the RDV in `agent`'s agenda; `highlight`: the RDV marked there and scrolled to
    (`rdv`, the anchor of its block). The agenda of the membership when no agent is given."""
    day = timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo).date()
    query: dict[str, str | int] = {"vue": "semaine", "date": day.isoformat()}
    if highlight:
        query["rdv"] = rdv.pk
    if agent is None:
        return reverse("rendezvous:agenda", kwargs={"organisation_id": rdv.organisation_id}, query=query)
    url = reverse(
        "rendezvous:agenda_agent", kwargs={"organisation_id": rdv.organisation_id, "agent_id": agent.pk}, query=query
    )
    return f"{url}#rdv-{rdv.pk}" if highlight else url


def team_day_url(rdv: Rdv, origin: str) -> str:
    """« Voir dans l'agenda » for an RDV reached from « Journée de l'équipe »: that page again, on
    the RDV's day with the same service and lieu, the RDV marked and scrolled to. "" when the
    agent came from elsewhere."""
    if not origin:
        return ""
    parts = urlsplit(origin)
    try:
        match = resolve(parts.path)
    except Resolver404:
        return ""
    if match.view_name != "rendezvous:agenda_secretariat":
        return ""
    kept = QueryDict(parts.query)
    query: dict[str, str | int] = {key: kept[key] for key in ("service", "lieu") if kept.get(key)}
    query["date"] = timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo).date().isoformat()
    query["rdv"] = rdv.pk
    url = reverse(match.view_name, kwargs={"organisation_id": rdv.organisation_id}, query=query)
    return f"{url}#rdv-{rdv.pk}"


def duplicate_url(rdv: Rdv, agents: list[Agent], participations: list[Participation]) -> str:
    """« Dupliquer »: the booking wizard at its third step (date and time to choose) with the
    RDV's motif, usagers, agents, lieu and duration (a follow-up lasts as long as the RDV, not
    the motif's default); the wizard checks each of them again."""
    query: list[tuple[str, str | int]] = [
        ("motif", rdv.motif_id),
        ("etape", "rdv"),
        (DURATION_PARAM, rdv.duration_in_min),
    ]
    query += [("usagers", participation.usager_id) for participation in participations]
    query += [("agents", agent.pk) for agent in agents]
    if rdv.lieu_id:
        query.append(("lieu", rdv.lieu_id))
    return reverse("rendezvous:create", kwargs={"organisation_id": rdv.organisation_id}, query=query)


def origin_url(request: OrganisationRequest, rdv_path: str) -> str:
    """The page the agent came from to this RDV's page: the `retour` the page's own links carry,
    else the page that linked here (the Referer, same site only); never a page of this RDV
    itself (its summary, « modifier », a status). "" when unknown."""
    candidate = local_url(request, request.GET.get(ORIGIN) or request.POST.get(ORIGIN))
    if not candidate:
        referer = request.headers.get("referer", "")
        if referer and url_has_allowed_host_and_scheme(
            referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            parts = urlsplit(referer)
            candidate = local_url(request, parts.path + (f"?{parts.query}" if parts.query else ""))
    if candidate and urlsplit(candidate).path.startswith(rdv_path):
        return ""
    return candidate


def with_origin(url: str, origin: str) -> str:
    """`url` (a path without a query) carrying the origin of the RDV page."""
    return f"{url}?{urlencode({ORIGIN: origin})}" if origin else url
