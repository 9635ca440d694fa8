from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from anymail.signals import tracking

        from notifications.receipts import on_email_tracking

        tracking.connect(on_email_tracking, dispatch_uid="notifications.receipts.on_email_tracking")
