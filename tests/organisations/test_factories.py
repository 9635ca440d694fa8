import re
from pathlib import Path

from tests.organisations.factories import NAMED_DEPARTEMENTS, SEQUENCE_DEPARTEMENTS

NAMED = re.compile(r'departement_number="(\d{2})"')


def test_every_departement_a_test_names_is_kept_out_of_the_sequence():
    """A test naming « 93 » must get a territory of its own, not the one the sequence made for a fixture."""
    named = {number for path in Path(__file__).parents[1].rglob("*.py") for number in NAMED.findall(path.read_text())}
    assert named <= NAMED_DEPARTEMENTS
    assert not NAMED_DEPARTEMENTS & set(SEQUENCE_DEPARTEMENTS)
