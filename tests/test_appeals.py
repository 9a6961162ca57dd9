"""Appeals in the store, the CLI and the dashboard (the Discord round trip is
tests/test_discord_appeals.py): who may appeal, once; an appealed case waits for uphold or
overturn and takes no other verdict; an overturn reverses what ran; forgetting a user erases what
they wrote in appeals."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import main
from bot.config import Config, WebConfig
from bot.review import answer_appeal, open_appeal, resolve_case
from bot.runtime.wiring import open_store
from bot.storage.maintenance import forget
from bot.storage.records import AppealState, CaseState, Resolution
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.app import make_app
from moderation.actions import ActionPlanner
from tests.conftest import swearing_verdicts
from tests.test_dashboard import login, seed


def timed_out_case(store: Store, profanity_scorer: object) -> int:
    """troll's flagged post, a moderator's timeout verdict, carried out."""
    seed(store, profanity_scorer, [("p1", "troll", "fuck you"), ("p2", "bob", "hello")])
    resolve_case(store, swearing_verdicts(), 1, "timeout", "kate", "cli")
    for action in store.lease_actions(["console"], 10):
        store.finish_action(action.id, True, "done on the platform")
    return 1


def test_who_may_appeal_and_what_an_appealed_case_takes(store: Store, profanity_scorer: object) -> None:
    case_id = timed_out_case(store, profanity_scorer)
    planner = ActionPlanner()
    with pytest.raises(LookupError, match="no case 99"):
        open_appeal(store, planner, 99, "troll", "why", "test")
    with pytest.raises(ValueError, match="someone else's post"):
        open_appeal(store, planner, case_id, "bob", "free my friend", "test")
    appeal = open_appeal(store, planner, case_id, "troll", "it was a quote", "test")
    assert appeal.state == AppealState.OPEN
    with pytest.raises(ValueError, match="appealed already"):
        open_appeal(store, planner, case_id, "troll", "again", "test")
    view = store.case(case_id)
    assert view is not None and view.state == CaseState.APPEALED
    with pytest.raises(ValueError, match="open appeal: uphold or overturn"):
        resolve_case(store, swearing_verdicts(), case_id, "approve", "kate", "cli")
    answered = answer_appeal(store, swearing_verdicts(), case_id, "overturn", "kate", "cli", "sorry")
    assert answered.state == CaseState.CLOSED and answered.resolution == Resolution.APPROVED
    queued = {a.kind: a.params for a in answered.actions if a.state == "pending"}
    assert set(queued) == {"untimeout", "appeal_answer"}
    assert queued["appeal_answer"] == {
        "overturned": True,
        "answer": "sorry",
        "reversed": ["untimeout"],
        "removed": True,
    }
    with pytest.raises(ValueError, match="overturned by kate already"):
        answer_appeal(store, swearing_verdicts(), case_id, "uphold", "ann", "cli")


def test_forgetting_a_user_erases_their_appeals(store: Store, profanity_scorer: object) -> None:
    case_id = timed_out_case(store, profanity_scorer)
    open_appeal(store, ActionPlanner(), case_id, "troll", "my name is Troll McTrollface", "test")
    forget(store, "console", "troll", "ada", "cli")
    view = store.case(case_id)
    assert view is not None and view.appeal is not None
    assert view.appeal.text == "" and view.appeal.author_id.startswith("forgotten:")


def test_cli_answers_an_appeal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], profanity_scorer: object
) -> None:
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path))
    store = open_store(Config())
    case_id = timed_out_case(store, profanity_scorer)
    assert main(["appeal", str(case_id), "--uphold"]) == 1
    assert "has no appeal" in capsys.readouterr().err
    open_appeal(store, ActionPlanner(), case_id, "troll", "it was a quote", "test")
    assert main(["case", str(case_id)]) == 0
    assert "appeal (open," in capsys.readouterr().out
    assert main(["appeal", str(case_id), "--uphold", "--note", "quotes count too", "--as", "kate"]) == 0
    printed = capsys.readouterr().out
    assert "appeal upheld, case closed" in printed and "queued action appeal_answer" in printed
    assert main(["case", str(case_id)]) == 0
    assert "answered by kate: quotes count too" in capsys.readouterr().out


def test_dashboard_shows_an_appeal_beside_the_decision_and_answers_it(
    store: Store, accounts: Accounts, profanity_scorer: object
) -> None:
    case_id = timed_out_case(store, profanity_scorer)
    open_appeal(store, ActionPlanner(), case_id, "troll", "<b>it was a quote</b>", "test")

    async def go() -> None:
        app = make_app(store, swearing_verdicts(), WebConfig(secure_cookies=False))
        async with TestClient(TestServer(app)) as client:
            csrf = await login(client, "kate")
            queue = await (await client.get("/queue")).text()
            assert f"/cases/{case_id}" in queue  # an appealed case waits in the queue
            page = await (await client.get(f"/cases/{case_id}")).text()
            assert "Appeal by the author: open" in page and "&lt;b&gt;it was a quote&lt;/b&gt;" in page
            assert 'id="appeal-overturn"' in page and 'id="verdict-approve"' not in page
            assert "carried out: remove, timeout" in page
            bad = await client.post(f"/cases/{case_id}/appeal", data={"verdict": "ban", "csrf": csrf})
            assert bad.status == 400
            done = await client.post(
                f"/cases/{case_id}/appeal", data={"verdict": "uphold", "csrf": csrf}, allow_redirects=False
            )
            assert done.status == 303
            case = await (await client.get(f"/api/cases/{case_id}")).json()
            assert case["appeal"]["state"] == "upheld" and case["appeal"]["decided_by"] == "kate"

    asyncio.run(go())
