import datetime

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rdv.historical import HistoricalRecords
from rdv.phone import PhoneNumberField
from rdv.words import de
from usagers.search import (
    SearchNormalise,
    relevance_ordering,
    search_filters,
    search_text_expression,
    sort_name_expression,
)

EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


def validate_birth_date(value: datetime.date) -> None:
    if value > timezone.localdate():
        raise ValidationError(_("La date de naissance ne peut pas être dans le futur."), code="future")
    if value < EARLIEST_BIRTH_DATE:
        raise ValidationError(_("Saisissez une date de naissance postérieure au 1er janvier 1900."), code="too_old")


class UsagerQuerySet(models.QuerySet):
    def visible_in(self, organisation) -> "UsagerQuerySet":
        """The usagers an agent of `organisation` may see: those with a profile there that was not
        removed, and not anonymised. An usager known to several organisations is seen by each
        through its own profile; nothing else of another organisation is ever visible.

        Reads `organisation_ids`, the database-maintained list of those profiles, so that a search
        filters the rows its index found without joining 100 000 profiles."""
        return self.filter(organisation_ids__contains=[organisation.pk], anonymised_at__isnull=True)

    def followed_by(self, agent, organisation) -> "UsagerQuerySet":
        """« Mes usagers »: the usagers whose profile in `organisation` names `agent` as référent."""
        profiles = UsagerProfile.objects.filter(usager=OuterRef("pk"), organisation=organisation, referents=agent)
        return self.filter(Exists(profiles))

    def search(self, query: str) -> "UsagerQuerySet":
        """Usagers whose last name, first name, birth name, email or phone contain every word of
        `query`, whatever the accents and the case, best matches first. The query the list page,
        the header's live results and bench_usagers_search run; see usagers/search.py."""
        return self.filter(*search_filters(query)).order_by(*relevance_ordering(query)).defer("search_text")

    def alphabetical(self) -> "UsagerQuerySet":
        """By last name then first name, whatever the accents and case; `search_text`, only
        useful to the database, is left out of the rows read."""
        return self.order_by("sort_name", "pk").defer("search_text")

    def likely_duplicates_of(
        self,
        *,
        first_name: str,
        last_name: str,
        birth_date: datetime.date | None,
        email: str,
        phone,
    ) -> "UsagerQuerySet":
        """Usagers that are probably the same person: same first and last names (whatever the
        accents and case) and same birth date, or same email, or same phone number."""
        condition = Q(pk__in=[])
        if birth_date and first_name and last_name:
            condition |= Q(
                birth_date=birth_date,
                sort_name=SearchNormalise(models.Value(f"{last_name} {first_name}")),
            )
        if email:
            condition |= Q(email__iexact=email)
        if phone:
            condition |= Q(phone=phone)
        return self.filter(condition)

    def not_anonymised(self) -> "UsagerQuerySet":
        return self.filter(anonymised_at__isnull=True)

    def inactive_since(self, cutoff: datetime.datetime) -> "UsagerQuerySet":
        """Responsibles whose family (themselves and their proches) has not changed since `cutoff`:
        no creation, no change of identity, and no change of a profile (notes, référents, removal
        from an organisation) in any organisation, and no RDV of the family starting after `cutoff`.
        The retention rule of anonymise_usagers."""
        HistoricalUsager = Usager.history.model
        HistoricalUsagerProfile = UsagerProfile.history.model
        family = Q(id=OuterRef("pk")) | Q(responsible_id=OuterRef("pk"))
        usager_changes = HistoricalUsager.objects.filter(family, history_date__gte=cutoff)
        profile_changes = HistoricalUsagerProfile.objects.filter(
            Q(usager_id=OuterRef("pk")) | Q(usager__responsible_id=OuterRef("pk")), history_date__gte=cutoff
        )
        new_proches = Usager.objects.filter(responsible=OuterRef("pk"), created_at__gte=cutoff)
        # Through the participations' reverse relation: usagers sit below rendezvous and never
        # import it.
        recent_rdvs = Usager.objects.filter(family, participations__rdv__starts_at__gte=cutoff)
        # Signing in online is activity too: a family that books by itself is never erased under it.
        recent_logins = UsagerAccount.objects.filter(usager_id=OuterRef("pk"), last_login_at__gte=cutoff)
        return (
            self.filter(responsible__isnull=True, created_at__lt=cutoff)
            .exclude(Exists(usager_changes))
            .exclude(Exists(profile_changes))
            .exclude(Exists(new_proches))
            .exclude(Exists(recent_rdvs))
            .exclude(Exists(recent_logins))
        )


