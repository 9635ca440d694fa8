from django.urls import path

from stats import views

app_name = "stats"

urlpatterns = [
    path("organisations/<int:organisation_id>/parametres/statistiques/", views.organisation_stats, name="organisation"),
]
