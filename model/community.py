"""Fitting and storing a community's own model (moderation/community.py) from its moderators'
verdicts.

Each verdict is one example: the base scores and sentence vector of the judged post, the
category its case was opened for, and whether the flag was confirmed. Per category, an
L2-penalised logistic regression with the base score's logit as an offset, so with little
evidence it stays at the shared model. The penalty is chosen by five-fold cross-validation on the
community's own verdicts (a community of 40 verdicts and one of 4,000 need different ones); the
folds are fixed per seed, so a refit of the same verdicts gives the same model.

Poisoning: one moderator's verdicts weigh at most `cap` of all verdicts (a moderator who gave
more counts as that share), so one account cannot teach the model alone where others judge too.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from model.ngrams import read_meta, save_arrays
from moderation.community import HELD, Adjustment, CommunityModel, Stage, logit
from moderation.types import ABUSE

log = logging.getLogger(__name__)

EACH_KIND = 10
"""Confirmed and overturned flags a category needs at least: its cut keeps a share of the
confirmed ones, which three verdicts cannot place (a simulated community that confirmed 3 of 162
harassment flags lost hateful posts to such a cut: docs/models.md)."""
PENALTIES = (1.0, 10.0, 100.0, 1000.0)
"""The L2 penalties cross-validation chooses from (on standardised features)."""


@dataclass(frozen=True, slots=True)
class Example:
    scores: dict[str, float]
    """the base scores the policy weighed when the post was decided"""
    vector: Sequence[float] | None
    category: str
    confirmed: bool
    moderator: str


class TooFewVerdicts(ValueError):
    """No category has enough verdicts of both kinds to learn from."""


def fit(
    platform: str,
    community: str,
    examples: Sequence[Example],
    minimum: int = 30,
    cap: float = 1 / 3,
    held: frozenset[str] = HELD,
    keep: float = 0.98,
    seed: int = 13,
) -> CommunityModel:
    """A shadow model for the community; categories with fewer than `minimum` verdicts, or fewer
    than EACH_KIND of either kind, are left to the shared model. `keep`: the share of the flags its
    moderators confirmed that the model must still flag, judged on verdicts it was not fitted on
    (its cut is placed where the policy's flag threshold is)."""
    with_vector = [e for e in examples if e.vector is not None]
    width = len(with_vector[0].vector) if with_vector and with_vector[0].vector is not None else 0
    usable = [e for e in examples if (len(e.vector) if e.vector is not None else 0) == width]
    inputs = tuple(c for c in ABUSE if any(c in e.scores for e in usable))
    raw = np.asarray([[logit(e.scores.get(c, 0.0)) for c in inputs] + list(e.vector or []) for e in usable])
    if not len(raw):
        raise TooFewVerdicts("no verdicts on posts the model can read")
    mean, scale = raw.mean(axis=0), raw.std(axis=0) + 1e-6
    x = (raw - mean) / scale
    weights = _capped(usable, cap)
    adjustments: dict[str, Adjustment] = {}
    for category in sorted({e.category for e in usable}):
        rows = np.asarray([i for i, e in enumerate(usable) if e.category == category])
        y = np.asarray([usable[i].confirmed for i in rows], dtype=np.float64)
        if len(rows) < minimum or min(y.sum(), len(y) - y.sum()) < EACH_KIND:
            continue
        offset = np.asarray([logit(usable[i].scores.get(category, 0.0)) for i in rows])
        penalty, held_out = _chosen_penalty(x[rows], y, offset, weights[rows], seed)
        beta, bias = _fit_one(x[rows], y, offset, weights[rows], penalty)
        floor = min(usable[i].scores.get(category, 0.0) for i in rows)
        cut = _cut(held_out[y == 1], keep)
        adjustments[category] = Adjustment(beta, bias, floor, len(rows), int(y.sum()), cut)
    if not adjustments:
        raise TooFewVerdicts(
            f"no category has {minimum} verdicts with at least {EACH_KIND} confirmed and {EACH_KIND} overturned flags"
        )
    moderators = dict(Counter(e.moderator for e in usable))
    return CommunityModel(platform, community, Stage.SHADOW, inputs, mean, scale, adjustments, held, moderators)


def _cut(confirmed: NDArray[np.float64], keep: float) -> float:
    """The highest logit that at least `keep` of the confirmed verdicts reach, held out."""
    ordered = np.sort(confirmed)
    return float(ordered[int(np.floor((1 - keep) * len(ordered)))])


def _capped(examples: Sequence[Example], cap: float) -> NDArray[np.float64]:
    counts = Counter(e.moderator for e in examples)
    if len(counts) < 2:
        return np.ones(len(examples))
    total = len(examples)
    return np.asarray([min(1.0, cap * total / counts[e.moderator]) for e in examples])


def _loss(
    params: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    offset: NDArray[np.float64],
    w: NDArray[np.float64],
    penalty: float,
) -> tuple[float, NDArray[np.float64]]:
    beta, bias = params[:-1], params[-1]
    z = offset + x @ beta + bias
    p = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    loss = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)) + penalty / 2 * beta @ beta)
    r = w * (p - y)
    grad = np.concatenate([x.T @ r + penalty * beta, [r.sum()]])
    return loss, grad


