"""The public pages. Each page family has its module and its URL list, gathered here under one
namespace: `search_views` (« Prendre rendez-vous », steps 1 to 4), `identity_views` (the email code,
« Se connecter », « Se déconnecter »), `booking_views` (steps 6 to 8), `account_views` (« Mes
rendez-vous », cancel, move), `profile_views` (« Mon profil », proches, email change); and
`settings_urls`: the organisation's public link and, for agents, « Réservation en ligne »."""

from reservation import (
    account_urls,
    booking_urls,
    identity_urls,
    link_urls,
    profile_urls,
    search_urls,
    settings_urls,
)

app_name = "reservation"

urlpatterns: list = []
urlpatterns += booking_urls.urlpatterns
urlpatterns += account_urls.urlpatterns
urlpatterns += link_urls.urlpatterns
urlpatterns += profile_urls.urlpatterns
urlpatterns += settings_urls.urlpatterns
urlpatterns += search_urls.urlpatterns
urlpatterns += identity_urls.urlpatterns
