"""Word evidence re-weighs the character model's close calls and nothing else: a probability
distribution stays one, a language with no word list never rises past one that has a list, what
no list knows (names, slang) moves nothing, and the English rules come first."""

from __future__ import annotations

import math

import pytest

from model.language import detect
from model.language_words import CANDIDATES, frequencies, weighed


@pytest.mark.parametrize(
    ("ranked", "words", "first"),
    [
        ([("no", 0.55), ("da", 0.40), ("sv", 0.05)], ["hvad", "laver", "du"], "da"),  # Danish words
        ([("da", 0.55), ("no", 0.40), ("sv", 0.05)], ["hva", "gjør", "du"], "no"),  # Norwegian words
        ([("ms", 0.6), ("id", 0.4)], ["gue", "nggak", "tau", "gimana"], "id"),  # Jakarta chat
        ([("ms", 0.6), ("id", 0.4)], ["xyzzyq", "qwrtzp"], "ms"),  # unknown everywhere: model's call
        (
            [("de", 0.999), ("nl", 0.001)],
            ["ich", "bin", "in", "den", "park", "gegangen"],
            "de",
        ),  # "in", "park": Dutch too
        ([("sw", 0.5), ("id", 0.45), ("ms", 0.05)], ["saya", "tidak"], "sw"),  # no Swahili list: kept
        ([("id", 0.40), ("sw", 0.35), ("ms", 0.25)], ["saya"], "id"),  # no list: never past a listed one
        ([("ms", 0.6), ("id", 0.4)], [], "ms"),  # no words: kept
    ],
)
def test_close_calls_go_to_the_language_whose_words_these_are(
    ranked: list[tuple[str, float]], words: list[str], first: str
) -> None:
    out = weighed(ranked, words)
    assert out[0][0] == first
    assert math.isclose(sum(p for _, p in out), sum(p for _, p in ranked))
    assert sorted(code for code, _ in out) == sorted(code for code, _ in ranked)


def test_only_the_best_candidates_are_re_weighed() -> None:
    ranked = [("no", 0.5), ("sv", 0.3), ("nl", 0.1), ("da", 0.09), ("de", 0.01)]
    out = dict(weighed(ranked, ["hvad", "laver", "du"]))
    assert CANDIDATES == 3 and out["da"] == 0.09 and out["de"] == 0.01  # below the third: untouched


def test_lists_are_read_under_py3langid_s_codes() -> None:
    assert (frequencies("no") or {}).get("ikke", 0) > 1e-3  # Bokmål's list for "no"
    assert frequencies("tl") is not None  # Filipino's list for Tagalog
    assert frequencies("sw") is None and frequencies("cy") is None


@pytest.mark.parametrize("text", ["que sera sera", "Tak for mad", "con del que"])
def test_the_english_rules_read_the_character_model_alone(text: str) -> None:
    """Short ASCII text the model is unsure of, in English words or with English a close second,
    stays with the English scorers: the words only choose among other languages."""
    assert detect(text) == ["en"]
