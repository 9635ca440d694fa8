from django.urls import path

from reservation import profile_views

urlpatterns = [
    path("mon-profil/", profile_views.profile, name="profile"),
    path("mon-profil/proches/nouveau/", profile_views.proche, name="proche_create"),
    path("mon-profil/proches/<int:pk>/", profile_views.proche, name="proche_edit"),
    path("mon-profil/adresse-e-mail/", profile_views.email_change, name="email_change"),
]
