from django.urls import path

from organisations import views

app_name = "organisations"

urlpatterns = [
    path("organisations/", views.choose, name="choose"),
    path("organisations/<int:organisation_id>/", views.home, name="home"),
    path("organisations/<int:organisation_id>/parametres/organisation/", views.edit_settings, name="settings"),
]
