import datetime as dt

import factory
from django.utils import timezone

from planning.models import Absence, AbsenceException, PlageOuverture, PlageOuvertureException
from planning.recurrence import Frequency, Rule
from planning.rules import recurrence_from_rule
from tests.agents.factories import AgentFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory


def _recurrence(event):
    if event.frequency is None:
        return None
    if event.frequency == "monthly":
        rule = Rule(
            Frequency.MONTHLY, interval=event.interval, weekdays=event.weekdays[:1], nth=event.nth, until=event.until
        )
    else:
        rule = Rule(Frequency.WEEKLY, interval=event.interval, weekdays=event.weekdays, until=event.until)
    return recurrence_from_rule(rule)


class PlageOuvertureFactory(factory.django.DjangoModelFactory):
    """`PlageOuvertureFactory(weekly=True, weekdays=(0, 3), until=…)`, `monthly=True, nth=2`,
    `motifs=[motif, …]`. Once on `first_day` (today) by default, 9:00 to 12:00."""

    class Meta:
        model = PlageOuverture
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    agent = factory.SubFactory(AgentFactory, organisation=factory.SelfAttribute("..organisation"))
    title = factory.Sequence(lambda n: f"Consultation n°{n}")
    lieu = factory.SubFactory(LieuFactory, organisation=factory.SelfAttribute("..organisation"))
    first_day = factory.LazyFunction(timezone.localdate)
    start_time = dt.time(9)
    end_time = dt.time(12)
    recurrence = factory.LazyAttribute(_recurrence)

    class Params:
        frequency = None
        weekdays = (0,)
        nth = 2
        interval = 1
        until = None
        weekly = factory.Trait(frequency="weekly")
        monthly = factory.Trait(frequency="monthly")
        without_lieu = factory.Trait(lieu=None)

    @factory.post_generation
    def motifs(self, create, extracted, **kwargs):
        if create and extracted:
            self.motifs.set(extracted)


class AbsenceFactory(factory.django.DjangoModelFactory):
    """`AbsenceFactory(weekly=True, weekdays=(4,))`, `days=3` for an absence over three days."""

    class Meta:
        model = Absence

    organisation = factory.SubFactory(OrganisationFactory)
    agent = factory.SubFactory(AgentFactory, organisation=factory.SelfAttribute("..organisation"))
    title = factory.Sequence(lambda n: f"Absence n°{n}")
    first_day = factory.LazyFunction(timezone.localdate)
    start_time = dt.time(14)
    end_day = factory.LazyAttribute(lambda absence: absence.first_day + dt.timedelta(days=absence.days - 1))
    end_time = dt.time(17)
    recurrence = factory.LazyAttribute(_recurrence)

    class Params:
        days = 1
        frequency = None
        weekdays = (0,)
        nth = 2
        interval = 1
        until = None
        weekly = factory.Trait(frequency="weekly")


class PlageOuvertureExceptionFactory(factory.django.DjangoModelFactory):
    """Cancelled by default; `starts_at=…, ends_at=…` moves the occurrence."""

    class Meta:
        model = PlageOuvertureException

    plage = factory.SubFactory(PlageOuvertureFactory, weekly=True)
    original_date = factory.LazyAttribute(lambda exception: exception.plage.first_day)
    starts_at = None
    ends_at = None


class AbsenceExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AbsenceException

    absence = factory.SubFactory(AbsenceFactory, weekly=True)
    original_date = factory.LazyAttribute(lambda exception: exception.absence.first_day)
    starts_at = None
    ends_at = None
