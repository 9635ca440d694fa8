from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from motifs.models import Motif, MotifCategory


@admin.register(MotifCategory)
class MotifCategoryAdmin(admin.ModelAdmin):
    """The référentiel of motif names, managed by the RDV-Solidarités team (super-admins)."""

    list_display = ["name", "service", "is_active", "sensitive"]
    list_filter = ["is_active", "sensitive", "service"]
    list_editable = ["is_active", "sensitive"]
    search_fields = ["name"]


@admin.register(Motif)
class MotifAdmin(SimpleHistoryAdmin):
    list_display = ["name", "organisation", "service", "location_type", "bookable_online", "archived_at"]
    list_filter = ["service", "location_type", "bookable_online", "organisation__territory"]
    list_select_related = ["organisation", "service"]
    search_fields = ["name", "organisation__name"]
    readonly_fields = ["name", "archived_at", "created_at"]
    autocomplete_fields = ["organisation"]

    def save_model(self, request, obj, form, change):
        if not change or "category" in form.changed_data:
            obj.use_category(obj.category)
        super().save_model(request, obj, form, change)
