"""Hostile values for the fuzz (tests/fuzz/test_hostile_input.py), as hypothesis strategies that
need no fixture: a payload is drawn from the fields a page shows (tests/fuzz/surfaces.py) and
the values the page offered. Each field is kept as the page would send it, replaced by a hostile
value, left out, or sent several times; unknown fields are added. Kept values let a hostile one
reach the code behind a valid form, not just its first check.

The settings profiles: « ci » (the default) is derandomized, so that CI runs the same examples
each time, and small enough for the whole fuzz to run in CI in under two minutes; « long »
(`FUZZ_PROFILE=long`, `make fuzz`) draws many more (`FUZZ_EXAMPLES`, 150 by default per page and
method), new ones on each run. Neither keeps a
database of examples (no .hypothesis directory in the working tree)."""

import datetime as dt
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.fuzz.surfaces import Field

# Requests are slow next to hypothesis's expectations, by nature: not a fault of the strategy.
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", derandomize=True, max_examples=3, deadline=None, database=None, suppress_health_check=_SLOW
)
settings.register_profile(
    "long",
    derandomize=False,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=_SLOW,
)
PROFILE = os.environ.get("FUZZ_PROFILE", "ci")


def profile() -> settings:
    """The fuzz's settings, applied to its own tests only (not loaded for the whole session)."""
    return settings.get_profile(PROFILE)


HUGE = ["99999999999999999999", "2147483648", "-2147483649", "9223372036854775808", "1e308", "-1e308"]
NUMBERS = ["-1", "0", "-0", "1.5", "NaN", "inf", "-inf", "0x10", "١٢", "1_000", " 1 ", "+1", *HUGE]
DATES = [
    "9999-12-31",
    "0001-01-01",
    "0000-00-00",
    "10000-01-01",
    "-2030-01-01",
    "2030-02-30",
    "2030-13-01",
    "2030-3-4",
    "04/03/2030",
    "1899-12-31",
    "2101-01-01",
    "9999-12",
    "0001-01",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2030-03-05T25:61",
    "2030-03-05T11:00+14:00",
    "2030-03-05 11:00:00.999999999",
]
TIMES = ["24:00", "23:60", "-1:00", "99:99", "00:00:60", "7h", "12:30:00.123456789"]
INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE usagers_usager; --",
    '" UNION SELECT password FROM agents_agent --',
    "%",
    "_",
    "\\",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "{{ 7|add:7 }}",
    "{% debug %}",
    "%(secret)s",
    "{0.__class__}",
    "../../../../etc/passwd",
    "//evil.example/",
    "https://evil.example/",
    '=HYPERLINK("https://evil.example")',
]
CONTROLS = ["\x00", "x\x00y", "\x1b[31m", "\r\n", "\t", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\x08"]
WRONG_TYPES = ["", " ", "None", "null", "true", "[]", "{}", "on", "off", "-", "[object Object]"]
LONG = ["x" * 256, "é" * 1_000, "9" * 400, "a " * 5_000, "<" * 2_000, "😀" * 300]
CONSTANTS = NUMBERS + DATES + TIMES + INJECTIONS + CONTROLS + WRONG_TYPES + LONG

# Any text a client can send (surrogates cannot be encoded, by the client or by a browser).
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
# One kind of hostility drawn first, then a value of it: each kind as likely as any other, however
# many values it lists.
_HOSTILE = st.one_of(
    st.sampled_from(CONTROLS),
    st.sampled_from(LONG),
    st.sampled_from(NUMBERS),
    st.sampled_from(DATES + TIMES),
    st.sampled_from(INJECTIONS),
    st.sampled_from(WRONG_TYPES),
    _TEXT,
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(dt.date.isoformat),
    st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")),
)


def hostile_value(found: Field) -> st.SearchStrategy[str]:
    """A value for this field: a hostile one, or one the page offered mangled (an id with a
    suffix, a date with a NUL…) or as it is (mixed with hostile ones, so that the hostile one meets
    the rest of a valid form)."""
    offered = sorted(found.values)
    if not offered:
        return _HOSTILE
    mangled = st.tuples(st.sampled_from(offered), st.sampled_from(CONTROLS + INJECTIONS + ["0", "9"])).map("".join)
    return st.one_of(_HOSTILE, mangled, st.sampled_from(offered))


# Before the drawn examples, each of these in every field at once (hypothesis's explicit examples):
# one request per kind is enough to meet every field's reading of it, and CI's few drawn examples
# could miss a kind on a page.
SWEEP = [
    "x\x00y",
    "\x1b[31m\u202e",
    "9999-12-31",
    "0001-01-01T00:00",
    "99999999999999999999",
    "-1",
    "<script>' OR 1=1 --",
    "é" * 5_000,
]


# What becomes of a field: kept first (what hypothesis shrinks towards), then the changes.
KEEP, HOSTILE, MISSING, REPEATED = "keep", "hostile", "missing", "repeated"
FATES = [KEEP, HOSTILE, MISSING, REPEATED]
Payload = dict[str, list[str]]


@st.composite
def hostile_payload(draw, fields: dict[str, Field], base: Payload) -> Payload:
    """The fields, kept (from `base`, the payload the page accepts when there is one), replaced,
    left out or repeated; then a few unknown fields, hostile names included. Either one field
    changes and the others stay valid, so that the hostile value meets the code behind the form's
    checks, or each field's fate is drawn."""
    names = sorted(fields.keys() | base.keys())
    if names and draw(st.booleans()):
        changed = draw(st.sampled_from(names))
        fates = {name: draw(st.sampled_from(FATES)) if name == changed else KEEP for name in names}
    else:
        fates = {name: draw(st.sampled_from(FATES)) for name in names}
    payload: Payload = {}
    for name in names:
        found = fields.get(name) or Field(values=set(base.get(name, [])))
        kept = base.get(name) or sorted(found.values)[:1]
        if fates[name] == KEEP and kept:
            payload[name] = list(kept)
        elif fates[name] == HOSTILE:
            payload[name] = [draw(hostile_value(found))]
        elif fates[name] == REPEATED:
            payload[name] = draw(st.lists(hostile_value(found), min_size=2, max_size=4))
    for name in draw(st.lists(st.one_of(st.sampled_from(CONSTANTS), _TEXT), max_size=2)):
        payload.setdefault(name, []).append(draw(_HOSTILE))
    return payload


# How the body of a POST is encoded: as a browser's form would be, or in a way no form sends.
ENCODINGS = ["urlencoded", "multipart", "json", "garbage"]
encoding = st.sampled_from(ENCODINGS)
file_content = st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"\x00\xff" * 100, "é;\x00;".encode() * 50]))
