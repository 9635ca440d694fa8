"""Plages d'ouverture and absences: wall-clock times in the organisation's time zone, a recurrence
stored as an RFC 5545 rule (django-recurrence), single-occurrence changes stored as exceptions.

Every expansion into occurrences goes through `planning.recurrence.expand`, inside the window
asked for; the querysets below only choose, in SQL, the rows that can have an occurrence there.
"""

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from django.conf import settings
from django.db import connection, models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from recurrence.fields import RecurrenceField

from motifs.models import Motif
from organisations.models import Lieu, Organisation
from planning.intervals import Window
from planning.recurrence import Exceptions, Moved, Occurrence, Rule, expand
from planning.rules import rule_from_recurrence
from rdv.historical import HistoricalRecords

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

    from agents.models import Agent

# How far ahead two recurring plages are compared when looking for an overlap: long enough for
# any pair of rules the form offers (every 1 to 5 weeks or months) to show a clash.
OVERLAP_HORIZON = dt.timedelta(days=2 * 366)

T = TypeVar("T", bound="RecurringEvent")


@dataclass(frozen=True)
class EventOccurrence(Generic[T]):
    event: T
    occurrence: Occurrence

    @property
    def start(self) -> dt.datetime:
        return self.occurrence.start

    @property
    def end(self) -> dt.datetime:
        return self.occurrence.end


class RecurringEventQuerySet(models.QuerySet[T]):
    def for_organisation(self, organisation: Organisation | int) -> "RecurringEventQuerySet[T]":
        return self.filter(organisation=organisation)

    def for_agent(self, agent: "Agent | int") -> "RecurringEventQuerySet[T]":
        return self.filter(agent=agent)

    def active_on(self, start: dt.date, end: dt.date) -> "RecurringEventQuerySet[T]":
        """Rows that may have an occurrence starting between `start` and `end` (local dates,
        inclusive), decided by the database: a finished series (`recurrence_ends_on` before the
        window) or one not started yet is never loaded. Multi-day events are widened by their
        own span in `Absence`'s queryset."""
        return self.filter(Q(recurrence_ends_on__isnull=True) | Q(recurrence_ends_on__gte=start), first_day__lte=end)

    def current(self, today: dt.date) -> "RecurringEventQuerySet[T]":
        """Not finished: an occurrence may still come on or after today."""
        return self.filter(Q(recurrence_ends_on__isnull=True) | Q(recurrence_ends_on__gte=today))

    def past(self, today: dt.date) -> "RecurringEventQuerySet[T]":
        return self.filter(recurrence_ends_on__lt=today)

    def occurrences(self, window: Window, organisation: Organisation | None = None) -> list[EventOccurrence[T]]:
        """Every occurrence overlapping the window, sorted by start, each in its organisation's
        time zone and with its single-occurrence changes. Two queries whatever the number of
        rows: the rows with their organisation, then their exceptions near the window, read as
        bare rows (a model instance each and the prefetch's machinery were a tenth of an agenda).
        `organisation`: the one every row belongs to (the caller filtered by it), given to each
        row rather than read again with each (an agenda's plages: its columns and its phone
        number parsed, once per row)."""
        first, last = window.date_range
        if organisation is None:
            events = list(self.active_on(first, last).select_related("organisation__territory"))
        else:
            events = list(self.active_on(first, last))
            for event in events:
                if event.organisation_id != organisation.pk:
                    raise ValueError(
                        f"{event!r} belongs to organisation {event.organisation_id}, not {organisation.pk}"
                    )
                event.organisation = organisation
        if not events:
            return []
        # The exceptions' key to their event: « plage_id », « absence_id ».
        parent_id = cast(Any, self.model.exceptions).field.attname
        changes: dict[int, dict[dt.date, Moved | None]] = {event.pk: {} for event in events}
        for event_id, original_date, starts_at, ends_at in self.model.exception_model.objects.near_rows(
            window, parent_id, list(changes)
        ):
            # As OccurrenceException.as_moved: cancelled when it has no new times.
            moved = Moved(start=starts_at, end=ends_at) if starts_at is not None and ends_at is not None else None
            changes[event_id][original_date] = moved
        found = [
            EventOccurrence(event, occurrence)
            for event in events
            for occurrence in event.expand(window, changes=changes[event.pk])
        ]
        found.sort(key=lambda item: (item.start, item.event.pk))
        return found


