"""Failed actions put back in the queue once the cause is fixed: the store call, `modbot actions`,
and the dashboard's Actions page, each audit-logged (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import main
from bot.config import WebConfig
from bot.review import resolve_case
from bot.storage.records import ActionState
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.app import make_app
from tests.conftest import swearing_verdicts
from tests.test_dashboard import login, seed

REFUSED = "attempt 1: ActionFailed: Discord refused the remove (403, code 50013: Missing Permissions)"


def failed_removal(store: Store, profanity_scorer: object) -> int:
    """A flagged post, a moderator's removal, and the removal failing for good."""
    seed(store, profanity_scorer, [("p1", "troll", "fuck you"), ("p2", "bob", "hello")])
    resolve_case(store, swearing_verdicts(), 1, "remove", "kate", "cli")
    [action] = store.lease_actions(["console"], 10)
    store.finish_action(action.id, False, REFUSED, None)
    return action.id


def test_store_requeues_failed_actions_with_attempts_reset_and_audits(store: Store, profanity_scorer: object) -> None:
    action_id = failed_removal(store, profanity_scorer)
    [(failed, _)] = store.actions_in([ActionState.FAILED])
    assert failed.id == action_id and failed.attempts == 1 and failed.result == REFUSED
    with pytest.raises(LookupError, match="not a failed action: 999"):
        store.retry_actions([action_id, 999], "kate", "cli")
    assert store.actions_in([ActionState.FAILED])  # nothing re-queued by the refused call
    assert store.retry_actions([action_id], "kate", "cli") == [action_id]
    [again] = store.lease_actions(["console"], 10)
    assert again.id == action_id and again.attempts == 1  # a fresh set of attempts
    assert store.retry_actions(None, "kate", "cli") == []  # it is running, not failed
    case = store.case(1)
    assert case is not None
    [retried] = [a for a in case.audit if a.action == "action.retried"]  # in the case's history
    assert retried.actor == "kate" and retried.details == {"kind": "remove", "failed_with": REFUSED}


def test_cli_lists_failed_actions_and_retries_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], profanity_scorer: object
) -> None:
    monkeypatch.setenv("MODBOT_DATA_DIR", str(tmp_path))
    from bot.config import Config
    from bot.runtime.wiring import open_store

    store = open_store(Config())
    action_id = failed_removal(store, profanity_scorer)
    assert main(["actions", "list", "--state", "failed"]) == 0
    listed = capsys.readouterr().out
    assert "remove" in listed and "failed" in listed and "Missing Permissions" in listed
    assert main(["actions", "retry", "999"]) == 1
    assert "not a failed action: 999" in capsys.readouterr().err
    assert main(["actions", "retry", "--failed", "--as", "kate"]) == 0
    assert f"re-queued 1 action(s): {action_id}" in capsys.readouterr().out
    [(pending, _)] = store.actions_in([ActionState.PENDING])
    assert pending.id == action_id and pending.attempts == 0
    assert main(["actions", "retry", "--failed"]) == 0
    assert "no failed actions" in capsys.readouterr().out


def test_dashboard_actions_page_retries_a_failed_action(
    store: Store, accounts: Accounts, profanity_scorer: object
) -> None:
    action_id = failed_removal(store, profanity_scorer)

    async def go() -> None:
        app = make_app(store, swearing_verdicts(), WebConfig(secure_cookies=False))
        async with TestClient(TestServer(app)) as client:
            await login(client, "vic")
            assert (await client.get("/actions")).status == 403  # viewers do not act
            await client.post("/logout", data={"csrf": await login(client, "vic")})
            csrf = await login(client, "kate")
            page = await (await client.get("/actions")).text()
            assert "Missing Permissions" in page and re.search(rf'name="id" value="{action_id}"', page)
            forged = await client.post("/actions/retry", data={"id": str(action_id)}, allow_redirects=False)
            assert forged.status == 403  # no CSRF token
            done = await client.post("/actions/retry", data={"id": str(action_id), "csrf": csrf}, allow_redirects=False)
            assert done.status == 303 and done.headers["Location"] == "/actions?retried=1"
            again = await client.post("/actions/retry", data={"id": str(action_id), "csrf": csrf})
            assert again.status == 409 and "not a failed action" in await again.text()

    asyncio.run(go())
    [(pending, _)] = store.actions_in([ActionState.PENDING])
    assert pending.id == action_id and pending.attempts == 0
