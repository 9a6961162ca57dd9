"""The shipped default stack on modbot's own functional suite (moderation/functional.py): the
floors CI holds. The suite is written from modbot's own templates and never trained on; a change
to the model, the policy defaults or the normaliser that drops a functionality fails here."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.evaluation.abuse import functional
from bot.scorers import build_scorers
from moderation.decider import Decider

OVERALL = 0.85
PER_FUNCTIONALITY = {"hate": 0.5, "harassment": 0.35}
"""the lowest pass rate any functionality of the category may have. Floors a little under the
shipped model's figures (0.879 overall; worst hate.negated 0.560, harassment.negated 0.386), not
the goal (0.90 overall, 0.75 each): negation is where it still fails most."""


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    config = Config()
    scorers, embedder = build_scorers(config.scorers)
    report, _ = functional(Decider(scorers, config.build_policy(), embedder), "pytest")
    return report


def test_overall_pass_rate_holds(result) -> None:  # type: ignore[no-untyped-def]
    assert result.figures["pass rate"] >= OVERALL


@pytest.mark.parametrize("category", sorted(PER_FUNCTIONALITY))
def test_every_functionality_holds(result, category: str) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in result.tables["per functionality"] if r["functionality"].startswith(f"{category}.")]
    assert rows
    worst = min(rows, key=lambda r: r["pass rate"])
    assert worst["pass rate"] >= PER_FUNCTIONALITY[category], worst


def test_nothing_that_must_stay_is_removed(result) -> None:  # type: ignore[no-untyped-def]
    assert result.figures["never-remove cases removed"] == 0
