"""The dashboard end to end in a real browser: Debian's Chromium (tests/browser/install.sh), headless,
driven by Playwright, against `modbot web` running as its own process on a SQLite database that
`modbot scan` filled. Skips (saying why) without /usr/bin/chromium, unless MODBOT_REQUIRE_BROWSER=1
(CI) makes that a failure. Screenshots go to test-artifacts/ (docs/dashboard.md shows them)."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.cli import main
from tests.conftest import REPO, RULES_ONLY_TOML, SWEARING_FLAGGED, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("MODBOT_TEST_ARTIFACTS", REPO / "test-artifacts"))
PASSWORD = "correct horse battery"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">{{7*7}} fuck you all'
# Flags that keep Chromium from reaching for Google's services on a closed network.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists():
    if os.environ.get("MODBOT_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"MODBOT_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: run tests/browser/install.sh")
    pytest.skip(f"no {CHROMIUM}: run tests/browser/install.sh (as root) for the browser tests", allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A filled database, three accounts and `modbot web` serving it."""
    data = tmp_path_factory.mktemp("dashboard")
    kb = data / "knowledge"
    kb.mkdir()
    (kb / "rules.md").write_text("# Rules\n## Be kind\nNo insults or swearing at other members.\n")
    port = free_port()
    cfg = data / "modbot.toml"
    cfg.write_text(
        f'[web]\nport = {port}\n[reply]\nenabled = true\nknowledge_dir = "{kb}"\n' + SWEARING_FLAGGED + RULES_ONLY_TOML
    )
    posts = [{"id": "xss", "author": {"id": "m1", "handle": "<b>mallory</b>"}, "text": XSS}]
    posts += [{"id": f"t{i}", "author": f"troll{i}", "text": f"shut the fuck up number {i}"} for i in range(4)]
    posts += [{"id": "ok", "author": "bob", "text": "lovely tomatoes this year"}]
    feed = data / "feed.jsonl"
    feed.write_text("".join(json.dumps({"community": "garden", **p}) + "\n" for p in posts))
    env = {**os.environ, "MODBOT_DATA_DIR": str(data), "MODBOT_CONFIG": str(cfg)}
    env.pop("MODBOT_DATABASE_URL", None)
    saved = {k: os.environ.get(k) for k in ("MODBOT_DATA_DIR", "MODBOT_CONFIG", "MODBOT_DATABASE_URL")}
    os.environ.update({"MODBOT_DATA_DIR": str(data), "MODBOT_CONFIG": str(cfg)})
    os.environ.pop("MODBOT_DATABASE_URL", None)
    stdin = sys.stdin
    try:
        assert main(["scan", str(feed)]) == 0
        assert main(["drafts", "--write"]) == 0  # rule reminders: templates, no model needed
        for name, role in (("kate", "moderator"), ("vic", "viewer")):
            sys.stdin = io.StringIO(PASSWORD + "\n")
            assert main(["moderator", "add", name, "--role", role, "--password-stdin"]) == 0
    finally:
        sys.stdin = stdin
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    server = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "web"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    raise AssertionError(f"modbot web did not start: {output}") from exc
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", data / "modbot.db"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def _login(browser: object, base: str, name: str) -> object:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{base}/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/queue")
    return page


