import datetime

import factory

from tests.names import FIRST_NAMES, LAST_NAMES
from usagers.models import Usager, UsagerProfile


class UsagerFactory(factory.django.DjangoModelFactory):
    """`UsagerFactory(organisation=org)`: an usager en charge known to `org` (a profile there).

    Traits: `proche=True` (with a responsible known to the same organisation), `with_email`,
    `with_phone`, `with_birth_date`, `complete` (every field filled). `referents=[agent, …]` and
    `notes="…"` go on the profile."""

    class Meta:
        model = Usager
        skip_postgeneration_save = True

    first_name = factory.Faker("random_element", elements=FIRST_NAMES)
    last_name = factory.Faker("random_element", elements=LAST_NAMES)
    organisation = None
    notes = ""

    class Params:
        proche = factory.Trait(
            responsible=factory.SubFactory(
                "tests.usagers.factories.UsagerFactory", organisation=factory.SelfAttribute("..organisation")
            ),
            birth_date=datetime.date(2019, 5, 4),
        )
        with_email = factory.Trait(email=factory.Sequence(lambda n: f"usager{n}@example.com"))
        with_phone = factory.Trait(phone=factory.Sequence(lambda n: f"+3361234{n % 10000:04d}"))
        with_birth_date = factory.Trait(birth_date=datetime.date(1987, 3, 14))
        complete = factory.Trait(
            with_email=True,
            with_phone=True,
            with_birth_date=True,
            birth_name="Lefèvre",
            address="8 rue Pierre Mendès France, 77200 Torcy",
            caisse=Usager.Caisse.CAF,
            case_number="1234567",
            family_situation=Usager.FamilySituation.IN_A_RELATIONSHIP,
            number_of_children=2,
            housing=Usager.Housing.TENANT,
        )

    @classmethod
    def _create(cls, model_class, *args, organisation=None, notes="", **kwargs):
        usager = super()._create(model_class, *args, **kwargs)
        if organisation is not None:
            UsagerProfile.objects.create(usager=usager, organisation=organisation, notes=notes)
        return usager

    @factory.post_generation
    def referents(self, create, extracted, **kwargs):
        if create and extracted:
            for profile in self.profiles.all():
                profile.referents.set(extracted)
