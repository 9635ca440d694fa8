from django.urls import path

from reservation import link_views

urlpatterns = [
    path("r/<str:token>", link_views.rdv_link, name="rdv_link"),
    path("r/<str:token>/annuler", link_views.cancel, name="rdv_link_cancel"),
    path("r/<str:token>/deplacer", link_views.move, name="rdv_link_move"),
]
