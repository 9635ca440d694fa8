import factory

from organisations.models import Lieu, Organisation, Service, Territory

# Tests name these départements on purpose, to share a territory with a fixture or to set one apart:
# the sequence never hands them out, or a territory meant to be another would silently be the same.
NAMED_DEPARTEMENTS = {"29", "75", "77", "93"}
SEQUENCE_DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if f"{n:02d}" not in NAMED_DEPARTEMENTS]


class TerritoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territory
        django_get_or_create = ["departement_number"]

    departement_number = factory.Sequence(lambda n: SEQUENCE_DEPARTEMENTS[n % len(SEQUENCE_DEPARTEMENTS)])
    name = factory.Faker("city", locale="fr_FR")
    time_zone = "Europe/Paris"

    class Params:
        reunion = factory.Trait(departement_number="974", name="La Réunion", time_zone="Indian/Reunion")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    territory = factory.SubFactory(TerritoryFactory)
    name = factory.Sequence(lambda n: f"MDS n°{n}")
    phone = "01 23 45 67 89"
    email = factory.Sequence(lambda n: f"mds{n}@departement.fr")


class LieuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lieu

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Maison des solidarités {n}")
    address = factory.Faker("address", locale="fr_FR")

    class Params:
        archived = factory.Trait(is_active=False)


def service(short_name: str) -> Service:
    """PMI, Social or Secrétariat: made by a data migration, which transactional tests flush."""
    Service.objects.ensure_defaults()
    return Service.objects.get(short_name=short_name)
