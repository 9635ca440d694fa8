from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from anymail.signals import tracking

        # The tasks registered in every process, not only in workers: queue.dispatch asks for
        # them by name, and without them a web process (or a test run eagerly) would hand the
        # message to the broker instead of running the task in place when it is eager.
        import notifications.tasks  # noqa: F401
        from agents.services import EMAIL_OUTBOX
        from notifications.receipts import on_email_tracking
        from notifications.services import queue_email

        tracking.connect(on_email_tracking, dispatch_uid="notifications.receipts.on_email_tracking")
        # Emails to professionals leave through the outbox, recorded and retried.
        if queue_email not in EMAIL_OUTBOX:
            EMAIL_OUTBOX.append(queue_email)
