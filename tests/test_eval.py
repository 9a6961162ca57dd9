"""`modbot eval` on the shared datasets (skipped where ../shared/datasets is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "datasets"
pytestmark = pytest.mark.skipif(not (DATA / "jigsaw-bias-madlibs").is_dir(), reason=f"no datasets at {DATA}")


@pytest.mark.slow
def test_eval_bias_writes_a_report_with_per_identity_aucs(tmp_path: Path) -> None:
    assert main(["eval", "bias", "--data", str(DATA), "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bias.json").read_text())
    figures = report["figures"]
    assert figures["identities measured"] == 50 and figures["madlibs posts"] == 76564
    assert 0.5 < figures["madlibs overall ROC-AUC"] <= 1.0
    rows = report["tables"]["per identity (sorted by BPSN AUC)"]
    assert {"gay", "muslim", "black"} <= {r["identity"] for r in rows}
    assert (tmp_path / "identity_aucs.png").stat().st_size > 10_000
    assert "| madlibs overall ROC-AUC |" in (tmp_path / "bias.md").read_text()


def test_eval_needs_a_datasets_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "toxicity", "--data", str(tmp_path / "nope")]) == 2
    assert "no datasets folder" in capsys.readouterr().err


def test_eval_injection_reports_recall_and_false_positive_rates(tmp_path: Path) -> None:
    assert main(["eval", "injection", "--data", str(DATA), "--out", str(tmp_path)]) == 0
    figures = json.loads((tmp_path / "injection.json").read_text())["figures"]
    assert figures["BIPIA injected instructions"] == 125
    assert (figures["NotInject prompts"], figures["WildGuard prompts"]) == (339, 971)
    # Floors well under today's figures (0.784 / 0.003 / 0.036): a rule change that breaks
    # detection or starts flagging ordinary prompts fails here.
    assert figures["BIPIA recall"] >= 0.7
    assert figures["NotInject false-positive rate"] <= 0.02 and figures["WildGuard false-positive rate"] <= 0.06
