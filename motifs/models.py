from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisations.models import Organisation, Service
from rdv.historical import HistoricalRecords

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = 30 * DAY  # booking windows count a month as 30 days
YEAR = 365 * DAY

MAX_DURATION_IN_MIN = 8 * 60

COLOR_REGEX = r"^#[0-9A-Fa-f]{6}$"

# (name, short name of the service it belongs to, or None for every service): the référentiel
# every département starts with, loaded by a data migration and by the demo. Super-admins manage
# it afterwards in the Django admin.
REFERENTIEL = [
    ("Consultation prénatale", "PMI"),
    ("Consultation pédiatrique 0-6 ans", "PMI"),
    ("Consultation de puériculture", "PMI"),
    ("Pesée", "PMI"),
    ("Bilan de santé en école maternelle", "PMI"),
    ("Entretien prénatal précoce", "PMI"),
    ("Visite à domicile post-natale", "PMI"),
    ("Consultation de planification familiale", "PMI"),
    ("Consultation de suivi de grossesse", "PMI"),
    ("Vaccination", "PMI"),
    ("Premier rendez-vous avec un travailleur social", "Social"),
    ("Accompagnement budgétaire", "Social"),
    ("Demande d'aide financière", "Social"),
    ("Aide aux démarches administratives", "Social"),
    ("Accompagnement RSA", "Social"),
    ("Entretien d'évaluation", "Social"),
    ("Suivi social", "Social"),
    ("Visite à domicile sociale", "Social"),
    ("Information préoccupante", None),
    ("Accueil secrétariat", "Secrétariat"),
    ("Permanence administrative", "Secrétariat"),
]

# Names of the référentiel that reveal a private situation to whoever reads them over the
# usager's shoulder (a shared mailbox, a lock screen): a child-protection concern, contraception
# or abortion, financial hardship or a minimum income. A motif of such a category does not show
# its name in the messages sent to usagers unless an admin decides otherwise
# (`Motif.show_name_in_messages`); SMS and email subjects never show any motif name.
SENSITIVE_NAMES = frozenset(
    {
        "Information préoccupante",
        "Consultation de planification familiale",
        "Demande d'aide financière",
        "Accompagnement budgétaire",
        "Accompagnement RSA",
    }
)


class MotifCategoryQuerySet(models.QuerySet):
    def active(self) -> "MotifCategoryQuerySet":
        """Names an admin may still pick for a new motif."""
        return self.filter(is_active=True)

    def ensure_referentiel(self) -> None:
        Service.objects.ensure_defaults()
        services = {service.short_name: service for service in Service.objects.all()}
        for name, service_short_name in REFERENTIEL:
            self.get_or_create(
                name=name,
                defaults={"service": services.get(service_short_name), "sensitive": name in SENSITIVE_NAMES},
            )


