"""modbot as a Bluesky labeler against the real AT Protocol stack (tests/test_bluesky.py's `stack`),
with no Ozone involved: declared with `modbot bluesky labeler setup` (the PLC operation with the
PDS's emailed token, read from the PDS by the stack's control channel) and `check`; an abusive
post labelled by policy; the label read back through modbot's own subscribeLabels (resumed from a
cursor) and queryLabels, its signature verified with the atproto SDK against the key in the DID
document; the AppView shows it to a viewer who accepts modbot's labels (the stack ingests modbot's
stream, verifying each signature with @atproto/crypto, as Bluesky's AppView does for declared
labelers); an overturned appeal negates it; an expired label is not shown; a user's report,
proxied by their PDS, becomes a case."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from atproto import AsyncClient, models
from atproto_crypto.did import get_did_key
from atproto_crypto.verify import verify_signature
from atproto_identity.resolver import AsyncIdResolver

from bot.cli.main import main
from bot.config.labeler import LabelerConfig
from bot.labeler.issuer import LabelIssuer
from bot.labeler.signing import load_key, unsigned
from bot.review import Verdicts, answer_appeal
from bot.runtime.wiring import planner
from bot.storage.db import make_engine, upgrade
from bot.storage.store import Store
from tests.test_bluesky import ABUSE, eventually, login, loopback, modbot_config, post, running, stack
from tests.test_labeler import read_stream

__all__ = ["stack"]  # the module-scoped fixture, shared

VALUES = """
[adapters.bluesky.labeler.categories]
profanity = "rude-words"

[adapters.bluesky.labeler.values.rude-words]
severity = "inform"
locales = [{ lang = "en", name = "Rude words", description = "Swearing aimed at someone." }]

[adapters.bluesky.labeler.values.short-lived]
expires_days = 0.00005
locales = [{ lang = "en", name = "Short-lived", description = "Lapses within seconds (a test value)." }]
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toml(stack: dict[str, Any], tmp_path: Path, db_url: str, port: int) -> Path:
    path = tmp_path / "modbot.toml"
    path.write_text(
        f"""
[data]
dir = "{tmp_path}"
[database]
url = "{db_url}"
[adapters.bluesky]
handle = "{stack["accounts"]["alice"]["handle"]}"
service = "{loopback(stack["pds"])}"
plc_directory = "{loopback(stack["plc"])}"
[adapters.bluesky.labeler]
enabled = true
port = {port}
public_url = "http://localhost:{port}"  # the PDS refuses to forward reports to an IP address
{VALUES}"""
    )
    return path


