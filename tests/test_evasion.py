"""Evasion tricks score like the plain form, because the normaliser feeds every scorer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from moderation.decider import Decider
from moderation.policy import Policy, PolicyRules
from moderation.types import Author, Post

PLAIN = "fuck you, you piece of shit"
TRICKS = {
    "masked": "f*ck you, you piece of sh*t",
    "fullwidth": "ｆｕｃｋ you, you piece of ｓｈｉｔ",
    "zero-width split": "fu\u200bck you, you piece of sh\u200dit",
    "homoglyphs": "fuсk you, you piece of shіt",  # Cyrillic с and і
    "spaced letters": "f u c k you, you piece of s.h.i.t",
    "leetspeak": "fuck y0u, you piece of sh1t",
    "swapped letters": "fukc you, you piece of siht",
    "stretched": "fuuuuck you, you piece of shiiiit",
    "zalgo": "f̷u̸c̵k̶ you, you piece of s̴h̷i̸t̵",
}


@pytest.fixture(scope="module")
def decider(profanity_scorer, shipped_head, head_embedder):  # type: ignore[no-untyped-def]
    from model.heads import HeadScorer

    return Decider(
        [profanity_scorer, HeadScorer(shipped_head)], Policy(default=PolicyRules(thresholds={})), head_embedder
    )


def _scores(decider: Decider, text: str) -> dict[str, float]:
    post = Post("console", "c", "g", "1", Author("u"), text, datetime.now(UTC))
    [(decision, _)] = decider.decide([post])
    return dict(decision.scores)


@pytest.mark.parametrize("trick", sorted(TRICKS))
def test_tricks_score_like_the_plain_form(decider: Decider, trick: str) -> None:
    plain = _scores(decider, PLAIN)
    tricked = _scores(decider, TRICKS[trick])
    for category, value in plain.items():
        assert tricked[category] == pytest.approx(value, abs=0.05), f"{trick}: {category}"
