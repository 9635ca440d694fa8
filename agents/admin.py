from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from agents.models import Agent, AgentInvitation, AgentRole, TerritoryRole


class AgentRoleInline(admin.StackedInline):
    """The agent's memberships: in each organisation, its level and its services there."""

    model = AgentRole
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "level", "services"]
    filter_horizontal = ["services"]
    verbose_name = _("appartenance à une organisation")
    verbose_name_plural = _("organisations, rôles et services (par organisation)")


class TerritoryRoleInline(admin.TabularInline):
    """Territory administrators open « Paramètres du territoire » (sectorisation)."""

    model = TerritoryRole
    extra = 0
    autocomplete_fields = ["territory"]
    fields = ["territory"]
    verbose_name = _("territoire administré")
    verbose_name_plural = _("territoires administrés (sectorisation)")


@admin.register(Agent)
class AgentAdmin(UserAdmin, SimpleHistoryAdmin):
    ordering = ["last_name", "first_name"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "roles__organisation", "roles__services"]
    search_fields = ["email", "first_name", "last_name"]
    filter_horizontal = ["groups", "user_permissions"]
    inlines = [AgentRoleInline, TerritoryRoleInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name")}),
        (_("Droits"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "first_name", "last_name", "password1", "password2")}),
    )


@admin.register(AgentInvitation)
class AgentInvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "organisation",
        "service",
        "level",
        "sent_at",
        "expires_at",
        "accepted_at",
        "cancelled_at",
        "declined_at",
    ]
    list_filter = ["level", "service", "organisation"]
    search_fields = ["email", "organisation__name"]
    readonly_fields = [
        "token_hash",
        "created_at",
        "sent_at",
        "accepted_at",
        "cancelled_at",
        "declined_at",
        "invited_by",
    ]
    fields = ["organisation", "email", "service", "level", "expires_at", *readonly_fields]

    def has_add_permission(self, request):
        # Invitations are sent from « Vos agents », which emails the one-time link.
        return False
