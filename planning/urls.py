import datetime as dt

from django.urls import path, register_converter

from planning import calendar_views, views
from rdv.dates import within_bounds

app_name = "planning"


class IsoDateConverter:
    """A day AAAA-MM-JJ, as a date, between 1900 and 2100 (rdv.dates): any other value, a 30
    February or 31/12/9999, is no page (404), never an overflow in the view."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> dt.date:
        day = dt.date.fromisoformat(value)  # ValueError: the URL does not match
        if not within_bounds(day):
            raise ValueError(f"{value} is out of bounds")
        return day

    def to_url(self, value: dt.date | str) -> str:
        return value.isoformat() if isinstance(value, dt.date) else str(value)


register_converter(IsoDateConverter, "isodate")

ORGANISATION = "organisations/<int:organisation_id>/"
AGENT = ORGANISATION + "agents/<int:agent_id>/"

urlpatterns = [
    path(ORGANISATION + "planning/plages/", views.my_plages, name="my_plages"),
    path(ORGANISATION + "planning/absences/", views.my_absences, name="my_absences"),
    path(ORGANISATION + "planning/jours-feries/", views.public_holidays_switch, name="public_holidays"),
    path(ORGANISATION + "planning/calendrier/", calendar_views.calendar_feed, name="calendar_feed"),
    path(AGENT + "plages/", views.plage_list, name="plage_list"),
    path(AGENT + "plages/nouvelle/", views.plage_create, name="plage_create"),
    path(AGENT + "plages/<int:pk>/", views.plage_edit, name="plage_edit"),
    path(AGENT + "plages/<int:pk>/supprimer/", views.plage_delete, name="plage_delete"),
    path(AGENT + "plages/<int:pk>/occurrences/<isodate:day>/", views.plage_occurrence, name="plage_occurrence"),
    path(AGENT + "absences/", views.absence_list, name="absence_list"),
    path(AGENT + "absences/nouvelle/", views.absence_create, name="absence_create"),
    path(AGENT + "absences/<int:pk>/", views.absence_edit, name="absence_edit"),
    path(AGENT + "absences/<int:pk>/supprimer/", views.absence_delete, name="absence_delete"),
    path(AGENT + "absences/<int:pk>/occurrences/<isodate:day>/", views.absence_occurrence, name="absence_occurrence"),
    path("calendrier/<str:token>.ics", calendar_views.calendar, name="calendar"),
]
