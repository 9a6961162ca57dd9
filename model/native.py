"""Scorers for posts in other languages than English, each trained on that language's own labelled
abuse data (`modbot train languages`).

Per language: character 2-5-grams inside word boundaries, hashed TF-IDF (model/ngrams.py), and
one logistic regression per modbot category the language's data has labels for. Character
n-grams are the strong floor for short offensive text in any script, need no tokenizer and no
pre-trained multilingual encoder (none ships in a package this project trusts), and explain
themselves word by word. A language's model says only the categories its data covers: German
has hate and harassment, Danish only harassment (docs/models.md lists each).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.ngrams import HashedTfidf, load_arrays, read_meta, save_arrays
from moderation.scoring import ScorerError, ScoreResult, ScoringInput

SHIPPED = "native-languages.npz"
_EXPLAIN_AT = 0.5


@dataclass
class NativeHeads:
    """One language's model: shared features, one weight column per category."""

    language: str
    categories: tuple[str, ...]
    features: HashedTfidf
    coef: NDArray[np.float32]  # (BUCKETS, len(categories))
    intercept: NDArray[np.float32]  # (len(categories),)
    source: str = ""
    """the data it was trained on, named in every note it writes"""

    def predict(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(len(texts), len(categories)) probabilities."""
        if not texts:
            return np.zeros((0, len(self.categories)), dtype=np.float32)
        logits = np.asarray(self.features.transform(texts) @ self.coef, dtype=np.float32) + self.intercept
        probs: NDArray[np.float32] = (1.0 / (1.0 + np.exp(-np.clip(logits, -40, 40)))).astype(np.float32)
        return probs


def fit(
    language: str, texts: Sequence[str], labels: Mapping[str, Sequence[int]], source: str, c: float, min_df: int
) -> NativeHeads:
    """One balanced logistic regression (lbfgs) per category on the same TF-IDF rows. The tolerance
    is tight so that every processor stops at the same (unique, L2-regularised) optimum: at
    scikit-learn's default 1e-4 two runs on one machine differed by 0.04 in a probability."""
    from sklearn.linear_model import LogisticRegression

    features = HashedTfidf.fit("char", texts, min_df)
    rows = features.transform(texts)
    categories = tuple(labels)
    coef = np.zeros((features.idf.size, len(categories)), dtype=np.float32)
    intercept = np.zeros(len(categories), dtype=np.float32)
    for k, category in enumerate(categories):
        lr = LogisticRegression(C=c, class_weight="balanced", tol=1e-7, max_iter=20000)
        lr.fit(rows, np.asarray(labels[category]))
        coef[:, k], intercept[k] = lr.coef_[0], lr.intercept_[0]
    return NativeHeads(language, categories, features, coef, intercept, source)


@dataclass
class NativeModels:
    """Every language's heads, saved together as one artifact."""

    by_language: dict[str, NativeHeads]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for code in sorted(self.by_language):
            heads = self.by_language[code]
            digest.update(code.encode() + heads.coef.tobytes() + heads.features.idf.tobytes())
        return f"{self.meta.get('name', 'native')}-{digest.hexdigest()[:10]}"

    def save(self, path: Path) -> None:
        arrays: dict[str, Any] = {}
        languages = {}
        for code, heads in self.by_language.items():
            arrays |= heads.features.pack(heads.coef, f"{code}.")
            arrays[f"{code}.intercept"] = heads.intercept
            languages[code] = {"categories": list(heads.categories), "source": heads.source}
        save_arrays(path, arrays, {**self.meta, "languages": languages})

    @classmethod
    def load(cls, path: Path | None = None, only: Sequence[str] | None = None) -> NativeModels:
        """`only`: these languages of the artifact (each must be in it); None: all of them."""
        try:
            with load_arrays(path, SHIPPED) as data:
                meta = read_meta(data)
                found = meta["languages"]
                wanted = list(found) if only is None else list(only)
                missing = [code for code in wanted if code not in found]
                if missing:
                    raise ValueError(f"it has no model for {', '.join(missing)} (it has {', '.join(found)})")
                by_language = {}
                for code in wanted:
                    features, coef = HashedTfidf.unpack("char", data, f"{code}.")
                    categories = tuple(found[code]["categories"])
                    intercept = np.asarray(data[f"{code}.intercept"], dtype=np.float32)
                    if coef.shape[1:] != (len(categories),) or intercept.shape != (len(categories),):
                        raise ValueError(f"{code}: weights do not match its {len(categories)} categories")
                    by_language[code] = NativeHeads(code, categories, features, coef, intercept, found[code]["source"])
                return cls(by_language, meta)
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            raise ScorerError(f"cannot load the language models {path or SHIPPED}: {exc}") from exc


class NativeScorer:
    """Scores each post with its own language's heads; the note names the language and the data the
    model learnt from, the spans the words that weighed most."""

    name = "native"
    needs_embedding = False

    def __init__(self, models: NativeModels) -> None:
        self.models = models
        self.version = models.version
        self.languages = frozenset(models.by_language)
        self.categories = tuple(dict.fromkeys(c for h in models.by_language.values() for c in h.categories))

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        results: list[ScoreResult | None] = [None] * len(batch)
        for code in {item.language for item in batch}:
            heads = self.models.by_language.get(code) if code is not None else None
            if heads is None:
                raise ScorerError(f"scorer 'native' has no model for language {code!r}")
            picked = [i for i, item in enumerate(batch) if item.language == code]
            probs = heads.predict([batch[i].text for i in picked])
            for i, row in zip(picked, probs, strict=True):
                results[i] = _result(heads, batch[i].text, row)
        return [r for r in results if r is not None]


def _result(heads: NativeHeads, text: str, row: NDArray[np.float32]) -> ScoreResult:
    scores = {c: float(p) for c, p in zip(heads.categories, row, strict=True)}
    spans, notes = {}, {}
    for k, category in enumerate(heads.categories):
        if row[k] < _EXPLAIN_AT:
            continue
        words = heads.features.word_contributions(heads.coef[:, k], text)
        notes[category] = f"{heads.language} model ({heads.source}) {row[k]:.2f}"
        spans[category] = tuple((s, e) for s, e, _ in words)  # the evidence: the words that weighed most
    return ScoreResult(scores, spans=spans, notes=notes)
