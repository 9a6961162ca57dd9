"""The spam-text classifier: deterministic training, a round-tripping artifact, decisions that
name the words that weighed, the templated comment-spam corpus (deterministic, held-out parts that
share nothing with training), and the shipped model reproduced by its recipe on the shared data."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.config import Config
from bot.lab import spam_corpus, spam_training
from bot.runtime.scorers import build_scorers
from model.spamtext import SpamTextModel, SpamTextScorer, fit
from moderation.decider import Decider
from moderation.scoring import ScorerError, ScoringInput
from moderation.types import Author, Outcome, Post
from tests.conftest import REPO

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"
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
# Written for this test, not drawn from the templates (though the kinds overlap by design): a
# sanity check of the shipped model, not a measurement; `modbot eval spam` measures.
COMMENT_SPAM = [
    "check out my channel for daily fortnite clips!! youtube.com/@clipzdaily",
    "sub4sub? I sub back fast",
    "send 0.1 ETH get 1 ETH back, official giveaway eth2x-event.com",
    "free gift card at giftzone-claim.net, only a few left",
    "hot girls near you want to chat, click my profile",
    "Call 1-800-555-0199 for 24/7 Coinbase support",
    "your account has been locked, verify your identity at secure-login-check.com",
    "buy cheap tramadol online no prescription",
]
HARD_HAM = [
    "here's the article I mentioned: https://www.theguardian.com/world/2024/jan/05/flood-report",
    "I lost money on bitcoin last year, never again",
    "you should watch her channel, the cooking videos are great",
    "my instagram got locked after I changed phones, any tips?",
    "the giveaway at the library was so fun, my kid got a free book",
    "called support and they fixed my router in five minutes",
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
        {
            "scorers": {
                "profanity": {"enabled": False},
                "head": {"enabled": False},
                "spam": {"enabled": False},
                "spam_text": {"enabled": True},
                "native": {"enabled": False},
            }
        }
    )
    scorers, embedder = build_scorers(config.scorers)
    assert len(scorers) == 1 and isinstance(scorers[0], SpamTextScorer) and embedder is None
    decider = Decider(scorers, config.build_policy())
    now = datetime.now(UTC)
    posts = [Post("console", "c", "ch", str(i), Author("a"), t, now) for i, t in enumerate([SPAM[1], HAM[0]])]
    (spam, _), (ham, _) = decider.decide(posts)
    assert spam.outcome is Outcome.FLAG and ham.outcome is Outcome.ALLOW
    [reason] = spam.reasons
    assert reason.category == "spam" and "spam-text model" in reason.message and reason.spans
    assert decider.versions["spam-text"].startswith("spam-text-")


def test_the_shipped_model_catches_comment_spam_and_spares_look_alikes() -> None:
    scorer = SpamTextScorer(SpamTextModel.load())
    results = scorer.score([ScoringInput(t) for t in COMMENT_SPAM + HARD_HAM])
    spam, ham = results[: len(COMMENT_SPAM)], results[len(COMMENT_SPAM) :]
    assert [t for t, r in zip(COMMENT_SPAM, spam, strict=True) if r.scores["spam"] < 0.6] == []
    assert [t for t, r in zip(HARD_HAM, ham, strict=True) if r.scores["spam"] >= 0.6] == []
    giveaway = spam[2]
    assert giveaway.notes["spam"].startswith("spam-text model") and giveaway.spans["spam"]
    quoted = [COMMENT_SPAM[2][a:b] for a, b in giveaway.spans["spam"]]
    assert all(repr(w) in giveaway.notes["spam"] for w in quoted)


def test_the_shipped_artifact_is_recipe_2_small_and_met_its_targets() -> None:
    model = SpamTextModel.load()
    assert model.meta["recipe"] == spam_training.RECIPE == "spam-text-recipe-2"
    path = REPO / "model" / "artifacts" / "spam-text.npz"
    assert path.stat().st_size < 2_000_000
    metrics = model.meta["metrics"]
    assert metrics["held-out comment spam OLID test false-positive rate at 0.6"] <= 0.02
    assert metrics["held-out comment spam CAD test false-positive rate at 0.6"] <= 0.02
    assert metrics["held-out comment spam spam F1 at 0.6"] >= 0.85
    assert metrics["SMS cross-validated spam F1"] >= 0.88
    assert {"SMS spam", "social spam (templated)", "OLID train", "CAD train", "Hickey replies"} <= set(
        model.meta["texts"]
    )


@pytest.mark.parametrize(
    ("nudge", "same"),
    [(0.0, True), (2e-4, True), (5e-3, False)],
    ids=["itself", "rounding", "another fit"],
)
def test_two_fits_are_one_model_when_their_weights_differ_only_by_rounding(nudge: float, same: bool) -> None:
    """What the reproduction check accepts: another processor's last bits, not a changed recipe."""
    model = SpamTextModel.load()
    coef = model.coef.copy()
    coef[np.flatnonzero(coef)[:50]] += nudge
    other = SpamTextModel(model.features, coef, model.intercept, model.meta)
    assert model.fits_like(other) is same
    assert (model.version == other.version) is (nudge == 0.0)


