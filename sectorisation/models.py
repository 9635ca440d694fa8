from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from rdv.historical import HistoricalRecords
from sectorisation.names import normalise
from sectorisation.streets import street_key


def postal_code_prefixes(postal_codes: list[str]) -> list[str]:
    """["77", "771", "7718"] for ["77186"]: what `Commune.postal_code_prefixes` holds."""
    return sorted({code[:length] for code in postal_codes for length in (2, 3, 4)})


class Zone(models.TextChoices):
    METRO = "metro", _("Métropole")
    DROM = "drom", _("Outre-mer (DROM)")
    COM = "com", _("Outre-mer (COM)")


class CommuneKind(models.TextChoices):
    COMMUNE = "commune", _("Commune")
    ARRONDISSEMENT = "arrondissement", _("Arrondissement municipal")


class Commune(models.Model):
    """A commune of France as INSEE's Code officiel géographique lists it today, or an
    arrondissement municipal of Paris, Lyon or Marseille (its `parent` is the commune). Shipped in
    `sectorisation/data/communes.csv` and loaded by `sectorisation.loading.load_communes`."""

    insee_code = models.CharField(_("code INSEE"), max_length=5, primary_key=True)
    name = models.CharField(_("nom"), max_length=100)
    departement = models.CharField(_("département"), max_length=3, db_index=True)
    zone = models.CharField(_("zone"), max_length=5, choices=Zone.choices, default=Zone.METRO)
    kind = models.CharField(_("type"), max_length=15, choices=CommuneKind.choices, default=CommuneKind.COMMUNE)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("commune de l'arrondissement"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="arrondissements",
    )
    postal_codes = ArrayField(models.CharField(max_length=5), verbose_name=_("codes postaux"), default=list, blank=True)
    # The 2-, 3- and 4-digit beginnings of the postal codes (« 77 », « 771 », « 7718 »), for
    # search as one types: a GIN index answers `@>` on them, it cannot answer a prefix of `postal_codes`.
    postal_code_prefixes = ArrayField(
        models.CharField(max_length=4), verbose_name=_("débuts des codes postaux"), default=list, editable=False
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    # The name as `sectorisation.names.normalise` spells it: what search compares.
    search_name = models.CharField(_("nom normalisé"), max_length=100, editable=False)

    # Not a column: set by `sectorisation.communes.search_communes` on a commune found by a former
    # name or code, for the page to say why it is listed.
    matched_former: "FormerCommune | None" = None

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["name", "insee_code"]
        indexes = [
            GinIndex(OpClass("search_name", name="gin_trgm_ops"), name="commune_search_name_trgm"),
            GinIndex(fields=["postal_codes"], name="commune_postal_codes_gin"),
            GinIndex(fields=["postal_code_prefixes"], name="commune_postal_prefixes_gin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="arrondissement", parent__isnull=False)
                | models.Q(kind="commune", parent__isnull=True),
                name="commune_parent_iff_arrondissement",
                violation_error_message=_("Seul un arrondissement municipal a une commune de rattachement."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.insee_code})"

    def save(self, *args, **kwargs):
        self.search_name = normalise(self.name)
        self.postal_code_prefixes = postal_code_prefixes(self.postal_codes)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name", "postal_code_prefixes"}
        super().save(*args, **kwargs)


class FormerCommune(models.Model):
    """A code or a name that designated a commune before a merger (commune nouvelle, fusion-
    association) and still leads to it: a former INSEE code without a name (`name` empty), or a
    commune déléguée or associée with its code and name. A commune déléguée that kept the chef-lieu's
    code has the current commune's code."""

    insee_code = models.CharField(_("ancien code INSEE"), max_length=5)
    name = models.CharField(_("ancien nom"), max_length=100, blank=True)
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune actuelle"), on_delete=models.CASCADE, related_name="former_communes"
    )
    search_name = models.CharField(_("nom normalisé"), max_length=100, blank=True, editable=False)

    class Meta:
        verbose_name = _("ancienne commune")
        verbose_name_plural = _("anciennes communes")
        ordering = ["insee_code", "name"]
        indexes = [
            GinIndex(OpClass("search_name", name="gin_trgm_ops"), name="formercommune_search_name_trgm"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["insee_code", "name"],
                name="formercommune_unique_code_name",
                violation_error_message=_("Cette ancienne commune est déjà enregistrée."),
            ),
        ]

    def __str__(self) -> str:
        label = self.name or _("ancien code")
        return f"{label} ({self.insee_code}) → {self.commune_id}"

    def save(self, *args, **kwargs):
        self.search_name = normalise(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_name"}
        super().save(*args, **kwargs)


class Sector(models.Model):
    """A part of a territory (communes, or streets of a commune) and who serves it: organisations,
    or given agents of an organisation. Managed by the territory's administrators."""

    territory = models.ForeignKey(
        "organisations.Territory", verbose_name=_("territoire"), on_delete=models.CASCADE, related_name="sectors"
    )
    name = models.CharField(_("nom"), max_length=150)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("secteur")
        verbose_name_plural = _("secteurs")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "territory",
                Lower("name"),
                name="sector_name_unique_per_territory",
                violation_error_message=_("Un secteur de ce nom existe déjà dans le territoire."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SectorArea(models.Model):
    """A commune of a sector, whole (no street) or one of its streets. A street area wins over the
    whole-commune areas of other sectors for the addresses of that street."""

    sector = models.ForeignKey(Sector, verbose_name=_("secteur"), on_delete=models.CASCADE, related_name="areas")
    commune = models.ForeignKey(
        Commune, verbose_name=_("commune"), on_delete=models.PROTECT, related_name="sector_areas"
    )
    street = models.CharField(_("rue"), max_length=200, blank=True, help_text=_("Vide : toute la commune."))
    # `street` normalised (`street_key()`): what an address's street is compared with.
    street_key = models.CharField(max_length=200, blank=True, editable=False)

    # Who serves an address is audited: every area and attribution added or removed, and by whom.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("zone d'un secteur")
        verbose_name_plural = _("zones des secteurs")
        ordering = ["commune__name", "street"]
        constraints = [
            models.UniqueConstraint(
                "sector",
                "commune",
                "street_key",
                name="sector_area_unique",
                violation_error_message=_("Cette zone fait déjà partie du secteur."),
            ),
        ]
        indexes = [models.Index(fields=["commune", "street_key"], name="sector_area_commune_idx")]

    def __str__(self) -> str:
        return f"{self.commune.name} — {self.street}" if self.street else str(self.commune.name)

    def save(self, *args, **kwargs):
        self.street_key = street_key(self.street)
        super().save(*args, **kwargs)


class SectorAttribution(models.Model):
    """Who serves a sector: an organisation (`agent` empty), or one agent of that organisation."""

    sector = models.ForeignKey(Sector, verbose_name=_("secteur"), on_delete=models.CASCADE, related_name="attributions")
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="sector_attributions",
    )
    agent = models.ForeignKey(
        "agents.Agent",
        verbose_name=_("agent"),
        on_delete=models.CASCADE,
        related_name="sector_attributions",
        null=True,
        blank=True,
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("attribution d'un secteur")
        verbose_name_plural = _("attributions des secteurs")
        constraints = [
            models.UniqueConstraint(
                "sector",
                "organisation",
                "agent",
                nulls_distinct=False,
                name="sector_attribution_unique",
                violation_error_message=_("Ce secteur est déjà attribué ainsi."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sector} → {self.agent or self.organisation}"
