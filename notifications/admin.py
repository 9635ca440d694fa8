from django.contrib import admin, messages
from django.utils import timezone

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """For the technical super-admins: what was sent, what failed and why, and a way to try the
    failed ones again once a provider is back (they are sent by the next sweep)."""

    list_display = ["created_at", "organisation", "event", "channel", "to", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "event", "organisation"]
    search_fields = ["to", "provider_id"]
    list_select_related = ["organisation"]
    date_hierarchy = "created_at"
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Renvoyer les notifications en échec sélectionnées")
    def retry(self, request, queryset) -> None:
        count = queryset.filter(status=Notification.Status.FAILED).update(
            status=Notification.Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
        self.message_user(request, f"{count} notification(s) seront renvoyées dans la minute.", messages.SUCCESS)
