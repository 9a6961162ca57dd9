"""`modbot train answerability`: the weights that decide whether a knowledge section answers a
question (moderation/answering.py), fitted on the dev half of the reply evaluation set.

Each dev question's three best sections are examples: a section answers (1) when the question is
answerable and the section states one of its facts; every other pairing, and every section found
for an unanswerable question or an attack, is a 0. A logistic regression on the five features,
then the threshold: the lowest at which, on dev, at most MAX_WRONG of the answerable questions get
a wrong answer and at most MAX_PROPOSED of the unanswerable questions and attacks get any answer
(attacks the injection rules catch never reach it, as in the service), the one answering the most
questions right. The test half is never seen; `modbot eval reply` reports it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.lab.evaluation.reply_set import Item, Kind, communities, holds, shared_attacks
from model.knowledge import Candidate, KnowledgeBase, load_folder
from moderation.answering import FEATURES, Answerability, budget_for, quote
from moderation.drafting import LIMITS
from moderation.injection import detect

MAX_WRONG = 0.02
MAX_PROPOSED = 0.02
C = 1.0
K = 3


@dataclass(frozen=True, slots=True)
class Asked:
    item: Item
    candidates: list[Candidate]
    caught: bool
    """the injection rules stop it before any answer"""


def gather(data: Path, embedder: Any) -> list[Asked]:
    """Every question and attack of the set with its candidate sections."""
    sets = communities()
    attacks = shared_attacks(data, [c.slug for c in sets])
    out = []
    for community in sets:
        kb = KnowledgeBase(load_folder(community.knowledge), embedder)
        items = [*community.items, *(a for a in attacks if a.community == community.slug)]
        out += [Asked(i, kb.candidates(i.text, K), bool(detect(i.text))) for i in items]
    return out


def answers(asked: Asked, judge: Answerability, threshold: float) -> str | None:
    """What the quoted-answer path would propose for it, or None (abstained or stopped)."""
    if asked.caught or not asked.candidates:
        return None
    best = max(asked.candidates, key=lambda c: judge.probability(c.evidence))
    if judge.probability(best.evidence) < threshold:
        return None
    budget = budget_for(LIMITS["discord"][0])
    return " ".join(quote(asked.item.text, best.sentences, best.similarities, budget)) or None


def outcomes(asked: Sequence[Asked], judge: Answerability, threshold: float) -> dict[str, float]:
    """Right, wrong and abstained shares of the answerable; proposed share of the others."""
    answerable = [a for a in asked if a.item.kind is Kind.ANSWERABLE]
    others = [a for a in asked if a.item.kind is not Kind.ANSWERABLE]
    said = [answers(a, judge, threshold) for a in answerable]
    right = sum(1 for a, s in zip(answerable, said, strict=True) if s is not None and holds(s, a.item.facts))
    wrong = sum(1 for a, s in zip(answerable, said, strict=True) if s is not None and not holds(s, a.item.facts))
    proposed = sum(1 for a in others if answers(a, judge, threshold) is not None)
    n = max(1, len(answerable))
    return {
        "right": right / n,
        "wrong": wrong / n,
        "abstained": (n - right - wrong) / n,
        "others proposed": proposed / max(1, len(others)),
    }


def fit(asked: Sequence[Asked], seed: int) -> tuple[Answerability, dict[str, float]]:
    from sklearn.linear_model import LogisticRegression

    rows, labels = [], []
    for a in asked:
        for c in a.candidates:
            rows.append(c.evidence.vector())
            text = f"{c.chunk.heading}\n{c.chunk.text}"
            labels.append(int(a.item.kind is Kind.ANSWERABLE and holds(text, a.item.facts)))
    model = LogisticRegression(C=C, max_iter=1000, random_state=seed).fit(np.asarray(rows), np.asarray(labels))
    weights = tuple(round(float(w), 6) for w in model.coef_[0])
    judge = Answerability(weights, round(float(model.intercept_[0]), 6), 0.5, "")
    chances = sorted({round(judge.probability(c.evidence), 4) for a in asked for c in a.candidates})
    best: tuple[float, float] | None = None
    for t in chances:
        got = outcomes(asked, judge, t)
        if (
            got["wrong"] <= MAX_WRONG
            and got["others proposed"] <= MAX_PROPOSED
            and (best is None or got["right"] > best[1])
        ):
            best = (t, got["right"])
    threshold = best[0] if best is not None else 1.0
    digest = hashlib.sha1(repr((weights, judge.bias, threshold)).encode()).hexdigest()[:8]
    fitted = Answerability(weights, judge.bias, threshold, f"answerability-{digest}")
    return fitted, {"examples": len(rows), "positives": sum(labels)}


def train(data: Path, out: Path, seed: int = 13) -> tuple[Answerability, dict[str, Any]]:
    from model.embedding import Embedder

    started = time.perf_counter()
    asked = gather(data, Embedder())
    dev = [a for a in asked if a.item.split == "dev"]
    judge, counts = fit(dev, seed)
    out.write_text(judge.dump(), encoding="utf-8")
    summary: dict[str, Any] = {"version": judge.version, "threshold": judge.threshold, **counts}
    summary |= {f"dev {k}": round(v, 3) for k, v in outcomes(dev, judge, judge.threshold).items()}
    summary |= {"features": ", ".join(FEATURES), "written": str(out), "seconds": round(time.perf_counter() - started)}
    return judge, summary
