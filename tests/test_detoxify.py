"""The detoxify scorer through detoxify's real loader, on a tiny BERT checkpoint built here in
detoxify's own format (no weights can be downloaded on this machine)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from bot.config import Config
from bot.runtime.scorers import build_scorers
from model.detox import DetoxifyScorer
from moderation.decider import Decider
from moderation.scoring import Cascade, ScorerError, ScoreResult, ScoringInput
from moderation.types import Author, Outcome, Post
from tests.conftest import RULES_ONLY

CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "you", "are", "nice", "an", "idiot", "hello"]


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("detoxify")
    config_dir = root / "tiny-bert"
    config_dir.mkdir()
    (config_dir / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    BertTokenizer(str(config_dir / "vocab.txt")).save_pretrained(config_dir)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(CLASSES),
    )
    config.save_pretrained(config_dir)
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # a constant output, so the scores are checkable
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-4.0)
    checkpoint = root / "tiny.ckpt"
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": "bert-base-uncased",
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(CLASSES),
                    }
                },
                "dataset": {"args": {"classes": CLASSES}},
            },
            "state_dict": model.state_dict(),
        },
        checkpoint,
    )
    return checkpoint, config_dir


def test_local_checkpoint_loads_through_detoxify_offline(tiny_checkpoint: tuple[Path, Path]) -> None:
    checkpoint, config_dir = tiny_checkpoint
    scorer = DetoxifyScorer(checkpoint=checkpoint, huggingface_config_path=config_dir)
    assert scorer.categories == ("toxicity", "profanity", "threat", "harassment", "hate")
    assert scorer.version.startswith("detoxify-") and ":original:" in scorer.version
    results = scorer.score([ScoringInput("you are nice"), ScoringInput("hello"), ScoringInput("you are an idiot")])
    assert len(results) == 3
    for r in results:
        assert set(r.scores) == set(scorer.categories)
        assert r.scores["toxicity"] == pytest.approx(torch.sigmoid(torch.tensor(-4.0)).item(), abs=1e-5)


def _detoxify(tiny_checkpoint: tuple[Path, Path], **extra: object) -> dict[str, object]:
    checkpoint, config_dir = tiny_checkpoint
    return {"enabled": True, "checkpoint": str(checkpoint), "huggingface_config_path": str(config_dir), **extra}


def test_configured_detoxify_joins_the_scorers(tiny_checkpoint: tuple[Path, Path]) -> None:
    config = Config.model_validate(
        {"scorers": {**RULES_ONLY, "profanity": {"enabled": False}, "detoxify": _detoxify(tiny_checkpoint)}}
    )
    scorers, embedder = build_scorers(config.scorers)
    assert [s.name for s in scorers] == ["detoxify"] and embedder is None


def test_missing_weights_say_how_to_supply_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))
    with pytest.raises(ScorerError) as caught:
        DetoxifyScorer(model_type="unbiased")
    message = str(caught.value)
    assert "not on this machine" in message and "checkpoint =" in message and "huggingface_config_path" in message
    with pytest.raises(ScorerError, match="does not exist"):
        DetoxifyScorer(checkpoint=tmp_path / "nope.ckpt")
    with pytest.raises(ScorerError, match="not one of"):
        DetoxifyScorer(model_type="huge")


def test_a_file_that_is_not_a_detoxify_checkpoint_is_refused(
    tmp_path: Path, tiny_checkpoint: tuple[Path, Path]
) -> None:
    bogus = tmp_path / "bogus.ckpt"
    torch.save({"state_dict": {}}, bogus)
    with pytest.raises(ScorerError, match="not a detoxify checkpoint"):
        DetoxifyScorer(checkpoint=bogus, huggingface_config_path=tiny_checkpoint[1])


class Fixed:
    """The cheap first stage, with scores chosen by the test (a stand-in for the head, so that a
    post can sit exactly inside or outside the uncertainty band)."""

    name = "cheap"
    version = "test"
    categories = ("toxicity",)
    needs_embedding = False

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        return [ScoreResult({"toxicity": self.scores[item.text]}) for item in batch]


def test_the_cascade_asks_detoxify_only_about_uncertain_posts(tiny_checkpoint: tuple[Path, Path]) -> None:
    detoxify = _detoxify(tiny_checkpoint, cascade=True, cascade_low=0.2, cascade_high=0.8)
    config = Config.model_validate({"scorers": {**RULES_ONLY, "spam": {"enabled": False}, "detoxify": detoxify}})
    [_profanity, cascade], _ = build_scorers(config.scorers)
    assert isinstance(cascade, Cascade) and (cascade.low, cascade.high) == (0.2, 0.8)
    cheap = Fixed({"you are nice": 0.05, "you are an idiot": 0.95, "hello idiot": 0.6})
    decider = Decider([cheap, cascade], config.build_policy())
    calls: list[int] = []
    real_score = cascade.scorer.score
    cascade.scorer.score = lambda batch: calls.append(len(batch)) or real_score(batch)  # type: ignore[method-assign]
    now = datetime.now(UTC)
    posts = [Post("console", "c", "g", str(i), Author("a"), t, now) for i, t in enumerate(cheap.scores)]
    (nice, _), (idiot, _), (unsure, _) = decider.decide(posts)
    assert calls == [1]  # one post, the uncertain one, reached detoxify
    assert "detoxify" not in nice.scores_by_scorer and "detoxify" not in idiot.scores_by_scorer
    assert idiot.outcome is not Outcome.ALLOW  # a confident cheap score stands
    # detoxify (constant 0.018 here) settles the unsure post: its score replaces the cheap 0.6
    assert unsure.scores_by_scorer["cheap"]["toxicity"] == 0.6
    assert unsure.scores["toxicity"] == pytest.approx(0.018, abs=1e-3) and unsure.outcome is Outcome.ALLOW
    assert "settled by detoxify: cheap was unsure (0.60 in 0.20-0.80)" in unsure.reasons[0].message
    assert decider.versions["detoxify"] == cascade.scorer.version


def test_cascade_settings_are_checked(tiny_checkpoint: tuple[Path, Path]) -> None:
    detoxify = _detoxify(tiny_checkpoint)
    with pytest.raises(ValidationError, match=r"cascade_low \(0.9\) must be below cascade_high"):
        Config.model_validate({"scorers": {"detoxify": {**detoxify, "cascade_low": 0.9, "cascade_high": 0.5}}})
    alone = Config.model_validate(
        {"scorers": {**RULES_ONLY, "profanity": {"enabled": False}, "detoxify": {**detoxify, "cascade": True}}}
    )
    with pytest.raises(ScorerError, match="needs a cheaper abuse scorer"):
        build_scorers(alone.scorers)
