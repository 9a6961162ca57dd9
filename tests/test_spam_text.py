"""The spam-text classifier: deterministic training, a round-tripping artifact, decisions that
name the words that weighed, and the shipped model reproduced by its recipe on the shared data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.config import Config
from bot.pipeline import Decider
from bot.scorers import build_scorers
from model.spamtext import SpamTextModel, SpamTextScorer, fit
from moderation.scoring import ScorerError, ScoringInput
from moderation.types import Author, Outcome, Post
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "datasets"
SPAM = [
    "WINNER!! claim your free prize now, txt WIN to 80086",
    "free entry: call 09061701461 to claim your cash reward",
    "urgent! your mobile won a £1000 prize, reply CLAIM",
    "congratulations you have won a free holiday, call now",
]
HAM = [
    "are we still on for lunch tomorrow?",
    "thanks, see you at the meeting later",
    "I'll bring the snacks for the game night",
    "can you send me the notes from class",
]


def test_training_is_deterministic_and_learns() -> None:
    labels = [1] * len(SPAM) + [0] * len(HAM)
    a, b = fit(SPAM + HAM, labels), fit(SPAM + HAM, labels)
    assert np.array_equal(a.coef, b.coef) and a.version == b.version
    probs = a.predict(["claim your free prize, txt WIN now", "see you at lunch tomorrow"])
    assert probs[0] > 0.5 > probs[1]


def test_artifact_round_trips_and_bad_files_are_named(tmp_path: Path) -> None:
    model = fit(SPAM + HAM, [1] * len(SPAM) + [0] * len(HAM))
    model.meta = {"name": "test-spam"}
    model.save(tmp_path / "spam.npz")
    loaded = SpamTextModel.load(tmp_path / "spam.npz")
    assert loaded.version == model.version and loaded.version.startswith("test-spam-")
    assert np.allclose(loaded.predict(SPAM + HAM), model.predict(SPAM + HAM))
    (tmp_path / "broken.npz").write_bytes(b"not a model")
    for name in ("missing.npz", "broken.npz"):
        with pytest.raises(ScorerError, match=f"cannot load the spam-text model .*{name}"):
            SpamTextModel.load(tmp_path / name)


def test_the_shipped_model_separates_spam_and_says_which_words_weighed() -> None:
    scorer = SpamTextScorer(SpamTextModel.load())
    results = scorer.score([ScoringInput(t) for t in SPAM + HAM])
    spam_scores = [r.scores["spam"] for r in results[: len(SPAM)]]
    ham_scores = [r.scores["spam"] for r in results[len(SPAM) :]]
    assert min(spam_scores) > 0.6 and max(ham_scores) < 0.2
    first = results[0]
    assert "words most like spam" in first.notes["spam"]
    words = [SPAM[0][s:e] for s, e in first.spans["spam"]]
    assert words and all(w in first.notes["spam"] for w in words)
    assert not results[-1].notes and not results[-1].spans


def test_config_enables_it_and_the_decision_carries_the_reason() -> None:
    config = Config.model_validate(
        {"scorers": {"profanity": {"enabled": False}, "spam": {"enabled": False}, "spam_text": {"enabled": True}}}
    )
    scorers, embedder = build_scorers(config.scorers)
    assert [s.name for s in scorers] == ["spam-text"] and embedder is None
    decider = Decider(scorers, config.build_policy())
    now = datetime.now(UTC)
    posts = [Post("console", "c", "ch", str(i), Author("a"), t, now) for i, t in enumerate([SPAM[1], HAM[0]])]
    (spam, _), (ham, _) = decider.decide(posts)
    assert spam.outcome is Outcome.FLAG and ham.outcome is Outcome.ALLOW
    [reason] = spam.reasons
    assert reason.category == "spam" and "spam-text model" in reason.message and reason.spans
    assert decider.versions["spam-text"].startswith("spam-text-")


@pytest.mark.skipif(not (DATA / "sms-spam-collection").is_dir(), reason=f"no datasets at {DATA}")
def test_the_recipe_reproduces_the_shipped_model_and_meets_the_goal(tmp_path: Path) -> None:
    """`modbot train spam` is deterministic: its artifact is byte-for-byte the model shipped, and
    its cross-validated figures meet the goal (spam F1 >= 0.95, ham false positives <= 1 %)."""
    assert main(["train", "spam", "--data", str(DATA), "--out", str(tmp_path / "spam.npz")]) == 0
    trained, shipped = SpamTextModel.load(tmp_path / "spam.npz"), SpamTextModel.load()
    assert trained.version == shipped.version
    metrics = trained.meta["metrics"]
    assert metrics["cross-validated spam F1"] >= 0.95
    assert metrics["cross-validated ham false-positive rate"] <= 0.01
    assert trained.meta["texts"] == {"ham": 4518, "spam": 653}
    assert main(["eval", "spam", "--data", str(DATA), "--out", str(tmp_path)]) == 0
    figures = json.loads((tmp_path / "spam.json").read_text())["figures"]
    assert figures["spam F1"] == pytest.approx(metrics["cross-validated spam F1"], abs=1e-4)
    assert (tmp_path / "spam_roc.png").stat().st_size > 10_000
