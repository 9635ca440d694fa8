import datetime as dt
import zoneinfo
from functools import cached_property

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models.functions import Collate, Lower
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from rdv.phone import PhoneNumberField
from rdv.words import time_of_day

TIME_ZONE_CHOICES = [
    ("Europe/Paris", _("Europe/Paris — métropole et Corse")),
    ("America/Guadeloupe", _("America/Guadeloupe — Guadeloupe")),
    ("America/Martinique", _("America/Martinique — Martinique")),
    ("America/Cayenne", _("America/Cayenne — Guyane")),
    ("Indian/Reunion", _("Indian/Reunion — La Réunion")),
    ("Indian/Mayotte", _("Indian/Mayotte — Mayotte")),
    ("America/Miquelon", _("America/Miquelon — Saint-Pierre-et-Miquelon")),
    ("Pacific/Noumea", _("Pacific/Noumea — Nouvelle-Calédonie")),
    ("Pacific/Tahiti", _("Pacific/Tahiti — Polynésie française")),
    ("Pacific/Wallis", _("Pacific/Wallis — Wallis-et-Futuna")),
]


class Territory(models.Model):
    """A département (or a collectivité d'outre-mer): the organisations it holds share its time zone."""

    departement_number = models.CharField(_("numéro de département"), max_length=3, unique=True)
    name = models.CharField(_("nom"), max_length=100)
    time_zone = models.CharField(_("fuseau horaire"), max_length=64, choices=TIME_ZONE_CHOICES, default="Europe/Paris")
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("territoire")
        verbose_name_plural = _("territoires")
        ordering = ["departement_number"]

    def __str__(self) -> str:
        return f"{self.departement_number} — {self.name}"


class OrganisationQuerySet(models.QuerySet):
    def for_agent(self, agent) -> "OrganisationQuerySet":
        """The organisations where the agent holds a role."""
        return self.filter(agent_roles__agent=agent)


class Organisation(models.Model):
    territory = models.ForeignKey(
        Territory, verbose_name=_("territoire"), on_delete=models.PROTECT, related_name="organisations"
    )
    name = models.CharField(_("nom"), max_length=200)
    phone = PhoneNumberField(_("téléphone"), blank=True)
    email = models.EmailField(_("adresse e-mail"), blank=True)
    website = models.URLField(_("site web"), blank=True)
    # {"monday": [["08:30", "12:00"], ["13:30", "17:00"]], …}: what usagers read when nothing
    # is bookable online. Edited by the settings pages.
    opening_hours = models.JSONField(_("horaires d'ouverture"), default=dict, blank=True)
    time_zone = models.CharField(
        _("fuseau horaire"),
        max_length=64,
        choices=TIME_ZONE_CHOICES,
        blank=True,
        help_text=_("Laisser vide pour utiliser celui du territoire."),
    )
    close_on_public_holidays = models.BooleanField(
        _("Fermé les jours fériés"),
        default=True,
        help_text=_("Les jours fériés du territoire sont retirés des disponibilités de tous les agents."),
    )
    usager_cancel_limit_hours = models.PositiveSmallIntegerField(
        _("Délai d'annulation en ligne (heures)"),
        default=4,
        validators=[MaxValueValidator(720, _("Au plus 720 heures (30 jours)."))],
        help_text=_(
            "Jusqu'à combien d'heures avant un RDV l'usager peut l'annuler ou le déplacer en ligne ; "
            "passé ce délai, il doit appeler."
        ),
    )
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "territory",
                Lower("name"),
                name="organisation_name_unique_per_territory",
                violation_error_message=_("Une organisation porte déjà ce nom dans ce territoire."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        """For its public link, `/org/<id>-<slug>/`: the id decides, the slug only reads well."""
        return slugify(self.name)[:60] or "organisation"

    @property
    def tz_name(self) -> str:
        return self.time_zone or self.territory.time_zone

    @cached_property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.tz_name)


# (name, short name, is_secretariat): the services every département has, created by a data
# migration and by the demo.
DEFAULT_SERVICES = [
    ("PMI (Protection Maternelle Infantile)", "PMI", False),
    ("Service social", "Social", False),
    ("Secrétariat", "Secrétariat", True),
]


class ServiceQuerySet(models.QuerySet):
    def ensure_defaults(self) -> None:
        for name, short_name, is_secretariat in DEFAULT_SERVICES:
            self.get_or_create(short_name=short_name, defaults={"name": name, "is_secretariat": is_secretariat})


class Service(models.Model):
    """PMI, Service social, Secrétariat… The secrétariat's agents see and edit every agenda."""

    name = models.CharField(_("nom"), max_length=100, unique=True)
    short_name = models.CharField(_("nom court"), max_length=20, unique=True)
    is_secretariat = models.BooleanField(
        _("secrétariat"),
        default=False,
        help_text=_("Les agents du secrétariat ont accès à tous les agendas de leur organisation."),
    )

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LieuQuerySet(models.QuerySet):
    def for_organisation(self, organisation) -> "LieuQuerySet":
        return self.filter(organisation=organisation)

    def active(self) -> "LieuQuerySet":
        """Archived lieux keep their RDVs and plages but take no new ones."""
        return self.filter(is_active=True)

    def by_name(self) -> "LieuQuerySet":
        """Alphabetical as a French reader expects it: « École » before « Maison », whatever the case."""
        return self.order_by(Collate("name", "fr-x-icu"), "pk")


class Lieu(models.Model):
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="lieux"
    )
    name = models.CharField(_("nom"), max_length=200)
    address = models.CharField(_("adresse"), max_length=300)
    phone = PhoneNumberField(_("téléphone"), blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    objects = LieuQuerySet.as_manager()

    class Meta:
        verbose_name = _("lieu")
        verbose_name_plural = _("lieux")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "organisation",
                Lower("name"),
                condition=models.Q(is_active=True),
                name="lieu_name_unique_among_active",
                violation_error_message=_("Un lieu actif de l'organisation porte déjà ce nom."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


WEEKDAYS = [
    ("monday", _("Lundi")),
    ("tuesday", _("Mardi")),
    ("wednesday", _("Mercredi")),
    ("thursday", _("Jeudi")),
    ("friday", _("Vendredi")),
    ("saturday", _("Samedi")),
    ("sunday", _("Dimanche")),
]


def opening_hours_lines(opening_hours: dict) -> list[tuple[str, str]]:
    """[("Lundi", "8h30 – 12h00, 13h30 – 17h00"), …] for the days that have hours (stored as
    ISO times, « 08:30 »)."""
    lines = []
    for key, label in WEEKDAYS:
        ranges = opening_hours.get(key) or []
        if ranges:
            text = ", ".join(
                f"{time_of_day(dt.time.fromisoformat(start))} – {time_of_day(dt.time.fromisoformat(end))}"
                for start, end in ranges
            )
            lines.append((str(label), text))
    return lines
