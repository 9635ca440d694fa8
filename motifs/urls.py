from django.urls import path

from motifs import views

app_name = "motifs"

PREFIX = "organisations/<int:organisation_id>/parametres/motifs/"

urlpatterns = [
    path(PREFIX, views.motif_list, name="list"),
    path(PREFIX + "nouveau/", views.motif_create, name="create"),
    path(PREFIX + "<int:motif_id>/", views.motif_edit, name="edit"),
    path(PREFIX + "<int:motif_id>/archiver/", views.motif_archive, name="archive"),
    path(PREFIX + "<int:motif_id>/desarchiver/", views.motif_unarchive, name="unarchive"),
]
