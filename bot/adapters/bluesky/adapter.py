"""The Bluesky adapter: reads posts from a repo firehose (or the bot's notifications) with the
atproto SDK, and carries out Bluesky's moderation actions for the bot account.

The firehose cursor is stored in the same transaction as the posts it covers, so a restart
resumes with no gap, and posts are idempotent by at-uri, so a replayed frame decides nothing
twice. A frame that cannot be decoded goes to the quarantine with its seq and is skipped; a dropped connection
is retried with backoff from the stored cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from atproto import (
    CAR,
    AsyncClient,
    firehose_models,
    models,
    parse_subscribe_repos_message,
)
from atproto_client.exceptions import (
    AtProtocolError,
    BadRequestError,
    UnauthorizedError,
)

from bot.adapters.base import ActionFailed, LabelSink, PostSink, raw_bytes
from bot.adapters.bluesky.actions import carry_out
from bot.adapters.bluesky.authors import AuthorDirectory
from bot.adapters.bluesky.convert import PLATFORM, POST_COLLECTION, RecordError, post_from_record, rkey_of
from bot.adapters.bluesky.dialing import MAX_REDIAL_SECONDS, DialingClient, lag_of
from bot.adapters.bluesky.errors import REQUEST_FAILED
from bot.adapters.bluesky.notifications import MAX_PAGES, PAGE, Notification, unread
from bot.config import BlueskyConfig
from bot.storage.db import DatabaseError
from bot.storage.records import ActionRecord, CursorUpdate
from moderation.types import Author, Post, Quarantined

log = logging.getLogger(__name__)
_CURSOR_EVERY_SECONDS = 5.0
BATCH = 256
BATCH_SECONDS = 0.25
"""posts from the firehose are stored (with the cursor) a batch at a time: when BATCH are waiting,
or BATCH_SECONDS after the first of them, whichever comes first"""


class BlueskyAdapter:
    platform = PLATFORM

    def __init__(self, config: BlueskyConfig, password: str, sink: PostSink, labels: LabelSink | None = None) -> None:
        self.config = config
        self.password = password
        self.sink = sink
        self.labels = labels
        self.client = AsyncClient(base_url=config.service)
        self.did = ""
        self.community = config.community
        self._watched: set[str] = set()
        self.authors = AuthorDirectory(self.client, config.plc_directory)
        self._pending: list[Post] = []
        self._flushing = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._firehose: DialingClient | None = None
        self._stop_task: asyncio.Future[None] | None = None
        self._seq: int | None = None
        self._cursor_saved_at = 0.0
        self._last_action = 0.0
        self._action_lock = asyncio.Lock()
        self.frames = 0
        self.reconnects = 0
        self.lag: float | None = None
        self._connected = False
        self._bad: list[Quarantined] = []
        self.skipped: list[str] = []
        """Why records or frames were skipped (seq and reason), for operators and tests."""

    # --- lifecycle --------------------------------------------------------------------------------

    async def _login(self) -> None:
        await self.client.login(self.config.handle, self.password, fetch_bsky_profile=False)
        session = await self.client.com.atproto.server.get_session()
        self.did = session.did
        self.community = self.community or session.handle
        self._watched = {self.did}
        for account in self.config.watch_accounts:
            self._watched.add(await self._resolve(account))

    async def _resolve(self, handle_or_did: str) -> str:
        if handle_or_did.startswith("did:"):
            return handle_or_did
        resolved = await self.client.com.atproto.identity.resolve_handle({"handle": handle_or_did})
        return str(resolved.did)

    async def run(self) -> None:
        try:
            await self._login()
        except AtProtocolError as exc:
            raise RuntimeError(
                f"Bluesky login as {self.config.handle!r} at {self.config.service} failed: {exc} "
                f"(use an app password in ${self.config.password_env})"
            ) from exc
        log.info("bluesky: logged in as %s (%s); source %s", self.community, self.did, self.config.source)
        if self.config.source == "notifications":
            await self._run_notifications()
        else:
            await self._run_firehose()

    def connected(self) -> bool:
        return self._connected

    def can_act(self) -> bool:
        """Actions need the session only, not the firehose."""
        return bool(self.did)

    def stop(self) -> None:
        self._stopping.set()
        if self._firehose is not None:
            self._stop_task = asyncio.ensure_future(self._firehose.stop())

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- firehose -------------------------------------------------------------------------------

    async def _run_firehose(self) -> None:
        key = self.config.firehose_url
        stored = await self.sink.cursor(PLATFORM, key, self._stopping)
        self._seq = int(stored) if stored else self.config.firehose_start_cursor
        ticker = asyncio.create_task(self._flush_every(BATCH_SECONDS))
        try:
            await self._firehose_until_stopped(key)
        finally:
            ticker.cancel()
            try:
                await self._flush()
                await self._save_cursor(force=True)
            except DatabaseError as exc:  # not stored, so not past the cursor: the next start reads them again
                log.warning("bluesky: posts waiting at shutdown were not stored: %s", exc)
            await self.authors.close()

    async def _firehose_until_stopped(self, key: str) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            params = models.ComAtprotoSyncSubscribeRepos.Params(cursor=self._seq) if self._seq is not None else None
            client = DialingClient(params, key, self._dialing)
            self._firehose = client
            frames_before = self.frames
            try:
                await client.start(self._on_frame, self._on_callback_error)
            except Exception as exc:  # the SDK raises on connection failures it does not retry itself
                log.warning("bluesky firehose %s: %s", key, exc)
            self._connected = False
            if self._stopping.is_set():
                break
            self.reconnects += 1
            backoff = 1.0 if self.frames > frames_before else min(backoff * 2, MAX_REDIAL_SECONDS)
            log.warning("bluesky firehose %s closed; reconnecting from seq %s in %.0fs", key, self._seq, backoff)
            await self._flush()
            await self._sleep(backoff)

    def _dialing(self, first: bool) -> None:
        self._connected = False
        if not first:
            self.reconnects += 1
            log.warning(
                "bluesky firehose %s: connection lost; redialling from seq %s", self.config.firehose_url, self._seq
            )

    async def _on_frame(self, frame: firehose_models.MessageFrame) -> None:
        message = parse_subscribe_repos_message(frame)
        seq = getattr(message, "seq", None)
        self.frames += 1
        self._connected = True
        if (lag := lag_of(getattr(message, "time", None))) is not None:
            self.lag = lag
        if isinstance(message, models.ComAtprotoSyncSubscribeRepos.Commit):
            self._pending.extend(self._posts_of(message))
        # no await between taking a frame's posts and moving past its seq: whenever a flush
        # starts, the posts waiting cover every frame up to self._seq
        if seq is not None:
            self._seq = int(seq)
            if self._firehose is not None:
                self._firehose.update_params(models.ComAtprotoSyncSubscribeRepos.Params(cursor=self._seq))
        if len(self._pending) >= BATCH:
            await self._flush()
        elif self._bad:
            await self._hand_over_skipped()
        if not self._pending:
            await self._save_cursor()

    async def _flush_every(self, seconds: float) -> None:
        """Posts wait at most `seconds` when the firehose goes quiet."""
        while True:
            await asyncio.sleep(seconds)
            try:
                await self._flush()
            except DatabaseError as exc:  # ingest stopped: the cursor did not move past them
                log.warning("bluesky: a batch of posts was not stored: %s", exc)

    async def _flush(self) -> None:
        """Store the waiting posts and the cursor past them in one transaction, their authors
        looked up together first."""
        async with self._flushing:
            posts, self._pending, seq = self._pending, [], self._seq
            await self._hand_over_skipped()
            if not posts:
                return
            authors = await self.authors.authors((p.author.id for p in posts), {p.author.id for p in posts if p.links})
            posts = [replace(p, author=authors.get(p.author.id, p.author)) for p in posts]
            await self.sink.submit(posts, CursorUpdate(PLATFORM, self.config.firehose_url, str(seq)))
            self._cursor_saved_at = time.monotonic()

    def _posts_of(self, commit: Any) -> list[Post]:
        """The watched new posts of a commit, with their authors' ids only (looked up at the flush)."""
        try:
            car = CAR.from_bytes(commit.blocks)
        except Exception as exc:
            self._skip(commit.seq, f"commit blocks of {commit.repo} do not decode: {exc}", bytes(commit.blocks))
            return []
        posts = []
        for op in commit.ops:
            if op.action != "create" or not op.path.startswith(POST_COLLECTION + "/"):
                continue  # other collections and record types are not posts
            uri = f"at://{commit.repo}/{op.path}"
            record = car.blocks.get(op.cid) if op.cid is not None else None
            if not isinstance(record, dict):
                self._skip(commit.seq, f"{uri}: record block missing or not a map")
                continue
            try:
                post = post_from_record(
                    commit.repo, rkey_of(op.path), str(op.cid), record, self.community, Author(id=commit.repo)
                )
            except RecordError as exc:
                self._skip(commit.seq, f"{uri}: {exc}", raw_bytes(record))
                continue
            if post.author.id != self.did and self._wanted(post):
                posts.append(self._marked(post))
        return posts

    def _skip(self, seq: Any, why: str, raw: bytes = b"") -> None:
        """Note what was skipped; it goes to the quarantine with the next hand-over (`_hand_over_skipped`)."""
        source = self.config.firehose_url if seq != "notification" else "notifications"
        self._bad.append(Quarantined(PLATFORM, source, f"seq {seq}", why, raw))
        self.skipped.append(f"seq {seq}: {why}")
        del self.skipped[:-1000]  # the sink logs each one

    async def _hand_over_skipped(self) -> None:
        bad, self._bad = self._bad, []
        await self.sink.quarantine(bad)

    async def _on_callback_error(self, exc: BaseException) -> None:
        self._skip(self._seq, f"frame after seq {self._seq} failed: {type(exc).__name__}: {exc}")

    async def _save_cursor(self, force: bool = False) -> None:
        """The cursor alone, for a stretch of frames with no posts: never past posts not yet stored."""
        if self._seq is None or self._pending or self._flushing.locked():
            return
        if not force and time.monotonic() - self._cursor_saved_at < _CURSOR_EVERY_SECONDS:
            return
        self._cursor_saved_at = time.monotonic()
        try:
            cursor = CursorUpdate(PLATFORM, self.config.firehose_url, str(self._seq))
            await self.sink.save_cursor(cursor)
        except DatabaseError as exc:  # the next save catches up; a replay after a crash is idempotent
            log.warning("bluesky: could not save the firehose cursor: %s", exc)

    def _wanted(self, post: Post) -> bool:
        match self.config.watch:
            case "all":
                return True
            case "mentions":
                return self.did in post.mentions
            case "accounts":
                return post.author.id in self._watched
            case "replies":
                root = post.thread_root
                return root is not None and root.removeprefix("at://").split("/", 1)[0] in self._watched
        return False

    def _marked(self, post: Post) -> Post:
        """Flag posts addressed to the bot (a mention, or a reply to one of its posts): questions
        for the reply assistant, which stays silent when its knowledge does not answer. Only a
        mention earns the canned `mention_reply`: a reply under the bot's post is often a member
        asking the others ("anyone know a bike shop?"). And say what cannot be done to the post:
        only a thread's author may hide its replies, so `hide_reply` is planned only in the bot's
        own threads (elsewhere it would fail, log an error and spend a rate-limit slot)."""
        marks: dict[str, object] = {}
        mentioned = self.did in post.mentions
        if mentioned or (post.reply_to or "").startswith(f"at://{self.did}/"):
            marks |= {"asks_bot": True, **({"mentions_bot": True} if mentioned else {})}
        if not (post.thread_root or "").startswith(f"at://{self.did}/"):
            marks["impossible"] = ["hide_reply"]
        return replace(post, platform_ref={**post.platform_ref, **marks}) if marks else post

    # --- notifications --------------------------------------------------------------------------

    async def _run_notifications(self) -> None:
        """Mentions, replies and quotes of the bot account, polled (needs an AppView), each read
        once: the mark of the newest handled is stored with the posts it covers."""
        key = f"notifications:{self.did}"
        mark = await self.sink.cursor(PLATFORM, key, self._stopping)
        while not self._stopping.is_set():
            try:
                found = await unread(self.client, mark, self.config.notifications_backfill)
                if not found.complete:
                    log.warning("bluesky notifications: over %d since the last poll, older not read", PAGE * MAX_PAGES)
                posts = [p for n in found.notifications if (p := self._notified(n)) is not None]
                await self._hand_over_skipped()
                if posts or found.mark != mark:
                    cursor = CursorUpdate(PLATFORM, key, found.mark) if found.mark else None
                    await self.sink.submit(posts, cursor)
                    mark = found.mark
                self._connected = True
            except REQUEST_FAILED as exc:
                log.warning("bluesky notifications: %s", why(exc))
                self.reconnects += self._connected
                self._connected = False
            await self._sleep(self.config.poll_seconds)

    def _notified(self, n: Notification) -> Post | None:
        record = models.get_model_as_dict(n.record)
        try:
            author = Author(id=n.author.did, handle=n.author.handle)
            post = post_from_record(n.author.did, rkey_of(n.uri), n.cid, record, self.community, author)
        except RecordError as exc:
            self._skip("notification", f"{n.uri}: {exc}", raw_bytes(record))
            return None
        return self._marked(post)

    # --- actions --------------------------------------------------------------------------------

    async def execute(self, action: ActionRecord) -> str:
        async with self._action_lock:  # rate limit: actions_per_minute, spaced evenly
            wait = self._last_action + 60.0 / self.config.actions_per_minute - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_action = time.monotonic()
        try:
            try:
                return await carry_out(self.client, self.did, self.config, action, self.labels)
            except (UnauthorizedError, BadRequestError) as exc:
                if "ExpiredToken" not in str(exc) and not isinstance(exc, UnauthorizedError):
                    raise
                log.info("bluesky: session expired; logging in again")
                await self._login()
                return await carry_out(self.client, self.did, self.config, action, self.labels)
        except REQUEST_FAILED as exc:
            response = getattr(exc, "response", None)  # httpx's own errors carry none
            status = response.status_code if response is not None else None
            if status is not None and 400 <= status < 500 and status != 429:
                raise ActionFailed(f"Bluesky refused {action.kind} ({status}): {why(exc)}", retryable=False) from exc
            raise ActionFailed(f"Bluesky {action.kind} failed: {why(exc)}") from exc


def why(exc: BaseException) -> str:
    """What went wrong, never empty: the SDK's transport errors carry no message of their own (the
    httpx error that caused them says "connection refused"), and an action that failed during an
    outage must say so in the outbox and the log."""
    text = str(exc).strip()
    if text:
        return text
    cause = exc.__cause__ or exc.__context__
    if cause is None:
        return type(exc).__name__
    return f"{type(exc).__name__}: {type(cause).__name__}: {str(cause).strip() or 'no detail'}"
