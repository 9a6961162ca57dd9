"""Offline profanity scorer: the linear model that ships inside `alt-profanity-check`.

It needs no download and scores thousands of posts a second, so it is the default scorer on a fresh
install. Scoring each word as well gives moderators the evidence span, which a whole-text
probability alone cannot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from moderation.scoring import ScoreResult, ScoringInput

_WORD = re.compile(r"[^\W_][\w'’*-]*")


class ProfanityScorer:
    name = "profanity"
    categories = ("profanity",)
    needs_embedding = False

    def __init__(self, span_threshold: float = 0.5) -> None:
        # Importing profanity_check unpickles its model; do it once, here, not at module import.
        from profanity_check import profanity_check

        self._vectorizer: Any = profanity_check.vectorizer
        self._model: Any = profanity_check.model
        self._span_threshold = span_threshold
        self.version = "alt-profanity-check-" + version("alt-profanity-check")

    def _probabilities(self, texts: Sequence[str]) -> list[float]:
        if not texts:
            return []
        probs = self._model.predict_proba(self._vectorizer.transform(texts))[:, 1]
        return [float(p) for p in probs]

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        texts = [item.text for item in batch]
        whole = self._probabilities(texts)
        # Word-level pass only for posts that may be profane: it finds the evidence spans.
        words_of = {
            i: [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
            for i, text in enumerate(texts)
            if whole[i] >= self._span_threshold * 0.6
        }
        vocabulary = sorted({w for words in words_of.values() for _, _, w in words})
        word_prob = dict(zip(vocabulary, self._probabilities(vocabulary), strict=True))
        results = []
        for i, prob in enumerate(whole):
            spans = tuple(
                (a, b) for a, b, w in words_of.get(i, ()) if word_prob[w] >= self._span_threshold
            )
            results.append(ScoreResult({"profanity": prob}, {"profanity": spans} if spans else {}))
        return results
