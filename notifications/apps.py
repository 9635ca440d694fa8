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
        from notifications.services import queue_code_email, queue_email
        from usagers.identity import CODE_OUTBOX

        tracking.connect(on_email_tracking, dispatch_uid="notifications.receipts.on_email_tracking")
        # Emails to professionals and usagers' codes leave through the outbox, recorded and retried.
        if queue_email not in EMAIL_OUTBOX:
            EMAIL_OUTBOX.append(queue_email)
        if queue_code_email not in CODE_OUTBOX:
            CODE_OUTBOX.append(queue_code_email)
