"""« Tous les RDVs » writes its rows' dates, location types and links itself (rendezvous.listing
.ListWords): the same words as Django's `date` filter, the choices' labels and `reverse`."""

import datetime as dt
import random
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from motifs.models import Motif
from rdv.links import url_for_pks
from rdv.templatetags.french import date as french_date
from rendezvous.listing import ListRow, ListWords
from rendezvous.models import Rdv

PARIS = ZoneInfo("Europe/Paris")


def row_words(starts_at: dt.datetime, location_type: str) -> ListRow:
    rdv = Rdv(pk=42, organisation_id=7, starts_at=starts_at, motif=Motif(location_type=location_type))
    return ListRow.of(rdv, starts_at, ListWords.of(7), is_today=False, agents=[], usagers=[])


def test_dates_and_location_types_read_as_django_writes_them():
    rng = random.Random(18)
    instants = [
        dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC),  # the night clocks go forward
        dt.datetime(2026, 10, 25, 1, 5, tzinfo=dt.UTC),  # and back
        dt.datetime(2027, 1, 1, 8, 0, tzinfo=PARIS),
        *(dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randrange(6_000_000)) for _ in range(300)),
    ]
    with timezone.override(PARIS):
        for instant in instants:
            for location_type in Motif.LocationType.values:
                row = row_words(instant, location_type)
                local = timezone.localtime(instant)
                assert row.when == french_date(local, r"d/m/Y G\hi")
                assert row.day_and_when == french_date(local, r"D d/m/Y G\hi")
                assert row.location_type == Motif(location_type=location_type).get_location_type_display()


def test_a_row_links_to_its_rdv_and_its_status_change():
    row = row_words(dt.datetime(2027, 1, 4, 9, 30, tzinfo=PARIS), Motif.LocationType.PUBLIC_OFFICE)
    assert row.detail_url == reverse("rendezvous:detail", kwargs={"organisation_id": 7, "pk": 42})
    assert row.status_url == reverse("rendezvous:status", kwargs={"organisation_id": 7, "pk": 42})
    detail = url_for_pks("rendezvous:detail", organisation_id=7)
    assert [detail(pk) for pk in (1, 987654321, 10**12)] == [
        reverse("rendezvous:detail", kwargs={"organisation_id": 7, "pk": pk}) for pk in (1, 987654321, 10**12)
    ]
