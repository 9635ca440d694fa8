from django.urls import path

from reservation import booking_views

urlpatterns = [
    path("prendre-rdv/informations/", booking_views.informations, name="informations"),
    path("prendre-rdv/verification/", booking_views.verify, name="verify"),
    path("rendez-vous/<int:pk>/confirmation/", booking_views.confirmation, name="confirmation"),
    path("rendez-vous/<int:pk>/calendrier.ics", booking_views.rdv_ics, name="rdv_ics"),
]
