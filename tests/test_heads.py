"""The classifier head: training is deterministic, the artifact round-trips, the scorer needs
the shared embedding and produces calibrated-looking scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.heads import Head, HeadScorer, train_head
from moderation.scoring import ScorerError, ScoringInput


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, 8)).astype(np.float32)
    y = np.stack([(x[:, 0] > 0), (x[:, 1] + x[:, 0] > 1)], axis=1).astype(np.float32)
    return x, y


def test_training_is_deterministic_and_learns() -> None:
    x, y = _data(1)
    a = train_head(x, y, ["a", "b"], seed=5, epochs=200)
    b = train_head(x, y, ["a", "b"], seed=5, epochs=200)
    assert np.array_equal(a.weights, b.weights) and a.version == b.version
    probs = a.predict(x)
    assert ((probs[:, 0] > 0.5) == (y[:, 0] > 0.5)).mean() > 0.95


def test_artifact_round_trips_and_scores(tmp_path: Path) -> None:
    x, y = _data(2)
    head = train_head(x, y, ["toxicity", "insult"], seed=1, epochs=100)
    head.meta = {"name": "test-head"}
    head.save(tmp_path / "head.json")
    loaded = Head.load(tmp_path / "head.json")
    assert loaded.categories == ["toxicity", "insult"] and loaded.version.startswith("test-head-")
    scorer = HeadScorer(loaded)
    [result] = scorer.score([ScoringInput("x", x[0].tolist())])
    assert set(result.scores) == {"toxicity", "insult"} and all(0 <= v <= 1 for v in result.scores.values())
    with pytest.raises(ScorerError, match="without an embedding"):
        scorer.score([ScoringInput("x")])
    with pytest.raises(ScorerError, match="cannot load"):
        Head.load(tmp_path / "missing.json")


def test_the_shipped_head_scores_abuse_above_benign_identity_mentions(embedder) -> None:  # type: ignore[no-untyped-def]
    scorer = HeadScorer(Head.load())
    texts = [
        "I am a proud gay man and I love my community",
        "muslim families run the bakery on our street",
        "shut up you worthless idiot",
        "I hate you all, you disgusting animals",
    ]
    vectors = embedder.embed(texts)
    scores = [
        r.scores["toxicity"] for r in scorer.score([ScoringInput(t, v) for t, v in zip(texts, vectors, strict=True)])
    ]
    assert max(scores[:2]) < min(scores[2:])
