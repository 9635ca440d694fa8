from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "RDV Solidarités — administration technique"
admin.site.site_title = "RDV Solidarités"
admin.site.index_title = "Super-administration"

# A database out of reach: « Service momentanément indisponible » (503), never the 500 (rdv/errors.py).
handler500 = "rdv.errors.server_error_or_unavailable"

urlpatterns = [
    path("", include("agents.urls")),
    path("", include("organisations.urls")),
    path("", include("usagers.urls")),
    path("", include("motifs.urls")),
    path("", include("sectorisation.urls")),
    path("", include("planning.urls")),
    path("", include("rendezvous.urls")),
    path("", include("stats.urls")),
    path("", include("notifications.urls")),
    path("", include("reservation.urls")),
    path("admin/", admin.site.urls),
]
