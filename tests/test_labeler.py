"""modbot's labeler without a network: keys and signatures (checked with the atproto SDK's own
verification), issuing (idempotent, expiring, negated, re-signed after rotation), and the XRPC
endpoints read with the SDK's subscribeLabels client. The DID resolver of the report test is a
stand-in (it answers one DID with one key); tests/test_bluesky_labeler.py runs the real one."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from atproto import AsyncFirehoseSubscribeLabelsClient, models, parse_subscribe_labels_message
from atproto_crypto.verify import verify_signature

from bot.config import ConfigError
from bot.config.labeler import LabelerConfig
from bot.labeler.issuer import LabelIssuer
from bot.labeler.server import LabelerService
from bot.labeler.signing import KeyType, SigningKey, load_key, save_key, unsigned
from bot.runtime.listen import listen
from bot.storage.store import Store
from moderation.actions import ActionPlanner

SRC = "did:plc:labelerexample"
POST = "at://did:plc:author/app.bsky.feed.post/3k"


@pytest.mark.parametrize("kind", list(KeyType))
def test_signatures_verify_with_the_sdk_and_are_low_s(kind: KeyType) -> None:
    key = SigningKey.generate(kind)
    label = {"ver": 1, "src": SRC, "uri": POST, "val": "hate", "cts": "2026-12-07T10:00:00.000Z"}
    for _ in range(20):  # a high-S signature would turn up in 20 tries half the time
        sig = key.sign(unsigned(label))
        assert len(sig) == 64 and verify_signature(key.did_key, unsigned(label), sig)
    assert not verify_signature(key.did_key, unsigned({**label, "val": "spam"}), sig)


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        (None, 0o600, "no labeler key"),
        ("secp256k1:" + "ab" * 32, 0o644, "readable by others"),
        ("rsa:1234", 0o600, "is not a labeler key"),
        ("secp256k1:" + "00" * 32, 0o600, "is not a labeler key"),
    ],
)
def test_a_bad_key_file_is_named_with_what_is_wrong(
    tmp_path: Path, content: str | None, mode: int, problem: str
) -> None:
    path = tmp_path / "labeler.key"
    if content is not None:
        path.write_text(content)
        path.chmod(mode)
    with pytest.raises(ConfigError, match=problem):
        load_key(path)


def test_a_saved_key_is_private_and_loads_back(tmp_path: Path) -> None:
    key = SigningKey.generate(KeyType.P256)
    save_key(key, tmp_path / "k")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert load_key(tmp_path / "k").did_key == key.did_key


def config(**values: Any) -> LabelerConfig:
    return LabelerConfig.model_validate(values)


def test_issuing_is_idempotent_expires_negates_and_resigns(store: Store) -> None:
    expiring = {"locales": [{"lang": "en", "name": "New", "description": "A new account"}], "expires_days": 14}
    cfg = config(
        categories={"hate": "hate", "spam": "new-account"}, values={**LabelerConfig().values, "new-account": expiring}
    )
    old = SigningKey.generate(KeyType.SECP256K1)
    issuer = LabelIssuer(store, old, cfg)
    at = datetime(2026, 11, 1, 10, tzinfo=UTC)  # the 14-day label has lapsed by the time resign runs
    [first] = issuer.issue(SRC, POST, "bafycid", ["hate"], "hate", "hate: abuse-model", 7, at)
    assert issuer.issue(SRC, POST, "bafycid", ["hate"], "hate", "hate: abuse-model", 7, at) == []  # in force
    [lapsing] = issuer.issue(SRC, POST, None, ["new-account"], "spam", "spam: new account", None, at)
    assert lapsing.exp == "2026-11-15T10:00:00.000Z" and first.exp is None
    assert verify_signature(old.did_key, unsigned(first.wire), first.sig)
    [negation] = issuer.negate(SRC, POST, "overturned on appeal", at + timedelta(days=15))  # new-account lapsed
    assert (negation.val, negation.neg, negation.case_id) == ("hate", True, 7)
    [again] = issuer.issue(SRC, POST, "bafycid", ["hate"], "hate", "hate: a moderator's verdict", None, at)
    new = SigningKey.generate(KeyType.SECP256K1)
    [resigned] = LabelIssuer(store, new, cfg).resign(SRC)
    assert (resigned.uri, resigned.val, resigned.cts, resigned.signed_by) == (POST, "hate", again.cts, new.did_key)
    assert verify_signature(new.did_key, unsigned(resigned.wire), resigned.sig)
    assert [x.seq for x in store.label_history(POST)] == [1, 2, 3, 4, 5]


class OneKey:
    """Stands in for DID resolution: one DID, one account key."""

    def __init__(self, did: str, key: SigningKey) -> None:
        self.did, self.key = did, key

    async def resolve_atproto_key(self, did: str, force_refresh: bool = False) -> str:
        if did != self.did:
            raise LookupError(did)
        return self.key.did_key


def service_token(key: SigningKey, iss: str, aud: str, lxm: str, exp_in: int = 60) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = part({"alg": "ES256K", "typ": "JWT"})
    body = part({"iss": iss, "aud": aud, "lxm": lxm, "exp": int(time.time()) + exp_in, "iat": int(time.time())})
    sig = base64.urlsafe_b64encode(key.sign(f"{head}.{body}".encode())).decode().rstrip("=")
    return f"{head}.{body}.{sig}"


def test_endpoints_serve_labels_and_take_only_signed_reports(store: Store, free_tcp_port: int) -> None:
    key, user_key = SigningKey.generate(KeyType.SECP256K1), SigningKey.generate(KeyType.SECP256K1)
    issuer = LabelIssuer(store, key, LabelerConfig())
    for n in range(3):
        issuer.issue(SRC, f"{POST}{n}", None, ["hate"], "hate", "hate: abuse-model")
    issuer.issue(SRC, "at://did:plc:other/app.bsky.feed.post/1", None, ["spam"], "spam", "spam: spam-rules")
    past = datetime.now(UTC) - timedelta(days=30)
    LabelIssuer(
        store,
        key,
        config(
            values={
                **LabelerConfig().values,
                "spam": {**LabelerConfig().values["spam"].model_dump(), "expires_days": 1},
            }
        ),
    ).issue(SRC, f"{POST}x", None, ["spam"], "spam", "spam", None, past)

    async def direct(fn: Any, *args: Any) -> Any:
        return fn(*args)

    service = LabelerService(store, direct, lambda: SRC, OneKey("did:plc:user", user_key), ActionPlanner(), ["spam"])

    async def go() -> None:
        runner = await listen(service.app(), "labeler", "127.0.0.1", free_tcp_port)
        base = f"http://127.0.0.1:{free_tcp_port}/xrpc"
        try:
            async with ClientSession() as http:
                query = f"{base}/com.atproto.label.queryLabels?uriPatterns={POST}*&limit=2"
                page = await (await http.get(query)).json()
                assert [x["uri"] for x in page["labels"]] == [f"{POST}0", f"{POST}1"] and page["cursor"] == "2"
                rest = await (await http.get(f"{query}&cursor=2")).json()
                assert [x["uri"] for x in rest["labels"]] == [f"{POST}2"]  # the expired one is not shown
                bad = await http.get(f"{base}/com.atproto.label.queryLabels?uriPatterns=x&limit=lots")
                assert bad.status == 400 and "limit must be an integer" in (await bad.json())["message"]
                report = {"reasonType": "com.atproto.moderation.defs#reasonSpam", "subject": {"uri": POST}}
                refused = await http.post(f"{base}/com.atproto.moderation.createReport", json=report)
                assert refused.status == 401
                wrong = service_token(
                    user_key, "did:plc:user", "did:plc:someoneelse", "com.atproto.moderation.createReport"
                )
                answer = await http.post(
                    f"{base}/com.atproto.moderation.createReport",
                    json=report,
                    headers={"Authorization": f"Bearer {wrong}"},
                )
                assert answer.status == 401 and "not this labeler" in (await answer.json())["message"]
                token = service_token(user_key, "did:plc:user", SRC, "com.atproto.moderation.createReport")
                unseen = await http.post(
                    f"{base}/com.atproto.moderation.createReport",
                    json=report,
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert unseen.status == 400 and "has not seen" in (await unseen.json())["message"]
            seen = await read_stream(f"ws://127.0.0.1:{free_tcp_port}/xrpc", 0, 5)
            assert [seq for seq, _ in seen] == [1, 2, 3, 4, 5]
            for _, label in seen:
                assert verify_signature(key.did_key, unsigned(label), label["sig"])
            assert [seq for seq, _ in await read_stream(f"ws://127.0.0.1:{free_tcp_port}/xrpc", 3, 2)] == [4, 5]
        finally:
            await runner.cleanup()

    asyncio.run(go())


async def read_stream(base: str, cursor: int, count: int) -> list[tuple[int, dict[str, Any]]]:
    """`count` labels from subscribeLabels at `cursor`, read with the atproto SDK's client."""
    params = models.ComAtprotoLabelSubscribeLabels.Params(cursor=cursor)
    client = AsyncFirehoseSubscribeLabelsClient(params, base_uri=base)
    seen: list[tuple[int, dict[str, Any]]] = []

    async def on_message(frame: Any) -> None:
        message = parse_subscribe_labels_message(frame)
        for label in message.labels:
            seen.append((message.seq, {k: v for k, v in models.get_model_as_dict(label).items() if k != "$type"}))
        if len(seen) >= count:
            await client.stop()

    await asyncio.wait_for(client.start(on_message), 20)
    return seen
