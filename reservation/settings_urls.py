from django.urls import path

from reservation import public_views, settings_views

urlpatterns = [
    path("org/<int:pk>-<slug:slug>/", public_views.organisation_link, name="organisation_link"),
    path(
        "organisations/<int:organisation_id>/parametres/reservation-en-ligne/",
        settings_views.online_booking,
        name="online_booking",
    ),
]
