"""Identity terms, and copies of a text with the group it names swapped for another.

Two uses share one list (`data/identity_terms.txt`) and one way of swapping: training copies a
text with its labels kept (counterfactual data augmentation, Dixon et al. 2018), and the Decider
scores a post naming a group together with copies naming other groups and keeps the mean
(`Swaps`), so that which group a sentence names weighs less than what it says of it. "NAME is a
gracious nonbinary" and "NAME is a gracious Sikh" should score alike; "I hate X" stays hateful
for every X.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

NOT_SWAPPED_FROM = frozenset({"old", "young", "straight"})
"""Terms too often not about people ("old car", "straight away") to take as the group a text names."""


@cache
def identity_terms() -> tuple[str, ...]:
    text = resources.files("moderation").joinpath("data/identity_terms.txt").read_text(encoding="utf-8")
    return tuple(w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#"))


def group_pattern(terms: Sequence[str]) -> re.Pattern[str]:
    """Any of `terms` (longest first, so "african american" is one group), with a plural s."""
    chosen = sorted((t for t in terms if t not in NOT_SWAPPED_FROM), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(t) for t in chosen) + r")(s?)\b", re.IGNORECASE)


NOUNS = frozenset(
    {"atheist", "buddhist", "catholic", "christian", "hindu", "sikh", "muslim", "mormon", "protestant"}
    | {"immigrant", "refugee", "lesbian", "latina", "latino", "mexican", "arab", "pakistani", "filipino"}
    | {"asian", "indian", "african", "european", "african american", "native american", "hispanic"}
    | {"wheelchair user", "amputee"}
)
"""Terms that name a person and take a plural s ("Muslims" -> "Hindus"); the others are
adjectives ("deaf", "nonbinary", "jewish") and take none ("Deaf", never "Deafs")."""
ACRONYMS = frozenset({"lgbt"})


def _cased(like: str, term: str) -> str:
    if term in ACRONYMS or (like.isupper() and len(like) > 1 and like.lower() not in ACRONYMS):
        return term.upper()
    return " ".join(w[:1].upper() + w[1:] for w in term.split()) if like[:1].isupper() else term


def _plural(suffix: str, term: str) -> str:
    return suffix if term in NOUNS else ""


@dataclass(frozen=True, slots=True)
class Swapped:
    text: str
    named: str
    """the group the original text names (its first mention, lower case)"""
    other: str
    """the group the copy names instead"""


def swap(text: str, pattern: re.Pattern[str], other: str) -> Swapped | None:
    """`text` with every mention of the first group it names replaced by `other`; None when it
    names none or names `other` itself."""
    first = pattern.search(text)
    if first is None or first[1].lower() == other:
        return None
    named = first[1].lower()
    copy = pattern.sub(lambda m: _cased(m[1], other) + _plural(m[2], other) if m[1].lower() == named else m[0], text)
    return Swapped(copy, named, other)


def random_swap(text: str, pattern: re.Pattern[str], terms: Sequence[str], rng: random.Random) -> Swapped | None:
    """A copy naming another group drawn from `terms` by `rng`; None when `text` names none."""
    first = pattern.search(text)
    if first is None:
        return None
    return swap(text, pattern, rng.choice([t for t in terms if t != first[1].lower()]))


class Swaps:
    """Up to `count` copies of a text, each naming another group; which groups depends on the
    text alone (a hash of it), so a post always gets the same copies and the same score, and the
    first n copies are the same whatever `count` is."""

    def __init__(self, count: int, terms: Sequence[str] | None = None) -> None:
        self.count = count
        self.terms = tuple(terms if terms is not None else identity_terms())
        self._pattern = group_pattern(self.terms)
        listed = hashlib.sha256("\n".join(self.terms).encode()).hexdigest()[:6]
        self.version = f"swaps{count}-{listed}" if count else ""
        """what the copies depend on: their number and the terms (part of a scorer's version)"""

    def of(self, text: str) -> list[Swapped]:
        found = {m[1].lower() for m in self._pattern.finditer(text)} if self.count else set()
        if not found:
            return []
        # groups the text names already, or words too often not about people, make no copy
        others = [t for t in self.terms if t not in found and t not in NOT_SWAPPED_FROM]
        random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")).shuffle(others)
        return [s for t in others[: self.count] if (s := swap(text, self._pattern, t)) is not None]
