from django.urls import path

from reservation import search_views

urlpatterns = [
    path("", search_views.home, name="home"),
    path("prendre-rdv/rue/", search_views.street, name="street"),
    path("prendre-rdv/service/", search_views.services, name="services"),
    path("prendre-rdv/motif/", search_views.motifs, name="motifs"),
    path("prendre-rdv/lieu/", search_views.lieux, name="lieux"),
    path("prendre-rdv/creneau/", search_views.creneaux, name="creneaux"),
]
