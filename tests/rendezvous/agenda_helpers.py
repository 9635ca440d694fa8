"""What the tests of « Vos agendas » and « Journée de l'équipe » share (test_agenda*.py): their
addresses, local instants, RDVs in bulk, RDV blocks and grids built without the database, and the
grid read as a DOM (tests.rendezvous.helpers.dom)."""

import datetime as dt
import zoneinfo

from django.test.html import Element
from django.urls import reverse

from rendezvous.agenda import blocks, layout
from rendezvous.models import Participation, Rdv
from tests.agents.factories import AgentRoleFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.planning.factories import AbsenceFactory
from tests.rendezvous.factories import RdvFactory
from tests.rendezvous.helpers import find, find_all, text
from tests.usagers.factories import UsagerFactory

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
REUNION = zoneinfo.ZoneInfo("Indian/Reunion")


def agenda_url(agent, organisation, **params):
    return reverse(
        "rendezvous:agenda_agent",
        kwargs={"organisation_id": organisation.pk, "agent_id": agent.pk},
        query=params or None,
    )


def team_url(organisation, **params):
    return reverse("rendezvous:agenda_secretariat", kwargs={"organisation_id": organisation.pk}, query=params or None)


def local(day: dt.date, hour: int, minute: int = 0, tz=PARIS) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def bulk_rdvs(organisation, agents, starts, *, motif=None, lieu=None, usager=None, duration=20):
    """Many RDVs in a few queries: each start gets one RDV with all `agents` and one usager."""
    motif = motif or MotifFactory(organisation=organisation)
    lieu = lieu or LieuFactory(organisation=organisation)
    usager = usager or UsagerFactory(organisation=organisation)
    rdvs = Rdv.objects.bulk_create(
        [
            Rdv(
                organisation=organisation,
                motif=motif,
                lieu=lieu,
                starts_at=start,
                duration_in_min=duration,
                ends_at=start + dt.timedelta(minutes=duration),
            )
            for start in starts
        ]
    )
    Rdv.agents.through.objects.bulk_create(
        [Rdv.agents.through(rdv_id=rdv.pk, agent_id=agent.pk) for rdv in rdvs for agent in agents]
    )
    Participation.objects.bulk_create([Participation(rdv=rdv, usager=usager) for rdv in rdvs])
    return rdvs


def block(pk, start, minutes=30, **fields):
    """An RDV's block as `blocks.rdv_block` makes it, without the database."""
    values = {
        "pk": pk,
        "url": f"/rdv/{pk}/",
        "starts_at": start,
        "ends_at": start + dt.timedelta(minutes=minutes),
        "start_label": "",
        "end_label": "",
        "usagers": "Léon ANGELO",
        "motif": "Pesée",
        "place": "",
        "agents": "",
        "status": Rdv.Status.UNKNOWN,
        "displayed_status": "a_venir",
        "status_label": "À venir",
        "to_fill": False,
        "cancelled": False,
        "background": "#ffffff",
        "color": "#000000",
    }
    values.update(fields)
    return blocks.RdvBlock(**values)


def grid_of(days, blocks, now, tz=PARIS, **kwargs):
    columns = layout.day_columns(days=days, tz=tz, now=now, rdvs=blocks, **kwargs)
    return layout.time_grid(columns, tz=tz, now=now, slot_minutes=30, slot_link=lambda c: f"/{c.date}T")


# « Occupé (autre organisation) »: what another organisation holds, whose names never show.

SECRETS = ("secret", "Secretissime", "SECRETISSIME")


def secret_rdv_elsewhere(agent, starts_at):
    """An hour-long RDV of `agent` in another organisation whose every name says « secret »;
    returns that organisation."""
    other = OrganisationFactory(name="Organisation secrète")
    AgentRoleFactory(agent=agent, organisation=other)
    RdvFactory(
        organisation=other,
        motif=MotifFactory(organisation=other, name="Motif secret"),
        lieu=LieuFactory(organisation=other, name="Lieu secret"),
        agents=[agent],
        usagers=[UsagerFactory(organisation=other, first_name="Usager", last_name="Secretissime")],
        starts_at=starts_at,
        duration_in_min=60,
    )
    return other


def busy_in_another_organisation(organisation, agent, monday):
    """The agent works for `organisation` and another one, where it has an RDV on Monday
    14:00–15:00, a cancelled one at 16:00 and an absence on Tuesday 10:00–11:00; every name
    there says « secret »."""
    other = secret_rdv_elsewhere(agent, local(monday, 14))
    RdvFactory(organisation=other, agents=[agent], starts_at=local(monday, 16), excused=True)
    AbsenceFactory(
        organisation=other,
        agent=agent,
        title="Congé secret",
        first_day=monday + dt.timedelta(days=1),
        start_time=dt.time(10),
        end_time=dt.time(11),
    )
    return other


# The grid as a DOM: each column is three cells carrying `data-column` (its heading with the
# plages and absences in words, its « Toute la journée » cell, its hours).


def column_cell(root: Element, anchor: str, kind: str) -> Element:
    """A cell of the column `anchor` (« jour-2026-03-23 », « agent-12 »): kind "head",
    "all-day" or "day"."""
    return find(root, "div", class_=f"rdv-agenda__{kind}", data_column=anchor)


def notes(root: Element, anchor: str, kind: str | None = None) -> list[str]:
    """The words under a column's heading: its plages, absences and busy blocks (one `kind`)."""
    head = column_cell(root, anchor, "head")
    class_ = f"rdv-agenda__note--{kind}" if kind else "rdv-agenda__note"
    return [text(item) for item in find_all(head, "li", class_=class_)]


def all_day(root: Element, anchor: str) -> list[str]:
    """What the « Toute la journée » row says for a column ([] when the grid has no such row)."""
    cells = find_all(root, "div", class_="rdv-agenda__all-day", data_column=anchor)
    return [text(item) for cell in cells for item in find_all(cell, "p")]


def rdv_items(root: Element) -> list[Element]:
    """Every RDV block on the grids of the page (<li class="rdv-agenda__item">)."""
    return find_all(root, "li", class_="rdv-agenda__item")


def rdv_item(root: Element, href: str) -> Element:
    """The one block whose link leads to `href`."""
    found = [item for item in rdv_items(root) if attribute(find(item, "a", class_="rdv-agenda__rdv"), "href") == href]
    assert len(found) == 1, f"{len(found)} blocks for {href}"
    return found[0]


def tip_lines(item: Element) -> list[str]:
    """The lines of an RDV block's tooltip: time and usagers, motif and lieu, then the status or
    the absence when it has one (its spans carry no class: hundreds on a page)."""
    tip = find(item, "span", role="tooltip")
    return [text(line) for line in tip.children if not isinstance(line, str) and line.name == "span"]


def attribute(element: Element, name: str) -> str:
    return dict(element.attributes)[name]
