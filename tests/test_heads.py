"""The toxicity head: training is deterministic, the artifact round-trips, the scorer needs the
shared embedding and the text, and the shipped head keeps identity mentions below abuse."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from model.heads import Head, HeadScorer, fit_head
from moderation.scoring import ScorerError, ScoringInput
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "datasets"

TEXTS = [
    "you are a complete idiot",
    "shut up you stupid fool",
    "what a pathetic loser you are",
    "thanks for sharing the recipe",
    "see you at the meeting tomorrow",
    "the weather is lovely today",
] * 4


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(len(TEXTS), 8)).astype(np.float32)
    abusive = np.asarray([i % 6 < 3 for i in range(len(TEXTS))], dtype=np.float32)
    return x, np.stack([abusive, abusive * (x[:, 0] > 0)], axis=1)


def test_training_is_deterministic_and_learns_from_both_blocks() -> None:
    x, y = _data(1)
    a = fit_head(x, TEXTS, y, ["toxicity", "insult"], c=10)
    b = fit_head(x, TEXTS, y, ["toxicity", "insult"], c=10)
    assert a.version == b.version and np.array_equal(a.weights, b.weights)
    assert [f.kind for f, _ in a.ngrams] == ["char", "word"]
    probs = a.predict(x[:6], TEXTS[:6])
    assert probs[:3, 0].min() > 0.5 > probs[3:, 0].max()  # the words carry toxicity here
    noise = np.zeros_like(x[:2])
    unseen = a.predict(noise, ["you stupid idiot", "lovely recipe, thanks"])
    assert unseen[0, 0] > unseen[1, 0]


def test_artifact_round_trips_and_scores(tmp_path: Path) -> None:
    x, y = _data(2)
    head = fit_head(x, TEXTS, y, ["toxicity", "insult"], c=1)
    head.meta = {"name": "test-head"}
    head.save(tmp_path / "head.npz")
    loaded = Head.load(tmp_path / "head.npz")
    assert loaded.categories == ["toxicity", "insult"] and loaded.version == head.version
    assert loaded.version.startswith("test-head-")
    assert np.allclose(loaded.predict(x, TEXTS), head.predict(x, TEXTS), atol=1e-6)
    scorer = HeadScorer(loaded)
    [result] = scorer.score([ScoringInput(TEXTS[0], x[0].tolist())])
    assert set(result.scores) == {"toxicity", "insult"} and all(0 <= v <= 1 for v in result.scores.values())
    with pytest.raises(ScorerError, match="without an embedding"):
        scorer.score([ScoringInput("x")])
    (tmp_path / "broken.npz").write_bytes(b"PK not really")
    for name in ("missing.npz", "broken.npz"):
        with pytest.raises(ScorerError, match=f"cannot load the classifier head .*{name}"):
            Head.load(tmp_path / name)


def test_the_shipped_head_scores_abuse_above_benign_identity_mentions(shipped_head, head_embedder) -> None:  # type: ignore[no-untyped-def]
    scorer = HeadScorer(shipped_head)
    texts = [
        "I am a proud gay man and I love my community",
        "muslim families run the bakery on our street",
        "my black neighbours invited us to their wedding",
        "shut up you worthless idiot",
        "I hate you all, you disgusting animals",
    ]
    vectors, branch = head_embedder.encode(texts)
    assert branch is not None
    inputs = [ScoringInput(t, v, b) for t, v, b in zip(texts, vectors, branch, strict=True)]
    scores = [max(r.scores[c] for c in ("hate", "harassment")) for r in scorer.score(inputs)]
    assert max(scores[:3]) < min(scores[3:]), scores  # ranking; where the policy cuts is the functional floors
    with pytest.raises(ScorerError, match="without its branch"):
        scorer.score([ScoringInput(t, v) for t, v in zip(texts, vectors, strict=True)])


def test_our_forward_pass_matches_sentence_transformers_and_the_branch_copies_the_encoder(embedder) -> None:  # type: ignore[no-untyped-def]
    """The embedder's own forward pass (so the lower layers' output can be handed on) gives what
    sentence-transformers' encode gives; the branch layers, given the encoder's own weights,
    give what the encoder's top layers give."""
    from model.branch import TopLayers, lower_states, vectors
    from model.embedding import bundled_model_dir

    texts = ["short", "a longer sentence, with punctuation and several words", "ünïcödé and emoji 🎉"]
    ours = np.asarray(embedder.embed(texts))
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_dir()), device="cpu", local_files_only=True)
    reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.allclose(ours, reference, atol=1e-5)
    copy = TopLayers.copy_of(embedder.bert, 2)
    pooled = vectors(copy, lower_states(embedder, texts, 2))
    normalised = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    assert np.allclose(normalised, ours, atol=1e-5)
    assert copy.shape() == {"count": 2, "hidden": 384, "heads": 12, "intermediate": 1536, "eps": 1e-12}


@pytest.mark.slow
@pytest.mark.skipif(not (DATA / "dynahate").is_dir(), reason=f"no datasets at {DATA}")
def test_a_small_recipe_of_modbot_train_reproduces_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped recipe with 40 texts a set and 2 a contrast frame (the full one takes most of an
    hour): two runs from the same seed write the same model, and the model has the shipped one's
    shape and recipe."""
    from bot.lab import training

    monkeypatch.setattr(training, "PER_SOURCE", 40)
    monkeypatch.setattr(training, "DEV_PER_SOURCE", 40)
    monkeypatch.setattr(training, "CONTRAST_PER_FRAME", 2)
    config = tmp_path / "modbot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path / "data"}"\n')
    versions = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.npz"
        assert main(["--config", str(config), "train", "--data", str(DATA), "--out", str(out)]) == 0
        versions.append(Head.load(out).version)
    trained, shipped = Head.load(tmp_path / "a.npz"), Head.load()
    assert versions[0] == versions[1]
    assert trained.meta["recipe"] == shipped.meta["recipe"] and trained.categories == shipped.categories
    assert trained.branch.shape() == shipped.branch.shape()
    assert set(trained.meta["training_texts"]) == set(shipped.meta["training_texts"])


def test_a_head_with_fine_tuned_layers_round_trips(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from model.branch import TopLayers

    x, y = _data(3)
    linear = fit_head(x, TEXTS, y, ["toxicity", "insult"], c=1)
    branch = TopLayers.copy_of(embedder.bert, 1)
    rng = np.random.default_rng(0)
    head = Head(linear.categories, rng.normal(size=(384 + 8, 2)).astype(np.float32), linear.bias, linear.ngrams)
    head.branch, head.meta = branch, {"name": "branchy"}
    head.save(tmp_path / "h.npz")
    loaded = Head.load(tmp_path / "h.npz")
    assert loaded.branch is not None and loaded.branch.shape() == branch.shape()
    assert loaded.version == head.version  # the branch is stored in half precision, and hashed so
    dense = rng.normal(size=(3, 384 + 8)).astype(np.float32)
    assert np.allclose(loaded.predict(dense, TEXTS[:3]), head.predict(dense, TEXTS[:3]), atol=1e-5)
