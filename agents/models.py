import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.postgres.expressions import ArraySubquery
from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.functions import JSONObject, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisations.models import Service, Territory
from rdv.historical import HistoricalRecords


class AgentQuerySet(models.QuerySet):
    def for_organisation(self, organisation) -> "AgentQuerySet":
        """Agents holding a role in the organisation."""
        return self.filter(roles__organisation=organisation)

    def active(self) -> "AgentQuerySet":
        return self.filter(is_active=True)

    def in_service(self, service, organisation) -> "AgentQuerySet":
        """Agents who belong to `service` in `organisation` (their services elsewhere don't count)."""
        roles = AgentRole.objects.filter(agent=OuterRef("pk"), organisation=organisation, services=service)
        return self.filter(Exists(roles))

    def with_services_in(self, organisation) -> "AgentQuerySet":
        """Each agent annotated with `services_here`: its services in `organisation`, by name, as
        dicts with `id`, `name` and `is_secretariat`. A subquery, no query more."""
        services = (
            Service.objects.filter(agent_roles__agent=OuterRef("pk"), agent_roles__organisation=organisation)
            .order_by("name")
            .values(data=JSONObject(id="pk", name="name", is_secretariat="is_secretariat"))
        )
        return self.annotate(services_here=ArraySubquery(services))


class AgentManager(BaseUserManager.from_queryset(AgentQuerySet)):  # type: ignore[misc]
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> "Agent":
        if not email:
            raise ValueError("Un agent a une adresse e-mail.")
        agent = self.model(email=self.normalize_email(email).lower(), **fields)
        agent.set_password(password)
        agent.save(using=self._db)
        return agent

    def create_user(self, email: str, password: str | None = None, **fields) -> "Agent":
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "Agent":
        fields["is_staff"] = True
        fields["is_superuser"] = True
        return self._create(email, password, **fields)

    def get_by_natural_key(self, username: str) -> "Agent":
        return self.get(email__iexact=username)


class Agent(AbstractBaseUser, PermissionsMixin):
    """A professional's login. Its organisations, and its level and services in each, are its
    `AgentRole`s: nothing about its rights lives on the account itself."""

    class RdvNotifications(models.TextChoices):
        """Which changes of its RDVs an agent hears of by email (« Mon compte »). The default spares
        it the messages about what it did itself or about RDVs far ahead, and keeps what upsets its
        day: an usager booking or cancelling online for tomorrow, a colleague moving its RDV."""

        ALL = "all", _("Tous les changements de mes RDV")
        OTHERS = "others", _("Seulement les changements faits par d'autres (usagers ou autres agents)")
        OTHERS_SOON = (
            "others_soon",
            _("Seulement les changements faits par d'autres pour les RDV des prochaines 24 heures"),
        )
        NONE = "none", _("Aucune")

    email = models.EmailField(_("adresse e-mail"), max_length=254, unique=True)
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    is_active = models.BooleanField(
        _("actif"), default=True, help_text=_("Décocher plutôt que supprimer : l'historique est conservé.")
    )
    is_staff = models.BooleanField(
        _("super-administrateur"), default=False, help_text=_("Accès à l'administration technique (/admin).")
    )
    date_joined = models.DateTimeField(_("inscrit le"), default=timezone.now)
    rdv_notifications = models.CharField(
        _("notifications de mes RDV"),
        max_length=12,
        choices=RdvNotifications.choices,
        default=RdvNotifications.OTHERS_SOON,
    )

    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    objects = AgentManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="agent_email_unique",
                violation_error_message=_("Un agent utilise déjà cette adresse e-mail."),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.first_name

    def wants_rdv_notification(self, *, by: "Agent | None", soon: bool) -> bool:
        """Whether a change of one of its RDVs made by `by` (None: an usager online) is emailed to
        it, by its choice; `soon`: the RDV is (or was, before a move) within the next 24 hours."""
        choice = self.rdv_notifications
        by_others = by is None or by.pk != self.pk
        if choice == self.RdvNotifications.ALL:
            return True
        if choice == self.RdvNotifications.OTHERS:
            return by_others
        if choice == self.RdvNotifications.OTHERS_SOON:
            return by_others and soon
        return False


class AgentRoleQuerySet(models.QuerySet):
    def for_organisation(self, organisation) -> "AgentRoleQuerySet":
        return self.filter(organisation=organisation)

    def admins(self) -> "AgentRoleQuerySet":
        return self.filter(level=AgentRole.Level.ADMIN)


