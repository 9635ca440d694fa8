from django.urls import path

from usagers import views

app_name = "usagers"

BASE = "organisations/<int:organisation_id>/usagers/"

urlpatterns = [
    path(BASE, views.usager_list, name="list"),
    path(f"{BASE}recherche/", views.usager_search, name="search"),
    path(f"{BASE}nouveau/", views.usager_create, name="create"),
    path(f"{BASE}<int:pk>/", views.usager_detail, name="detail"),
    path(f"{BASE}<int:pk>/modifier/", views.usager_update, name="update"),
    path(f"{BASE}<int:pk>/supprimer/", views.usager_delete, name="delete"),
    path(f"{BASE}<int:pk>/historique/", views.usager_history_page, name="history"),
    path(f"{BASE}<int:pk>/proches/nouveau/", views.proche_create, name="create_proche"),
]
