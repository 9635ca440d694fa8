"""rdv.phone.PhoneNumberField: each stored number parsed once per process, each row its own copy,
what the library's field reads, and nothing for migrations to see."""

import pytest
from django.db import connection
from phonenumber_field.modelfields import PhoneNumberField as LibraryField
from phonenumber_field.phonenumber import PhoneNumber

from organisations.models import Lieu, Organisation
from rdv import phone
from tests.organisations.factories import LieuFactory, OrganisationFactory
from tests.usagers.factories import UsagerFactory
from usagers.models import Usager

STORED = ["+33123456789", "+262692123456", "+687751234", "+33612345678;ext=12", "0612", "n'importe quoi", "", None]


@pytest.mark.parametrize("value", STORED)
def test_a_stored_number_reads_as_the_library_reads_it(value):
    field = Usager._meta.get_field("phone")
    library = LibraryField(region="FR")
    ours, theirs = field.from_db_value(value, None, connection), library.from_db_value(value, None, connection)
    assert type(ours) is type(theirs)
    assert ours == theirs
    if isinstance(theirs, PhoneNumber):
        assert (ours.raw_input, ours.as_e164 if ours.is_valid() else None) == (
            theirs.raw_input,
            theirs.as_e164 if theirs.is_valid() else None,
        )


def test_each_row_gets_its_own_copy_of_the_number(db):
    organisation = OrganisationFactory(phone="+33123456789")
    first, second = Organisation.objects.get(pk=organisation.pk), Organisation.objects.get(pk=organisation.pk)
    assert first.phone == second.phone and first.phone is not second.phone
    first.phone.extension = "12"
    assert Organisation.objects.get(pk=organisation.pk).phone.extension is None
    assert second.phone.extension is None


def test_a_number_is_parsed_once_for_every_row_holding_it(db):
    organisation = OrganisationFactory(phone="+33123456789")
    for name in ("Antenne 1", "Antenne 2", "Antenne 3"):
        LieuFactory(organisation=organisation, name=name, phone="+33987654321")
    phone._stored_number.cache_clear()
    lieux = list(Lieu.objects.filter(organisation=organisation).select_related("organisation"))
    assert [str(lieu.phone.as_e164) for lieu in lieux] == ["+33987654321"] * 3
    info = phone._stored_number.cache_info()
    assert (info.misses, info.hits) == (2, 4)  # the lieux' number and the organisation's, once each


def test_the_usagers_and_organisations_phone_numbers_keep_their_migrations(db):
    for model in (Usager, Organisation, Lieu):
        _name, path, _args, _kwargs = model._meta.get_field("phone").deconstruct()
        assert path == "phonenumber_field.modelfields.PhoneNumberField"
    assert str(UsagerFactory(phone="0612345678").phone.as_e164) == "+33612345678"