class AgentRole(models.Model):
    """An agent's membership of an organisation, with its level and its services there."""

    class Level(models.TextChoices):
        ADMIN = "admin", _("Administrateur")
        BASIC = "basic", _("Utilisateur")

    agent = models.ForeignKey(Agent, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="roles")
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="agent_roles",
    )
    level = models.CharField(_("rôle"), max_length=10, choices=Level.choices, default=Level.BASIC)
    # Per organisation: what one organisation's admin sets never changes the agent's rights in
    # another (a basic agent sees the agendas of its services' colleagues, the secrétariat all).
    services = models.ManyToManyField(Service, verbose_name=_("services"), related_name="agent_roles", blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    history = HistoricalRecords()

    objects = AgentRoleQuerySet.as_manager()

    class Meta:
        verbose_name = _("rôle d'agent")
        verbose_name_plural = _("rôles d'agents")
        constraints = [
            models.UniqueConstraint(
                "agent",
                "organisation",
                name="agent_role_unique_per_organisation",
                violation_error_message=_("Cet agent a déjà un rôle dans cette organisation."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} — {self.organisation} ({self.get_level_display()})"

    @property
    def is_admin(self) -> bool:
        return self.level == self.Level.ADMIN


class TerritoryRole(models.Model):
    """A territory administrator: manages the territory's sectorisation (« Paramètres du
    territoire »). Given in the Django admin; independent of the agent's organisation roles."""

    agent = models.ForeignKey(Agent, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="territory_roles")
    territory = models.ForeignKey(
        Territory, verbose_name=_("territoire"), on_delete=models.CASCADE, related_name="admin_roles"
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("administrateur de territoire")
        verbose_name_plural = _("administrateurs de territoire")
        constraints = [
            models.UniqueConstraint(
                "agent",
                "territory",
                name="territory_role_unique",
                violation_error_message=_("Cet agent administre déjà ce territoire."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} — {self.territory}"


INVITATION_VALIDITY = timedelta(days=7)


def hash_token(token: str) -> str:
    """Invitation links carry a secret token; the database keeps only its SHA-256, so a leaked
    database dump or backup gives no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class AgentInvitationQuerySet(models.QuerySet):
    def for_organisation(self, organisation) -> "AgentInvitationQuerySet":
        return self.filter(organisation=organisation)

    def pending(self) -> "AgentInvitationQuerySet":
        """Neither accepted, cancelled nor declined, expired or not: the admin may still re-send them."""
        return self.filter(accepted_at__isnull=True, cancelled_at__isnull=True, declined_at__isnull=True)

    def for_email(self, email: str) -> "AgentInvitationQuerySet":
        return self.filter(email__iexact=email)


class AgentInvitation(models.Model):
    """« Invitez un professionnel »: a single-use link, valid for 7 days, with which the person
    invited joins the organisation with the service and role chosen: it creates its account, or,
    when it already has one, accepts (or declines) from that account once signed in. Nothing
    changes for anyone until the person invited says yes."""

    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="agent_invitations",
    )
    email = models.EmailField(_("adresse e-mail"), max_length=254)
    service = models.ForeignKey(
        "organisations.Service", verbose_name=_("service"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("rôle"), max_length=10, choices=AgentRole.Level.choices, default=AgentRole.Level.BASIC)
    invited_by = models.ForeignKey(
        Agent,
        verbose_name=_("invité par"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    token_hash = models.CharField(_("empreinte du jeton"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    sent_at = models.DateTimeField(_("envoyée le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    accepted_at = models.DateTimeField(_("acceptée le"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("annulée le"), null=True, blank=True)
    declined_at = models.DateTimeField(_("refusée le"), null=True, blank=True)

    objects = AgentInvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation d'agent")
        verbose_name_plural = _("invitations d'agents")
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                models.F("organisation"),
                Lower("email"),
                condition=models.Q(accepted_at__isnull=True, cancelled_at__isnull=True, declined_at__isnull=True),
                name="agent_invitation_one_pending_per_email",
                violation_error_message=_("Une invitation est déjà en attente pour cette adresse e-mail."),
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(cancelled_at__isnull=True),
                name="agent_invitation_not_accepted_and_cancelled",
                violation_error_message=_("Une invitation ne peut pas être à la fois acceptée et annulée."),
            ),
            models.CheckConstraint(
                condition=models.Q(declined_at__isnull=True)
                | models.Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="agent_invitation_declined_is_final",
                violation_error_message=_("Une invitation refusée ne peut être ni acceptée ni annulée."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} — {self.organisation}"

    def set_new_token(self) -> str:
        """Give the invitation a fresh secret, valid 7 days from now; return it (it is stored
        only hashed, so this is the one moment it can be put in an email)."""
        token = new_token()
        self.token_hash = hash_token(token)
        self.sent_at = timezone.now()
        self.expires_at = self.sent_at + INVITATION_VALIDITY
        return token

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.cancelled_at is None and self.declined_at is None

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.is_pending and not self.is_expired