class RecurringEvent(models.Model):
    """What plages d'ouverture and absences share: a first day, wall-clock times in the
    organisation's time zone, a rule, exceptions."""

    exception_model: Any
    # Each concrete model's single-occurrence changes (`related_name="exceptions"` on its exception model).
    exceptions: "RelatedManager[OccurrenceException]"

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="%(class)ss"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="%(class)ss"
    )
    title = models.CharField(_("nom"), max_length=200)
    first_day = models.DateField(_("premier jour"))
    start_time = models.TimeField(_("commence à"))
    end_time = models.TimeField(_("termine à"))
    recurrence = RecurrenceField(_("récurrence"), null=True, blank=True)
    # The last day an occurrence may start on: the rule's UNTIL, the first day for a single
    # occurrence, NULL for a rule without end. Indexed so that finished series are excluded by
    # the database.
    recurrence_ends_on = models.DateField(_("fin de la récurrence"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.recurrence_ends_on = self.derive_ends_on()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "recurrence" in update_fields:
            kwargs["update_fields"] = {*update_fields, "recurrence_ends_on"}
        super().save(*args, **kwargs)

    @property
    def rule(self) -> Rule | None:
        return rule_from_recurrence(self.recurrence)

    @property
    def is_recurring(self) -> bool:
        return self.rule is not None

    @property
    def span_days(self) -> int:
        return 0

    def derive_ends_on(self) -> dt.date | None:
        rule = self.rule
        if rule is None:
            return self.first_day
        return rule.until

    def expand(
        self,
        window: Window,
        *,
        exceptions: Iterable["OccurrenceException"] | None = None,
        changes: Exceptions | None = None,
    ) -> list[Occurrence]:
        """This event's occurrences overlapping the window. `exceptions` defaults to all of the
        event's (one query); callers holding them pass them, or their `changes` (original date:
        the moved times, None when cancelled)."""
        if changes is None:
            if exceptions is None:
                exceptions = list(self.exceptions.all()) if self.pk else []
            changes = {exception.original_date: exception.as_moved() for exception in exceptions}
        return expand(
            first_day=self.first_day,
            start_time=self.start_time,
            end_time=self.end_time,
            rule=self.rule,
            tz=self.organisation.tzinfo,
            window_start=window.start,
            window_end=window.end,
            exceptions=changes,
            duration_days=self.span_days,
        )

    def local_window(self, first: dt.date, last: dt.date) -> Window:
        """The window covering the local days `first` to `last` (inclusive)."""
        tz = self.organisation.tzinfo
        return Window(
            dt.datetime.combine(first, dt.time(), tzinfo=tz),
            dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz),
        )

    def has_occurrence_on(self, original_date: dt.date) -> bool:
        window = self.local_window(original_date, original_date + dt.timedelta(days=self.span_days))
        return any(o.original_date == original_date for o in self.expand(window, exceptions=[]))


class OccurrenceExceptionQuerySet(models.QuerySet):
    def near(self, window: Window) -> "OccurrenceExceptionQuerySet":
        """Exceptions that can matter in the window: an original date inside it, or a moved
        occurrence landing in it."""
        first, last = window.date_range
        return self.filter(
            Q(original_date__gte=first, original_date__lte=last) | Q(starts_at__lt=window.end, ends_at__gt=window.start)
        )

    def near_rows(self, window: Window, parent_id: str, parent_ids: list[int]) -> list[tuple]:
        """`near(window)` for these events, as (event id, original date, new start, new end) rows,
        in SQL: each agenda reads them, and the ORM took longer to build this query than
        PostgreSQL to run it. By original date, as the model's ordering: two occurrences moved
        to the same time are expanded in that order."""
        first, last = window.date_range
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT {parent_id}, original_date, starts_at, ends_at FROM {self.model._meta.db_table}
                    WHERE {parent_id} = ANY(%s)
                        AND ((original_date >= %s AND original_date <= %s) OR (starts_at < %s AND ends_at > %s))
                    ORDER BY original_date""",
                [parent_ids, first, last, window.end, window.start],
            )
            return cursor.fetchall()


class AbsenceExceptionQuerySet(OccurrenceExceptionQuerySet):
    def near(self, window: Window) -> "OccurrenceExceptionQuerySet":
        """As for plages, with the absence's span: an occurrence that started before the window
        may still cover it."""
        first, last = window.date_range
        span = F("absence__end_day") - F("absence__first_day")
        return self.alias(
            last_day=models.ExpressionWrapper(F("original_date") + span, output_field=models.DateField())
        ).filter(
            Q(last_day__gte=first, original_date__lte=last) | Q(starts_at__lt=window.end, ends_at__gt=window.start)
        )

    def near_rows(self, window: Window, parent_id: str, parent_ids: list[int]) -> list[tuple]:
        first, last = window.date_range
        absences = Absence._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT exception.absence_id, exception.original_date, exception.starts_at, exception.ends_at
                    FROM {self.model._meta.db_table} exception
                    JOIN {absences} absence ON absence.id = exception.absence_id
                    WHERE exception.absence_id = ANY(%s)
                        AND ((exception.original_date + (absence.end_day - absence.first_day) >= %s
                              AND exception.original_date <= %s)
                            OR (exception.starts_at < %s AND exception.ends_at > %s))
                    ORDER BY exception.original_date""",
                [parent_ids, first, last, window.end, window.start],
            )
            return cursor.fetchall()


