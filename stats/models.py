"""The summary behind « Vos statistiques globales »: counts that PostgreSQL keeps exact.

Reading a page from `rendezvous_rdv` costs as much as the history it covers (a département's
large MDS has hundreds of thousands of RDVs); these tables hold the same figures already added
up, so a page reads at most a few thousand rows whatever the history. Triggers (migration
0002_summary_triggers) change them in the transaction that creates, changes, statuses or deletes
an RDV, adds or removes one of its agents, or opens an usager's profile: the figures never lag,
and a rolled-back change leaves them as they were. `python manage.py stats_summary --check`
compares them with direct counts on a live database, `--rebuild` recomputes them.

Grain, chosen so that the page's filters (service, lieu, motif, agent) are answerable:
- `agent` NULL: every RDV once; `agent` set: the RDVs of that agent (an RDV with two agents is in
  the rows of each). A page reads the NULL rows, or those of the one agent it filters on, never
  both, so no RDV counts twice.
- the motif, not its service or type: they are read from the motif when the page reads the rows,
  so a motif moved to another service moves its RDVs' figures with it, as a direct count would.
- months and days in the organisation's time zone (its own, or its territory's): changing either
  rebuilds the organisation's rows, in the transaction of the change.
- a row whose count falls to 0 is deleted.

Cost of exactness: a booking or a status change writes a few summary rows (an upsert each, a
fraction of a millisecond). Each figure is split into STRIPES rows, `stripe` chosen by the
database connection that counts (its server process): two transactions counting into the same
figure at once (same organisation, month, motif, lieu and creator: many usagers booking the same
motif) write different rows and do not wait for each other's commit, unless their connections
share a stripe. A figure is the sum of its stripes (every reader sums `count`); a stripe may
hold a negative count (an RDV counted in one, cancelled through another). `stats_rebuild`
gathers each figure back into stripe 0. Bulk loads can disable the triggers and rebuild
afterwards (bench_stats does both).

The columns reference other apps' rows without foreign-key constraints: the summary is derived
data, must never stop an agent or a motif from being deleted, and must not take row locks on them
at each RDV change.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from stats.storage import exports

# How many rows a figure may be split into (migration 0005_stats_stripes: `stats_stripe()`).
STRIPES = 16


def _stripe() -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(_("bande"), default=0, db_default=0)


def _reference(model: str, *, null: bool = False) -> models.ForeignKey:
    return models.ForeignKey(
        model,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=null,
        related_name="+",
    )


class RdvMonthCount(models.Model):
    """RDVs created per month (of `created_at`), for the charts."""

    organisation = _reference("organisations.Organisation")
    agent = _reference(settings.AUTH_USER_MODEL, null=True)
    month = models.DateField(_("mois"))  # the 1st, in the organisation's time zone
    motif = _reference("motifs.Motif")
    lieu = _reference("organisations.Lieu", null=True)
    created_by = models.CharField(_("créé par"), max_length=12)
    count = models.IntegerField(_("nombre"))
    stripe = _stripe()

    class Meta:
        verbose_name = _("RDV créés par mois")
        verbose_name_plural = _("RDV créés par mois")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "agent", "month", "motif", "lieu", "created_by", "stripe"],
                nulls_distinct=False,
                name="stats_rdv_month_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.month:%Y-%m} {self.created_by} : {self.count}"


class RdvStatusCount(models.Model):
    """Every RDV by status, whatever its date, for the counters."""

    organisation = _reference("organisations.Organisation")
    agent = _reference(settings.AUTH_USER_MODEL, null=True)
    motif = _reference("motifs.Motif")
    lieu = _reference("organisations.Lieu", null=True)
    status = models.CharField(_("statut"), max_length=10)
    count = models.IntegerField(_("nombre"))
    stripe = _stripe()

    class Meta:
        verbose_name = _("RDV par statut")
        verbose_name_plural = _("RDV par statut")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "agent", "motif", "lieu", "status", "stripe"],
                nulls_distinct=False,
                name="stats_rdv_status_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.status} : {self.count}"


class RdvUnknownDayCount(models.Model):
    """RDVs still « Indéterminé » by the day they start: « À venir » are those from now on, read
    as the days after today plus today's counted directly; « À renseigner » the others. Past
    days' rows stay (an RDV moved or statused later changes them) but a page never reads them."""

    organisation = _reference("organisations.Organisation")
    agent = _reference(settings.AUTH_USER_MODEL, null=True)
    day = models.DateField(_("jour"))  # in the organisation's time zone
    motif = _reference("motifs.Motif")
    lieu = _reference("organisations.Lieu", null=True)
    count = models.IntegerField(_("nombre"))
    stripe = _stripe()

    class Meta:
        verbose_name = _("RDV indéterminés par jour")
        verbose_name_plural = _("RDV indéterminés par jour")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "agent", "day", "motif", "lieu", "stripe"],
                nulls_distinct=False,
                name="stats_rdv_unknown_day_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day} : {self.count}"


