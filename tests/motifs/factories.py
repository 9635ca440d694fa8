import factory
from django.utils import timezone

from motifs.models import Motif, MotifCategory
from tests.organisations.factories import OrganisationFactory, service


class MotifCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MotifCategory
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Motif du référentiel n°{n}")
    service = None
    is_active = True

    class Params:
        withdrawn = factory.Trait(is_active=False)


class MotifFactory(factory.django.DjangoModelFactory):
    """`MotifFactory(organisation=org, online=True)`; Traits: online, home, phone, archived.
    `follow_up=True` and `for_secretariat=True` set the fields of the same name."""

    class Meta:
        model = Motif

    organisation = factory.SubFactory(OrganisationFactory)
    service = factory.LazyFunction(lambda: service("PMI"))
    category = factory.SubFactory(MotifCategoryFactory)
    name = factory.LazyAttribute(lambda motif: motif.category.name)
    default_duration_in_min = 30
    color = "#6a6af4"
    location_type = Motif.LocationType.PUBLIC_OFFICE

    class Params:
        online = factory.Trait(
            bookable_online=True,
            min_booking_delay=Motif.BookingDelay.ONE_HOUR,
            max_booking_delay=Motif.BookingDelay.THREE_MONTHS,
        )
        home = factory.Trait(location_type=Motif.LocationType.HOME)
        phone = factory.Trait(location_type=Motif.LocationType.PHONE)
        archived = factory.Trait(archived_at=factory.LazyFunction(timezone.now))
