from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sectorisation.models import Commune, Sector, SectorArea, SectorAttribution


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    """The shipped communes, to look up: they come from `load_communes`, never typed here."""

    list_display = ["insee_code", "name", "departement", "zone", "kind"]
    list_filter = ["zone", "kind"]
    search_fields = ["insee_code", "name", "search_name"]
    ordering = ["insee_code"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class SectorAreaInline(admin.TabularInline):
    model = SectorArea
    extra = 0
    fields = ["commune", "street"]
    autocomplete_fields = ["commune"]


class SectorAttributionInline(admin.TabularInline):
    model = SectorAttribution
    extra = 0
    fields = ["organisation", "agent"]
    autocomplete_fields = ["organisation", "agent"]


@admin.register(Sector)
class SectorAdmin(SimpleHistoryAdmin):
    list_display = ["name", "territory", "created_at"]
    list_filter = ["territory"]
    search_fields = ["name"]
    inlines = [SectorAreaInline, SectorAttributionInline]


@admin.register(SectorArea)
class SectorAreaAdmin(SimpleHistoryAdmin):
    """Read with its history: who added or removed which commune or street."""

    list_display = ["sector", "commune", "street"]
    list_filter = ["sector__territory"]
    search_fields = ["sector__name", "commune__name", "street"]
    autocomplete_fields = ["commune", "sector"]


@admin.register(SectorAttribution)
class SectorAttributionAdmin(SimpleHistoryAdmin):
    list_display = ["sector", "organisation", "agent"]
    list_filter = ["sector__territory"]
    search_fields = ["sector__name", "organisation__name", "agent__email"]
    autocomplete_fields = ["sector", "organisation", "agent"]
