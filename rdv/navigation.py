"""The agent pages' side menu. An entry is listed here when its page exists, and shown to an
agent when the permission module allows it. An entry with a badge (« À renseigner ») shows only
while its count is not 0: one query per page, the first time the menu is rendered (kept on the
request for the rest of it)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise, SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from agents.permissions import Membership, can_manage_settings, can_manage_territory
from rendezvous.models import TO_FILL
from stats.personal import to_fill_count


def _everyone(membership: Membership) -> bool:
    return True


@dataclass(frozen=True)
class MenuEntry:
    label: str | Promise
    url_name: str = ""
    # View names (or "namespace:" prefixes) under which this entry is the current one.
    active_for: tuple[str, ...] = ()
    allowed: Callable[[Membership], bool] = _everyone
    children: tuple["MenuEntry", ...] = field(default_factory=tuple)
    # The query string of its link, and the count of its badge (the entry hides at 0).
    query: Callable[[Membership], dict] | None = None
    badge: Callable[[Membership], int] | None = None
    badge_words: str | Promise = ""
    # Links shown after this entry, whether or not it is: (label, URL) each.
    followed_by: Callable[[Membership], list[tuple[str, str]]] | None = None


def _to_fill_query(membership: Membership) -> dict:
    return {"statut": TO_FILL, "agent": membership.agent.pk}


def _to_fill(membership: Membership) -> int:
    return to_fill_count(membership, timezone.now())


def _other_territories(membership: Membership) -> list[tuple[str, str]]:
    """The settings of the territories the agent administers besides this organisation's: reached
    from here, they open in one of its organisations there (`sectorisation.territory_views.territory`)."""
    return [
        (
            _("Paramètres du territoire (%(number)s)") % {"number": number},
            reverse("sectorisation:territory", kwargs={"territory_id": pk}),
        )
        for pk, number in membership.administered_territories
        if pk != membership.organisation.territory_id
    ]


MENU: tuple[MenuEntry, ...] = (
    MenuEntry(_("Accueil"), "organisations:home", active_for=("organisations:home",)),
    MenuEntry(
        _("Vos agendas"),
        "rendezvous:agenda",
        active_for=(
            "rendezvous:agenda",
            "rendezvous:agenda_agent",
            "rendezvous:agenda_secretariat",
            "rendezvous:create",
            "rendezvous:creneaux",
        ),
    ),
    MenuEntry(_("Vos usagers"), "usagers:list", active_for=("usagers:",)),
    MenuEntry(
        _("Tous les RDVs"),
        "rendezvous:list",
        active_for=(
            "rendezvous:list",
            "rendezvous:detail",
            "rendezvous:update",
            "rendezvous:status",
            "rendezvous:delete",
        ),
    ),
    MenuEntry(
        _("À renseigner"),
        "rendezvous:list",
        query=_to_fill_query,
        badge=_to_fill,
        badge_words=_("de vos RDV passés sans statut"),
    ),
    MenuEntry(
        _("Votre planning"),
        children=(
            MenuEntry(
                _("Plages d'ouverture"),
                "planning:my_plages",
                active_for=(
                    "planning:my_plages",
                    "planning:plage_list",
                    "planning:plage_create",
                    "planning:plage_edit",
                    "planning:plage_delete",
                    "planning:plage_occurrence",
                ),
            ),
            MenuEntry(
                _("Absences"),
                "planning:my_absences",
                active_for=(
                    "planning:my_absences",
                    "planning:absence_list",
                    "planning:absence_create",
                    "planning:absence_edit",
                    "planning:absence_delete",
                    "planning:absence_occurrence",
                ),
            ),
        ),
    ),
    MenuEntry(_("Vos statistiques"), "stats:mine", active_for=("stats:mine",)),
    MenuEntry(
        _("Paramètres"),
        allowed=can_manage_settings,
        children=(
            MenuEntry(
                _("Votre organisation"),
                "organisations:settings",
                active_for=("organisations:settings",),
                allowed=can_manage_settings,
            ),
            MenuEntry(
                _("Vos lieux"),
                "organisations:lieux",
                active_for=(
                    "organisations:lieux",
                    "organisations:lieu_create",
                    "organisations:lieu_edit",
                    "organisations:lieu_archive",
                    "organisations:lieu_reactivate",
                ),
                allowed=can_manage_settings,
            ),
            MenuEntry(
                _("Vos agents"),
                "agents:team",
                active_for=("agents:team", "agents:invite", "agents:detail", "agents:remove"),
                allowed=can_manage_settings,
            ),
            MenuEntry(
                _("Vos motifs"),
                "motifs:list",
                active_for=("motifs:",),
                allowed=can_manage_settings,
            ),
            MenuEntry(
                _("Réservation en ligne"),
                "reservation:online_booking",
                active_for=("reservation:online_booking",),
                allowed=can_manage_settings,
            ),
            MenuEntry(
                _("Vos statistiques globales"),
                "stats:organisation",
                active_for=("stats:organisation", "stats:rdv_export"),
                allowed=can_manage_settings,
            ),
        ),
    ),
    MenuEntry(
        _("Paramètres du territoire"),
        "sectorisation:sectors",
        active_for=("sectorisation:",),
        allowed=can_manage_territory,
        followed_by=_other_territories,
    ),
    MenuEntry(
        _("Statistiques du territoire"),
        "stats:territory",
        active_for=("stats:territory",),
        allowed=can_manage_territory,
    ),
)


@dataclass
class ShownEntry:
    label: str
    url: str
    active: bool
    children: list["ShownEntry"]
    id: str
    badge: int = 0
    badge_words: str = ""


def _is_active(entry: MenuEntry, view_name: str) -> bool:
    return any(view_name == name or (name.endswith(":") and view_name.startswith(name)) for name in entry.active_for)


def build_menu(membership: Membership, view_name: str) -> list[ShownEntry]:
    shown = []
    for index, entry in enumerate(MENU):
        shown += _shown(membership, view_name, index, entry)
        if entry.followed_by:
            shown += [
                ShownEntry(label=label, url=url, active=False, children=[], id=f"menu-{index}-suite-{rank}")
                for rank, (label, url) in enumerate(entry.followed_by(membership))
            ]
    return shown


def _shown(membership: Membership, view_name: str, index: int, entry: MenuEntry) -> list[ShownEntry]:
    """The entry as the agent sees it, or nothing."""
    if not entry.allowed(membership):
        return []
    children = [
        ShownEntry(
            label=str(child.label),
            url=reverse(child.url_name, kwargs={"organisation_id": membership.organisation.pk}),
            active=_is_active(child, view_name),
            children=[],
            id=f"menu-{index}-{child_index}",
        )
        for child_index, child in enumerate(entry.children)
        if child.allowed(membership)
    ]
    url = ""
    if entry.url_name:
        query = entry.query(membership) if entry.query else None
        url = reverse(entry.url_name, kwargs={"organisation_id": membership.organisation.pk}, query=query)
    if not url and not children:
        return []
    badge = entry.badge(membership) if entry.badge else 0
    if entry.badge and not badge:
        return []
    return [
        ShownEntry(
            label=str(entry.label),
            url=url,
            active=_is_active(entry, view_name) or any(child.active for child in children),
            children=children,
            id=f"menu-{index}",
            badge=badge,
            badge_words=str(entry.badge_words),
        )
    ]


def navigation_context(request) -> dict:
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    view_name = request.resolver_match.view_name if request.resolver_match else ""

    def menu():
        # Once per request, however many templates the view renders with this context.
        if not hasattr(request, "_side_menu"):
            request._side_menu = build_menu(membership, view_name)
        return request._side_menu

    return {
        "menu": SimpleLazyObject(menu),
        "other_organisations": membership.other_organisations,
    }
