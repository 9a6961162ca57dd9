"""The contrast set the abuse model trains on (bot/lab/data/contrast_templates.toml): the same words in
an attack and in speech that is not one (negation, counter-speech, reporting, idioms, swearing at
nobody), because the public sets rarely show identity words outside an attack and a model trained
on them alone flags "Muslims are my neighbours" as hate."""

from __future__ import annotations

import itertools
import random
import re
import string
import tomllib
from dataclasses import dataclass
from importlib import resources

from moderation.types import ABUSE

_ARTICLE = "\x00"
"""stands for "a" or "an" until the word after it is known"""


@dataclass(frozen=True, slots=True)
class ContrastText:
    text: str
    labels: dict[str, int]


def _slots(frame: str) -> list[str]:
    return sorted({name for _, name, _, _ in string.Formatter().parse(frame) if name})


def _articles(text: str) -> str:
    return re.sub(_ARTICLE + r" (\W*)(\w)", lambda m: ("an " if m[2].lower() in "aeiou" else "a ") + m[1] + m[2], text)


def _expand(frame: str, fills: dict[str, list[str]], terms: list[str]) -> list[str]:
    names = sorted({n.lower() for n in _slots(frame) if n not in {"t", "T", "a"}})
    if unknown := [n for n in names if n not in fills]:
        raise ValueError(f"contrast frame {frame!r} uses unknown slots {unknown}")
    identity = terms if {"t", "T"} & set(_slots(frame)) else [""]
    out = []
    for term in identity:
        for values in itertools.product(*(fills[n] for n in names)):
            slots = dict(zip(names, values, strict=True))
            slots |= {n.capitalize(): v[:1].upper() + v[1:] for n, v in slots.items()}
            out.append(_articles(frame.format(t=term, T=term[:1].upper() + term[1:], a=_ARTICLE, **slots)))
    return out


def contrast_set(seed: int, per_frame: int | None = None) -> list[ContrastText]:
    """Every frame expanded and sampled down to `per_frame` texts (default: the file's), seeded."""
    raw = tomllib.loads(resources.files("bot.lab").joinpath("data/contrast_templates.toml").read_text(encoding="utf-8"))
    fills: dict[str, list[str]] = raw["fill"]
    per_frame = per_frame or raw["per_frame"]
    terms = [str(t) for t in raw["identity"]]
    rng = random.Random(seed)
    out: list[ContrastText] = []
    for group in raw["frames"]:
        labels: dict[str, int] = dict(group["labels"])
        if bad := set(labels) - set(ABUSE):
            raise ValueError(f"contrast labels name unknown categories {sorted(bad)}")
        for frame in group["texts"]:
            texts = _expand(frame, fills, terms)
            out += [ContrastText(t, labels) for t in rng.sample(texts, min(per_frame, len(texts)))]
    return out