class OccurrenceException(models.Model):
    """One occurrence of a series cancelled (no start, no end) or moved (new aware start and end).
    Keyed by the occurrence's original date, as RFC 5545's RECURRENCE-ID / EXDATE."""

    original_date = models.DateField(_("date d'origine"))
    starts_at = models.DateTimeField(_("nouveau début"), null=True, blank=True)
    ends_at = models.DateTimeField(_("nouvelle fin"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def is_cancelled(self) -> bool:
        return self.starts_at is None

    def as_moved(self) -> Moved | None:
        if self.starts_at is None or self.ends_at is None:
            return None
        return Moved(start=self.starts_at, end=self.ends_at)


def _exception_constraints(prefix: str, parent: str) -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(
            parent,
            "original_date",
            name=f"{prefix}_one_exception_per_occurrence",
            violation_error_message=_("Cette occurrence a déjà été modifiée ou annulée."),
        ),
        models.CheckConstraint(
            condition=Q(starts_at__isnull=True, ends_at__isnull=True)
            | Q(starts_at__isnull=False, ends_at__isnull=False, ends_at__gt=F("starts_at")),
            name=f"{prefix}_moved_ends_after_start",
            violation_error_message=_("La fin doit être après le début."),
        ),
    ]


class PlageOuvertureQuerySet(RecurringEventQuerySet["PlageOuverture"]):
    def offering(self, motif: Motif) -> "PlageOuvertureQuerySet":
        """The plages that may receive `motif`: of its organisation, offering it, at a lieu for a
        motif « sur place », never at an archived lieu (it receives nobody, whoever asks). The
        créneaux engine and « Trouver un créneau »'s notice both start from here."""
        plages = self.filter(organisation_id=motif.organisation_id, motifs=motif.pk).exclude(lieu__is_active=False)
        if motif.location_type == Motif.LocationType.PUBLIC_OFFICE:
            plages = plages.filter(lieu__isnull=False)
        return plages


class PlageOuverture(RecurringEvent):
    """When and where an agent receives usagers, for which motifs."""

    lieu = models.ForeignKey(
        Lieu,
        verbose_name=_("lieu"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="plages_ouverture",
        help_text=_("Obligatoire pour les motifs sur place."),
    )
    motifs = models.ManyToManyField("motifs.Motif", verbose_name=_("motifs"), related_name="plages_ouverture")

    history = HistoricalRecords(m2m_fields=[motifs])

    objects = PlageOuvertureQuerySet.as_manager()

    class Meta:
        verbose_name = _("plage d'ouverture")
        verbose_name_plural = _("plages d'ouverture")
        ordering = ["first_day", "start_time", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")),
                name="plage_ends_after_start",
                violation_error_message=_("L'heure de fin doit être après l'heure de début."),
            ),
            models.CheckConstraint(
                condition=Q(recurrence_ends_on__isnull=True) | Q(recurrence_ends_on__gte=F("first_day")),
                name="plage_recurrence_ends_after_first_day",
                violation_error_message=_("La fin de la répétition ne peut pas précéder le premier jour."),
            ),
        ]
        indexes = [models.Index(fields=["agent", "first_day"], name="plage_agent_first_day_idx")]

    def find_overlap(self) -> tuple["PlageOuverture", dt.date] | None:
        """The other plage of the same agent (in any of its organisations) that one of this plage's
        occurrences overlaps first, with the local date of that first clash; None if there is none.
        Each pair is expanded from the later first day over `OVERLAP_HORIZON`, or until the
        earlier end."""
        end = self.derive_ends_on()
        same_agent = PlageOuverture.objects.filter(agent_id=self.agent_id)
        if self.pk:
            same_agent = same_agent.exclude(pk=self.pk)
        candidates = (
            same_agent.active_on(self.first_day, end or dt.date.max)
            .select_related("organisation__territory")
            .prefetch_related("exceptions")
        )
        own_exceptions = list(self.exceptions.all()) if self.pk else []
        clashes: list[tuple[dt.datetime, PlageOuverture]] = []
        for other in candidates:
            begin = max(self.first_day, other.first_day)
            stop = min(day for day in (begin + OVERLAP_HORIZON, end, other.recurrence_ends_on) if day is not None)
            # A day of margin each side: the two plages may live in different time zones.
            window = self.local_window(begin - dt.timedelta(days=1), stop + dt.timedelta(days=1))
            clash = _first_overlap(
                self.expand(window, exceptions=own_exceptions), other.expand(window, exceptions=other.exceptions.all())
            )
            if clash is not None:
                clashes.append((clash, other))
        if not clashes:
            return None
        clash, other = min(clashes, key=lambda item: (item[0], item[1].pk))
        return other, clash.astimezone(self.organisation.tzinfo).date()

    def find_overlap_of_moved(
        self, start: dt.datetime, end: dt.datetime, original_date: dt.date
    ) -> "PlageOuverture | None":
        """The plage of the agent that the occurrence of `original_date`, moved to [start, end),
        would overlap: another plage, or another occurrence of this one."""
        window = Window(start, end)
        others = PlageOuverture.objects.filter(agent_id=self.agent_id).exclude(pk=self.pk).occurrences(window)
        if others:
            return others[0].event
        if any(occurrence.original_date != original_date for occurrence in self.expand(window)):
            return self
        return None


def _first_overlap(mine: list[Occurrence], theirs: list[Occurrence]) -> dt.datetime | None:
    """The start of the first overlap between two sorted lists of occurrences (a sweep)."""
    i = j = 0
    while i < len(mine) and j < len(theirs):
        a, b = mine[i], theirs[j]
        if a.start < b.end and b.start < a.end:
            return max(a.start, b.start)
        if a.end <= b.end:
            i += 1
        else:
            j += 1
    return None


class PlageOuvertureException(OccurrenceException):
    plage = models.ForeignKey(
        PlageOuverture, verbose_name=_("plage d'ouverture"), on_delete=models.CASCADE, related_name="exceptions"
    )

    objects = OccurrenceExceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("occurrence modifiée d'une plage d'ouverture")
        verbose_name_plural = _("occurrences modifiées de plages d'ouverture")
        ordering = ["original_date"]
        constraints = _exception_constraints("plage_exception", "plage")

    def __str__(self) -> str:
        return f"{self.plage} — {self.original_date:%d/%m/%Y}"


PlageOuverture.exception_model = PlageOuvertureException


class AbsenceQuerySet(RecurringEventQuerySet["Absence"]):
    def active_on(self, start: dt.date, end: dt.date) -> "AbsenceQuerySet":
        """As for plages, with the absence's own span: an absence from Monday to Wednesday that
        started before the window still covers its first days."""
        span = F("end_day") - F("first_day")
        return self.alias(
            last_day=models.ExpressionWrapper(F("recurrence_ends_on") + span, output_field=models.DateField())
        ).filter(Q(recurrence_ends_on__isnull=True) | Q(last_day__gte=start), first_day__lte=end)

    def current(self, today: dt.date) -> "AbsenceQuerySet":
        return self.active_on(today, dt.date.max)

    def past(self, today: dt.date) -> "AbsenceQuerySet":
        return self.exclude(pk__in=self.active_on(today, dt.date.max).values("pk"))


class Absence(RecurringEvent):
    """A time an agent is away: removed from its availability, shown on its agenda. It may span
    several days (`end_day`); a recurring absence repeats that whole span."""

    end_day = models.DateField(_("dernier jour"))

    history = HistoricalRecords()

    objects = AbsenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        ordering = ["first_day", "start_time", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_day__gte=F("first_day")),
                name="absence_end_day_not_before_first_day",
                violation_error_message=_("La fin de l'absence ne peut pas précéder son début."),
            ),
            models.CheckConstraint(
                condition=Q(end_day__gt=F("first_day")) | Q(end_time__gt=F("start_time")),
                name="absence_ends_after_start",
                violation_error_message=_("La fin de l'absence doit être après son début."),
            ),
            models.CheckConstraint(
                condition=Q(recurrence_ends_on__isnull=True) | Q(recurrence_ends_on__gte=F("first_day")),
                name="absence_recurrence_ends_after_first_day",
                violation_error_message=_("La fin de la répétition ne peut pas précéder le premier jour."),
            ),
        ]
        indexes = [models.Index(fields=["agent", "first_day"], name="absence_agent_first_day_idx")]

    @property
    def span_days(self) -> int:
        return (self.end_day - self.first_day).days


