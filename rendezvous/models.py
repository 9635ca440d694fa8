import datetime as dt
import functools
import secrets

from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from agents.permissions import agents_with_visible_agenda
from planning.intervals import end_after
from rdv import words
from rdv.historical import HistoricalRecords

# The statuses as agents read them (the seed's words): « Indéterminé » reads « À venir » before
# the RDV's start and « À renseigner » once started; every other status reads its label. These
# keys are the `statut` values of « Tous les RDVs »' filter, of the counters of the fiche and of
# « Vos statistiques globales ».
TO_COME = "a_venir"
TO_FILL = "a_renseigner"


def displayed_status_condition(displayed: str, now: dt.datetime) -> Q:
    """The RDVs that read `displayed` (a key of `displayed_statuses()`) at `now`: the one
    expression of the rule, for filters and counts alike."""
    unknown = Q(status=Rdv.Status.UNKNOWN)
    if displayed == TO_COME:
        return unknown & Q(starts_at__gte=now)
    if displayed == TO_FILL:
        return unknown & Q(starts_at__lt=now)
    return Q(status=displayed)


def displayed_statuses() -> dict[str, str]:
    """Every status an agent reads, key → words, in the order of the filter."""
    return dict(_displayed_statuses(get_language()))


@functools.cache
def _displayed_statuses(language: str | None) -> dict[str, str]:
    # Translated once per language: « Tous les RDVs » asks it for each row.
    return {
        TO_COME: str(_("À venir")),
        TO_FILL: str(_("À renseigner")),
        **{status: str(label) for status, label in Rdv.Status.choices if status != Rdv.Status.UNKNOWN},
    }


# The history's change reason of what an usager did itself online (no agent is its author).
BY_USAGER = "usager"


class RdvQuerySet(models.QuerySet["Rdv"]):
    def for_organisation(self, organisation) -> "RdvQuerySet":
        return self.filter(organisation=organisation)

    def visible_to(self, membership, agent_ids: list[int] | None = None) -> "RdvQuerySet":
        """RDVs of the organisation that have at least one agent whose agenda the membership may
        open (agents.permissions decides which). `agent_ids`: those agents' ids, when the caller
        has read them: a list in the query rather than a subquery, which the ORM took longer to
        build and compile (twice per page of « Tous les RDVs »: 3 ms) than PostgreSQL to run."""
        # EXISTS rather than a join and DISTINCT: each RDV once, and the lists can walk the
        # (organisation, starts_at) index and stop at their page instead of sorting every row.
        links = Rdv.agents.through.objects.filter(rdv_id=OuterRef("pk"))
        if agent_ids is None:
            shared = links.filter(agent_id__in=agents_with_visible_agenda(membership).values("pk"))
        else:
            shared = links.filter(agent_id__in=agent_ids)
        return self.for_organisation(membership.organisation).filter(Exists(shared))

    def holding_time(self) -> "RdvQuerySet":
        """RDVs that keep their agents busy: not cancelled (« Absent excusé » or by the service)."""
        return self.exclude(status__in=Rdv.CANCELLED_STATUSES)

    def overlapping(self, start: dt.datetime, end: dt.datetime) -> "RdvQuerySet":
        return self.filter(starts_at__lt=end, ends_at__gt=start)

    def for_agents(self, agents) -> "RdvQuerySet":
        return self.filter(agents__in=agents)

    def reading(self, displayed: str, now: dt.datetime) -> "RdvQuerySet":
        """The RDVs that read `displayed` at `now` (« À venir », « À renseigner », « Vu »…)."""
        return self.filter(displayed_status_condition(displayed, now))

    def upcoming(self, now: dt.datetime) -> "RdvQuerySet":
        return self.filter(starts_at__gte=now)

    def past(self, now: dt.datetime) -> "RdvQuerySet":
        return self.filter(starts_at__lt=now)


