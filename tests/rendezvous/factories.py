import datetime as dt

import factory
from django.utils import timezone

from rendezvous.models import Participation, Rdv
from tests.agents.factories import AgentFactory
from tests.motifs.factories import MotifFactory
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.usagers.factories import UsagerFactory


class RdvFactory(factory.django.DjangoModelFactory):
    """`RdvFactory(organisation=org, agents=[a], usagers=[u], past=True, seen=True)`.

    By default tomorrow at 10:00, 30 minutes, with one new agent and one new usager of the
    organisation. Traits: `past` (last week), and one per status: `waiting`, `seen`, `excused`,
    `noshow`, `revoked`."""

    class Meta:
        model = Rdv
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    motif = factory.SubFactory(MotifFactory, organisation=factory.SelfAttribute("..organisation"))
    lieu = factory.SubFactory(LieuFactory, organisation=factory.SelfAttribute("..organisation"))
    starts_at = factory.LazyFunction(
        lambda: timezone.make_aware(dt.datetime.combine(timezone.localdate() + dt.timedelta(days=1), dt.time(10, 0)))
    )
    duration_in_min = 30

    class Params:
        past = factory.Trait(starts_at=factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=7)))
        waiting = factory.Trait(status=Rdv.Status.WAITING)
        seen = factory.Trait(status=Rdv.Status.SEEN)
        excused = factory.Trait(status=Rdv.Status.EXCUSED)
        noshow = factory.Trait(status=Rdv.Status.NOSHOW)
        revoked = factory.Trait(status=Rdv.Status.REVOKED)

    @factory.post_generation
    def agents(self, create, extracted, **kwargs):
        if create:
            self.agents.set(extracted if extracted is not None else [AgentFactory(organisation=self.organisation)])

    @factory.post_generation
    def usagers(self, create, extracted, **kwargs):
        if create:
            for usager in extracted if extracted is not None else [UsagerFactory(organisation=self.organisation)]:
                Participation.objects.create(rdv=self, usager=usager)
