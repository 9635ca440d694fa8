from datetime import timedelta

import factory
from django.utils import timezone

from agents.models import Agent, AgentInvitation, AgentRole
from tests.names import FIRST_NAMES, LAST_NAMES
from tests.organisations.factories import OrganisationFactory, service

PASSWORD = "mot-de-passe-de-test-1234"


class AgentFactory(factory.django.DjangoModelFactory):
    """`AgentFactory(organisation=org, admin=True, services=["PMI"])`: an agent with a role in `org`,
    with those services there; `secretariat=True` puts it in the secrétariat there. Services
    belong to a membership: they need an `organisation` (add others with `AgentRoleFactory`)."""

    class Meta:
        model = Agent

    email = factory.Sequence(lambda n: f"agent{n}@departement.fr")
    first_name = factory.Faker("random_element", elements=FIRST_NAMES)
    last_name = factory.Faker("random_element", elements=LAST_NAMES)
    password = factory.django.Password(PASSWORD)

    @classmethod
    def _create(cls, model_class, *args, organisation=None, admin=False, secretariat=False, services=(), **kwargs):
        agent = super()._create(model_class, *args, **kwargs)
        names = [*services, *(["Secrétariat"] if secretariat else [])]
        if organisation is not None:
            level = AgentRole.Level.ADMIN if admin else AgentRole.Level.BASIC
            role = AgentRole.objects.create(agent=agent, organisation=organisation, level=level)
            role.services.set([service(name) for name in names])
        elif names or admin:
            raise ValueError("Services and levels belong to a membership: pass an organisation.")
        return agent


class AgentRoleFactory(factory.django.DjangoModelFactory):
    """A membership: `AgentRoleFactory(agent=a, organisation=o, services=["Social"], admin=True)`."""

    class Meta:
        model = AgentRole
        skip_postgeneration_save = True

    agent = factory.SubFactory(AgentFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    level = AgentRole.Level.BASIC

    class Params:
        admin = factory.Trait(level=AgentRole.Level.ADMIN)

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set([service(name) for name in extracted])


class AgentInvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation; its one-time secret is on `.token` (only its hash is stored).
    Traits: `expired`, `cancelled`, `accepted`, `admin`."""

    class Meta:
        model = AgentInvitation

    organisation = factory.SubFactory(OrganisationFactory)
    email = factory.Sequence(lambda n: f"invite{n}@departement.fr")
    service = factory.LazyFunction(lambda: service("PMI"))
    level = AgentRole.Level.BASIC
    invited_by = None

    class Params:
        admin = factory.Trait(level=AgentRole.Level.ADMIN)
        expired = factory.Trait(expires_at=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1)))
        cancelled = factory.Trait(cancelled_at=factory.LazyFunction(timezone.now))
        accepted = factory.Trait(accepted_at=factory.LazyFunction(timezone.now))

    @classmethod
    def _create(cls, model_class, *args, expires_at=None, **kwargs):
        invitation = model_class(*args, **kwargs)
        invitation.token = invitation.set_new_token()
        if expires_at is not None:
            invitation.expires_at = expires_at
        invitation.save()
        return invitation
