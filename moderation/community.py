"""A community's own model: the shared models' scores moved toward what this community's
moderators confirm, learned from their verdicts (`modbot learn`).

One global model cannot serve a gaming server where swearing is normal and a support forum for
teens alike. Thresholds (moderation/calibration.py) move the cut for a whole category; this
moves single posts: for each category with enough verdicts, a logistic regression over the
post's base scores and the abuse model's own sentence vector, fitted with the base score's logit
as an offset, so it learns only how this community departs from the shared model. It estimates
how likely this community's moderators are to confirm a flag of the category; its cut is set so
that it keeps nearly all the flags they confirm, and that cut is moved onto the policy's flag
threshold, so thresholds keep their meaning.

Bounds, because a model trained on a few hundred verdicts must not undo the shared one:
- it applies only from the lowest base score its verdicts covered (`applies_from`): verdicts
  exist for flagged posts only, so below that it knows nothing and the base score stands;
- the `held` categories (hate and threat unless an admin says otherwise) are never taken below
  the flag threshold they had reached: a community can make its hate flags stricter, not fewer;
- it starts in shadow (its scores are logged beside the decision and change nothing) and acts
  only after a moderator promotes it, which the guard-rails can refuse (bot/lab/community.py).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from moderation.scoring import ScoreResult

NAME = "community"
"""The scorer name a live community model's scores carry in a decision."""
SHADOW_NAME = "community (shadow)"
"""Where a shadow model's scores are logged: beside the decision, never weighed by it."""
HELD = frozenset({"hate", "threat"})
"""Categories a community model may not lower past their flag threshold unless an admin allows it."""


class Stage(StrEnum):
    SHADOW = "shadow"
    """decides alongside and is logged; acts never"""
    LIVE = "live"
    """promoted by a moderator: its scores decide"""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One category's fit: the offset it adds to the base score's logit is `features @ weights + bias`."""

    weights: NDArray[np.float64]
    bias: float
    applies_from: float
    """the lowest base score among the verdicts it learned from"""
    verdicts: int
    confirmed: int
    cut: float
    """the logit at which a post is flagged: the policy's flag threshold is moved here, so the
    model flags what its moderators would confirm, losing few of those (model/community.py)"""


@dataclass(frozen=True, slots=True)
class CommunityModel:
    platform: str
    community: str
    stage: Stage
    inputs: tuple[str, ...]
    """the base categories whose logits are features, before the sentence vector"""
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    """standardisation of the features, from the training verdicts"""
    adjustments: Mapping[str, Adjustment]
    held: frozenset[str] = HELD
    trained_on: Mapping[str, int] = field(default_factory=dict)
    """verdicts per moderator (capped in weight when fitted), for the model card"""

    _version: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        # every decision it touches records it: hashed once, not per post
        h = hashlib.sha256(self.mean.tobytes() + self.scale.tobytes() + ",".join(sorted(self.held)).encode())
        for category, a in sorted(self.adjustments.items()):
            h.update(category.encode() + a.weights.tobytes() + repr((a.bias, a.applies_from, a.cut)).encode())
        object.__setattr__(self, "_version", f"community-{h.hexdigest()[:10]}")

    @property
    def version(self) -> str:
        return self._version

    def features(self, scores: Mapping[str, float], vector: Sequence[float] | None) -> NDArray[np.float64] | None:
        """The standardised features of one post, or None when it lacks the sentence vector the
        model was fitted with."""
        width = self.mean.size - len(self.inputs)
        if width and (vector is None or len(vector) != width):
            return None
        raw = [logit(scores.get(c, 0.0)) for c in self.inputs] + (list(vector) if width and vector is not None else [])
        standardised: NDArray[np.float64] = (np.asarray(raw, dtype=np.float64) - self.mean) / self.scale
        return standardised

    def adjust(
        self, scores: Mapping[str, float], vector: Sequence[float] | None, flags: Mapping[str, float]
    ) -> ScoreResult:
        """The adjusted score of every fitted category the post's base score reaches (`scores`:
        the base scores the policy would weigh; `flags`: the flag threshold per category)."""
        reached = {c: a for c, a in self.adjustments.items() if scores.get(c, 0.0) >= a.applies_from}
        x = self.features(scores, vector) if reached else None
        if x is None:
            return ScoreResult({})
        out: dict[str, float] = {}
        notes: dict[str, str] = {}
        for category, a in reached.items():
            base, floor = scores[category], flags.get(category)
            z = logit(base) + float(x @ a.weights) + a.bias
            value = sigmoid(z - a.cut + logit(floor)) if floor is not None else sigmoid(z)
            note = (
                f"{base:.2f} from the shared models, {value:.2f} for this community "
                f"({self.version}, {a.confirmed} of {a.verdicts} flags confirmed)"
            )
            if category in self.held and floor is not None and base >= floor > value:
                value = floor
                note += f"; held at the flag threshold {floor:.2f}: a community model never clears a {category} flag"
            out[category], notes[category] = value, note
        return ScoreResult(out, notes=notes)


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
