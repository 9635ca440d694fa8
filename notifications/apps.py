from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from anymail.signals import tracking

        from agents.services import EMAIL_OUTBOX
        from notifications.receipts import on_email_tracking
        from notifications.services import queue_email

        tracking.connect(on_email_tracking, dispatch_uid="notifications.receipts.on_email_tracking")
        # Emails to professionals leave through the outbox, recorded and retried.
        if queue_email not in EMAIL_OUTBOX:
            EMAIL_OUTBOX.append(queue_email)
