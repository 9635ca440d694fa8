from django.urls import path

from organisations import views

app_name = "organisations"

urlpatterns = [
    path("organisations/", views.choose, name="choose"),
    path("organisations/<int:organisation_id>/", views.home, name="home"),
    path("organisations/<int:organisation_id>/parametres/organisation/", views.edit_settings, name="settings"),
    path("organisations/<int:organisation_id>/parametres/lieux/", views.lieux, name="lieux"),
    path("organisations/<int:organisation_id>/parametres/lieux/nouveau/", views.lieu_create, name="lieu_create"),
    path("organisations/<int:organisation_id>/parametres/lieux/<int:pk>/modifier/", views.lieu_edit, name="lieu_edit"),
    path(
        "organisations/<int:organisation_id>/parametres/lieux/<int:pk>/archiver/",
        views.lieu_archive,
        name="lieu_archive",
    ),
    path(
        "organisations/<int:organisation_id>/parametres/lieux/<int:pk>/reactiver/",
        views.lieu_reactivate,
        name="lieu_reactivate",
    ),
]
