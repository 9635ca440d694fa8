from faker.providers.person.fr_FR import Provider

from tests.names import FIRST_NAMES, LAST_NAMES, WORDS, confusable, fold


def test_names_and_searches_are_read_from_the_tests():
    # tests/rendezvous/test_views.py names « Cordier » and searches « cordier »; a search « garri ».
    assert {"cordier", "garri", "leveque"} <= WORDS


def test_a_made_up_person_is_never_one_a_test_names_or_finds():
    assert "Cordier" in Provider.last_names and "Cordier" not in LAST_NAMES
    assert not any(confusable(name, WORDS) for name in FIRST_NAMES + LAST_NAMES)


def test_confusable_means_the_same_a_part_or_the_same_start_accents_aside():
    assert fold("Lévêque") == "leveque"
    assert confusable("Martinez", {"martin"})
    assert confusable("Garrigues", {"garri"})
    assert confusable("Lefebvre", {"lefevre"})
    assert not confusable("Perrin", {"martin"})


def test_enough_names_are_left_for_people_to_differ():
    assert len(FIRST_NAMES) > 100 and len(LAST_NAMES) > 200
