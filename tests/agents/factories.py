from datetime import timedelta

import factory
from django.utils import timezone

from agents.models import Agent, AgentInvitation, AgentRole
from tests.organisations.factories import OrganisationFactory, service

PASSWORD = "mot-de-passe-de-test-1234"


class AgentFactory(factory.django.DjangoModelFactory):
    """`AgentFactory(organisation=org, admin=True, services=["PMI"])`: an agent with a role in `org`;
    `secretariat=True` puts it in the secrétariat."""

    class Meta:
        model = Agent
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@departement.fr")
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    password = factory.django.Password(PASSWORD)
    organisation = None
    admin = False
    secretariat = False

    @classmethod
    def _create(cls, model_class, *args, organisation=None, admin=False, secretariat=False, **kwargs):
        agent = super()._create(model_class, *args, **kwargs)
        if secretariat:
            agent.services.add(service("Secrétariat"))
        if organisation is not None:
            level = AgentRole.Level.ADMIN if admin else AgentRole.Level.BASIC
            AgentRole.objects.create(agent=agent, organisation=organisation, level=level)
        return agent

    @factory.post_generation
    def services(self, create, extracted, **kwargs):
        if create and extracted:
            self.services.set([service(name) for name in extracted])


class AgentRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentRole

    agent = factory.SubFactory(AgentFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    level = AgentRole.Level.BASIC

    class Params:
        admin = factory.Trait(level=AgentRole.Level.ADMIN)


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
