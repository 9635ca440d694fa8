"""Import of a territory's sectors from a CSV file: parse, show what will change, then apply.

One line per area and/or attribution of a sector:

    secteur;commune;rue;organisation;agent
    Noisiel;77337;;MDS de Noisiel;
    Noisiel;77468;;;
    Chelles - Aulnoy;77108;Avenue de l'Aulnoy;MDS de Chelles;agent@exemple.fr

`commune` is an INSEE code (a former code resolves to today's commune), `rue` narrows the area to a
street of that commune, `organisation` is the name of an organisation of the territory, `agent` the
email of one of its agents. For every sector the file names, its areas and attributions become
exactly those of the file; sectors it does not name are left as they are. Any error on any line:
nothing changes. Applying the same file twice changes nothing the second time.

What is applied is what the preview showed: the preview hands out a token sealing its plan (the
sectors of the file as they were, and what would change), and `apply_previewed` plans again and
refuses when the plan is no longer that one (another administrator edited these sectors, the file
is not the previewed one, or the form was already applied)."""

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models.functions import Lower
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from agents.models import Agent, AgentRole
from organisations.models import Organisation, Territory
from sectorisation.communes import INSEE_CODE
from sectorisation.models import Commune, FormerCommune, Sector, SectorArea, SectorAttribution
from sectorisation.streets import street_key

COLUMNS = ("secteur", "commune", "rue", "organisation", "agent")
MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 20_000
STREET_MAX_LENGTH = SectorArea._meta.get_field("street").max_length or 200

AreaKey = tuple[str, str]  # (INSEE code, street key)
AttributionKey = tuple[int, int | None]  # (organisation, agent)


@dataclass
class SectorPlan:
    name: str
    existing: Sector | None
    areas: dict[AreaKey, tuple[Commune, str]] = field(default_factory=dict)
    attributions: dict[AttributionKey, str] = field(default_factory=dict)  # key → label
    areas_added: list[str] = field(default_factory=list)
    areas_removed: list[str] = field(default_factory=list)
    attributions_added: list[str] = field(default_factory=list)
    attributions_removed: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return self.existing is None or any(
            (self.areas_added, self.areas_removed, self.attributions_added, self.attributions_removed)
        )