class UsagerMonthCount(models.Model):
    """Usagers' profiles opened per month (of `created_at`) in the organisation."""

    organisation = _reference("organisations.Organisation")
    month = models.DateField(_("mois"))
    count = models.IntegerField(_("nombre"))
    stripe = _stripe()

    class Meta:
        verbose_name = _("usagers créés par mois")
        verbose_name_plural = _("usagers créés par mois")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "month", "stripe"], name="stats_usager_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.month:%Y-%m} : {self.count}"


def export_path(export: "RdvExport", filename: str) -> str:
    """In the `exports` storage (stats.storage)."""
    return f"statistiques/{export.organisation_id}/{filename}"


def export_retention() -> dt.timedelta:
    return dt.timedelta(days=settings.STATS_EXPORT_RETENTION_DAYS)


class RdvExportQuerySet(models.QuerySet["RdvExport"]):
    def expired(self, now: dt.datetime) -> "RdvExportQuerySet":
        """Retention: an export is kept STATS_EXPORT_RETENTION_DAYS after it ended (ready, or
        failed), or after it was asked for when it never ended (a worker lost with it): its
        file holds usagers' data, and the agent can ask again at any time."""
        return self.alias(ended_at=Coalesce("finished_at", "created_at")).filter(ended_at__lte=now - export_retention())


class RdvExport(models.Model):
    """An export of the RDVs of a period, written in the background (stats.tasks.export_rdvs):
    the page shows its progress, then a link to the file, for the agent who asked for it only,
    until `available_until` (stats.retention deletes it then). Usagers' names are in it only when
    that agent asked for them (an administrator: the page is theirs)."""

    class State(models.TextChoices):
        PENDING = "pending", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Prêt")
        FAILED = "failed", _("Échec")

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        XLSX = "xlsx", _("Excel (XLSX)")

    organisation = models.ForeignKey(
        "organisations.Organisation", verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("demandé par"), on_delete=models.CASCADE, related_name="+"
    )
    first_month = models.DateField(_("premier mois"))
    last_month = models.DateField(_("dernier mois"))
    filters = models.JSONField(_("filtres"), default=dict, blank=True)
    with_usagers = models.BooleanField(_("avec les noms des usagers"), default=False)
    format = models.CharField(_("format"), max_length=4, choices=Format.choices, default=Format.CSV)
    # « state », not « status »: the project keeps that word for the RDV's state machine.
    state = models.CharField(_("état"), max_length=8, choices=State.choices, default=State.PENDING)
    rows_total = models.PositiveIntegerField(_("RDV à exporter"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("RDV exportés"), default=0)
    file = models.FileField(_("fichier"), upload_to=export_path, storage=exports, blank=True)
    error = models.TextField(_("erreur"), blank=True)
    created_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    objects = RdvExportQuerySet.as_manager()

    class Meta:
        verbose_name = _("export de RDV")
        verbose_name_plural = _("exports de RDV")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.first_month:%Y-%m} – {self.last_month:%Y-%m} ({self.get_state_display()})"

    @property
    def progress_percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, 100 * self.rows_done // self.rows_total)

    @property
    def available_until(self) -> dt.datetime:
        """Until when its file can be downloaded (the rule of RdvExportQuerySet.expired)."""
        return (self.finished_at or self.created_at) + export_retention()

    def is_expired(self, now: dt.datetime) -> bool:
        return now >= self.available_until