class MotifCategory(models.Model):
    """The shared référentiel of motif names: admins choose a name in it, never type one, so that
    statistics compare like with like across organisations."""

    name = models.CharField(_("nom"), max_length=150, unique=True)
    service = models.ForeignKey(
        Service,
        verbose_name=_("service"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="motif_categories",
        help_text=_("Le service auquel ce nom est réservé. Laisser vide pour tous les services."),
    )
    is_active = models.BooleanField(
        _("proposé"),
        default=True,
        help_text=_("Décocher pour ne plus proposer ce nom aux nouveaux motifs ; les motifs existants le gardent."),
    )
    sensitive = models.BooleanField(
        _("sensible"),
        default=False,
        help_text=_(
            "Le nom révèle une situation personnelle (protection de l'enfance, contraception, difficultés "
            "financières…) : les motifs créés avec ce nom ne l'affichent pas dans les messages aux usagers."
        ),
    )

    objects = MotifCategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("nom de motif du référentiel")
        verbose_name_plural = _("référentiel des noms de motifs")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MotifQuerySet(models.QuerySet):
    def for_organisation(self, organisation) -> "MotifQuerySet":
        return self.filter(organisation=organisation)

    def active(self) -> "MotifQuerySet":
        """Archived motifs keep their RDVs but take no new ones."""
        return self.filter(archived_at__isnull=True)

    def archived(self) -> "MotifQuerySet":
        return self.filter(archived_at__isnull=False)

    def bookable_online(self) -> "MotifQuerySet":
        return self.filter(bookable_online=True)

    def for_service(self, service) -> "MotifQuerySet":
        return self.filter(service=service)


class Motif(models.Model):
    """A kind of RDV an organisation offers: its service, name, duration, where it happens and
    whether usagers may book it online.

    The name comes from the référentiel (`category`) and is copied into `name` when the motif is
    created or its category changed: a later rename in the référentiel must not rewrite what
    agents and usagers were told (agendas, confirmation emails, the motif's history). `category`
    stays the identity used for uniqueness and statistics.
    """

    class LocationType(models.TextChoices):
        PUBLIC_OFFICE = "public_office", _("Sur place")
        PHONE = "phone", _("Par téléphone")
        HOME = "home", _("À domicile")

    class SectorisationLevel(models.TextChoices):
        """Which sectors' attributions decide who offers this motif online (as in the original)."""

        DEPARTEMENT = "departement", _("Tout le département (pas de sectorisation)")
        ORGANISATION = "organisation", _("Les organisations du secteur de l'usager")
        AGENT = "agent", _("Les agents attribués au secteur de l'usager")

    class BookingDelay(models.IntegerChoices):
        """How long before (minimum) or how far ahead (maximum) an usager may book, in seconds."""

        HALF_HOUR = 30 * MINUTE, _("30 minutes")
        ONE_HOUR = HOUR, _("1 heure")
        TWO_HOURS = 2 * HOUR, _("2 heures")
        THREE_HOURS = 3 * HOUR, _("3 heures")
        SIX_HOURS = 6 * HOUR, _("6 heures")
        TWELVE_HOURS = 12 * HOUR, _("12 heures")
        ONE_DAY = DAY, _("1 jour")
        TWO_DAYS = 2 * DAY, _("2 jours")
        THREE_DAYS = 3 * DAY, _("3 jours")
        ONE_WEEK = WEEK, _("1 semaine")
        TWO_WEEKS = 2 * WEEK, _("2 semaines")
        THREE_WEEKS = 3 * WEEK, _("3 semaines")
        ONE_MONTH = MONTH, _("1 mois")
        TWO_MONTHS = 2 * MONTH, _("2 mois")
        THREE_MONTHS = 3 * MONTH, _("3 mois")
        SIX_MONTHS = 6 * MONTH, _("6 mois")
        ONE_YEAR = YEAR, _("1 an")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="motifs"
    )
    service = models.ForeignKey(Service, verbose_name=_("service"), on_delete=models.PROTECT, related_name="motifs")
    category = models.ForeignKey(MotifCategory, verbose_name=_("nom"), on_delete=models.PROTECT, related_name="motifs")
    name = models.CharField(_("nom"), max_length=150, editable=False)
    default_duration_in_min = models.PositiveSmallIntegerField(
        _("durée par défaut en minutes"),
        default=30,
        validators=[
            MinValueValidator(1, _("La durée doit être d'au moins 1 minute.")),
            MaxValueValidator(
                MAX_DURATION_IN_MIN,
                _("La durée ne peut pas dépasser %(max)s minutes (8 heures).") % {"max": MAX_DURATION_IN_MIN},
            ),
        ],
    )
    color = models.CharField(
        _("couleur"),
        max_length=7,
        default="#6a6af4",
        validators=[RegexValidator(COLOR_REGEX, _("Choisissez une couleur au format #RRVVBB, par exemple #6a6af4."))],
    )
    location_type = models.CharField(
        _("type de RDV"), max_length=20, choices=LocationType.choices, default=LocationType.PUBLIC_OFFICE
    )
    follow_up = models.BooleanField(_("RDV de suivi"), default=False)
    for_secretariat = models.BooleanField(_("Le RDV pourra être effectué par le service secrétariat"), default=False)
    bookable_online = models.BooleanField(_("RDV en ligne"), default=False)
    min_booking_delay = models.PositiveIntegerField(
        _("Délai minimum de réservation"), choices=BookingDelay.choices, default=BookingDelay.HALF_HOUR
    )
    max_booking_delay = models.PositiveIntegerField(
        _("Délai maximum de réservation"), choices=BookingDelay.choices, default=BookingDelay.THREE_MONTHS
    )
    sectorisation_level = models.CharField(
        _("Sectorisation géographique"),
        max_length=20,
        choices=SectorisationLevel.choices,
        default=SectorisationLevel.DEPARTEMENT,
        help_text=_("Pour la réservation en ligne : à qui le motif est proposé selon l'adresse de l'usager."),
    )
    notifications_disabled = models.BooleanField(
        _("Désactiver toutes les notifications des usagers par email et par SMS"), default=False
    )
    # Discretion: a motif's name can reveal a private situation. It never appears in an SMS or an
    # email subject; in an email's text and on the page its link opens only when this is on.
    show_name_in_messages = models.BooleanField(_("Afficher le nom du motif dans les messages"), default=True)
    instructions_before = models.TextField(_("Instructions à accepter avant la prise du rendez-vous"), blank=True)
    instructions_after = models.TextField(_("Indications affichées après la confirmation du rendez-vous"), blank=True)
    archived_at = models.DateTimeField(_("archivé le"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    history = HistoricalRecords()

    objects = MotifQuerySet.as_manager()

    class Meta:
        verbose_name = _("motif")
        verbose_name_plural = _("motifs")
        ordering = ["name", "location_type"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_duration_in_min__gt=0, default_duration_in_min__lte=MAX_DURATION_IN_MIN),
                name="motif_duration_between_1_and_480_min",
                violation_error_message=_("La durée par défaut doit être comprise entre 1 et 480 minutes."),
            ),
            models.CheckConstraint(
                condition=models.Q(color__regex=COLOR_REGEX),
                name="motif_color_is_hex",
                violation_error_message=_("La couleur doit être au format #RRVVBB."),
            ),
            models.CheckConstraint(
                condition=models.Q(min_booking_delay__lt=models.F("max_booking_delay")),
                name="motif_min_booking_delay_before_max",
                violation_error_message=_(
                    "Le délai minimum de réservation doit être inférieur au délai maximum de réservation."
                ),
            ),
            # The secrétariat works from the MDS: it cannot go to the usager's home.
            models.CheckConstraint(
                condition=~models.Q(location_type="home", for_secretariat=True),
                name="motif_home_not_for_secretariat",
                violation_error_message=_("Un RDV à domicile ne peut pas être effectué par le service secrétariat."),
            ),
            models.UniqueConstraint(
                "organisation",
                "service",
                "category",
                "location_type",
                condition=models.Q(archived_at__isnull=True),
                name="motif_unique_per_organisation_service_name_type",
                violation_error_message=_(
                    "Un motif de ce nom existe déjà pour ce service et ce type de RDV dans l'organisation."
                ),
            ),
        ]
        indexes = [models.Index(fields=["organisation", "archived_at"], name="motif_org_archived_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_location_type_display()})"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def use_category(self, category: MotifCategory) -> None:
        """Take the référentiel's current name, as the docstring of the class explains."""
        self.category = category
        self.name = category.name

    def follow_category_discretion(self) -> None:
        """When the motif is created: a sensitive référentiel name is not shown in messages (an
        admin may show it afterwards, knowingly, by modifying the motif); others keep the choice."""
        if self.category.sensitive:
            self.show_name_in_messages = False

    def archive(self) -> None:
        self.archived_at = timezone.now()
        self.save(update_fields=["archived_at"])

    def unarchive(self) -> None:
        self.archived_at = None
        self.save(update_fields=["archived_at"])

    def conflicting_active_motifs(self) -> MotifQuerySet:
        """Active motifs of the organisation this one would duplicate (same service, name, type)."""
        return (
            Motif.objects.for_organisation(self.organisation_id)
            .active()
            .filter(service_id=self.service_id, category_id=self.category_id, location_type=self.location_type)
            .exclude(pk=self.pk)
        )
