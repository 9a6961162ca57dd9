"""Counterfactual copies of training texts with one identity term swapped for another, labels
kept (counterfactual data augmentation, as in Dixon et al. 2018 and Park et al. 2018).

The public sets name some groups almost only in attacks, so a model learns the word itself as
hate: "homosexual" or "nonbinary" in a friendly sentence then scores near abuse. A copy of each
sentence with the group swapped says the label does not depend on which group it names. Only the
training splits are copied, and a copy equal to any set's dev or test text is dropped (DynaHate's
own perturbations are such swaps, so a copy could otherwise recreate a test sentence).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from bot.lab.evaluation import corpora

NOT_SWAPPED_FROM = frozenset({"old", "young", "straight"})
"""Terms too often not about people ("old car", "straight away") to take as the group a text names."""


def _pattern(terms: Sequence[str]) -> re.Pattern[str]:
    chosen = sorted((t for t in terms if t not in NOT_SWAPPED_FROM), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(t) for t in chosen) + r")(s?)\b", re.IGNORECASE)


def _cased(like: str, term: str) -> str:
    if like.isupper() and len(like) > 1:
        return term.upper()
    return term[:1].upper() + term[1:] if like[:1].isupper() else term


def swapped(text: str, pattern: re.Pattern[str], terms: Sequence[str], rng: random.Random) -> str | None:
    """`text` with every mention of the first group it names replaced by another group; None
    when it names none."""
    first = pattern.search(text)
    if first is None:
        return None
    named = first[1].lower()
    other = rng.choice([t for t in terms if t != named])
    return pattern.sub(lambda m: _cased(m[1], other) + _plural(m[2], other) if m[1].lower() == named else m[0], text)


def _plural(suffix: str, term: str) -> str:
    """ "Muslims" -> "Hindus", but never "Jewishs": adjectives ("jewish", "disabled", "chinese")
    take no s."""
    return suffix if not term.endswith(("ish", "ese", "ed", "ic", "ly", "s", "lgbt")) else ""


def counterfactuals(
    examples: Sequence[corpora.Example],
    held_out: set[str],
    terms: Sequence[str],
    rng: random.Random,
    limit: int,
) -> list[corpora.Example]:
    """Up to `limit` swapped copies of training examples that name a group, none equal to a
    held-out text (`held_out`: the `corpora.text_key` of every dev and test text)."""
    pattern = _pattern(terms)
    named = [e for e in examples if e.split is corpora.Split.TRAIN and pattern.search(e.text)]
    out: list[corpora.Example] = []
    for example in rng.sample(named, len(named)):
        if len(out) == limit:
            break
        text = swapped(example.text, pattern, terms, rng)
        if text is not None and corpora.text_key(text) not in held_out:
            out.append(corpora.Example(text, example.labels, "counterfactual", corpora.Split.TRAIN))
    return out
