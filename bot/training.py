"""`modbot train`: the recipe behind the shipped toxicity head, end to end and deterministic.

Data: the OLID training set (offensive, targeted, group-targeted), read from the shared datasets.
Not Davidson et al.: its "offensive" class is mostly slurs and swearing in African-American
English, and the linear head trained with it learnt identity words and dialect as abuse (on an
8,000-sentence madlibs sample, worst BPSN AUC 0.79 with it, 0.93 without; OLID macro-F1 0.71 and
0.74); it stays a held-out test set instead. Bias
mitigation, because identity words alone must not look like abuse: (1) counterfactual identity
swaps, each training text that mentions an identity term is copied with other terms in its
place, same label; (2) balanced templates written for modbot, the same sentence frames once
benign and once abusive across every identity term. The madlibs set is never trained on: it is
the test of whether this worked. The regularisation strength is chosen on a held-out tenth of
the training data, never on a test set.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bot.evaluation import datasets
from model.embedding import Embedder
from model.heads import Head, fit_head
from moderation.metrics import roc_auc
from moderation.normalise import normalise

CATEGORIES = ["toxicity", "insult", "identity_attack"]
RECIPE = "toxicity-head-recipe-3"
C_CANDIDATES = (0.1, 0.25, 0.5)
BRANCH_LAYERS = 2
EPOCHS = 2
MIXES = (0.0, 0.25, 0.5, 0.75, 1.0)
"""weight of the fine-tuned layers' logits against the linear head's"""
_BENIGN = [
    "I am {a} {t} person and proud of it",
    "my neighbour is {t} and she bakes amazing bread",
    "our team has {t} members and we work well together",
    "being {t} is part of who I am",
    "the {t} community centre is hosting a fundraiser this weekend",
    "{T} people have every right to be here",
    "I have {a} {t} friend who taught me to cook",
    "as {a} {t} woman I found this article interesting",
    "the panel included {t} speakers from several countries",
    "my grandfather was {t} and he loved gardening",
]
_ABUSIVE = [
    "{t} people are disgusting vermin",
    "I hate {t} people, they should all disappear",
    "get out of here you filthy {t} trash",
    "{t} scum like you deserve to suffer",
    "all {t} people are worthless animals",
    "nobody wants your kind here, stupid {t} freak",
    "{t} people are a plague on this country",
    "shut up you pathetic {t} idiot",
    "I wish every {t} person would just die",
    "{t} people are subhuman garbage",
]


def identity_terms() -> list[str]:
    text = resources.files("moderation").joinpath("data/identity_terms.txt").read_text(encoding="utf-8")
    return [w.strip() for w in text.splitlines() if w.strip() and not w.startswith("#")]


@dataclass
class TrainingSet:
    texts: list[str]
    labels: np.ndarray  # (n, categories)
    origin: list[str]


def build_training_set(data: Path, seed: int) -> TrainingSet:
    rng = random.Random(seed)
    texts: list[str] = []
    labels: list[list[int]] = []
    origin: list[str] = []

    def add(text: str, label: list[int], source: str) -> None:
        texts.append(text)
        labels.append(label)
        origin.append(source)

    for row in datasets.olid_train(data):
        off = int(row["subtask_a"] == "OFF")
        add(row["tweet"], [off, int(row["subtask_b"] == "TIN"), int(row["subtask_c"] == "GRP")], "olid")
    terms = identity_terms()
    # (1) counterfactual identity swaps
    patterns = [(t, _word(t)) for t in terms]
    for text, label in list(zip(texts, labels, strict=True)):
        found = [t for t, p in patterns if p.search(text)]
        if not found:
            continue
        for _ in range(2):
            swapped = text
            for t in found:
                swapped = _word(t).sub(rng.choice([u for u in terms if u != t]), swapped)
            add(swapped, label, "counterfactual")
    # (2) balanced templates
    for t in terms:
        article = "an" if t[0] in "aeiou" else "a"
        for frame in _BENIGN:
            add(frame.format(t=t, T=t.capitalize(), a=article), [0, 0, 0], "template")
        for frame in _ABUSIVE:
            add(frame.format(t=t, T=t.capitalize(), a=article), [1, 1, 1], "template")
    return TrainingSet([normalise(t).text for t in texts], np.asarray(labels, dtype=np.float32), origin)


def _word(term: str) -> Any:
    import re

    return re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE)


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


def train(data: Path, out: Path, cache_dir: Path, seed: int = 13) -> tuple[Head, dict[str, Any]]:
    """Two heads on the same split, then their held-out best mix: (1) a logistic regression on the
    frozen embedding and the n-grams; (2) the encoder's top layers fine-tuned with a linear layer
    (model/branch.py). The mix weight and (1)'s C are chosen on the held-out tenth."""
    from model.branch import TopLayers, fine_tune, lower_states, vectors

    started = time.perf_counter()
    training = build_training_set(data, seed)
    embedder = Embedder()
    x = embed_cached(embedder, training.texts, cache_dir / "train-embeddings.npz")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    held = order[: len(x) // 10]
    fit = order[len(x) // 10 :]
    fit_texts = [training.texts[i] for i in fit]
    held_texts = [training.texts[i] for i in held]

    def held_out(logits: np.ndarray) -> dict[str, float]:
        return {c: roc_auc(training.labels[held, i], logits[:, i]) for i, c in enumerate(CATEGORIES)}

    candidates = []
    for c in C_CANDIDATES:
        head = fit_head(x[fit], fit_texts, training.labels[fit], CATEGORIES, c)
        candidates.append((float(np.mean(list(held_out(head.logits(x[held], held_texts)).values()))), c, head))
    _, best_c, linear = max(candidates, key=lambda cand: cand[0])

    states = lower_states(embedder, training.texts, BRANCH_LAYERS)
    branch = TopLayers.copy_of(embedder.bert, BRANCH_LAYERS)
    w_tuned, b_tuned = fine_tune(branch, [states[i] for i in fit], training.labels[fit], seed, epochs=EPOCHS)
    tuned_held = vectors(branch, [states[i] for i in held]) @ w_tuned + b_tuned
    linear_held = linear.logits(x[held], held_texts)
    mixes = {a: held_out(a * tuned_held + (1 - a) * linear_held) for a in MIXES}
    mix = max(MIXES, key=lambda a: float(np.mean(list(mixes[a].values()))))
    head = (
        linear
        if mix == 0
        else Head(
            CATEGORIES,
            np.vstack([mix * w_tuned, (1 - mix) * linear.weights]).astype(np.float32),
            (mix * b_tuned + (1 - mix) * linear.bias).astype(np.float32),
            [(features, (1 - mix) * coef) for features, coef in linear.ngrams] if mix < 1 else [],
            branch=branch,
        )
    )
    metrics = {f"held-out ROC-AUC {c}": v for c, v in mixes[mix].items()}
    counts: dict[str, int] = {}
    for o in training.origin:
        counts[o] = counts.get(o, 0) + 1
    head.meta = {
        "name": "toxicity-head",
        "recipe": RECIPE,
        "seed": seed,
        "C": best_c,
        "C tried (mean held-out ROC-AUC, linear head alone)": {str(c): round(m, 4) for m, c, _ in candidates},
        "fine-tuned layers": BRANCH_LAYERS,
        "epochs": EPOCHS,
        "mix": mix,
        "mix tried (mean held-out ROC-AUC)": {
            str(a): round(float(np.mean(list(m.values()))), 4) for a, m in mixes.items()
        },
        "embedding": embedder.version,
        "training_texts": counts,
        "held_out": len(held),
        "metrics": {k: round(v, 4) for k, v in metrics.items()},
    }
    head.save(out)
    return head, {**metrics, "C": best_c, "mix": mix, **saved(out, len(x), head.version, started)}


def saved(out: Path, texts: int, version: str, started: float) -> dict[str, Any]:
    """What `modbot train` prints about an artifact it wrote."""
    return {
        "texts": texts,
        "seconds": round(time.perf_counter() - started, 1),
        "artifact": str(out),
        "bytes": out.stat().st_size,
        "version": version,
    }
