"""modbot's own templated functional test suite for moderation, in the spirit of CheckList.

A single accuracy number hides the failures that hurt a community most: counter-speech removed,
people hidden for saying who they are, a threat missed because it was spelled `k1ll`. Cases built
from frames × fillers, one functionality each, show which behaviour a scorer gets wrong and for
which identity group. The frames and word lists under `data/functional/` were written for modbot
and for nothing else; published suites stay held out, so judging on them still means something.

Generation is pure and deterministic per seed: the seed only chooses the spelling evasions, so two
runs of one model on one seed are directly comparable.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

CATEGORIES: tuple[str, ...] = ("hate", "harassment", "threat", "profanity")
"""What a case tests. hate: attacks on people for a protected attribute; harassment: insults of one
person or of a group nobody protects; threat: threats of or calls to violence; profanity: swearing."""

_DATA = "data/functional"
_SLOT = re.compile(r"\{(\w+)\}")
_ATTACK = re.compile(r"\[([^\[\]]+)\]")


class Expect(StrEnum):
    FLAG = "flag"
    """The case's category must reach its flag threshold."""
    PASS = "pass"
    """It must not."""


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    category: str
    """The score the case tests: one of CATEGORIES."""
    functionality: str
    """`category.behaviour`, e.g. `hate.counter_quote`."""
    expect: Expect
    identity: str = ""
    """The protected group filled into the frame (its plural, as in identities.txt), if any."""
    never_remove: bool = False
    """Nothing in the text deserves removal under any policy (counter-speech, identity talk,
    negations, compliments): auto-removing it is a failure whatever the category's score."""


@dataclass(frozen=True, slots=True)
class Identity:
    attribute: str
    """The protected attribute: race/ethnicity, religion, gender, ... (identities.txt)."""
    group: str
    """Plural noun phrase: `trans women`, `Muslims`."""
    predicate: str
    """What a member says after "I'm": `Muslim`, `a trans woman`."""
    one: str
    """One member with an article: `a Muslim`, `a deaf person`."""


@dataclass(frozen=True, slots=True)
class _Filler:
    values: Mapping[str, str]
    identity: str = ""


def cases(seed: int = 0) -> list[Case]:
    """Every case of the suite, in the order of templates.toml."""
    out: list[Case] = []
    for category, behaviours in _templates().items():
        if category not in CATEGORIES:
            raise ValueError(f"templates.toml: unknown category {category!r}")
        if not isinstance(behaviours, dict):
            raise ValueError(f"templates.toml: [{category}] must hold tables")
        for behaviour, spec in behaviours.items():
            out.extend(_functionality(f"{category}.{behaviour}", category, spec, seed))
    return out


def identities() -> tuple[Identity, ...]:
    """The protected groups the identity frames are filled with, for grouping results by attribute."""
    rows = []
    for line in _lines("identities.txt"):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4 or not all(parts):
            raise ValueError(f"identities.txt: want 'attribute | group | I'm ___ | as ___', got {line!r}")
        rows.append(Identity(*parts))
    return tuple(rows)


def evade(word: str, rng: random.Random) -> str:
    """The word as people spell it to slip past filters: leetspeak, spaced or dotted letters, a
    letter dropped, two letters swapped, a vowel stretched or masked. Never the word itself."""
    if len(word) < 3 or not word.isalpha():
        raise ValueError(f"cannot evade {word!r}: want one word of three or more letters")
    for method in rng.sample(_EVASIONS, len(_EVASIONS)):
        out = method(word, rng)
        if out.lower() != word.lower():
            return out
    raise ValueError(f"no evasion changes {word!r}")  # pragma: no cover - spacing always does


def _leet(word: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(word) if ch.lower() in _LEET]
    if not spots:
        return word
    chars = list(word)
    for i in rng.sample(spots, min(len(spots), rng.choice((1, 2)))):
        chars[i] = rng.choice(_LEET[chars[i].lower()])
    return "".join(chars)


def _spaced(word: str, rng: random.Random) -> str:
    return rng.choice((" ", " ", ".", "-")).join(word)


def _drop(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1 :]


def _swap(word: str, rng: random.Random) -> str:
    spots = [i for i in range(1, len(word) - 2) if word[i] != word[i + 1]]
    if not spots:
        return word
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _stretch(word: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(word) if ch.lower() in "aeiouy"]
    if not spots:
        return word
    i = rng.choice(spots)
    return word[: i + 1] + word[i] * rng.choice((2, 3)) + word[i + 1 :]