class Rdv(models.Model):
    """A rendez-vous: a motif, a time, one or more agents, usagers through `Participation`.

    `ends_at` is stored (starts_at + duration) so that overlap queries use plain indexes.
    The rules of one RDV live here (`status_refusal`, `display_status`); changing its status or
    deleting it, which locks rows and writes messages, are `rendezvous.services` operations.
    """

    class Status(models.TextChoices):
        UNKNOWN = "unknown", _("Indéterminé")
        WAITING = "waiting", _("En salle d'attente")
        SEEN = "seen", _("Vu")
        EXCUSED = "excused", _("Absent excusé")
        NOSHOW = "noshow", _("Absent non excusé")
        REVOKED = "revoked", _("Annulé à l'initiative du service")

    class CreatedBy(models.TextChoices):
        AGENT = "agent", _("un agent")
        USAGER = "usager", _("l'usager")
        PRESCRIPTEUR = "prescripteur", _("un prescripteur")

    CANCELLED_STATUSES = (Status.EXCUSED, Status.REVOKED)

    organisation = models.ForeignKey(
        "organisations.Organisation", verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="rdvs"
    )
    motif = models.ForeignKey("motifs.Motif", verbose_name=_("motif"), on_delete=models.PROTECT, related_name="rdvs")
    lieu = models.ForeignKey(
        "organisations.Lieu",
        verbose_name=_("lieu"),
        on_delete=models.PROTECT,
        related_name="rdvs",
        null=True,
        blank=True,
    )
    starts_at = models.DateTimeField(_("début"), db_index=True)
    duration_in_min = models.PositiveSmallIntegerField(_("durée en minutes"))
    ends_at = models.DateTimeField(_("fin"), db_index=True, editable=False)
    agents = models.ManyToManyField("agents.Agent", verbose_name=_("agents"), related_name="rdvs")
    usagers = models.ManyToManyField(
        "usagers.Usager", verbose_name=_("usagers"), through="Participation", related_name="rdvs"
    )
    notes = models.TextField(_("notes"), blank=True, help_text=_("Notes libres permettant de contextualiser le RDV."))
    address = models.CharField(
        _("adresse du RDV"), max_length=300, blank=True, help_text=_("Pour un RDV à domicile : l'adresse de l'usager.")
    )
    status = models.CharField(_("statut"), max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    status_changed_at = models.DateTimeField(_("statut changé le"), null=True, blank=True, editable=False)
    created_by = models.CharField(_("créé par"), max_length=12, choices=CreatedBy.choices, default=CreatedBy.AGENT)
    created_by_agent = models.ForeignKey(
        "agents.Agent",
        verbose_name=_("agent créateur"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The token of the online booking form that made this RDV: unique, so a double click or a
    # replayed form finds the RDV its first submission made instead of booking again.
    booking_token = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    history = HistoricalRecords(m2m_fields=[agents], excluded_fields=["booking_token"])

    objects = RdvQuerySet.as_manager()

    class Meta:
        verbose_name = _("rendez-vous")
        verbose_name_plural = _("rendez-vous")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_in_min__gt=0) & Q(duration_in_min__lte=24 * 60),
                name="rdv_duration_positive",
                violation_error_message=_("Un RDV dure entre 1 minute et 24 heures."),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="rdv_ends_after_start",
                violation_error_message=_("La fin du RDV doit être après son début."),
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "starts_at"], name="rdv_org_starts_at"),
            # « Vos statistiques globales » counts RDVs created per month over large histories.
            models.Index(fields=["organisation", "created_at"], name="rdv_org_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.motif} — {words.short_date_time(timezone.localtime(self.starts_at))}"

    def save(self, *args, **kwargs) -> None:
        if self.starts_at is not None and self.duration_in_min:
            self.ends_at = end_after(self.starts_at, self.duration_in_min)  # in real time, as the engine
            if "update_fields" in kwargs and kwargs["update_fields"] is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "ends_at"}
        super().save(*args, **kwargs)

    @property
    def is_cancelled(self) -> bool:
        return self.status in self.CANCELLED_STATUSES

    def displayed_status_key(self, now: dt.datetime | None = None) -> str:
        """The key of what this RDV reads at `now` (`displayed_status_condition`, for one RDV)."""
        if self.status != self.Status.UNKNOWN:
            return self.status
        return TO_COME if self.starts_at >= (now or timezone.now()) else TO_FILL

    def display_status(self, now: dt.datetime | None = None) -> str:
        """The seed's words: « Indéterminé » reads « À venir » before the start and
        « À renseigner » after it."""
        return _displayed_statuses(get_language())[self.displayed_status_key(now)]

    def status_refusal(self, new_status: str, now: dt.datetime | None = None) -> str | None:
        """Why `new_status` cannot be set now (None: it can). The rules of the seed and issue:
        before the RDV's day only the cancellations; « En salle d'attente » on its day only;
        « Vu » and « Absent non excusé » from one hour before its start; back to
        « Indéterminé » always."""
        now = now or timezone.now()
        if new_status not in self.Status.values:
            return str(_("Statut inconnu."))
        tz = self.organisation.tzinfo
        rdv_day = timezone.localtime(self.starts_at, tz).date()
        today = timezone.localtime(now, tz).date()
        if new_status == self.Status.WAITING and rdv_day != today:
            return str(_("« En salle d'attente » ne peut être indiqué que le jour du RDV."))
        if new_status in (self.Status.SEEN, self.Status.NOSHOW) and now < self.starts_at - dt.timedelta(hours=1):
            return str(
                _("« %(status)s » ne peut être indiqué qu'à partir d'une heure avant le début du RDV.")
                % {"status": self.Status(new_status).label}
            )
        return None


def new_link_token() -> str:
    """The unguessable part of the link an usager's messages carry to its RDV's page (« /r/… »):
    72 random bits, 12 URL-safe characters (short enough for an SMS)."""
    return secrets.token_urlsafe(9)


class Participation(models.Model):
    """An usager taking part in an RDV (several for a family, later for group RDVs)."""

    rdv = models.ForeignKey(Rdv, verbose_name=_("RDV"), on_delete=models.CASCADE, related_name="participations")
    usager = models.ForeignKey(
        "usagers.Usager", verbose_name=_("usager"), on_delete=models.PROTECT, related_name="participations"
    )
    created_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)
    # The token of the usager's link to the RDV's page (reservation.link_views); valid until the
    # RDV is past, and only with the first three letters of the usager's last name.
    link_token = models.CharField(_("jeton du lien usager"), max_length=16, unique=True, default=new_link_token)

    history = HistoricalRecords(excluded_fields=["link_token"])

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        constraints = [
            models.UniqueConstraint(
                "rdv",
                "usager",
                name="participation_unique",
                violation_error_message=_("Cet usager participe déjà à ce RDV."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.usager} — {self.rdv}"