def _fit_one(
    x: NDArray[np.float64], y: NDArray[np.float64], offset: NDArray[np.float64], w: NDArray[np.float64], penalty: float
) -> tuple[NDArray[np.float64], float]:
    from scipy.optimize import minimize

    start = np.zeros(x.shape[1] + 1)
    found = minimize(_loss, start, (x, y, offset, w, penalty), "L-BFGS-B", jac=True, options={"maxiter": 500})
    params = np.asarray(found.x, dtype=np.float64)
    return params[:-1], float(params[-1])


def _chosen_penalty(
    x: NDArray[np.float64], y: NDArray[np.float64], offset: NDArray[np.float64], w: NDArray[np.float64], seed: int
) -> tuple[float, NDArray[np.float64]]:
    """The penalty with the lowest held-out log loss over five folds of these verdicts, and the
    held-out logit of every verdict under it."""
    folds = np.random.default_rng(seed).permutation(len(y)) % 5
    best: tuple[float, float, NDArray[np.float64]] | None = None
    for penalty in PENALTIES:
        z = np.zeros(len(y))
        for k in range(5):
            train, test = folds != k, folds == k
            beta, bias = _fit_one(x[train], y[train], offset[train], w[train], penalty)
            z[test] = offset[test] + x[test] @ beta + bias
        loss = float(np.sum(w * (np.logaddexp(0.0, z) - y * z)))
        if best is None or loss < best[0]:
            best = (loss, penalty, z)
    assert best is not None
    return best[1], best[2]


def save(model: CommunityModel, path: Path) -> None:
    """Written beside and renamed into place, so a crash never leaves half a model."""
    arrays: dict[str, Any] = {"mean": model.mean, "scale": model.scale}
    meta: dict[str, Any] = {
        "platform": model.platform,
        "community": model.community,
        "stage": model.stage.value,
        "inputs": list(model.inputs),
        "held": sorted(model.held),
        "trained_on": dict(model.trained_on),
        "adjustments": {},
    }
    for category, a in model.adjustments.items():
        arrays[f"w_{category}"] = a.weights
        meta["adjustments"][category] = [a.bias, a.applies_from, a.verdicts, a.confirmed, a.cut]
    partial = path.with_suffix(".partial.npz")
    save_arrays(partial, arrays, meta)
    os.replace(partial, path)


def load(path: Path) -> CommunityModel:
    """Raises ValueError naming the file and what is wrong with it."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = read_meta(data)
            adjustments = {
                str(c): Adjustment(
                    np.asarray(data[f"w_{c}"], dtype=np.float64), float(b), float(f), int(n), int(k), float(q)
                )
                for c, (b, f, n, k, q) in meta["adjustments"].items()
            }
            mean, scale = np.asarray(data["mean"], dtype=np.float64), np.asarray(data["scale"], dtype=np.float64)
            if mean.shape != scale.shape or any(a.weights.shape != mean.shape for a in adjustments.values()):
                raise ValueError("the weights do not fit the features")
            return CommunityModel(
                str(meta["platform"]),
                str(meta["community"]),
                Stage(meta["stage"]),
                tuple(str(c) for c in meta["inputs"]),
                mean,
                scale,
                adjustments,
                frozenset(str(c) for c in meta["held"]),
                {str(k): int(v) for k, v in meta["trained_on"].items()},
            )
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise ValueError(f"cannot load the community model {path}: {exc}") from exc


def model_path(data_dir: Path, platform: str, community: str) -> Path:
    """One file per community under the data dir; named by a hash, since a community id may
    hold any character."""
    key = hashlib.sha256(f"{platform}\x00{community}".encode()).hexdigest()[:16]
    return data_dir / "communities" / f"{key}.npz"


def load_all(data_dir: Path) -> Iterator[tuple[Path, CommunityModel]]:
    """Every community model in the data dir; one that cannot be read is logged and skipped,
    so a damaged file leaves its community on the shared models and the service running."""
    for path in sorted((data_dir / "communities").glob("*.npz")):
        if path.name.endswith(".partial.npz"):
            continue
        try:
            yield path, load(path)
        except ValueError as exc:
            log.error("%s; that community is decided by the shared models alone", exc)


class CommunityFolder:
    """The data dir's community models, read again when a file there changes (a fit, a promotion,
    a retirement), so a running service follows `modbot learn` without a restart."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._seen: tuple[tuple[str, int, int, int], ...] | None = None

    def changed(self) -> dict[tuple[str, str], CommunityModel] | None:
        """Every model, when the folder differs from the last look; None when it does not."""
        try:
            found = [p for p in (self.data_dir / "communities").glob("*.npz") if not p.name.endswith(".partial.npz")]
            # a save replaces the file: a new inode even when the time and size come out the same
            seen = tuple(sorted((p.name, (st := p.stat()).st_ino, st.st_mtime_ns, st.st_size) for p in found))
        except OSError:  # a file went while looking: look again next time
            return None
        if seen == self._seen:
            return None
        self._seen = seen
        return {(m.platform, m.community): m for _, m in load_all(self.data_dir)}
