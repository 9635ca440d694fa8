"""What the access matrix POSTs to a page (tests/test_access_matrix.py): the form a writer of the
page is shown, as a browser would send it, with the values below added where the form alone would
be refused (a creation's empty fields) or would change nothing. The matrix checks that a writer's
POST of it does change the database: a payload that stopped being valid fails there, rather than
making the refusals of the others prove nothing."""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.db.models import Q

from motifs.models import MotifCategory
from organisations.models import Service
from sectorisation.imports import plan_import, preview_token
from tests.access_expectations import OK, Access
from tests.access_world import ACTORS, ADMIN_ELSEWHERE, FREE_TIME, TERRITORY_ADMIN, World, text_of, url_for
from tests.test_settings_isolation import FormReader
from tests.url_patterns import Pattern

Payload = dict[str, str | list[str]]


def shown_form(world: World, pattern: Pattern, actor: str) -> Payload:
    """The fields of the page's own form (the one that posts to the page itself), with the values
    it shows."""
    url = url_for(world, pattern, actor)
    reader = FormReader()
    reader.feed(text_of(world.client(actor).get(url)))
    own = [fields for action, fields in reader.forms if urlsplit(action).path in ("", urlsplit(url).path)]
    data: dict[str, list[str]] = {}
    for name, value in own[0] if own else []:
        data.setdefault(name, []).append(value)
    return dict(data)


def _pmi() -> str:
    return str(Service.objects.get(short_name="PMI").pk)


def _new_motif(world: World) -> Payload:
    # A name of the référentiel the PMI may use, other than the world's motif's.
    names = MotifCategory.objects.filter(Q(service=None) | Q(service__short_name="PMI"), is_active=True)
    category = names.exclude(pk=world.objects["motif"].category_id).order_by("pk").first()
    return {"service": _pmi(), "category": str(category.pk)}


def _new_plage(world: World) -> Payload:
    return {
        "title": "Permanence de l'après-midi",
        "lieu": str(world.objects["lieu"].pk),
        "first_day": world.objects["day"].isoformat(),
        "start_time": "12:30",
        "end_time": "13:30",
        "motifs": [str(world.objects["motif"].pk)],
        # The monthly repetition's selects, which a browser sends with their first option.
        "nth": "1",
        "month_weekday": "0",
    }


IMPORTED = "secteur;commune;rue;organisation;agent\r\nSecteur de Torcy;77468;;;"


def _previewed_import(world: World) -> Payload:
    """« Appliquer ces changements » as the preview hands it to the territory's administrator (the
    writer): the file and the token of what the preview showed."""
    organisation = world.objects["organisation"]
    plan = plan_import(organisation.territory, IMPORTED.encode())
    agent = world.objects[TERRITORY_ADMIN]
    return {
        "content": IMPORTED,
        "preview_token": preview_token(territory=organisation.territory, agent=agent, plan=plan),
    }


def _new_absence(world: World) -> Payload:
    day = world.objects["day"].isoformat()
    return {"title": "Formation", "first_day": day, "end_day": day, "start_time": "07:00", "end_time": "08:00"}


def _new_rdv(world: World) -> Payload:
    owner, motif = world.objects["owner"], world.objects["motif"]
    return {
        "etape": "rdv",
        "action": "creer",
        "motif": str(motif.pk),
        "agent": str(owner.pk),
        "agents": [str(owner.pk)],
        "usagers": [str(world.objects["usager"].pk)],
        "date": FREE_TIME[:10],
        "time": FREE_TIME[11:],
        "duration_in_min": "30",
        "lieu": str(world.objects["lieu"].pk),
        "notes": "",
    }


def _slot(world: World) -> Payload:
    """« Trouver un créneau »: tomorrow 11:00 in the owner's plage, booked for the usager."""
    return {
        "motif": str(world.objects["motif"].pk),
        "a_partir_du": FREE_TIME[:10],
        "creneau": FREE_TIME,
        "agent": str(world.objects["owner"].pk),
        "lieu": str(world.objects["lieu"].pk),
        "usagers": [str(world.objects["usager"].pk)],
        "notes": "",
        "action": "continuer",
    }


# Added to (or replacing) the fields of the shown form, per pattern: the fields a creation needs,
# a value that differs from the shown one where an unchanged form saves nothing, the button.
EXTRA: dict[str, Payload | Callable[[World], Payload]] = {
    "agents:respond_to_invitation": {"reponse": "accepter"},
    "agents:invite": lambda world: {"email": "nouvelle.recrue@departement.fr", "service": _pmi()},
    "agents:detail": {"level": "admin"},
    "organisations:settings": {"name": "MDS de Noisiel-Centre"},
    "organisations:lieu_create": {"name": "Tiers lieu de Torcy", "address": "1 place de la Mairie, 77200 Torcy"},
    "organisations:lieu_edit": {"name": "MDS du Luzard", "address": "1 place de la Mairie, 77186 Noisiel"},
    "usagers:create": {"first_name": "Agathe", "last_name": "Durand"},
    "usagers:update": {"first_name": "Richarde"},
    "usagers:create_proche": {"first_name": "Léon", "last_name": "Durand"},
    "motifs:create": _new_motif,
    "sectorisation:sector_create": {"name": "Secteur de Chelles"},
    "sectorisation:sector": {"action": "add_area", "commune": "77108", "street": ""},
    "sectorisation:import": _previewed_import,
    "planning:public_holidays": {},  # the box unticked: open on public holidays (closed by default)
    "planning:plage_create": _new_plage,
    "planning:plage_occurrence": {"action": "cancel"},
    "planning:absence_create": _new_absence,
    "planning:absence_occurrence": {"action": "cancel"},
    "rendezvous:create": _new_rdv,
    "rendezvous:creneaux": _slot,
    "rendezvous:status": {"status": "excused", "confirme": "1"},
    # The world's RDV is tomorrow: « Vu » is refused before its hour (the bulk's writers change
    # nothing here; tests/rendezvous/test_bulk_status.py changes past RDVs).
    "rendezvous:bulk_status": lambda world: {"rdvs": [str(world.objects["rdv"].pk)], "status": "seen"},
    "stats:rdv_export_create": {"format": "csv", "usagers": "oui"},
    "reservation:move": {"creneau": FREE_TIME},
    "reservation:rdv_link_move": {"creneau": FREE_TIME},
    "reservation:proche_create": {"first_name": "Léon", "last_name": "Durand", "birth_date": "2024-05-04"},
    "reservation:email_change": {"email": "nouvelle.adresse@example.com"},
}


def payload_for(world: World, pattern: Pattern, access: Access) -> Payload:
    writer = writer_of(access)
    data = shown_form(world, pattern, writer) if writer and access.answers[writer] == OK else {}
    extra = EXTRA.get(pattern.name, {})
    data.update(extra(world) if callable(extra) else extra)
    return data


def writer_of(access: Access) -> str | None:
    """The actor whose form is read and whose POST proves the payload: the first writer of this
    organisation (the payloads name its objects), else of another."""
    ordered = sorted(access.writers, key=lambda actor: (actor == ADMIN_ELSEWHERE, ACTORS.index(actor)))
    return ordered[0] if ordered else None
