"""The dashboard's labels page against the real app and store (SQLite and PostgreSQL): a subject's
labels issued by the real LabelIssuer — negated, lapsed, re-signed after a key rotation, issued
again — each shown with what became of it and its public reason; an account's labelled posts; a
bsky.app link taken as its post; what is not a subject refused with what a subject looks like."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from aiohttp.test_utils import TestClient

from bot.config.labeler import LabelerConfig
from bot.labeler.issuer import LabelIssuer
from bot.labeler.signing import KeyType, SigningKey
from bot.storage.store import Store
from bot.web.accounts import Accounts
from tests.test_dashboard import login, run, seed

SRC = "did:plc:labelerexample"
AUTHOR = "did:plc:author"
POST = f"at://{AUTHOR}/app.bsky.feed.post/3k"
OTHER = f"at://{AUTHOR}/app.bsky.feed.post/4z"


def statuses(page: str) -> list[tuple[str, str, str]]:
    """(seq, value, status) of each history row, in page order."""
    rows = re.findall(r'<tr class="label-[^"]+"><td>(\d+)</td><td><code>([^<]+)</code></td><td>([^<]+)</td>', page)
    return [(seq, val, status) for seq, val, status in rows]


def issue_history(store: Store) -> SigningKey:
    """hate on POST (case 1), a 14-day new-account label that has lapsed, hate negated on appeal,
    hate issued again by a moderator, then a key rotation re-signing what stands."""
    expiring = {"locales": [{"lang": "en", "name": "New", "description": "A new account"}], "expires_days": 14}
    cfg = LabelerConfig.model_validate(
        {
            "categories": {"hate": "hate", "spam": "new-account"},
            "values": {**LabelerConfig().values, "new-account": expiring},
        }
    )
    issuer = LabelIssuer(store, SigningKey.generate(KeyType.SECP256K1), cfg)
    at = datetime.now(UTC) - timedelta(days=30)
    issuer.issue(SRC, POST, "bafycid", ["hate"], "hate", "hate: abuse-model", 1, at)
    issuer.issue(SRC, POST, None, ["new-account"], "spam", "spam: new account", None, at)
    issuer.negate(SRC, POST, "overturned on appeal", at + timedelta(days=15))  # new-account lapsed
    issuer.issue(SRC, POST, "bafycid", ["hate"], "hate", "hate: a moderator's verdict", 1, at + timedelta(days=16))
    issuer.issue(SRC, OTHER, None, ["spam"], "spam", "spam: link-farm", None, at)
    rotated = SigningKey.generate(KeyType.P256)
    LabelIssuer(store, rotated, cfg).resign(SRC)
    return rotated


def test_a_subjects_labels_and_their_history(store: Store, accounts: Accounts, profanity_scorer: object) -> None:
    seed(store, profanity_scorer, [("t1", "troll", "fuck off")])
    rotated = issue_history(store)

    async def test(client: TestClient) -> None:
        assert (await client.get("/labels", allow_redirects=False)).status == 303  # not logged in
        await login(client, "vic")  # a viewer may look: labels are public on the network anyway
        page = await (await client.get(f"/labels?subject={quote(POST)}")).text()
        assert statuses(page) == [
            ("1", "hate", "negated"),
            ("2", "new-account", "expired"),
            ("3", "hate", "negation"),
            ("4", "hate", "re-signed"),
            ("6", "hate", "in force"),
        ]
        assert re.search(r'id="in-force">In force: <code>hate</code>\.', page)
        assert "hate: a moderator&#39;s verdict" in page and "overturned on appeal" in page
        assert rotated.did_key in page and "https://bsky.app/profile/did:plc:author/post/3k" in page
        link = await (
            await client.get("/labels?subject=" + quote("https://bsky.app/profile/did:plc:author/post/3k"))
        ).text()
        assert statuses(link) == statuses(page)

        account = await (await client.get(f"/labels?subject={AUTHOR}")).text()
        posts = re.search(r'<ul id="account-posts">(.*?)</ul>', account, re.S)
        assert posts is not None and OTHER in posts[1] and POST in posts[1]
        assert "modbot has issued no label on this subject" in account  # nothing on the account itself

        recent = await (await client.get("/labels")).text()
        seqs = re.findall(r"<tr><td>(\d+)</td>", recent)
        assert seqs == sorted(seqs, key=int, reverse=True) and seqs[0] == "7"

        case = await (await client.get("/cases/1")).text()
        section = re.search(r'<section class="labels" id="case-labels">(.*?)</section>', case, re.S)
        assert section is not None and section[1].count("<li>") == 4  # 1, 3, 4 and 6 came from case 1

    run(store, test)


def test_what_is_not_a_subject_is_refused_and_escaped(store: Store, accounts: Accounts) -> None:
    async def test(client: TestClient) -> None:
        await login(client, "vic")
        for raw in (
            "hello",
            "at://did:plc:x/<script>alert(1)</script> x",
            "https://bsky.app/profile/alice.bsky.social/post/3k",
            "d" * 3000,
        ):
            resp = await client.get("/labels", params={"subject": raw})
            page = await resp.text()
            assert resp.status == 400 and 'id="subject-error"' in page and "<script>alert" not in page, raw
        hostile = await client.get("/labels", params={"subject": "at://did:plc:x/<script>alert(1)</script>"})
        page = await hostile.text()
        assert hostile.status == 200 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
        assert "modbot has issued no label on this subject" in page

    run(store, test)
