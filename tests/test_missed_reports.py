"""The missed case: a moderator says a post modbot allowed should have been flagged (the
dashboard's log, `modbot report`). A case opens for it, marked as theirs, goes through the queue
like any flag, and its verdict is a label `modbot calibrate` and `modbot learn` read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.storage.schema import AuditRow, DecisionRow
from bot.storage.store import Store
from bot.web.accounts import Accounts
from tests.test_dashboard import login, run, seed


def _decision_of(store: Store, post_id: str) -> int:
    found = store.decisions_for("console", "garden", [post_id])[post_id]
    return found.id


def test_should_have_been_flagged_from_the_dashboard_log(
    store: Store, accounts: Accounts, profanity_scorer: object
) -> None:
    seed(
        store,
        profanity_scorer,
        [("quiet", "sly", "people like you should go back where you came from"), ("loud", "t", "fuck off")],
    )
    allowed, flagged = _decision_of(store, "quiet"), _decision_of(store, "loud")
    opened: dict[str, int] = {}

    async def test(client: TestClient) -> None:
        csrf = await login(client, "vic")
        refused = await client.post(f"/log/{allowed}/missed", data={"csrf": csrf, "category": "hate"})
        assert refused.status == 403, "viewers read the log; moderators report"
        await client.post("/logout", data={"csrf": csrf})
        csrf = await login(client, "kate")
        log = await (await client.get("/log")).text()
        assert log.count("Should have been flagged") == 1, "only the post with no case offers it"
        bad = await client.post(f"/log/{allowed}/missed", data={"csrf": csrf, "category": "rudeness"})
        assert bad.status == 400 and "unknown category" in await bad.text()
        done = await client.post(
            f"/log/{allowed}/missed",
            data={"csrf": csrf, "category": "hate", "note": "dog whistle"},
            allow_redirects=False,
        )
        assert done.status == 303
        opened["case"] = int(re.sub(r"\D", "", done.headers["Location"]))
        page = await (await client.get(done.headers["Location"])).text()
        assert "Reported by kate" in page and "flagged for <b>hate</b>" in page
        again = await client.post(f"/log/{allowed}/missed", data={"csrf": csrf, "category": "hate"})
        assert again.status == 409 and "already has case" in await again.text()
        taken = await client.post(f"/log/{flagged}/missed", data={"csrf": csrf, "category": "harassment"})
        assert taken.status == 409, "a flagged post's case is judged, not reported"
        unknown = await client.post("/log/999999/missed", data={"csrf": csrf, "category": "hate"})
        assert unknown.status == 404
        await client.post(f"/cases/{opened['case']}/resolve", data={"csrf": csrf, "verdict": "remove"})

    run(store, test)
    case = store.case(opened["case"])
    assert case is not None and case.reported_by == "kate" and case.category == "hate" and case.resolution == "removed"
    assert case.note == "dog whistle"
    assert "case.reported_missed" in [a.action for a in case.audit]
    judged = store.judged(datetime.now(UTC) - timedelta(days=1))[("console", "garden", "hate")]
    assert [j.confirmed for j in judged] == [True]
    verdicted, purged = store.verdicted("console", "garden", datetime.now(UTC) - timedelta(days=1))
    assert [(v.post.id, v.category, v.confirmed, v.moderator) for v in verdicted] == [("quiet", "hate", True, "kate")]
    assert purged == 0


def test_modbot_report_and_calibrate_count_the_missed_post(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main
    from bot.config import load_config
    from bot.runtime.wiring import open_store

    config = tmp_path / "modbot.toml"
    config.write_text(f'[data]\ndir = "{tmp_path / "data"}"\n')
    feed = tmp_path / "feed.jsonl"
    posts = {"p1": "lovely weather for the match today", "p2": "you know what those people are like"}
    feed.write_text("".join(json.dumps({"id": k, "author": k, "text": t}) + "\n" for k, t in posts.items()))
    assert main(["--config", str(config), "scan", str(feed)]) == 0
    capsys.readouterr()
    args = ["--config", str(config), "report", "p2", "--platform", "console", "--community", "console"]
    assert main([*args, "--category", "hate", "--as", "mod", "--note", "coded"]) == 0
    said = capsys.readouterr().out
    assert re.search(r"case \d+ opened: hate missed \(scored 0\.\d\d, decided allow\)", said), said
    assert main([*args, "--category", "hate"]) == 1, "the post has its case already"
    assert "already has case" in capsys.readouterr().err
    assert main([*args[:3], "nope", *args[4:], "--category", "hate"]) == 1
    assert "no decision for post nope" in capsys.readouterr().err
    store = open_store(load_config(config))
    (case,) = store.cases()
    assert case.reported_by == "mod" and case.category == "hate"
    assert main(["--config", str(config), "resolve", str(case.id), "--remove", "--as", "mod2"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "calibrate", "--minimum", "1"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "console/console" in line)
    assert re.search(r"hate\s*│\s*0\s*│\s*0\s*│\s*1\s*│", row), row
    with store.engine.connect() as conn:
        assert conn.scalar(select(AuditRow.actor).where(AuditRow.action == "case.reported_missed")) == "mod"
        assert conn.scalar(select(DecisionRow.outcome)) == "allow"
