"""One RDV as the agendas show it: a block with every text precomputed, the same for the week's
grid, the month, and the team's day. No query and no HTML here."""

import datetime as dt
from dataclasses import dataclass

from motifs.colors import text_color_for
from motifs.models import Motif
from rendezvous.agenda.periods import hour_label
from rendezvous.models import TO_COME, TO_FILL, Rdv, displayed_statuses

STATUS_ICONS: dict[str, str] = {
    Rdv.Status.WAITING: "fr-icon-time-line",
    Rdv.Status.SEEN: "fr-icon-check-line",
    Rdv.Status.NOSHOW: "fr-icon-close-circle-line",
    Rdv.Status.EXCUSED: "fr-icon-close-line",
    Rdv.Status.REVOKED: "fr-icon-close-line",
}
# The DSFR badge of a status, where pages print it as a badge (rendezvous/_status_badge.html,
# « Tous les RDVs »' rows): written after « fr-badge--sm ».
STATUS_BADGES: dict[str, str] = {
    Rdv.Status.SEEN: " fr-badge--success",
    Rdv.Status.NOSHOW: " fr-badge--error",
    Rdv.Status.EXCUSED: " fr-badge--warning",
    Rdv.Status.REVOKED: " fr-badge--warning",
    Rdv.Status.WAITING: " fr-badge--info",
}


def badge_class(status: str) -> str:
    return STATUS_BADGES.get(status, " fr-badge--new")


@dataclass
class RdvBlock:
    """One RDV as the agendas show it: every text precomputed."""

    pk: int
    url: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    start_label: str
    end_label: str
    usagers: str
    motif: str
    place: str
    agents: str
    status: str
    displayed_status: str  # a key of rendezvous.models.displayed_statuses()
    status_label: str
    to_fill: bool  # past and still « À renseigner »
    cancelled: bool
    background: str
    color: str
    agent_ids: frozenset[int] = frozenset()
    can_set_waiting: bool = False
    status_url: str = ""
    # Set when placed in a day column (`rendezvous.agenda.layout`).
    start_minute: int = 0
    end_minute: int = 0
    lane: int = 0
    lanes: int = 1
    style: str = ""  # where the block sits: top, height, left, width
    tip_up: bool = False  # its tooltip opens above it (the block is low in the grid)
    in_absence: str = ""  # the title of an absence of its agent it falls in (« Absence : Formation »)
    highlighted: bool = False  # the RDV the agent came to see (« Voir dans l'agenda »)
    html: str = ""  # the block as the page shows it, written by `rendezvous.agenda.html`

    @property
    def short_text(self) -> str:
        who = self.usagers or self.motif
        return f"{self.start_label} {who}"

    @property
    def show_status(self) -> bool:
        """The status is written on the block unless it is the ordinary « À venir »."""
        return self.displayed_status != TO_COME

    @property
    def icon(self) -> str:
        """A DSFR icon beside the status's text, so that it never shows by colour alone."""
        if self.to_fill:
            return "fr-icon-warning-fill"
        return STATUS_ICONS.get(self.status, "")

    @property
    def css_class(self) -> str:
        classes = []
        if self.cancelled:
            classes.append("rdv-agenda__rdv--cancelled")
        if self.to_fill:
            classes.append("rdv-agenda__rdv--to-fill")
        if self.status == Rdv.Status.WAITING:
            classes.append("rdv-agenda__rdv--waiting")
        if self.in_absence:
            classes.append("rdv-agenda__rdv--in-absence")
        if self.highlighted:
            classes.append("rdv-agenda__rdv--highlighted")
        return " ".join(classes)


@dataclass(frozen=True)
class Labels:
    """The translated words of the blocks, looked up once per page rather than once per RDV."""

    statuses: dict[str, str]
    locations: dict[str, str]

    @classmethod
    def current(cls) -> "Labels":
        return cls(
            statuses=displayed_statuses(),
            locations={value: str(label) for value, label in Motif.LocationType.choices},
        )


def rdv_block(rdv: Rdv, *, tz: dt.tzinfo, now: dt.datetime, url: str, labels: Labels | None = None) -> RdvBlock:
    """Reads `rdv.motif`, `rdv.lieu`, and the agents and usagers that `rdvs_in_window` loads
    (or, for an RDV loaded otherwise, `rdv.agents` and `rdv.participations`)."""
    labels = labels or Labels.current()
    start = rdv.starts_at.astimezone(tz)
    end = rdv.ends_at.astimezone(tz)
    agent_rows = getattr(rdv, "agent_rows", None)
    if agent_rows is None:
        agent_rows = [(agent.pk, agent.first_name, agent.last_name) for agent in rdv.agents.all()]
    usager_names = getattr(rdv, "usager_names", None)
    if usager_names is None:
        usager_names = [p.usager.full_name for p in rdv.participations.all()]
    motif = rdv.motif
    place = rdv.lieu.name if rdv.lieu is not None else labels.locations.get(motif.location_type, "")
    displayed = rdv.displayed_status_key(now)
    to_fill = displayed == TO_FILL
    status_label = labels.statuses.get(displayed, str(rdv.status))
    return RdvBlock(
        pk=rdv.pk,
        url=url,
        starts_at=rdv.starts_at,
        ends_at=rdv.ends_at,
        start_label=hour_label(start.hour * 60 + start.minute),
        end_label=hour_label(end.hour * 60 + end.minute),
        usagers=", ".join(usager_names),
        motif=motif.name,
        place=place,
        agents=", ".join(f"{first} {last}".strip() for _pk, first, last in agent_rows),
        status=rdv.status,
        displayed_status=displayed,
        status_label=status_label,
        to_fill=to_fill,
        cancelled=rdv.status in Rdv.CANCELLED_STATUSES,
        background=motif.color,
        color=text_color_for(motif.color),
        agent_ids=frozenset(pk for pk, _first, _last in agent_rows),
    )
