"""The check before the page of an RDV reached by the link of a message (reservation.link_views):
the first three letters of a last name, and how many wrong tries are allowed.

The letters: case, accents, ligatures, spaces, hyphens and apostrophes do not count (« Éric »,
« ERI », « éri » are the same; « Le Goff » starts « leg », « N'Diaye » « ndi »); a name shorter
than three letters is typed whole.

The tries: 5 wrong ones, then 15 minutes locked, counted per token AND per client address (IPv6
per /64: reservation.limits.ip_key), so that neither one link nor one machine gets more. Not
the fixed windows of reservation.limits: the lock must last 15 minutes from the fifth
wrong try, not until a window happens to end. Counted in the shared Redis through Django's cache,
atomically (INCR): a try is reserved before the letters are compared, so parallel requests never
compare more than five; a right answer gives its try back. Wrong tries are forgotten after 15 to
30 minutes (the current quarter-hour's count and the previous one's). Python's clock decides the
windows and the lock's end (tests move it; Redis only expires what is stale anyway).

Redis unreachable: closed (« réessayez dans une minute »): the three letters are all that guards
the page, and without a count they would be guessed."""

import hmac
import logging
import math
import time
import unicodedata
from collections.abc import Iterable

from django.core.cache import cache

from reservation.limits import digest

logger = logging.getLogger(__name__)

LETTERS = 3
TRIES = 5
LOCK_SECONDS = 15 * 60
# Redis unreachable: how long the visitor is asked to wait.
UNAVAILABLE_SECONDS = 60
# Letters that Unicode does not decompose into a base letter and an accent.
FOLDED = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d", "ı": "i"})


def letters(text: str) -> str:
    """The letters of `text`, lower case, without accents: « ericnoel » for « Éric-Noël »."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(FOLDED))
    return "".join(char for char in decomposed if char.isalpha() and not unicodedata.combining(char))


def first_letters(name: str) -> str:
    return letters(name)[:LETTERS]


def matches(typed: str, names: Iterable[str]) -> bool:
    """Whether `typed` gives the first letters of one of `names`. Every name is compared, in
    constant time: the answer takes as long whichever matched, or none."""
    answer = first_letters(typed).encode()
    found = False
    for name in names:
        expected = first_letters(name).encode()
        found |= hmac.compare_digest(answer, expected) and bool(expected)
    return found


class Tries:
    """The tries of one answer, counted on each (group, value) of `counted`: `reserve()` before
    comparing, then `succeeded()` or `failed()`."""

    def __init__(self, counted: Iterable[tuple[str, str]]):
        self.keys = [f"link-check:{group}:{digest(value)}" for group, value in counted]
        self.now = time.time()
        self.window = int(self.now // LOCK_SECONDS)
        self.counts: dict[str, int] = {}
        # Redis could not count this try: the wait is not the visitor's doing.
        self.unavailable = False

    def _count_key(self, key: str, window: int) -> str:
        return f"{key}:{window}"

    def _lock_key(self, key: str) -> str:
        return f"{key}:lock"

    def reserve(self) -> int:
        """Seconds to wait before trying again (the try is not counted then), or 0: the try is
        counted, compare."""
        try:
            return self._reserve()
        except Exception:
            logger.warning("Link check tries not counted: refused", exc_info=True)
            self.unavailable = True
            return UNAVAILABLE_SECONDS

    def _reserve(self) -> int:
        wait = 0
        for key in self.keys:
            until = cache.get(self._lock_key(key))
            if isinstance(until, int | float) and until > self.now:
                wait = max(wait, math.ceil(until - self.now))
        if wait:
            return wait
        for key in self.keys:
            current = self._count_key(key, self.window)
            cache.add(current, 0, timeout=2 * LOCK_SECONDS + 60)
            previous = cache.get(self._count_key(key, self.window - 1)) or 0
            self.counts[key] = cache.incr(current) + int(previous)
        if any(count > TRIES for count in self.counts.values()):
            # Parallel requests past the fifth: the lock the fifth wrong one sets may not be
            # written yet.
            self._lock(count > TRIES for count in self.counts.values())
            return LOCK_SECONDS
        return 0

    def succeeded(self) -> None:
        """A right answer gives its try back."""
        for key in self.counts:
            try:
                cache.decr(self._count_key(key, self.window))
            except Exception:  # the window's key expired meanwhile, or Redis went away
                logger.info("Link check try not given back", exc_info=True)

    def failed(self) -> None:
        """A wrong answer: the fifth locks what counted it."""
        try:
            self._lock(self.counts.get(key, 0) >= TRIES for key in self.keys)
        except Exception:
            logger.warning("Link check lock not written", exc_info=True)

    def _lock(self, reached: Iterable[bool]) -> None:
        """Locks each key that reached the limit for LOCK_SECONDS, and forgets its count: once the
        lock ends, five tries again."""
        for key, locked in zip(self.keys, reached, strict=True):
            if not locked:
                continue
            cache.set(self._lock_key(key), self.now + LOCK_SECONDS, timeout=LOCK_SECONDS + 60)
            cache.delete_many([self._count_key(key, self.window), self._count_key(key, self.window - 1)])
