"""Counterfactual copies for `modbot train abuse --counterfactuals N`: one group swapped for
another, every mention of it, casing and plurals kept, labels kept, no copy equal to a held-out
text, and ambiguous words ("old car") never taken as the group a text names."""

from __future__ import annotations

import random

import pytest

from bot.lab.counterfactual import counterfactuals
from bot.lab.evaluation import corpora
from moderation.identity import NOUNS, group_pattern, random_swap

TERMS = ["muslim", "jewish", "gay", "old", "native american"]


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Muslims are my neighbours and every muslim here is kind", True),
        ("GAY people deserve respect", True),
        ("my native american friends", True),
        ("this old car again", False),
        ("no group here", False),
    ],
)
def test_one_group_is_swapped_everywhere_it_is_named(text: str, names: bool) -> None:
    pattern = group_pattern(TERMS)
    copy = random_swap(text, pattern, TERMS, random.Random(1))
    if not names:
        assert copy is None
        return
    assert copy is not None and copy.text != text
    out = copy.text
    first = pattern.search(text)
    assert first is not None and first[1].lower() not in out.lower()
    if text.startswith("Muslims"):
        assert out[0].isupper() and out.split()[0].endswith("s") == (copy.other in NOUNS)  # a person's plural
    if text.startswith("GAY"):
        assert out.split()[0].isupper()


def test_labels_kept_and_held_out_texts_never_recreated() -> None:
    examples = [
        corpora.Example("gay people are vile", {"hate": 1}, "x", corpora.Split.TRAIN),
        corpora.Example("jewish bakers make great bread", {"hate": 0}, "x", corpora.Split.TRAIN),
        corpora.Example("muslim people are vile", {"hate": 1}, "x", corpora.Split.TEST),
    ]
    held = {corpora.text_key(e.text) for e in examples if e.split is not corpora.Split.TRAIN}
    for seed in range(20):
        copies = counterfactuals(examples, held, TERMS, random.Random(seed), limit=10)
        assert all(c.source == "counterfactual" and c.split is corpora.Split.TRAIN for c in copies)
        assert all(corpora.text_key(c.text) not in held for c in copies)
        assert all(c.labels == ({"hate": 1} if "vile" in c.text else {"hate": 0}) for c in copies)
    assert len(counterfactuals(examples, held, TERMS, random.Random(0), limit=1)) == 1