def test_the_shipped_templates_cover_ten_families_with_held_out_frames() -> None:
    templates = spam_corpus.load()
    assert len(templates.spam) == 10 and all(len(frames) >= 30 for frames in templates.spam.values())
    assert len(templates.ham) >= 10
    test = spam_corpus.generate("test")
    assert {g.family for g in test if g.label == 1} == set(templates.spam)
    assert {g.family for g in test if g.label == 0} == set(templates.ham)
    assert all(spam_corpus.part_of(g.frame) == "test" for g in test)


def test_the_parts_share_no_text_and_no_filler_value() -> None:
    templates = spam_corpus.load()
    for slot, values in templates.slots.items():
        pools = [templates.pool(slot, part) for part in spam_corpus.PARTS]
        if len(values) >= 5:
            assert sorted(v for pool in pools for v in pool) == sorted(values), slot
            assert not set(pools[0]) & set(pools[2]) and not set(pools[1]) & set(pools[2]), slot
    seen = {g.text for part in ("train", "val") for g in spam_corpus.generate(part)}
    assert not seen & {g.text for g in spam_corpus.generate("test")}


def test_a_part_draws_only_its_own_filler_values(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text(
        """
[slots]
word = ["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"]
two = ["x", "y"]
[spam]
one = ["a {word} {two} {b|c} {num}", "f1", "f2", "f3", "test frame {word} {code}"]
[ham]
other = ["h0", "h1", "h2", "h3", "ham test {word}"]
""",
        encoding="utf-8",
    )
    templates = spam_corpus.load(tmp_path / "t.toml")
    test = spam_corpus.generate("test", templates=templates, per_frame=30)
    assert {g.frame for g in test} == {4} and test
    words = {w for g in test for w in g.text.lower().split() if w.startswith("w") and w[1:].isdigit()}
    assert words <= {"w4", "w9"}
    train = spam_corpus.generate("train", templates=templates, per_frame=30)
    assert {w for g in train for w in g.text.lower().split() if w in {"w3", "w4", "w8", "w9"}} == set()
    (tmp_path / "bad.toml").write_text('[slots]\n[spam]\none = ["{nope}"]\n[ham]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown slot \{nope\}"):
        spam_corpus.load(tmp_path / "bad.toml")


def test_the_corpus_is_the_same_per_seed_whatever_the_hash_seed() -> None:
    code = (
        "import hashlib; from bot.lab import spam_corpus; "
        "print(hashlib.sha256('\\n'.join(g.text for g in spam_corpus.generate('train', 13)).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("0", "4242")
    }
    here = hashlib.sha256("\n".join(g.text for g in spam_corpus.generate("train", 13)).encode()).hexdigest()
    assert digests == {here}
    assert [g.text for g in spam_corpus.generate("train", 14)] != [g.text for g in spam_corpus.generate("train", 13)]


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "sms-spam-collection").is_dir(), reason=f"no datasets at {DATA}")
def test_the_recipe_reproduces_the_shipped_model_and_meets_the_goal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`modbot train spam` is deterministic: its artifact is the model shipped (up to the float
    rounding of another processor, so compared by weights and figures, not by bytes), and its held-out
    figures meet the goal (no more than 2 % of OLID or CAD test posts flagged at 0.6). The recipe
    runs once (about 90 s); train and eval then reuse it."""
    run = spam_training.evaluate(DATA, 13)
    monkeypatch.setattr(spam_training, "evaluate", lambda data, seed=13: run)
    assert main(["train", "spam", "--data", str(DATA), "--out", str(tmp_path / "spam.npz")]) == 0
    trained, shipped = SpamTextModel.load(tmp_path / "spam.npz"), SpamTextModel.load()
    assert trained.version == run.model.version
    assert trained.fits_like(shipped)
    metrics = trained.meta["metrics"]
    for key, value in shipped.meta["metrics"].items():
        assert metrics[key] == pytest.approx(value, abs=0.002), key
    assert metrics["held-out comment spam OLID test false-positive rate at 0.6"] <= 0.02
    assert metrics["held-out comment spam CAD test false-positive rate at 0.6"] <= 0.02
    assert trained.meta["texts"]["SMS ham"] == 4517 and trained.meta["texts"]["SMS spam"] == 653
    assert main(["eval", "spam", "--data", str(DATA), "--out", str(tmp_path)]) == 0
    figures = json.loads((tmp_path / "spam.json").read_text())["figures"]
    assert figures["comment spam spam F1 at 0.6"] == pytest.approx(
        metrics["held-out comment spam spam F1 at 0.6"], abs=1e-4
    )
    assert figures["SMS 5-fold spam F1"] == pytest.approx(metrics["SMS cross-validated spam F1"], abs=1e-4)
    assert figures["shipped model is the recipe's"] is True
    assert (tmp_path / "spam_roc.png").stat().st_size > 10_000