class AbsenceException(OccurrenceException):
    absence = models.ForeignKey(Absence, verbose_name=_("absence"), on_delete=models.CASCADE, related_name="exceptions")

    objects = AbsenceExceptionQuerySet.as_manager()

    class Meta:
        verbose_name = _("occurrence modifiée d'une absence")
        verbose_name_plural = _("occurrences modifiées d'absences")
        ordering = ["original_date"]
        constraints = _exception_constraints("absence_exception", "absence")

    def __str__(self) -> str:
        return f"{self.absence} — {self.original_date:%d/%m/%Y}"


Absence.exception_model = AbsenceException


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def for_token(self, token: str) -> "CalendarFeedQuerySet":
        return self.filter(token_hash=_hash_token(token))


class CalendarFeed(models.Model):
    """An agent's private calendar address (webcal). Only the token's hash is kept: a database
    leak reveals no address, and regenerating the token revokes the old one."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("agent"), on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(_("empreinte du jeton"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)

    objects = CalendarFeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("calendrier partagé")
        verbose_name_plural = _("calendriers partagés")

    def __str__(self) -> str:
        return f"Calendrier de {self.agent}"

    @classmethod
    def regenerate(cls, agent: "Agent") -> str:
        """A new token for the agent, replacing (revoking) any previous one. Returns the token,
        which is shown once and never stored in clear."""
        token = secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            agent=agent, defaults={"token_hash": _hash_token(token), "created_at": timezone.now()}
        )
        return token
