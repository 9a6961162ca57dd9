"""Offline profanity scorer: the linear model that ships inside `alt-profanity-check`.

It needs no download and scores thousands of posts a second, so it is the default scorer on a fresh
install. Being a TF-IDF model it dilutes: "fuck you" after forty harmless words scores 0.78, after
200 it scores 0.03. So a post scores as its worst short phrase (windows of _PHRASE_WORDS words)
as well as as a whole. Scoring each word as well gives moderators the evidence span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from moderation.scoring import ScoreResult, ScoringInput

_WORD = re.compile(r"[^\W_][\w'’*-]*")
_PHRASE_WORDS = 12
_PHRASE_STRIDE = 6


class ProfanityScorer:
    name = "profanity"
    categories: tuple[str, ...] = ("profanity",)
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
        words_of = [[(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(t)] for t in texts]
        # Each post: the whole text plus its short phrases, all in one vectoriser call.
        owners: list[int] = []
        pieces: list[str] = []
        for i, (text, words) in enumerate(zip(texts, words_of, strict=True)):
            owners.append(i)
            pieces.append(text)
            if len(words) > _PHRASE_WORDS:
                for a in range(0, len(words) - _PHRASE_STRIDE, _PHRASE_STRIDE):
                    chunk = words[a : a + _PHRASE_WORDS]
                    owners.append(i)
                    pieces.append(text[chunk[0][0] : chunk[-1][1]])
        worst = [0.0] * len(texts)
        for owner, prob in zip(owners, self._probabilities(pieces), strict=True):
            worst[owner] = max(worst[owner], prob)
        # Word-level pass only for posts that may be profane: it finds the evidence spans.
        suspects = [i for i, p in enumerate(worst) if p >= self._span_threshold * 0.6]
        vocabulary = sorted({w for i in suspects for _, _, w in words_of[i]})
        word_prob = dict(zip(vocabulary, self._probabilities(vocabulary), strict=True))
        results = []
        for i, prob in enumerate(worst):
            spans = tuple((a, b) for a, b, w in words_of[i] if w in word_prob and word_prob[w] >= self._span_threshold)
            results.append(ScoreResult({"profanity": prob}, {"profanity": spans} if spans else {}))
        return results
