"""What many tests share: instants in a time zone, next Monday, the queries a page reads."""

import datetime as dt
import zoneinfo

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def at(day: dt.date, hour: int, minute: int = 0, tz: dt.tzinfo = PARIS) -> dt.datetime:
    """That wall-clock time of `day` in `tz` (Paris by default), aware."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)


def next_monday(weeks: int = 1) -> dt.date:
    """The Monday `weeks` weeks after this week's, from today in Paris (freeze the clock in tests
    whose outcome depends on which day that is)."""
    today = timezone.localdate(timezone=PARIS)
    return today + dt.timedelta(days=7 * weeks - today.weekday())


def count_queries(client, path: str) -> int:
    """How many SQL queries the page reads; it must answer 200."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)
