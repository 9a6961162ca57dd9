"""Answering a member's question from the knowledge folder, or not at all.

A 135M model cannot be trusted to answer on its own, so correctness does not rest on it: the
answer is the knowledge's own sentences, quoted, chosen when a chunk actually answers the question.
Whether one does is a logistic score over a few features of the best chunk (how similar it is,
how much of what the question asks it covers, and the rarest asked-for word it lacks: "is there a
*student* discount?" against a section about the adult fee), fitted on the project's own
evaluation set (`modbot train answerability`). Below its threshold the draft abstains and the
question goes to the moderators with the reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from moderation.retrieval import tokens

FEATURES = ("cosine", "sentence_cosine", "coverage", "uncovered", "bm25", "margin")
"""Named so the fitted weights file says what each weight multiplies."""

ASKING = frozenset(
    (
        "what", "when", "where", "how", "who", "whom", "why", "which", "whose", "can", "could", "would", "should",
        "do", "does", "did", "is", "are", "was", "were", "will", "i", "me", "my", "we", "us", "our", "you", "your",
        "there", "any", "anyone", "anybody", "someone", "know", "tell", "please", "hi", "hey", "hello", "thanks",
        "thank", "just", "ok", "okay", "so", "get", "got", "need", "want", "wondering", "question", "ask", "asking",
        "about", "also", "still", "really", "much", "many",
    )
)  # fmt: skip
"""Words that shape a question without saying what it is about: left out of coverage."""

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9@#£$€])")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")


def stem(word: str) -> str:
    """A light suffix strip so "plots" meets "plot" and "riding" meets "ride"; no dictionary."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def content_words(text: str) -> set[str]:
    """The stemmed words that carry meaning: no stop words, no question-shaping words."""
    return {stem(w) for w in tokens(text) if w not in ASKING}


def sentences(text: str) -> list[str]:
    """Sentences and list items of a chunk, in order; a line on its own is its own sentence."""
    out: list[str] = []
    for line in text.splitlines():
        line = _BULLET.sub("", line).strip()
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the retrieval knows about one chunk against one question."""

    cosine: float
    sentence_cosine: float
    """the best single sentence's similarity: a long section about many things still answers"""
    coverage: float
    """share of the question's content words (weighted by rarity) found in the chunk"""
    uncovered: float
    """the rarest asked-for word the chunk lacks, as a share of the rarest possible"""
    bm25: float
    """BM25 over the best BM25 of any chunk, 0-1"""
    margin: float
    """its similarity minus the best other candidate's: a question plainly about one section"""

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in FEATURES)


def evidence(
    question: str,
    have: set[str],
    idf: Callable[[str], float],
    max_idf: float,
    cosine: float,
    sentence_cosine: float,
    bm25_share: float,
    margin: float,
) -> Evidence:
    """`have`: the chunk's content words (heading and text), counted once when it was indexed."""
    asked = content_words(question)
    weights = {w: idf(w) for w in asked}
    total = sum(weights.values())
    covered = sum(v for w, v in weights.items() if w in have) / total if total else 0.0
    missing = max((v for w, v in weights.items() if w not in have), default=0.0) / max_idf if max_idf else 0.0
    return Evidence(cosine, sentence_cosine, covered, missing, bm25_share, margin)


@dataclass(frozen=True, slots=True)
class Answerability:
    weights: tuple[float, ...]
    bias: float
    threshold: float
    version: str

    def probability(self, found: Evidence) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, found.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def answers(self, found: Evidence) -> bool:
        return self.probability(found) >= self.threshold

    @classmethod
    def from_json(cls, text: str, origin: str) -> Answerability:
        """The fitted weights; a file fitted for other features is an error naming what it holds."""
        data = json.loads(text)
        if tuple(data.get("features", ())) != FEATURES:
            raise ValueError(f"{origin} was fitted for features {data.get('features')}, not {list(FEATURES)}")
        weights = tuple(float(w) for w in data["weights"])
        return cls(weights, float(data["bias"]), float(data["threshold"]), str(data["version"]))

    def dump(self) -> str:
        body = {"features": list(FEATURES), "weights": list(self.weights), "bias": self.bias}
        return json.dumps(body | {"threshold": self.threshold, "version": self.version}, indent=2) + "\n"


def quote(question: str, parts: Sequence[str], similarities: Sequence[float], budget: int = 240) -> list[str]:
    """The sentences that answer: the most relevant one (similarity plus the asked-for words it
    holds), then others close to it while they fit in `budget` characters; in the chunk's order."""
    if not parts:
        return []
    asked = content_words(question)

    def relevance(i: int) -> float:
        words = content_words(parts[i])
        overlap = len(asked & words) / len(asked) if asked else 0.0
        return similarities[i] + 0.5 * overlap

    ranked = sorted(range(len(parts)), key=lambda i: (-relevance(i), i))
    best = relevance(ranked[0])
    chosen = [ranked[0]]
    size = len(parts[ranked[0]])
    for i in ranked[1:]:
        if relevance(i) < 0.75 * best or size + len(parts[i]) + 1 > budget:
            continue
        chosen.append(i)
        size += len(parts[i]) + 1
    return [parts[i] for i in sorted(chosen)]


def budget_for(limit: int) -> int:
    """Characters the quoted sentences may take on a platform, leaving room for the quotes, where
    they come from and the link."""
    return max(80, min(400, limit - 90))


def quoted_answer(parts: Sequence[str], heading: str) -> str:
    """The member sees whose words these are: the knowledge's sentences in quotes, and where from."""
    where = heading.split(" › ")[-1] if heading else ""
    body = " ".join(parts)
    return f"“{body}” ({where})" if where else f"“{body}”"


def uncited(text: str, urls: Collection[str]) -> bool:
    """Whether the answer still needs its link appended (a quoted sentence may carry it already)."""
    return not any(u in text for u in urls)
