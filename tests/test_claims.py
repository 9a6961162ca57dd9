"""The fact-check store: import in each format, and a matching post carries the claim and its URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.ops.claims import ImportError_, read
from bot.storage.db import make_engine
from bot.storage.store import Store


def test_formats(tmp_path: Path) -> None:
    review = tmp_path / "reviews.json"
    review.write_text(
        json.dumps(
            {
                "@graph": [
                    {
                        "@type": "ClaimReview",
                        "claimReviewed": "5G towers spread the coronavirus",
                        "reviewRating": {"@type": "Rating", "alternateName": "False"},
                        "url": "https://fact.example/5g",
                        "author": {"@type": "Organization", "name": "Fact Example"},
                        "datePublished": "2020-04-02",
                    }
                ]
            }
        )
    )
    [r] = read(review)
    assert (r.claim, r.rating, r.url, r.publisher) == (
        "5G towers spread the coronavirus",
        "False",
        "https://fact.example/5g",
        "Fact Example",
    )
    coaid = tmp_path / "claims.csv"
    coaid.write_text(',fact_check_url,news_url,title\n1,medicalnewstoday.com,x,"""Garlic cures COVID"""\n')
    [c] = read(coaid)
    assert c.claim == "Garlic cures COVID" and c.url == "https://medicalnewstoday.com"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ImportError_, match="needs a 'claim'"):
        read(bad)


def test_import_and_match(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MODBOT_CONFIG", raising=False)
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim,rating,url,publisher\n"
        "Drinking bleach cures the coronavirus,False,https://fact.example/bleach,Fact Example\n"
        "The moon landing was filmed in a studio,False,https://fact.example/moon,Fact Example\n"
    )
    assert main(["claims", "import", str(claims)]) == 0
    assert main(["claims", "import", str(claims)]) == 0
    assert "0 added, 2 already stored" in capsys.readouterr().out
    config = tmp_path / "modbot.toml"
    config.write_text("[scorers.claims]\nenabled = true\n")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "m1", "text": "my uncle says drinking bleach will cure corona, is that right?"}\n'
        '{"id": "m2", "text": "lovely weather for the football today"}\n'
    )
    assert main(["--config", str(config), "scan", str(feed)]) == 0
    store = Store(make_engine(f"sqlite:///{tmp_path / 'modbot.db'}"))
    decided = store.decisions_for("console", "console", ["m1", "m2"])
    assert decided["m1"].scores["misinformation"] > decided["m2"].scores["misinformation"]
    [reason] = [r for r in decided["m1"].reasons if r.category == "misinformation"]
    assert "https://fact.example/bleach" in reason.message and "False" in reason.message
    # the shipped map's re-ranker is on for posts past rerank_from (0.5), and the decision says so
    assert decided["m1"].scorer_versions["claims"].endswith("-rerank0.5")


def test_matching_with_no_claims_imported_scores_nothing() -> None:
    import numpy as np

    from model.claims import ClaimIndex, ClaimScorer
    from moderation.scoring import ScoringInput

    scorer = ClaimScorer(ClaimIndex([], np.asarray([], dtype=np.float32)), "claims-0")
    assert scorer.score([ScoringInput("anything", [0.1] * 384)])[0].scores == {"misinformation": 0.0}