def _mask(word: str, rng: random.Random) -> str:
    spots = [i for i in range(1, len(word) - 1) if word[i].lower() in "aeiou"]
    if not spots:
        return word
    i = rng.choice(spots)
    return word[:i] + "*" + word[i + 1 :]


_LEET: Mapping[str, str] = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1"}
_EVASIONS: Sequence[Callable[[str, random.Random], str]] = (_leet, _spaced, _drop, _swap, _stretch, _mask)


def _functionality(name: str, category: str, spec: Any, seed: int) -> Iterator[Case]:
    if not isinstance(spec, dict):
        raise ValueError(f"templates.toml: [{name}] must be a table")
    unknown = set(spec) - {"expect", "never_remove", "evade", "templates", "casual"}
    if unknown:
        raise ValueError(f"templates.toml: [{name}] has unknown keys {sorted(unknown)}")
    if spec.get("expect") not in set(Expect):
        raise ValueError(f"templates.toml: [{name}] expect must be one of {[e.value for e in Expect]}")
    expect = Expect(spec["expect"])
    never_remove = bool(spec.get("never_remove", False))
    # A string seed goes through SHA-512, so the sequence is the same in every process.
    rng = random.Random(f"{seed}:{name}") if spec.get("evade", False) else None
    frames = [(t, False) for t in _strings(spec, "templates", name)]
    frames += [(t, True) for t in _strings(spec, "casual", name)]
    for frame, casual in frames:
        for filler in _fillers(frame, name):
            text = _fill(frame, filler.values)
            if casual:
                text = text.lower()
            text = _attack_words(text, rng)
            yield Case(text, category, name, expect, filler.identity, never_remove)


def _fill(frame: str, values: Mapping[str, str]) -> str:
    return _SLOT.sub(lambda m: values[m.group(1)], frame)


def _attack_words(text: str, rng: random.Random | None) -> str:
    """Drop the [brackets] round attack words, or (evading) rewrite the words inside them."""
    if rng is None:
        return _ATTACK.sub(lambda m: m.group(1), text)
    if not _ATTACK.search(text):
        raise ValueError(f"templates.toml: an evading case marks no [attack word]: {text!r}")
    return _ATTACK.sub(lambda m: evade(m.group(1), rng), text)


def _fillers(frame: str, name: str) -> list[_Filler]:
    """One filler per line of the one list the frame's slots draw on; a frame without slots is one case."""
    slots = set(_SLOT.findall(frame))
    unknown = sorted(s for s in slots if s.lower() not in _SLOT_LIST)
    if unknown:
        raise ValueError(f"templates.toml: [{name}] {frame!r} has unknown slots {unknown}")
    lists = sorted({_SLOT_LIST[s.lower()] for s in slots})
    if len(lists) > 1:
        raise ValueError(f"templates.toml: [{name}] {frame!r} draws on more than one list: {lists}")
    return list(_lists()[lists[0]]) if lists else [_Filler({})]


_SLOT_LIST: Mapping[str, str] = {
    "group": "identities",
    "self": "identities",
    "one": "identities",
    "target": "targets",
    "insult": "insults",
    "object": "objects",
    "person": "people",
    "moment": "moments",
}


_PLAIN_LISTS = (
    ("targets", "target"),
    ("insults", "insult"),
    ("objects", "object"),
    ("people", "person"),
    ("moments", "moment"),
)
"""Word lists other than identities.txt: (file stem, slot name)."""


@cache
def _lists() -> Mapping[str, tuple[_Filler, ...]]:
    out = {
        "identities": tuple(
            _Filler(_both_cases({"group": i.group, "self": i.predicate, "one": i.one}), identity=i.group)
            for i in identities()
        )
    }
    for name, slot in _PLAIN_LISTS:
        out[name] = tuple(_Filler(_both_cases({slot: v})) for v in _lines(f"{name}.txt"))
    return out


@cache
def _templates() -> dict[str, Any]:
    return tomllib.loads(_read("templates.toml"))


def _strings(spec: Mapping[str, Any], key: str, name: str) -> list[str]:
    value = spec.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"templates.toml: [{name}] {key} must be a list of non-empty strings")
    return value


def _lines(filename: str) -> list[str]:
    stripped = (line.strip() for line in _read(filename).splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def _read(filename: str) -> str:
    return resources.files("moderation").joinpath(f"{_DATA}/{filename}").read_text(encoding="utf-8")


def _both_cases(values: Mapping[str, str]) -> dict[str, str]:
    """`{group}` as written, `{Group}` with its first letter capitalised (a sentence start)."""
    return {**values, **{_cap(k): _cap(v) for k, v in values.items()}}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
