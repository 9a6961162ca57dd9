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
from collections.abc import Sequence

from bot.lab.evaluation import corpora
from moderation.identity import group_pattern, random_swap


def counterfactuals(
    examples: Sequence[corpora.Example],
    held_out: set[str],
    terms: Sequence[str],
    rng: random.Random,
    limit: int,
) -> list[corpora.Example]:
    """Up to `limit` swapped copies of training examples that name a group, none equal to a
    held-out text (`held_out`: the `corpora.text_key` of every dev and test text)."""
    pattern = group_pattern(terms)
    named = [e for e in examples if e.split is corpora.Split.TRAIN and pattern.search(e.text)]
    out: list[corpora.Example] = []
    for example in rng.sample(named, len(named)):
        if len(out) == limit:
            break
        copy = random_swap(example.text, pattern, terms, rng)
        if copy is not None and corpora.text_key(copy.text) not in held_out:
            out.append(corpora.Example(copy.text, example.labels, "counterfactual", corpora.Split.TRAIN))
    return out