def test_modbot_labels_serves_and_takes_reports_as_a_labeler(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'modbot.db'}"
    port = _port()
    toml = _toml(stack, tmp_path, db_url, port)
    alice_did = stack["accounts"]["alice"]["did"]
    monkeypatch.setenv("MODBOT_BLUESKY_APP_PASSWORD", stack["accounts"]["alice"]["password"])
    upgrade(make_engine(db_url))
    assert main(["--config", str(toml), "bluesky", "labeler", "setup"]) == 0
    assert "run again with --token" in capsys.readouterr().out
    token = stack["control"]("plc_token", did=alice_did)["token"]
    assert main(["--config", str(toml), "bluesky", "labeler", "setup", "--token", token]) == 0
    key = load_key(tmp_path / "labeler.key")
    assert (tmp_path / "labeler.key").stat().st_mode & 0o777 == 0o600

    base = modbot_config(stack, tmp_path, db_url).model_dump()
    labeler = LabelerConfig.model_validate(
        {**_labeler_table(toml), "enabled": True, "port": port, "public_url": f"http://localhost:{port}"}
    )
    base["adapters"]["bluesky"].update(labeler=labeler, actions={"remove": ["label"]})
    config = type(modbot_config(stack, tmp_path, db_url)).model_validate(base)
    store = Store(make_engine(db_url))

    async def go() -> None:
        bob, carol = await login(stack, "bob"), await login(stack, "carol")
        async with running(config, monkeypatch, stack):
            await eventually(lambda: _up(port), what="the labeler's endpoint")
            capsys.readouterr()
            assert await asyncio.to_thread(main, ["--config", str(toml), "bluesky", "labeler", "check"]) == 0
            checked = capsys.readouterr().out
            assert "PROBLEM" not in checked and "answers queryLabels" in checked, checked
            stack["control"]("follow_labels", did=alice_did, url=f"ws://127.0.0.1:{port}/xrpc")
            stack["control"]("process")  # the AppView indexes the labeler's service record
            abuse = await post(bob, stack, ABUSE)
            labels = await eventually(lambda: store.label_history(abuse.uri), what="the policy's label")
            assert [(x.val, x.neg) for x in labels] == [("rude-words", False)]
            assert labels[0].reason == "profanity: profanity" and "0." not in labels[0].reason  # no scores

            # subscribeLabels from the start, and resumed from a cursor; signatures against the DID document
            seen = await read_stream(f"ws://127.0.0.1:{port}/xrpc", 0, 1)
            document = await AsyncIdResolver(plc_url=loopback(stack["plc"])).did.ensure_resolve(alice_did)
            [method] = [m for m in document.verification_method if m.id.endswith("#atproto_label")]
            document_key = get_did_key(method.type, method.public_key_multibase)
            assert document_key == key.did_key
            [(seq, wire)] = [(s, w) for s, w in seen if w["uri"] == abuse.uri]
            assert verify_signature(document_key, unsigned(wire), wire["sig"])
            queried = await _query(port, abuse.uri)
            assert [(x["val"], x.get("neg")) for x in queried] == [("rude-words", None)]

            # the AppView applies it for a viewer who accepts modbot's labels
            assert "rude-words" in await _appview_labels(stack, carol, abuse.uri, alice_did)
            assert "rude-words" not in await _appview_labels(stack, carol, abuse.uri, None)

            # a user's report, through their PDS to the labeler, becomes a case
            other = await post(bob, stack, "a perfectly ordinary post")
            await eventually(lambda: store.decisions_for("bluesky", "alice.test", [other.uri]), what="a decision")
            await _report(carol, alice_did, other, "this is spam from a bot farm")
            [case] = [c for c in store.cases() if c.post.id == other.uri]
            assert case.reported_by == stack["accounts"]["carol"]["did"] and case.category == "spam"

            # an overturned appeal negates the label; the stream resumes from the cursor with the negation
            [labelled] = [c for c in store.cases() if c.post.id == abuse.uri]
            store.open_appeal(labelled.id, stack["accounts"]["bob"]["did"], "it was a joke", "test", None)
            answer_appeal(store, Verdicts(config.policy, planner(config)), labelled.id, "overturn", "ann", "test")  # type: ignore[arg-type]
            await eventually(lambda: any(x.neg for x in store.label_history(abuse.uri)), what="the negation")
            resumed = await read_stream(f"ws://127.0.0.1:{port}/xrpc", seq, 1)
            assert [(w["uri"], w.get("neg")) for _, w in resumed] == [(abuse.uri, True)]
            await eventually(
                lambda: _gone(stack, carol, abuse.uri, alice_did, "rude-words"), what="the AppView drops it"
            )

            # an expired label is not shown
            LabelIssuer(store, key, labeler).issue(
                alice_did, other.uri, other.cid, ["short-lived"], "spam", "spam: test"
            )
            await eventually(lambda: _shown(stack, carol, other.uri, alice_did, "short-lived"), what="the label")
            await asyncio.sleep(5)  # expires_days 0.00005 is 4.3 s
            assert "short-lived" not in await _appview_labels(stack, carol, other.uri, alice_did)
            assert await _query(port, other.uri) == []
            stats = stack["control"]("label_stats")
            assert stats["rejected"] == 0 and stats["accepted"] >= 3, stats

    asyncio.run(go())


def _labeler_table(toml: Path) -> dict[str, Any]:
    import tomllib

    table: dict[str, Any] = tomllib.loads(toml.read_text())["adapters"]["bluesky"]["labeler"]
    table["key_file"] = str(toml.parent / "labeler.key")
    return table


async def _up(port: int) -> bool:
    try:
        await _query(port, "at://nothing")
    except OSError:
        return False
    return True


async def _query(port: int, uri: str) -> list[dict[str, Any]]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{port}/xrpc/com.atproto.label.queryLabels"
        async with http.get(url, params={"uriPatterns": uri}) as response:
            body: dict[str, Any] = await response.json()
            return list(body["labels"])


async def _appview_labels(stack: dict[str, Any], viewer: AsyncClient, uri: str, labeler: str | None) -> list[str]:
    appview = AsyncClient(base_url=loopback(stack["appview"]))
    headers = {"atproto-accept-labelers": labeler} if labeler else {}
    got = await appview.app.bsky.feed.get_posts({"uris": [uri]}, headers=headers)
    return [label.val for p in got.posts for label in (p.labels or [])]


async def _shown(stack: dict[str, Any], viewer: AsyncClient, uri: str, labeler: str, val: str) -> bool:
    return val in await _appview_labels(stack, viewer, uri, labeler)


async def _gone(stack: dict[str, Any], viewer: AsyncClient, uri: str, labeler: str, val: str) -> bool:
    return not await _shown(stack, viewer, uri, labeler, val)


async def _report(reporter: AsyncClient, labeler: str, subject: Any, reason: str) -> None:
    proxied = reporter.with_proxy("atproto_labeler", labeler)
    await proxied.com.atproto.moderation.create_report(
        {
            "reasonType": "com.atproto.moderation.defs#reasonSpam",
            "reason": reason,
            "subject": models.ComAtprotoRepoStrongRef.Main(uri=subject.uri, cid=subject.cid),
        }
    )
