"""`modbot train`: the recipe behind the shipped abuse model, end to end and deterministic per seed.

The model is all-MiniLM-L6-v2's six layers fine-tuned end to end (the word-piece embeddings stay
frozen and shared with the packaged encoder, so the artifact holds only the layers) with one
output per category: hate, harassment, threat, profanity. A bag of n-grams or
a frozen sentence embedding cannot tell "I hate X" from "I don't hate X" or from "saying 'I hate
X' is vile"; attention over the whole sentence can, given data that shows the difference.

Data: every English abuse set in the shared datasets, mapped onto the categories per set
(bot/lab/evaluation/corpora.py, docs/training-data.md), deduplicated across sets, with every set's
own dev and test texts kept out; each set capped so that no one platform's idea of abuse
dominates. A category a set does not label carries no loss for its texts. A contrast set written
for modbot (bot/lab/contrast_set.py: the same words in attacks and in negation, counter-speech,
reporting, idioms and swearing at nobody, across every identity term) teaches that an identity
word or a harsh word alone is not an attack. Every choice is made on the sets' dev
splits, never on a test split; the Jigsaw madlibs set and the project's functional suite are
never trained on.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.lab.contrast_set import contrast_set
from bot.lab.counterfactual import counterfactuals
from bot.lab.evaluation import corpora
from model.embedding import Embedder
from model.heads import Head
from moderation.identity import identity_terms
from moderation.metrics import roc_auc
from moderation.normalise import normalise

log = logging.getLogger(__name__)

CATEGORIES = ["hate", "harassment", "threat", "profanity"]
"""No shared set labels sexual content, and "not toxic" comes from one set only (OLID), which
taught the first model to rate "I love being a trans woman" 0.97 toxic: the model claims neither
(detoxify's unbiased model scores both)."""
RECIPE = "abuse-model-recipe-3"
PER_SOURCE = 12_000
"""training texts drawn from one set at most (seeded), so 35 minutes of fine-tuning see every set"""
DEV_PER_SOURCE = 800
CONTRAST_PER_FRAME: int | None = None
"""texts drawn from each contrast frame; None: the templates file's own number"""
MAX_TOKENS = 96
"""longer texts are cut (their first 95 word pieces and [SEP]) while training; scoring sees 256"""
EPOCHS = 1
LR = 5e-5


def embed_cached(embedder: Embedder, texts: list[str], cache: Path) -> np.ndarray:
    """Embeddings, reusing a cache keyed by text so a second `modbot train` skips the slow part."""
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    known: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as stored:
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    # in an order that does not depend on the process's string hashing: batches of other texts
    # round the last float bits differently, enough to tip the recipes' cross-validated choices
    todo = sorted({(k, t) for k, t in zip(keys, texts, strict=True) if k not in known}, key=lambda kt: (len(kt[1]), kt))
    if todo:
        vectors = embedder.embed([t for _, t in todo])
        known.update({k: np.asarray(v, dtype=np.float32) for (k, _), v in zip(todo, vectors, strict=True)})
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.asarray(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


@dataclass
class TrainingSet:
    texts: list[str]
    labels: np.ndarray
    """(n, categories) of 0, 1 or NaN where the text's set does not say"""
    origin: list[str]


def _labelled(examples: Sequence[corpora.Example]) -> np.ndarray:
    out = np.full((len(examples), len(CATEGORIES)), np.nan, dtype=np.float32)
    for row, example in enumerate(examples):
        for category, value in example.labels.items():
            if category in CATEGORIES:  # the sets' toxicity labels train nothing now
                out[row, CATEGORIES.index(category)] = value
    return out


def build_sets(data: Path, seed: int, counterfactual_copies: int = 0) -> tuple[TrainingSet, TrainingSet]:
    """(training, dev): training capped per set and seeded; dev a seeded sample of every set's dev
    split. `counterfactual_copies`: that many training texts naming a group also go in with another
    group in its place (bot/lab/counterfactual.py; not in the shipped recipe, see docs/models.md)."""
    rng = random.Random(seed)
    examples = corpora.deduplicated(corpora.load_all(data))
    train: list[corpora.Example] = []
    dev: list[corpora.Example] = []
    for source in corpora.SOURCES:
        mine = [e for e in examples if e.source == source and e.split is corpora.Split.TRAIN]
        train += rng.sample(mine, min(PER_SOURCE, len(mine)))
        held = [e for e in examples if e.source == source and e.split is corpora.Split.DEV]
        dev += rng.sample(held, min(DEV_PER_SOURCE, len(held)))
    if counterfactual_copies:
        held_out = {corpora.text_key(e.text) for e in examples if e.split is not corpora.Split.TRAIN}
        train += counterfactuals(train, held_out, identity_terms(), rng, counterfactual_copies)
    contrast = contrast_set(seed, CONTRAST_PER_FRAME)
    train += [corpora.Example(c.text, c.labels, "contrast", corpora.Split.TRAIN) for c in contrast]

    def finish(chosen: list[corpora.Example]) -> TrainingSet:
        chosen = [e for e in chosen if set(e.labels) & set(CATEGORIES)]
        return TrainingSet([normalise(e.text).text for e in chosen], _labelled(chosen), [e.source for e in chosen])

    return finish(train), finish(dev)


def _cut(state: Any) -> Any:
    import torch

    return state if len(state) <= MAX_TOKENS else torch.cat([state[: MAX_TOKENS - 1], state[-1:]])


def dev_report(labels: np.ndarray, probs: np.ndarray, origin: Sequence[str]) -> dict[str, dict[str, float]]:
    """ROC-AUC per set and category where the dev texts hold both classes (the figures the
    artifact carries; the test splits are measured by `modbot eval`)."""
    report: dict[str, dict[str, float]] = {}
    for source in sorted(set(origin)):
        rows = np.asarray([o == source for o in origin])
        for i, category in enumerate(CATEGORIES):
            known = rows & ~np.isnan(labels[:, i])
            if len(set(labels[known, i].tolist())) == 2:
                report.setdefault(source, {})[category] = round(roc_auc(labels[known, i], probs[known, i]), 4)
    return report


def train(
    data: Path, out: Path, cache_dir: Path, seed: int = 13, counterfactual_copies: int = 0
) -> tuple[Head, dict[str, Any]]:
    """Fine-tune every encoder layer with one output per category; figures on the dev splits."""
    import torch

    from model.branch import TopLayers, fine_tune, lower_states, vectors

    started = time.perf_counter()
    training, dev = build_sets(data, seed, counterfactual_copies)
    embedder = Embedder()
    layers = int(embedder.bert.config.num_hidden_layers)
    states = [_cut(s) for s in lower_states(embedder, training.texts, layers)]
    branch = TopLayers.copy_of(embedder.bert, layers)
    bf16 = bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())

    def progress(step: int, steps: int, loss: float) -> None:
        rate = step / (time.perf_counter() - started)
        log.info("step %d of %d, loss %.4f, %.0f minutes to go", step, steps, loss, (steps - step) / rate / 60)

    weights, bias = fine_tune(branch, states, training.labels, seed, epochs=EPOCHS, lr=LR, bf16=bf16, progress=progress)
    head = Head(CATEGORIES, weights, bias, branch=branch)
    dev_probs = 1 / (1 + np.exp(-(vectors(branch, lower_states(embedder, dev.texts, layers)) @ weights + bias)))
    figures = dev_report(dev.labels, dev_probs, dev.origin)
    head.meta = {
        "name": "abuse-model",
        "recipe": RECIPE,
        "seed": seed,
        "fine-tuned layers": layers,
        "epochs": EPOCHS,
        "learning rate": LR,
        "bf16 training": bf16,
        "max training tokens": MAX_TOKENS,
        "embedding": embedder.version,
        "training_texts": dict(sorted(Counter(training.origin).items())),
        "positives": {c: int(np.nansum(training.labels[:, i])) for i, c in enumerate(CATEGORIES)},
        "dev ROC-AUC": figures,
    }
    head.save(out)
    mean = {c: round(float(np.mean([f[c] for f in figures.values() if c in f])), 4) for c in CATEGORIES}
    return head, {f"dev ROC-AUC {c} (mean over sets)": v for c, v in mean.items()} | saved(
        out, len(training.texts), head.version, started
    )


def saved(out: Path, texts: int, version: str, started: float) -> dict[str, Any]:
    """What `modbot train` prints about an artifact it wrote."""
    return {
        "texts": texts,
        "seconds": round(time.perf_counter() - started, 1),
        "artifact": str(out),
        "bytes": out.stat().st_size,
        "version": version,
    }
