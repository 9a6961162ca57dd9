"""Perspective's attribute names, what modbot scores each from, and the version numbers a client
may pin (`TOXICITY@2`).

An attribute is served only when the running stack produces what it is read from; any other
name is an error, never a made-up score. A number names one shipped model read one way (with or
without identity swaps): the same number always means the same scores, so a pinned integration
notices a change instead of drifting. A
model trained locally has no number, and serves only unpinned requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from moderation.scoring import Scorer
from moderation.types import Decision


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    categories: tuple[str, ...]
    """modbot categories the score is read from: the highest of those the stack produces"""
    needs: tuple[tuple[str, ...], ...]
    """alternatives: the attribute is served when the stack produces every category of one"""
    meaning: str


MODBOT_PREFIX = "MODBOT_"

ATTRIBUTES: dict[str, Attribute] = {
    a.name: a
    for a in (
        Attribute(
            "TOXICITY",
            ("toxicity", "hate", "harassment", "threat", "profanity"),
            (("toxicity",), ("hate", "harassment", "threat")),
            "the highest of modbot's abuse scores (and detoxify's toxicity where it is on)",
        ),
        Attribute("IDENTITY_ATTACK", ("hate",), (("hate",),), "hate: attacks on people for a protected attribute"),
        Attribute("INSULT", ("harassment",), (("harassment",),), "harassment: insults of a person or group"),
        Attribute("PROFANITY", ("profanity",), (("profanity",),), "swearing, whoever it is aimed at"),
        Attribute("THREAT", ("threat",), (("threat",),), "threats and calls for violence"),
        Attribute("SEXUALLY_EXPLICIT", ("sexual",), (("sexual",),), "sexual content (only with detoxify on)"),
        Attribute(MODBOT_PREFIX + "SPAM", ("spam",), (("spam",),), "the spam-text model"),
        Attribute(
            MODBOT_PREFIX + "MISINFORMATION",
            ("misinformation",),
            (("misinformation",),),
            "a match with a fact-check rated false",
        ),
    )
}

PERSPECTIVE_ONLY = frozenset(
    {
        "SEVERE_TOXICITY",
        "FLIRTATION",
        *(f"{n}_EXPERIMENTAL" for n in ("TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY")),
        "THREAT_EXPERIMENTAL",
        "TOXICITY_FAST",
        "ATTACK_ON_AUTHOR",
        "ATTACK_ON_COMMENTER",
        "INCOHERENT",
        "INFLAMMATORY",
        "LIKELY_TO_REJECT",
        "OBSCENE",
        "SPAM",
        "UNSUBSTANTIAL",
        "OFF_TOPIC",
    }
)
"""Perspective's attributes that modbot has no model for: named in the error, so an operator
knows the name was understood."""

SHIPPED_VERSIONS: dict[str, int] = {
    "abuse-model-bd22a46579": 1,
    "abuse-model-bd22a46579+swaps2-51027d": 2,  # the same model; a post naming a group read with two copies
    "abuse-model-bd22a46579+swaps2-aec3c1": 3,  # the same, with disability terms among the groups swapped
    "spam-text-a5251ec885": 1,
    "spam-text-e54985497a": 2,  # refit when the normaliser stopped reading "word!word" as leetspeak
}
"""Each shipped model's number (a model and how it is read: the identity swaps are part of the
version); a new shipped model or setting takes the next one (tests/test_perspective.py
checks every shipped artifact has one)."""


@dataclass(frozen=True, slots=True)
class Served:
    """An attribute as this server answers it: the scorer versions behind it and their number."""

    attribute: Attribute
    versions: tuple[str, ...]
    number: int | None


def served(produced: Mapping[str, Sequence[str]]) -> dict[str, Served]:
    """The attributes a stack serves, from `produced`: category -> the versions of the scorers
    that produce it."""
    out: dict[str, Served] = {}
    for name, attribute in ATTRIBUTES.items():
        if not any(all(c in produced for c in option) for option in attribute.needs):
            continue
        versions = tuple(sorted({v for c in attribute.categories for v in produced.get(c, ())}))
        numbers = {SHIPPED_VERSIONS.get(v) for v in versions if not _rule(v)}
        number = numbers.pop() if len(numbers) == 1 else None
        out[name] = Served(attribute, versions, number)
    return out


def produced_by(scorers: Sequence[Scorer]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for scorer in scorers:
        for category in scorer.categories:
            out.setdefault(category, []).append(scorer.version)
    return out


def _rule(version: str) -> bool:
    """Word lists and rules (the profanity list) change with their package, not with a model."""
    return version.startswith("alt-profanity-check")


def score_of(attribute: Attribute, decision: Decision) -> float:
    return max(float(decision.scores.get(c, 0.0)) for c in attribute.categories)
