"""What tests of « modifier » share: the form's data for an RDV, and plages over its day. What the
tests of posing an RDV share (test_booking_*.py): the day they book, the wizard's data, a page
read as a DOM."""

import datetime as dt

from django.test.html import Element, RootElement, parse_html
from django.urls import reverse
from django.utils import timezone

from tests.planning.factories import PlageOuvertureFactory


def form_data(rdv, **changes):
    local = timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo)
    data = {
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "duration_in_min": rdv.duration_in_min,
        "lieu": rdv.lieu_id or "",
        "agents": [a.pk for a in rdv.agents.all()],
        "usagers": [u.pk for u in rdv.usagers.all()],
        "notes": rdv.notes,
    }
    data.update(changes)
    return data


def open_day(rdv, *agents):
    """Plages d'ouverture of `agents` over the RDV's day, 8:00 to 20:00: no « outside the plages »
    conflict."""
    for agent in agents:
        PlageOuvertureFactory(
            organisation=rdv.organisation,
            agent=agent,
            first_day=timezone.localtime(rdv.starts_at, rdv.organisation.tzinfo).date(),
            start_time=dt.time(8),
            end_time=dt.time(20),
        )


# « Comment poser un rendez-vous ? »: what the tests of the wizard and of « Trouver un créneau »
# share (test_booking_*.py; their fixtures are in conftest.py).

# They book on DAY, the Monday of next week, from an ordinary Wednesday morning (the
# `wednesday_morning` fixture). Taken from the real clock, that Monday was a public holiday whenever
# the suite ran on Easter Sunday or on 31 October (lundi de Pâques, Toussaint): the organisation is
# closed and offers no slot.
NOW = dt.datetime(2027, 6, 9, 10, 30, tzinfo=timezone.get_default_timezone())
DAY = dt.date(2027, 6, 14)


def at(organisation, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """That wall-clock time of `day` in the organisation's time zone (tests.helpers.at takes a zone)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=organisation.tzinfo)


def create_url(organisation, **params) -> str:
    url = reverse("rendezvous:create", kwargs={"organisation_id": organisation.pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def creneaux_url(organisation) -> str:
    return reverse("rendezvous:creneaux", kwargs={"organisation_id": organisation.pk})


def step2_data(motif, agent=None, **extra) -> dict:
    data = {"etape": "usagers", "motif": motif.pk}
    if agent is not None:
        data["agent"] = agent.pk
    data.update(extra)
    return data


def step3_data(organisation, motif, agents, usagers, *, day=DAY, time="09:30", **extra) -> dict:
    data = {
        "etape": "rdv",
        "motif": motif.pk,
        "agent": agents[0].pk,
        "usagers": [u.pk for u in usagers],
        "notes": "Premier RDV",
        "date": day.isoformat(),
        "time": time,
        "duration_in_min": 30,
        "lieu": extra.pop("lieu_id", ""),
        "agents": [a.pk for a in agents],
        "action": "creer",
    }
    data.update(extra)
    return data


def slot_params(motif, agent, lieu, start: str) -> dict:
    return {"motif": motif.pk, "a_partir_du": DAY.isoformat(), "creneau": start, "agent": agent.pk, "lieu": lieu.pk}


# A page read as a DOM (django.test.html, the parser of assertContains(html=True)), for the checks
# that a needle of HTML cannot express: « inside that fieldset », « how many such buttons ».


def dom(response) -> Element:
    """The page, or the fragment an htmx request gets, under a root element."""
    document = parse_html(response.content.decode())
    if not isinstance(document, RootElement):  # parse_html drops the root above a single element
        root = RootElement()
        root.append(document)
        document = root
    return document


def find_all(root: Element, tag: str | None = None, **attrs: str | bool) -> list[Element]:
    """The elements under `root`, in document order, named `tag` (any if None) and carrying
    `attrs` (`class_` for one of its classes, `data_x` for data-x; True for any value)."""
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    found = []
    for child in root.children:
        if isinstance(child, str):
            continue
        attributes = dict(child.attributes)
        if (tag is None or child.name == tag) and all(
            name in attributes
            and (
                value is True
                or (value in (attributes[name] or "").split() if name == "class" else attributes[name] == value)
            )
            for name, value in wanted.items()
        ):
            found.append(child)
        found.extend(find_all(child, tag, **attrs))
    return found


def find(root: Element, tag: str | None = None, **attrs: str | bool) -> Element:
    """The one element `find_all` finds; fails if none or several."""
    found = find_all(root, tag, **attrs)
    assert len(found) == 1, f"{len(found)} elements <{tag or '*'} {attrs}>"
    return found[0]


def text(element: Element | str) -> str:
    """The element's text, white space collapsed (the tags read as spaces)."""
    if isinstance(element, str):
        return element
    return " ".join(" ".join(text(child) for child in element.children).split())


def field_errors(response, name: str) -> list[str]:
    """The errors the page shows under the field `name`: DSFR's `#id_<name>-desc-error`, or
    `#id_usagers_errors` under the usagers picker; [] if none."""
    root = dom(response)
    boxes = find_all(root, id=f"id_{name}-desc-error") + find_all(root, id=f"id_{name}_errors")
    assert len(boxes) <= 1, f"{len(boxes)} error boxes for {name}"
    return [text(error) for box in boxes for error in find_all(box, "p", class_="fr-error-text")]


def conflicts_shown(response) -> list[str]:
    """The conflicts the warning « Attention : ce créneau est en conflit » (`#conflits`) lists."""
    warning = find(dom(response), "div", id="conflits", class_="fr-alert--warning", role="alert")
    assert text(find(warning, class_="fr-alert__title")) == "Attention : ce créneau est en conflit"
    return [text(item) for item in find_all(warning, "li")]