@dataclass
class ImportPlan:
    sectors: list[SectorPlan]
    errors: list[str]
    lines: int

    @property
    def changes(self) -> bool:
        """What applying would change: nothing when a line is wrong."""
        return not self.errors and any(plan.changes for plan in self.sectors)

    def digest(self) -> str:
        """Everything the preview shows and applying writes: each sector of the file, the one it
        designates now (or none), the areas and attributions it will have, and what changes
        (labels included: an organisation renamed since is not what the preview said)."""
        sectors = [
            [
                plan.name,
                plan.existing.pk if plan.existing else None,
                sorted([commune.pk, street] for commune, street in plan.areas.values()),
                sorted([organisation, agent or 0, label] for (organisation, agent), label in plan.attributions.items()),
                plan.areas_added,
                plan.areas_removed,
                plan.attributions_added,
                plan.attributions_removed,
            ]
            for plan in self.sectors
        ]
        seen = json.dumps([self.lines, self.errors, sectors], ensure_ascii=False)
        return hashlib.sha256(seen.encode()).hexdigest()


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or, as spreadsheets often save it, Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _rows(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    # The header's delimiter: the commas of a semicolon file's streets (« Rue X, bâtiment A ») are
    # no delimiters.
    header_line = next((line for line in text.splitlines() if line.strip(" ;,\t")), "")
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    for values in reader:
        number = reader.line_num
        if not any(value.strip() for value in values):
            continue
        if header is None:
            header = [value.strip().lower() for value in values]
            missing = [name for name in ("secteur", "commune") if name not in header]
            if missing:
                return [], [
                    _("Ligne %(line)s : l'en-tête doit contenir les colonnes %(columns)s.")
                    % {"line": number, "columns": ", ".join(f"« {name} »" for name in COLUMNS)}
                ]
            continue
        if len(rows) >= MAX_LINES:
            return [], [_("Le fichier dépasse %(max)s lignes : découpez-le.") % {"max": MAX_LINES}]
        row = {name: (values[index].strip() if index < len(values) else "") for index, name in enumerate(header)}
        commune = row.get("commune", "")
        if len(commune) == 4 and commune.isdigit():
            # A spreadsheet read « 01053 » as a number and wrote « 1053 ».
            row["commune"] = "0" + commune
        rows.append((number, row))
    if header is None:
        return [], [_("Le fichier est vide.")]
    return rows, []


def plan_import(territory: Territory, data: bytes) -> ImportPlan:
    """What applying the file would change, or the line-numbered errors that prevent it."""
    if len(data) > MAX_BYTES:
        return ImportPlan([], [_("Le fichier dépasse 2 Mo.")], 0)
    text = decode(data).replace("\x00", "")
    rows, errors = _rows(text)
    if errors:
        return ImportPlan([], errors, 0)
    organisations = {
        organisation.name.casefold(): organisation for organisation in Organisation.objects.filter(territory=territory)
    }
    emails = {row["agent"].casefold() for _number, row in rows if row.get("agent")}
    agents: dict[tuple[str, int], Agent] = {}
    if emails:
        agents = {
            (role.agent.email.casefold(), role.organisation_id): role.agent
            for role in AgentRole.objects.annotate(email=Lower("agent__email"))
            .filter(organisation__territory=territory, email__in=emails)
            .select_related("agent")
        }
    existing = {sector.name.casefold(): sector for sector in Sector.objects.filter(territory=territory)}
    communes = _communes({row["commune"].upper() for _number, row in rows if row.get("commune")})
    plans: dict[str, SectorPlan] = {}
    for number, row in rows:
        name = row.get("secteur", "")
        if not name:
            errors.append(_("Ligne %(line)s : le nom du secteur est obligatoire.") % {"line": number})
            continue
        if len(name) > 150:
            errors.append(_("Ligne %(line)s : le nom du secteur dépasse 150 caractères.") % {"line": number})
            continue
        plan = plans.setdefault(name.casefold(), SectorPlan(name=name, existing=existing.get(name.casefold())))
        code, street = row.get("commune", ""), row.get("rue", "")
        organisation_name, email = row.get("organisation", ""), row.get("agent", "")
        if not code and not organisation_name:
            errors.append(_("Ligne %(line)s : indiquez une commune, une organisation, ou les deux.") % {"line": number})
            continue
        if street and not code:
            errors.append(_("Ligne %(line)s : une rue doit être accompagnée de sa commune.") % {"line": number})
            continue
        if len(street) > STREET_MAX_LENGTH:
            errors.append(
                _("Ligne %(line)s : le nom de la rue dépasse %(max)s caractères.")
                % {"line": number, "max": STREET_MAX_LENGTH}
            )
            continue
        if street and not street_key(street):
            # « 12 bis » alone would be stored as a street but match as the whole commune.
            errors.append(
                _("Ligne %(line)s : la rue « %(street)s » n'a pas de nom.") % {"line": number, "street": street}
            )
            continue
        if code:
            commune = communes.get(code.upper())
            if commune is None:
                errors.append(_("Ligne %(line)s : commune « %(code)s » inconnue.") % {"line": number, "code": code})
                continue
            if commune.departement != territory.departement_number:
                errors.append(
                    _("Ligne %(line)s : la commune %(commune)s n'est pas dans le département %(number)s.")
                    % {"line": number, "commune": commune, "number": territory.departement_number}
                )
                continue
            plan.areas[(commune.pk, street_key(street))] = (commune, street)
        if email and not organisation_name:
            errors.append(_("Ligne %(line)s : un agent doit être accompagné de son organisation.") % {"line": number})
            continue
        if organisation_name:
            organisation = organisations.get(organisation_name.casefold())
            if organisation is None:
                errors.append(
                    _("Ligne %(line)s : organisation « %(name)s » inconnue dans le territoire.")
                    % {"line": number, "name": organisation_name}
                )
                continue
            agent = None
            if email:
                agent = agents.get((email.casefold(), organisation.pk))
                if agent is None:
                    errors.append(
                        _("Ligne %(line)s : aucun agent « %(email)s » dans l'organisation « %(name)s ».")
                        % {"line": number, "email": email, "name": organisation.name}
                    )
                    continue
            label = f"{agent.full_name} ({organisation.name})" if agent else organisation.name
            plan.attributions[(organisation.pk, agent.pk if agent else None)] = label
    sectors = list(plans.values())
    if not errors:
        _diff(sectors)
    return ImportPlan(sectors=sectors, errors=errors, lines=len(rows))


def _communes(codes: set[str]) -> dict[str, Commune]:
    """Today's commune of each current or former INSEE code, as `resolve_commune` finds it for one
    code, in two queries for the whole file."""
    codes = {code for code in codes if INSEE_CODE.match(code)}
    found: dict[str, Commune] = {commune.pk: commune for commune in Commune.objects.filter(insee_code__in=codes)}
    former_codes = codes - found.keys()
    if former_codes:
        formers = FormerCommune.objects.filter(insee_code__in=former_codes).select_related("commune")
        for former in formers.order_by("insee_code", "name"):
            found.setdefault(former.insee_code, former.commune)
    return found


def _area_label(commune: Commune, street: str) -> str:
    return f"{commune} — {street}" if street else str(commune)


def _diff(plans: list[SectorPlan]) -> None:
    ids = [plan.existing.pk for plan in plans if plan.existing]
    areas: dict[int, dict[AreaKey, str]] = defaultdict(dict)
    for area in SectorArea.objects.filter(sector_id__in=ids).select_related("commune"):
        areas[area.sector_id][(area.commune_id, area.street_key)] = _area_label(area.commune, area.street)
    attributions: dict[int, dict[AttributionKey, str]] = defaultdict(dict)
    for attribution in SectorAttribution.objects.filter(sector_id__in=ids).select_related("organisation", "agent"):
        label = (
            f"{attribution.agent.full_name} ({attribution.organisation.name})"
            if attribution.agent
            else attribution.organisation.name
        )
        attributions[attribution.sector_id][(attribution.organisation_id, attribution.agent_id)] = label
    for plan in plans:
        before_areas = areas.get(plan.existing.pk, {}) if plan.existing else {}
        before_attributions = attributions.get(plan.existing.pk, {}) if plan.existing else {}
        plan.areas_added = [_area_label(*plan.areas[key]) for key in plan.areas if key not in before_areas]
        plan.areas_removed = [label for key, label in before_areas.items() if key not in plan.areas]
        plan.attributions_added = [label for key, label in plan.attributions.items() if key not in before_attributions]
        plan.attributions_removed = [
            label for key, label in before_attributions.items() if key not in plan.attributions
        ]


TOKEN_SALT = "sectorisation.imports.preview"


def preview_token(*, territory: Territory, agent: Agent, plan: ImportPlan) -> str:
    """The seal of a preview, for its « Appliquer » form: this plan, shown to this agent, in this
    territory. Keyed with the secret key, so that a form cannot be made up for another plan."""
    return salted_hmac(TOKEN_SALT, f"{territory.pk}:{agent.pk}:{plan.digest()}", algorithm="sha256").hexdigest()


class PreviewOutdated(Exception):
    """Applying now would not do what the preview showed: nothing was written. `plan` is what the
    file would do now, to be previewed again."""

    def __init__(self, plan: ImportPlan):
        super().__init__("The sectors or the file differ from the preview.")
        self.plan = plan


@transaction.atomic
def apply_previewed(*, territory: Territory, agent: Agent, data: bytes, token: str) -> tuple[ImportPlan, int]:
    """Plans the file again and applies it if the plan is the one sealed by `token` (see
    `preview_token`); returns the plan and the number of sectors changed (0 and the errors when a
    line became wrong, an organisation or an agent having gone). Raises `PreviewOutdated` when the
    plan differs. Two imports of a territory run one after the other (its row is locked), so that
    a form posted twice applies once."""
    Territory.objects.select_for_update().values_list("pk", flat=True).get(pk=territory.pk)
    plan = plan_import(territory, data)
    if plan.errors:
        return plan, 0
    if not constant_time_compare(token, preview_token(territory=territory, agent=agent, plan=plan)):
        raise PreviewOutdated(plan)
    return plan, apply_import(territory, plan)


@transaction.atomic
def apply_import(territory: Territory, plan: ImportPlan) -> int:
    """Writes the plan (computed again just before, from the same file); returns the number of
    sectors changed."""
    if plan.errors:
        raise ValueError("A plan with errors is never applied.")
    changed = 0
    for sector_plan in plan.sectors:
        if not sector_plan.changes:
            continue
        changed += 1
        sector = sector_plan.existing or Sector.objects.create(territory=territory, name=sector_plan.name)
        keep_areas = set(sector_plan.areas)
        for area in list(sector.areas.all()):
            if (area.commune_id, area.street_key) not in keep_areas:
                area.delete()
            else:
                keep_areas.discard((area.commune_id, area.street_key))
        for key in keep_areas:
            commune, street = sector_plan.areas[key]
            SectorArea.objects.create(sector=sector, commune=commune, street=street)
        keep_attributions = set(sector_plan.attributions)
        for attribution in list(sector.attributions.all()):
            attribution_key = (attribution.organisation_id, attribution.agent_id)
            if attribution_key not in keep_attributions:
                attribution.delete()
            else:
                keep_attributions.discard(attribution_key)
        for organisation_id, agent_id in keep_attributions:
            SectorAttribution.objects.create(sector=sector, organisation_id=organisation_id, agent_id=agent_id)
    return changed