def _db(path: Path, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return rows


def test_moderator_works_the_queue_in_a_real_browser(site: tuple[str, Path], browser: object) -> None:
    base, db = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = _login(browser, base, "kate")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # type: ignore[attr-defined]

    # Filter the queue: profanity, highest score first.
    page.select_option('select[name="category"]', "profanity")
    page.select_option('select[name="sort"]', "score")
    page.click('#filters button[type="submit"]')
    page.wait_for_url("**/queue?*category=profanity*")
    assert page.locator("tr.case-row").count() == 5
    assert page.locator("#matching").inner_text() == "5"
    page.screenshot(path=str(ARTIFACTS / "queue.png"), full_page=True)

    # The case whose post carries a script: shown as text, nothing runs.
    page.click("text=#1")
    page.wait_for_url(f"{base}/cases/1")
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned=1</script>" in page.locator("#post-text").inner_text()
    assert page.locator("#post-text mark").first.inner_text() == "fuck"
    assert "{{7*7}}" in page.locator("#post-text").inner_text()
    page.screenshot(path=str(ARTIFACTS / "case.png"), full_page=True)

    # Approve the rule-reminder draft after editing it.
    draft = page.locator("textarea[id^='draft-text-']").first
    draft.fill("Please keep it kind here: no insults or swearing. Thanks!")
    page.click("button[id^='draft-send-']")
    page.wait_for_url(f"{base}/cases/1")
    assert _db(db, "SELECT status, text, decided_by FROM drafts WHERE id = 1") == [
        ("edited", "Please keep it kind here: no insults or swearing. Thanks!", "kate")
    ]
    reply = _db(db, "SELECT params FROM actions WHERE kind = 'reply'")
    assert len(reply) == 1 and "Please keep it kind here" in str(reply[0][0])

    # Resolve it with the keyboard shortcut for "remove".
    page.keyboard.press("r")
    page.wait_for_selector("text=closed: removed")

    # Bulk-remove three cases with one confirmation.
    page.goto(f"{base}/queue")
    for case_id in (2, 3, 4):
        page.check(f'input[name="case"][value="{case_id}"]')
    page.click('button[name="action"][value="remove"]')
    page.wait_for_selector("text=Remove 3 case(s)?")
    page.click("#confirm")
    page.wait_for_selector("text=results")
    assert page.locator("ul.results li").count() == 3
    closed = _db(db, "SELECT id, resolution, closed_by FROM cases WHERE state = 'closed' ORDER BY id")
    assert closed == [(1, "removed", "kate"), (2, "removed", "kate"), (3, "removed", "kate"), (4, "removed", "kate")]

    page.goto(f"{base}/stats")
    assert page.locator("svg.chart").count() == 3
    page.screenshot(path=str(ARTIFACTS / "stats.png"), full_page=True)

    # The CSRF token is enforced: the same session without it is refused.
    refused = page.request.post(f"{base}/cases/5/resolve", form={"verdict": "remove"})
    assert refused.status == 403
    assert dialogs == [] and page.evaluate("window.__pwned") is None
    assert not [e for e in errors if "Content Security Policy" in e]


def test_viewer_is_refused_actions(site: tuple[str, Path], browser: object) -> None:
    base, db = site
    page = _login(browser, base, "vic")
    page.goto(f"{base}/cases/5")
    assert page.locator('button[name="verdict"]').count() == 0
    csrf = page.request.get(f"{base}/api/me").json()["csrf"]
    refused = page.request.post(f"{base}/cases/5/resolve", form={"verdict": "approve", "csrf": csrf})
    assert refused.status == 403 and "moderator role" in refused.text()
    api = page.request.post(f"{base}/api/cases/5/resolve", data={"verdict": "approve"}, headers={"X-CSRF-Token": csrf})
    assert api.status == 403
    assert _db(db, "SELECT state FROM cases WHERE id = 5") == [("open",)]


def _write(path: Path, sql: str) -> None:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_moderator_retries_a_failed_action_and_answers_an_appeal(site: tuple[str, Path], browser: object) -> None:
    from bot.storage.db import make_engine
    from bot.storage.store import Store

    base, db = site
    # What the adapters leave behind: an action that failed for a missing permission, and an
    # appeal from the author of a flagged post (Discord's reply or Appeal button).
    [(action_id,)] = _db(db, "SELECT id FROM actions ORDER BY id LIMIT 1")
    _write(db, f"UPDATE actions SET state = 'failed', result = 'missing Moderate Members' WHERE id = {action_id}")
    [(case_id, author)] = _db(
        db,
        "SELECT cases.id, posts.author_id FROM cases JOIN posts ON posts.id = cases.post_id "
        "WHERE cases.state = 'open' ORDER BY cases.id DESC LIMIT 1",
    )
    store = Store(make_engine(f"sqlite:///{db}"))
    store.open_appeal(int(case_id), str(author), "I was quoting a song", "discord reply", None)
    store.engine.dispose()

    page = _login(browser, base, "kate")
    page.goto(f"{base}/actions")
    row = page.locator("tr", has_text="missing Moderate Members")
    row.locator('button:has-text("Retry")').click()
    page.wait_for_url(f"{base}/actions*")
    assert "Re-queued 1 action" in page.content()
    assert _db(db, f"SELECT state, attempts FROM actions WHERE id = {action_id}") == [("pending", 0)]
    audit = f"SELECT count(*) FROM audit_log WHERE action = 'action.retried' AND target_id = '{action_id}'"
    assert _db(db, audit) == [(1,)]

    page.goto(f"{base}/cases/{case_id}")
    assert "I was quoting a song" in page.locator("section.appeal").inner_text()
    page.fill('section.appeal input[name="note"]', "quotes are fine, this one was not")
    page.click("#appeal-uphold")
    page.wait_for_url(f"{base}/cases/{case_id}*")
    assert _db(db, f"SELECT state FROM appeals WHERE case_id = {case_id}") == [("upheld",)]
    assert _db(db, f"SELECT state FROM cases WHERE id = {case_id}") == [("closed",)]
    page.screenshot(path=str(ARTIFACTS / "case-appeal.png"), full_page=True)


def test_viewer_follows_a_label_from_the_newest_to_its_history(site: tuple[str, Path], browser: object) -> None:
    from bot.config.labeler import LabelerConfig
    from bot.labeler.issuer import LabelIssuer
    from bot.labeler.signing import KeyType, SigningKey
    from bot.storage.db import make_engine
    from bot.storage.store import Store

    base, db = site
    post = "at://did:plc:author/app.bsky.feed.post/3k"
    store = Store(make_engine(f"sqlite:///{db}"))
    issuer = LabelIssuer(store, SigningKey.generate(KeyType.SECP256K1), LabelerConfig())
    issuer.issue("did:plc:modbot", post, None, ["hate"], "hate", "hate: abuse-model", None)
    issuer.negate("did:plc:modbot", post, "overturned on appeal")
    store.engine.dispose()

    page = _login(browser, base, "vic")
    page.click('nav a:has-text("Labels")')
    page.wait_for_url(f"{base}/labels")
    page.locator("#recent a", has_text=post).first.click()
    page.wait_for_url(lambda url: "/labels?subject=" in url)
    history = page.locator("#history").inner_text()
    assert "negated" in history and "negation" in history and "overturned on appeal" in history
    assert page.locator("#in-force").inner_text() == "In force: none."
    page.screenshot(path=str(ARTIFACTS / "labels.png"), full_page=True)
