from django.urls import path

from stats import export_views, personal_views, territory_views, views

app_name = "stats"

PREFIX = "organisations/<int:organisation_id>/parametres/statistiques/"
TERRITORY = "organisations/<int:organisation_id>/territoire/statistiques/"

urlpatterns = [
    path("organisations/<int:organisation_id>/statistiques/", personal_views.my_stats, name="mine"),
    path(PREFIX, views.organisation_stats, name="organisation"),
    path(f"{PREFIX}tableaux/<slug:table>.<str:format>", export_views.table_export, name="table_export"),
    path(f"{PREFIX}exports/", export_views.rdv_export_create, name="rdv_export_create"),
    path(f"{PREFIX}exports/<int:pk>/", export_views.rdv_export_detail, name="rdv_export"),
    path(f"{PREFIX}exports/<int:pk>/fichier/", export_views.rdv_export_download, name="rdv_export_download"),
    path(TERRITORY, territory_views.territory_stats, name="territory"),
    path(
        f"{TERRITORY}tableaux/<slug:table>.<str:format>",
        export_views.territory_table_export,
        name="territory_table_export",
    ),
]
