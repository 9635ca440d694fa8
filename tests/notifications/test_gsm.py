"""SMS in GSM-7 (notifications.gsm): what each character becomes, and what a text costs."""

import pytest

from notifications import gsm


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # GSM-7's own accented letters stay as they are.
        ("é è ù ì ò à É Ç Ø ø Å å Ä Ö Ñ Ü ä ö ñ ü Æ æ ß", "é è ù ì ò à É Ç Ø ø Å å Ä Ö Ñ Ü ä ö ñ ü Æ æ ß"),
        # The others lose their accent.
        ("ê ë â î ï ô û ÿ á í ó ú ã õ", "e e a i i o u y a i o u a o"),
        ("È Ê Ë À Â Î Ï Ô Û Ù Ÿ Í Ó Ú", "E E E A A I I O U U Y I O U"),
        ("ç", "c"),
        ("œ Œ", "oe OE"),
        ("Bœuf, Œuvre, cœur", "Boeuf, OEuvre, coeur"),
        # Typographic punctuation becomes its plain form.
        ("l’école ‘a’", "l'école 'a'"),
        ("« Bonjour » “oui” „non“", '" Bonjour " "oui" "non"'),
        ("10h–12h — ou ‑ −", "10h-12h - ou - -"),
        ("Attendez…", "Attendez..."),
        ("Bonjour\u00a0! 10\u202f€ 3\u2009km\tici", "Bonjour ! 10 € 3 km ici"),
        ("a\u200bb\u00adc\ufeff", "abc"),
        ("n° 12, 3ᵉ étage, ½, ²", "no 12, 3e étage, 1/2, 2"),
        ("ﬁn", "fin"),
        # A decomposed accent (typed on some keyboards) is composed first: GSM-7's « é ».
        ("e\u0301", "é"),
        # Anything else: a question mark, never a switch to UCS-2.
        ("😀 α 中", "? ? ?"),
        # Line breaks and the extension table are GSM-7.
        ("a\nb\rc € [ ] { } ^ ~ \\ |", "a\nb\rc € [ ] { } ^ ~ \\ |"),
    ],
)
def test_transliteration(text, expected):
    assert gsm.to_gsm7(text) == expected
    assert gsm.is_gsm7(gsm.to_gsm7(text))


def test_french_text_becomes_pure_gsm7():
    text = "Crèche de la Forêt – l’Œuvre, 3ᵉ étage, Hôtel-de-Ville « Saint-Étienne »"
    assert not gsm.is_gsm7(text)
    assert gsm.to_gsm7(text) == 'Crèche de la Foret - l\'OEuvre, 3e étage, Hotel-de-Ville " Saint-Étienne "'


def test_one_non_gsm7_character_switches_to_ucs2():
    assert gsm.segments("a" * 160) == 1
    assert gsm.segments("ê" + "a" * 69) == 1
    assert gsm.segments("ê" + "a" * 70) == 2  # 71 UCS-2 characters: 67 per segment
    assert gsm.segments(gsm.to_gsm7("ê" + "a" * 159)) == 1


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters count two
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),
        # Segments of 153: an escaped character is never split, « € » starts the second segment.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("a" * 151 + "€" + "a" * 153, 2),
    ],
)
def test_segments(text, segments):
    assert gsm.segments(text) == segments


def test_septets():
    assert gsm.septets("RDV [PMI] 10 €") == 17
