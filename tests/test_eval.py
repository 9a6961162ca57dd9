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
    # the goal, which the default stack meets (identity swaps with disability terms: 50 of 50, worst
    # BPSN 0.944, worst BNSP 0.913; as written 43 of 50, 0.762)
    assert figures["identities with every AUC >= 0.90"] == 50 and figures["worst BPSN AUC"] >= 0.90
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


@pytest.mark.slow
def test_eval_claims_map_helps_in_domain_and_holds_out_of_it(tmp_path: Path) -> None:
    """Floors under today's figures (dev 0.912 re-ranked, 0.879 before re-ranking, 0.809 without
    the map; CoAID 0.653 / 0.649 / 0.648); dev's floor is the goal of 0.90."""
    for split in ("dev", "coaid"):
        assert main(["eval", "claims", "--split", split, "--data", str(DATA), "--out", str(tmp_path / split)]) == 0
    dev, coaid = (json.loads((tmp_path / s / "claims.json").read_text()) for s in ("dev", "coaid"))
    methods = {
        name: {row["method"]: row["MAP@5"] for row in report["tables"]["retrieval methods"]}
        for name, report in (("dev", dev), ("coaid", coaid))
    }
    assert dev["figures"]["queries"] == 197 and dev["figures"]["hybrid MAP@5"] >= 0.90
    assert methods["dev"]["hybrid"] >= methods["dev"]["hybrid before re-ranking"] + 0.02
    assert methods["dev"]["hybrid before re-ranking"] >= methods["dev"]["hybrid without the map"] + 0.03
    assert coaid["figures"]["queries"] > 900
    assert (tmp_path / "dev" / "claims_recall.png").stat().st_size > 10_000
    thresholds = dev["tables"]["best match by similarity threshold (hybrid)"]
    assert [row["threshold"] for row in thresholds] == [0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8]
    assert methods["coaid"]["hybrid"] >= methods["coaid"]["hybrid without the map"] - 0.01


def test_coaid_retrieval_pairs_headlines_with_reviewed_claims(tmp_path: Path) -> None:
    from bot.lab.evaluation.datasets import coaid_retrieval

    folder = tmp_path / "coaid-covid-misinfo" / "05-01-2020"
    folder.mkdir(parents=True)
    (folder / "NewsFakeCOVID-19.csv").write_text(
        "\ufeff,type,fact_check_url,title,newstitle,content\n"
        '0,article,https://f.example/1,Garlic cures COVID,"""Eat garlic, beat the virus""",x\n'
        "1,post,https://f.example/2,5G spreads the virus,,\n"
        "2,article,https://f.example/2,5G spreads the virus,5G spreads the virus,\n",
        encoding="utf-8",
    )
    (folder / "NewsRealCOVID-19.csv").write_text(
        ",type,fact_check_url,title,newstitle,content\n"
        "0,article,https://f.example/3,Masks reduce spread,Study: masks cut spread,y\n",
        encoding="utf-8",
    )
    task = coaid_retrieval(tmp_path)
    assert task.claims == [(0, "Garlic cures COVID"), (1, "5G spreads the virus"), (2, "Masks reduce spread")]
    assert task.relevant == {"Eat garlic, beat the virus": {0}, "Study: masks cut spread": {2}}
    with pytest.raises(FileNotFoundError, match="no CoAID news files"):
        coaid_retrieval(tmp_path / "elsewhere")
