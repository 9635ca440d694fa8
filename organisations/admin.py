from django.contrib import admin

from organisations.models import Lieu, Organisation, Service, Territory


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["departement_number", "name", "time_zone"]
    search_fields = ["departement_number", "name"]


class LieuInline(admin.TabularInline):
    model = Lieu
    extra = 0
    fields = ["name", "address", "phone", "is_active"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "territory", "phone", "email"]
    list_filter = ["territory"]
    search_fields = ["name"]
    list_select_related = ["territory"]
    inlines = [LieuInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "is_secretariat"]
