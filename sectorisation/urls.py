from django.urls import path

from sectorisation import territory_views, views

app_name = "sectorisation"

TERRITORY = "organisations/<int:organisation_id>/territoire/"

urlpatterns = [
    path("communes/", views.commune_search, name="commune_search"),
    path("territoires/<int:territory_id>/", territory_views.territory, name="territory"),
    path(TERRITORY + "secteurs/", territory_views.sectors, name="sectors"),
    path(TERRITORY + "secteurs/nouveau/", territory_views.sector_create, name="sector_create"),
    path(TERRITORY + "secteurs/<int:pk>/", territory_views.sector, name="sector"),
    path(TERRITORY + "secteurs/<int:pk>/supprimer/", territory_views.sector_delete, name="sector_delete"),
    path(
        TERRITORY + "secteurs/<int:pk>/zones/<int:area_id>/retirer/",
        territory_views.area_delete,
        name="area_delete",
    ),
    path(
        TERRITORY + "secteurs/<int:pk>/attributions/<int:attribution_id>/retirer/",
        territory_views.attribution_delete,
        name="attribution_delete",
    ),
    path(TERRITORY + "import/", territory_views.sector_import, name="import"),
    path(TERRITORY + "tester/", territory_views.sector_test, name="test"),
]
