"""SMS in the GSM 03.38 alphabet (« GSM-7 »), and how many segments they cost.

A single character outside GSM-7 (« ê », « È », « œ », a typographic apostrophe, a non-breaking
space) switches the whole SMS to UCS-2: 70 characters per SMS instead of 160, 67 instead of 153
per segment once concatenated, so a message of 160 characters costs three segments instead of
one. Every SMS therefore goes through `to_gsm7` before it is stored (notifications.messages): a
French reader reads « fenetre » or « OEuvre » without trouble, and the organisation pays a third.
"""

import math
import unicodedata

# GSM 03.38 basic character set: one septet each (line feed and carriage return included).
BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: reached through an escape septet, each costs two.
EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE_SMS = 160
SEGMENT = 153  # the user data header of a concatenated SMS takes 7 septets
UCS2_SINGLE_SMS = 70
UCS2_SEGMENT = 67

# Characters whose closest GSM-7 form is not their accent-stripped decomposition.
REPLACEMENTS = {
    "œ": "oe",
    "Œ": "OE",
    "ç": "c",  # GSM-7 has only « Ç »: « reÇu » would read worse than « recu »
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    # Quotes and apostrophes
    "‘": "'",
    "’": "'",
    "‚": "'",
    "‛": "'",
    "′": "'",
    "´": "'",
    "`": "'",
    "‹": "'",
    "›": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "‟": '"',
    "″": '"',
    "«": '"',
    "»": '"',
    # Dashes, bullets, ellipsis
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "—": "-",
    "―": "-",
    "−": "-",
    "•": "-",
    "·": ".",
    "…": "...",
    # Spaces (non-breaking, narrow, thin…) and tabs
    "\t": " ",
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u2009": " ",
    "\u200a": " ",
    "\u2002": " ",
    "\u2003": " ",
    "\u2004": " ",
    "\u2005": " ",
    "\u2006": " ",
    "\u2008": " ",
    "\u3000": " ",
    # Invisible characters: nothing to send
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
    # Signs
    "°": "o",  # « n° 12 » → « no 12 »
    "º": "o",
    "ª": "a",
    "×": "x",
    "÷": "/",
    "⁄": "/",  # the fraction slash of « ½ »
    "¢": "c",
    "©": "(c)",
    "®": "(R)",
    "™": "TM",
    "¦": "|",
    "¨": "",
}
UNKNOWN = "?"


def gsm7_char(char: str) -> str:
    """The GSM-7 form of one character: itself when GSM-7 has it, else its closest spelling
    (accents dropped, « œ » → « oe », typographic punctuation → its plain form), else « ? »."""
    if char in BASIC or char in EXTENSION:
        return char
    if char in REPLACEMENTS:
        return REPLACEMENTS[char]
    # « ê » → « e » + combining circumflex, « ﬁ » → « fi », « ² » → « 2 »: keep what GSM-7 has.
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(
        part if part in BASIC or part in EXTENSION else REPLACEMENTS.get(part, "")
        for part in decomposed
        if not unicodedata.combining(part)
    )
    if kept:
        return kept
    if unicodedata.category(char).startswith(("C", "M")):  # control or stray combining mark
        return ""
    return UNKNOWN


def to_gsm7(text: str) -> str:
    """`text` spelled with GSM-7 characters only: « Crèche de la Forêt – l’Œuvre, 3ᵉ étage » →
    « Crèche de la Foret - l'OEuvre, 3e étage » (« è » and « é » are GSM-7, « ê » and « Œ » are
    not)."""
    # Composed first: « e » + combining acute (as some keyboards type it) is the GSM-7 « é ».
    return "".join(gsm7_char(char) for char in unicodedata.normalize("NFC", text))


def is_gsm7(text: str) -> bool:
    return all(char in BASIC or char in EXTENSION for char in text)


def septets(text: str) -> int:
    """The length of a GSM-7 `text` in septets: extension characters (€ [ ] { } ^ ~ \\ |) count
    two."""
    return sum(2 if char in EXTENSION else 1 for char in text)


def segments(text: str) -> int:
    """How many SMS `text` costs: one up to 160 septets, else one per 153 (an escaped character
    is never split across two segments); in UCS-2 when it is not GSM-7: 70, then 67 per segment
    (UTF-16 code units)."""
    if not is_gsm7(text):
        units = len(text.encode("utf-16-le")) // 2
        return 1 if units <= UCS2_SINGLE_SMS else math.ceil(units / UCS2_SEGMENT)
    if septets(text) <= SINGLE_SMS:
        return 1
    count, used = 1, 0
    for char in text:
        cost = 2 if char in EXTENSION else 1
        if used + cost > SEGMENT:
            count, used = count + 1, 0
        used += cost
    return count
