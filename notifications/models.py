"""The outbox: one row per email or SMS that an RDV owes an usager.

A row is written in the same transaction as the RDV change that owes it (invariant 5 of
DESIGN.md): a rollback takes the message with it, a commit keeps it whatever happens to the
broker. Celery workers deliver the pending rows after the commit (notifications.delivery), record
the outcome of each attempt on the row and retry temporary failures later; the RDV's summary lists
the rows (« Notifications »)."""

import datetime as dt

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.phonenumber import PhoneNumber

from rdv.phone import display_phone

# Waits before the 2nd, 3rd… attempt after a temporary failure; then every 3 hours until the RDV
# starts (a message about a past RDV is dropped): a long outage delays messages, never loses them.
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=15),
    dt.timedelta(hours=1),
)
LATER_RETRY_DELAY = dt.timedelta(hours=3)
# A row claimed by a worker that died before recording the outcome is sent again after this.
# Longer than any send (the providers' timeouts, rdv/settings.py: 10 s to connect, 10 s to read),
# lest a slow send be doubled; short enough that, with the sweep every minute, a dead worker's
# messages leave again within 2 minutes (issue 16; tests/notifications/test_worker.py).
CLAIM_TIMEOUT = dt.timedelta(seconds=50)


def retry_delay(attempts: int) -> dt.timedelta:
    return RETRY_DELAYS[attempts - 1] if attempts <= len(RETRY_DELAYS) else LATER_RETRY_DELAY


class NotificationQuerySet(models.QuerySet["Notification"]):
    def due(self, now: dt.datetime) -> "NotificationQuerySet":
        """Waiting rows whose time has come, and rows whose worker died while sending them."""
        return self.filter(status__in=Notification.IN_PROGRESS, next_attempt_at__lte=now)

    def same_thread(self, notification: "Notification") -> "NotificationQuerySet":
        """The messages about the same RDV to the same recipient by the same channel. An usager's
        thread never counts the emails to the RDV's agents (their `usager` is empty too)."""
        same = {
            "rdv_id": notification.rdv_id,
            "usager_id": notification.usager_id,
            "agent_id": notification.agent_id,
            "channel": notification.channel,
        }
        return self.filter(**same)

    def to_usagers(self) -> "NotificationQuerySet":
        """The messages to usagers (and the emails of no RDV): not those to the RDV's agents."""
        return self.filter(agent__isnull=True)


class Notification(models.Model):
    class Event(models.TextChoices):
        CREATED = "created", _("Confirmation du RDV")
        UPDATED = "updated", _("Modification du RDV")
        CANCELLED = "cancelled", _("Annulation du RDV")
        REMINDER = "reminder", _("Rappel du RDV")
        # Not about an RDV, fixed when written: an email to a professional (agents.services), the
        # code that identifies an usager who books online (usagers.identity).
        INVITATION = "invitation", _("Invitation d'un professionnel")
        LOGIN_CODE = "code", _("Code d'identification d'un usager")
        PASSWORD = "password", _("Nouveau mot de passe d'un professionnel")

    class Channel(models.TextChoices):
        EMAIL = "email", "email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente d'envoi")
        SENDING = "sending", _("En cours d'envoi")
        SENT = "sent", _("Envoyée")
        FAILED = "failed", _("Échec de l'envoi")
        DROPPED = "dropped", _("Non envoyée")

    class Delivery(models.TextChoices):
        DELIVERED = "delivered", _("Distribuée")
        UNDELIVERED = "undelivered", _("Non distribuée")

    IN_PROGRESS = (Status.PENDING, Status.SENDING)
    # Fixed when written, sent as written, never held back by the daily limit.
    NOT_ABOUT_AN_RDV = (Event.INVITATION, Event.LOGIN_CODE, Event.PASSWORD)

    # None: a message of no organisation (the code of an usager signing in).
    organisation = models.ForeignKey(
        "organisations.Organisation",
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # A deleted RDV keeps the receipts of what was sent about it; its pending rows are dropped.
    rdv = models.ForeignKey(
        "rendezvous.Rdv",
        verbose_name=_("RDV"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    rdv_starts_at = models.DateTimeField(_("début du RDV annoncé"), null=True, blank=True)
    usager = models.ForeignKey(
        "usagers.Usager",
        verbose_name=_("destinataire"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    # An email to one of the RDV's agents, by its choice (Agent.rdv_notifications): outside the
    # usagers' threads, it is sent as written unless the RDV is gone or has started.
    agent = models.ForeignKey(
        "agents.Agent",
        verbose_name=_("agent destinataire"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )
    event = models.CharField(_("objet"), max_length=10, choices=Event.choices)
    channel = models.CharField(_("canal"), max_length=5, choices=Channel.choices)
    to = models.CharField(_("adresse ou numéro"), max_length=254)
    subject = models.CharField(_("sujet"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    status = models.CharField(_("état"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    next_attempt_at = models.DateTimeField(_("prochaine tentative"), default=timezone.now)
    last_error = models.TextField(_("dernière erreur"), blank=True)
    provider_id = models.CharField(_("identifiant chez le prestataire"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    sent_at = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    # The provider's delivery receipt, when it sends one (Twilio's status callback, the email
    # provider's tracking webhook): whether the message reached the phone or the mailbox.
    delivery = models.CharField(_("remise"), max_length=12, choices=Delivery.choices, blank=True)
    delivery_error = models.TextField(_("motif de non-remise"), blank=True)
    delivery_at = models.DateTimeField(_("remise constatée le"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["created_at", "pk"]
        constraints = [
            # One reminder per recipient, channel and announced time, however often the job runs.
            models.UniqueConstraint(
                "rdv",
                "usager",
                "channel",
                "rdv_starts_at",
                condition=Q(event="reminder"),
                name="notification_one_reminder",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status__in=["pending", "sending"]), name="notification_due"
            ),
            models.Index(fields=["rdv", "created_at"], name="notification_rdv"),
            # Receipts find their message by the provider's identifier.
            models.Index(fields=["provider_id"], condition=~Q(provider_id=""), name="notification_provider_id"),
            # The daily limit counts what an address received in the last 24 hours.
            models.Index(
                fields=["to", "sent_at"], condition=Q(status__in=["sent", "sending"]), name="notification_daily_limit"
            ),
            # Retention (notifications.retention): the rows still to anonymise (an anonymised row
            # has no address), and the oldest rows, to delete (a BRIN: rows come in time order).
            models.Index(fields=["created_at"], condition=~Q(to=""), name="notification_to_anonymise"),
            BrinIndex(fields=["created_at"], name="notification_created_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} — {self.get_channel_display()} à {self.to}"

    @property
    def is_about_an_rdv(self) -> bool:
        """Messages about an RDV follow it (superseded, held, worded at claim time); the others
        leave as written."""
        return self.event not in self.NOT_ABOUT_AN_RDV

    @property
    def is_for_an_agent(self) -> bool:
        return self.agent_id is not None

    @property
    def display_to(self) -> str:
        """The address, or the number as French people write it (« 06 12 34 56 78 »); "" once
        the recipient was anonymised."""
        if self.channel != self.Channel.SMS or not self.to:
            return self.to
        return display_phone(PhoneNumber.from_string(self.to)) or self.to

    @property
    def is_final(self) -> bool:
        return self.status not in self.IN_PROGRESS