# The usager's fields an agent fills in on its fiche, identity first: the form shows them, the
# history of the fiche describes their changes.
IDENTITY_FIELDS = ["first_name", "last_name", "birth_name", "birth_date"]
EDITABLE_FIELDS = [
    *IDENTITY_FIELDS,
    "email",
    "phone",
    "address",
    "caisse",
    "case_number",
    "family_situation",
    "number_of_children",
    "housing",
    "notify_by_email",
    "notify_by_sms",
]


class Usager(models.Model):
    """A person who takes rendez-vous: an « usager en charge » (responsible) or a « proche » (an
    usager whose `responsible` is another usager: a child, a dependent adult). A proche has no
    login of its own; its notifications go to its responsible.

    The identity is shared by the organisations that know the usager; what one organisation
    writes about it (notes, référents) lives on its `UsagerProfile`.
    """

    class Caisse(models.TextChoices):
        CAF = "caf", _("CAF")
        MSA = "msa", _("MSA")

    class FamilySituation(models.TextChoices):
        SINGLE = "single", _("Célibataire")
        IN_A_RELATIONSHIP = "in_a_relationship", _("En couple")
        DIVORCED = "divorced", _("Divorcé(e) ou séparé(e)")
        WIDOWED = "widowed", _("Veuf ou veuve")

    class Housing(models.TextChoices):
        HOMELESS = "homeless", _("Sans domicile fixe")
        HOSTED = "hosted", _("Hébergé")
        TENANT = "tenant", _("Locataire")
        BUYING = "buying", _("En accession à la propriété")
        OWNER = "owner", _("Propriétaire")
        OTHER = "other", _("Autre")

    class CreatedBy(models.TextChoices):
        AGENT = "agent", _("un agent")
        USAGER = "usager", _("l'usager en ligne")
        PRESCRIPTEUR = "prescripteur", _("un prescripteur")

    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    birth_name = models.CharField(_("nom de naissance"), max_length=150, blank=True)
    birth_date = models.DateField(_("date de naissance"), null=True, blank=True, validators=[validate_birth_date])
    email = models.EmailField(_("email"), max_length=254, blank=True)
    phone = PhoneNumberField(_("numéro de téléphone"), region="FR", blank=True)
    address = models.CharField(_("adresse"), max_length=300, blank=True)
    caisse = models.CharField(_("caisse d'affiliation"), max_length=10, choices=Caisse.choices, blank=True)
    case_number = models.CharField(_("numéro d'allocataire"), max_length=30, blank=True)
    family_situation = models.CharField(
        _("situation familiale"), max_length=30, choices=FamilySituation.choices, blank=True
    )
    number_of_children = models.PositiveSmallIntegerField(
        _("nombre d'enfants"), null=True, blank=True, validators=[MaxValueValidator(30)]
    )
    housing = models.CharField(_("logement"), max_length=20, choices=Housing.choices, blank=True)
    notify_by_email = models.BooleanField(_("notifications par email"), default=True)
    notify_by_sms = models.BooleanField(_("notifications par SMS"), default=True)
    responsible = models.ForeignKey(
        "self",
        verbose_name=_("usager en charge"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proches",
    )
    created_by = models.CharField(_("créé par"), max_length=20, choices=CreatedBy.choices, default=CreatedBy.AGENT)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    anonymised_at = models.DateTimeField(_("anonymisé le"), null=True, blank=True)
    # The organisations where the usager has a profile not removed, sorted. Written by PostgreSQL
    # only (triggers of migration 0002, on this table and on UsagerProfile): whatever Django
    # saves here is replaced by the truth, so a stale instance can never hide or leak an usager.
    organisation_ids = ArrayField(
        models.BigIntegerField(), verbose_name=_("organisations"), default=list, blank=True, editable=False
    )

    search_text = models.GeneratedField(
        expression=search_text_expression(), output_field=models.TextField(), db_persist=True
    )
    sort_name = models.GeneratedField(
        expression=sort_name_expression(), output_field=models.TextField(), db_persist=True
    )

    history = HistoricalRecords(excluded_fields=["search_text", "sort_name", "organisation_ids"])

    objects = UsagerQuerySet.as_manager()

    class Meta:
        verbose_name = _("usager")
        verbose_name_plural = _("usagers")
        ordering = ["sort_name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(responsible=F("pk")),
                name="usager_not_its_own_responsible",
                violation_error_message=_("Un usager ne peut pas être son propre usager en charge."),
            ),
            models.CheckConstraint(
                condition=Q(birth_date__isnull=True) | Q(birth_date__gte=EARLIEST_BIRTH_DATE),
                name="usager_birth_date_after_1900",
                violation_error_message=_("Saisissez une date de naissance postérieure au 1er janvier 1900."),
            ),
        ]
        indexes = [
            GinIndex(OpClass(F("search_text"), name="gin_trgm_ops"), name="usager_search_trgm"),
            models.Index(F("sort_name"), F("id"), name="usager_sort_name"),
            models.Index(Lower("email"), name="usager_email_lower"),
            models.Index(fields=["phone"], name="usager_phone"),
            models.Index(fields=["birth_date"], name="usager_birth_date"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name.upper()}".strip()

    @property
    def is_proche(self) -> bool:
        return self.responsible_id is not None

    @property
    def proche_of(self) -> str:
        """« proche d'Inès MOREAU », as lists name a proche (its responsible selected)."""
        return _("proche %(of)s") % {"of": de(self.responsible.full_name)} if self.responsible else ""

    @property
    def age(self) -> str:
        """« 34 ans », « 23 mois » (babies in months, as PMI agents count them), or ""."""
        if self.birth_date is None:
            return ""
        today = timezone.localdate()
        months = (today.year - self.birth_date.year) * 12 + today.month - self.birth_date.month
        if today.day < self.birth_date.day:
            months -= 1
        if months < 24:
            return _("%(n)s mois") % {"n": max(months, 0)}
        return _("%(n)s ans") % {"n": months // 12}

    @property
    def notification_recipient(self) -> "Usager":
        """Who receives this usager's notifications: a proche's go to its responsible."""
        return self.responsible if self.responsible is not None else self


class UsagerProfile(models.Model):
    """What one organisation knows of an usager: its notes and référents. Removing an usager from
    the organisation marks the profile `deleted_at`; the usager disappears from its lists and
    searches, and the retention rules (anonymise_usagers) erase its data later."""

    usager = models.ForeignKey(Usager, verbose_name=_("usager"), on_delete=models.CASCADE, related_name="profiles")
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="usager_profiles",
    )
    notes = models.TextField(_("notes"), blank=True)
    referents = models.ManyToManyField(
        "agents.Agent", verbose_name=_("agent(s) référent(s)"), related_name="followed_usager_profiles", blank=True
    )
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    deleted_at = models.DateTimeField(_("retiré de l'organisation le"), null=True, blank=True)

    history = HistoricalRecords(m2m_fields=[referents])

    class Meta:
        verbose_name = _("profil d'usager")
        verbose_name_plural = _("profils d'usagers")
        constraints = [
            models.UniqueConstraint(
                "usager",
                "organisation",
                name="usager_profile_unique_per_organisation",
                violation_error_message=_("Cet usager est déjà connu de cette organisation."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.usager} — {self.organisation}"


# Identity of the usagers who book online (usagers.identity): an account is only « this usager
# proved that it reads this email address »; FranceConnect will be another way to prove who one is.
CODE_VALIDITY = datetime.timedelta(minutes=30)
CODE_RESEND_AFTER = datetime.timedelta(seconds=60)
CODE_MAX_ATTEMPTS = 5


def normalise_email(email: str) -> str:
    """The form under which addresses are stored and compared: « Marie@Exemple.FR » and
    « marie@exemple.fr » are one account."""
    return email.strip().lower()


class UsagerAccountQuerySet(models.QuerySet["UsagerAccount"]):
    def for_email(self, email: str) -> "UsagerAccountQuerySet":
        """Through the index of the unique constraint, whatever the case of `email`."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=normalise_email(email))


class UsagerAccount(models.Model):
    """An usager (always a responsible) who proved, by a code sent there, that it reads `email`:
    it signs in with that address and finds its proches and its RDVs. No password."""

    usager = models.OneToOneField(Usager, verbose_name=_("usager"), on_delete=models.CASCADE, related_name="account")
    email = models.EmailField(_("adresse e-mail vérifiée"), max_length=254)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    last_login_at = models.DateTimeField(_("dernière connexion"), null=True, blank=True)

    objects = UsagerAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("compte usager")
        verbose_name_plural = _("comptes usagers")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="usager_account_email_unique",
                violation_error_message=_("Un compte existe déjà pour cette adresse e-mail."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)


class EmailCodeQuerySet(models.QuerySet["EmailCode"]):
    def for_email(self, email: str, purpose: str) -> "EmailCodeQuerySet":
        return self.alias(email_lower=Lower("email")).filter(email_lower=normalise_email(email), purpose=purpose)

    def live(self) -> "EmailCodeQuerySet":
        """Neither used nor replaced by a newer code (it may have expired): at most one per
        address and purpose, the database sees to it."""
        return self.filter(used_at__isnull=True, replaced=False)


class EmailCode(models.Model):
    """A 6-digit code sent by email. Only a keyed hash of it is stored (usagers.identity): whoever
    reads this table cannot sign in. Valid CODE_VALIDITY, once, for CODE_MAX_ATTEMPTS tries; a
    newer code sent to the address replaces it."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("connexion")
        EMAIL_CHANGE = "email_change", _("changement d'adresse e-mail")

    email = models.EmailField(_("adresse e-mail"), max_length=254)
    purpose = models.CharField(_("usage"), max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(_("empreinte du code"), max_length=128)
    created_at = models.DateTimeField(_("envoyé le"), default=timezone.now)
    expires_at = models.DateTimeField(_("expire le"))
    attempts = models.PositiveSmallIntegerField(_("essais"), default=0)
    used_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    replaced = models.BooleanField(_("remplacé par un code plus récent"), default=False)
    ip = models.GenericIPAddressField(_("adresse IP de la demande"), null=True, blank=True)

    objects = EmailCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("code envoyé par email")
        verbose_name_plural = _("codes envoyés par email")
        constraints = [
            # Only the newest code is valid: two requests at the same instant cannot both leave one.
            models.UniqueConstraint(
                Lower("email"),
                "purpose",
                condition=Q(used_at__isnull=True, replaced=False),
                name="email_code_one_live_per_email",
                violation_error_message=_("Un code vient déjà d'être envoyé à cette adresse."),
            ),
            models.CheckConstraint(
                condition=Q(attempts__lte=CODE_MAX_ATTEMPTS),
                name="email_code_max_attempts",
                violation_error_message=_("Trop d'essais pour ce code."),
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="email_code_expires_after_creation",
                violation_error_message=_("Un code expire après son envoi."),
            ),
        ]
        indexes = [models.Index(Lower("email"), "purpose", F("created_at").desc(), name="email_code_newest")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} — {self.email}"

    def save(self, *args, **kwargs) -> None:
        self.email = normalise_email(self.email)
        super().save(*args, **kwargs)

    def is_expired(self, now: datetime.datetime) -> bool:
        return now >= self.expires_at

    @property
    def attempts_left(self) -> int:
        return max(CODE_MAX_ATTEMPTS - self.attempts, 0)
