"""The shipped default stack on modbot's own functional suite (moderation/functional.py): the
floors CI holds. The suite is written from modbot's own templates and never trained on; a change
to the model, the policy defaults or the normaliser that drops a functionality fails here."""

from __future__ import annotations

import pytest

from bot.config import Config
from bot.lab.evaluation.abuse import FUNCTIONAL_FLOORS, functional
from bot.runtime.scorers import build_scorers
from moderation.decider import Decider

OVERALL = FUNCTIONAL_FLOORS["overall"]
PER_FUNCTIONALITY = {c: FUNCTIONAL_FLOORS[c] for c in ("hate", "harassment")}
"""the lowest pass rate any functionality of the category may have: the goal, which the shipped
stack meets (0.922 overall; worst harassment.negated 0.773). Negation is still where it fails
most."""


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
