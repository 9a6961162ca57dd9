"""The detoxify scorer through detoxify's real loader, on a tiny BERT checkpoint built here in
detoxify's own format (no weights can be downloaded on this machine)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

from bot.config import Config
from bot.scorers import build_scorers
from model.detox import DetoxifyScorer
from moderation.scoring import ScorerError, ScoringInput

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
    assert scorer.categories == ("toxicity", "severe_toxicity", "obscene", "threat", "insult", "identity_attack")
    assert scorer.version.startswith("detoxify-") and ":original:" in scorer.version
    results = scorer.score([ScoringInput("you are nice"), ScoringInput("hello"), ScoringInput("you are an idiot")])
    assert len(results) == 3
    for r in results:
        assert set(r.scores) == set(scorer.categories)
        assert r.scores["toxicity"] == pytest.approx(torch.sigmoid(torch.tensor(-4.0)).item(), abs=1e-5)


def test_configured_detoxify_joins_the_scorers(tiny_checkpoint: tuple[Path, Path]) -> None:
    checkpoint, config_dir = tiny_checkpoint
    config = Config.model_validate(
        {
            "scorers": {
                "profanity": {"enabled": False},
                "detoxify": {
                    "enabled": True,
                    "checkpoint": str(checkpoint),
                    "huggingface_config_path": str(config_dir),
                },
            }
        }
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
