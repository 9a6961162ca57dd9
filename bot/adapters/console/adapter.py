"""The console platform: posts from a JSON Lines file, a watched folder of them, or standard input.

For files the cursor is the byte offset after the last line handed over, stored in the same
transaction as the posts it covers: a restart continues exactly where the last run stopped.
"Carrying out" an action on this platform means appending it to a JSON Lines actions log, which
is what a script or a human downstream acts on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bot.adapters.base import PostSink
from bot.adapters.console.convert import PLATFORM, LineError, parse_line
from bot.storage.records import ActionRecord, CursorUpdate
from moderation.types import Post, Quarantined

log = logging.getLogger(__name__)
_CHUNK_LINES = 64
_EOF = -1
_Line = tuple[int, bytes | None]
"""(line number, the line's bytes or None when it was over the size limit)."""


@dataclass
class IngestStats:
    """What the adapter saw, for progress bars and summaries."""

    lines: int = 0
    posts: int = 0
    accepted: int = 0
    errors: list[LineError] = field(default_factory=list)
    bytes_read: int = 0
    post_keys: list[tuple[str, str]] = field(default_factory=list)
    """(community, id) of every post read, so a summary can include ones decided by earlier runs."""


class ConsoleAdapter:
    platform = PLATFORM

    def __init__(
        self,
        sink: PostSink,
        source: str,
        community: str = "console",
        follow: bool = False,
        poll_seconds: float = 1.0,
        max_chars: int = 200_000,
        actions_log: Path | None = None,
        on_progress: Callable[[IngestStats], None] | None = None,
    ) -> None:
        self.sink = sink
        self.source = source
        self.community = community
        self.follow = follow
        self.poll_seconds = poll_seconds
        self.max_chars = max_chars
        self.max_line_bytes = max_chars * 4 + 65_536
        self.actions_log = actions_log
        self.on_progress = on_progress
        self.stats = IngestStats()
        self._stopping = asyncio.Event()
        self._actions_lock = threading.Lock()
        self._cursors: dict[str, tuple[int, int]] = {}
        """Where each file was handed over up to, by this process (the store has the same)."""

    reconnects = 0
    """A file or stdin never disconnects."""

    @property
    def frames(self) -> int:
        return self.stats.lines

    lag: float | None = None
    """A post's time in a file is the author's, not when the file was written."""

    def connected(self) -> bool:
        return True

    def can_act(self) -> bool:
        return True

    def stop(self) -> None:
        self._stopping.set()

    # --- reading ----------------------------------------------------------------------------------

    async def run(self) -> None:
        if self.source == "-":
            await self._run_stdin()
            return
        path = Path(self.source)
        if path.is_dir():
            await self._run_folder(path)
        elif path.is_file() or self.follow:
            await self._run_file(path)
        else:
            raise FileNotFoundError(f"console source {self.source} does not exist")

    async def _run_folder(self, folder: Path) -> None:
        while not self._stopping.is_set():
            for path in sorted(folder.glob("*.jsonl")):
                if self._stopping.is_set():
                    return
                await self._run_file(path, follow=False)
            if not self.follow:
                return
            await self._sleep()

    async def _run_file(self, path: Path, follow: bool | None = None) -> None:
        follow = self.follow if follow is None else follow
        key = str(path.resolve())
        if key in self._cursors:  # this process wrote it last: no need to ask the database
            offset, line_no = self._cursors[key]
        else:
            offset, line_no = _parse_cursor(await self.sink.cursor(PLATFORM, key, self._stopping))
        while not self._stopping.is_set():
            if not path.exists():
                if not follow:
                    raise FileNotFoundError(f"console source {path} does not exist")
                await self._sleep()
                continue
            size = path.stat().st_size
            if size < offset:  # truncated or replaced: start again from the top
                log.warning("%s shrank below its cursor (%d < %d); reading it from the start", path, size, offset)
                offset, line_no = 0, 0
            chunk, offset_after, line_after = await asyncio.to_thread(
                _read_lines, path, offset, line_no, self.max_line_bytes, not follow
            )
            if not chunk:
                if not follow:
                    return
                await self._sleep()
                continue
            cursor = CursorUpdate(PLATFORM, key, f"{offset_after}:{line_after}")
            await self._hand_over(chunk, path.name, cursor)
            offset, line_no = offset_after, line_after
            self._cursors[key] = (offset, line_no)

    async def _run_stdin(self) -> None:
        """stdin cannot be re-read, so there is no cursor: what was submitted is accepted, and on
        SIGTERM reading stops between lines."""
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[_Line] = asyncio.Queue(maxsize=_CHUNK_LINES * 4)
        stream = sys.stdin.buffer

        def reader() -> None:  # a daemon thread: a blocked read must not keep the process alive
            for n, raw in enumerate(_iter_lines(stream, self.max_line_bytes), start=1):
                asyncio.run_coroutine_threadsafe(lines.put((n, raw)), loop).result()
            asyncio.run_coroutine_threadsafe(lines.put((_EOF, None)), loop).result()

        threading.Thread(target=reader, name="modbot-stdin", daemon=True).start()
        done = False
        while not done and not self._stopping.is_set():
            first = await self._next_or_stop(lines)
            if first is None:
                return
            chunk = [first]
            while len(chunk) < _CHUNK_LINES and not lines.empty():
                chunk.append(lines.get_nowait())
            done = chunk[-1][0] == _EOF
            await self._hand_over([c for c in chunk if c[0] != _EOF], "stdin", None)

    async def _next_or_stop(self, lines: asyncio.Queue[_Line]) -> _Line | None:
        get = asyncio.ensure_future(lines.get())
        stop = asyncio.ensure_future(self._stopping.wait())
        finished, _ = await asyncio.wait({get, stop}, return_when=asyncio.FIRST_COMPLETED)
        if get in finished:
            stop.cancel()
            return get.result()
        get.cancel()
        return None

    async def _hand_over(self, chunk: list[_Line], source: str, cursor: CursorUpdate | None) -> None:
        posts: list[Post] = []
        bad: list[Quarantined] = []
        for line_no, raw in chunk:
            self.stats.lines += 1
            self.stats.bytes_read += len(raw or b"")
            if raw is None:
                parsed: Post | LineError | None = LineError(
                    source, line_no, f"line longer than {self.max_line_bytes} bytes; line skipped"
                )
            else:
                parsed = parse_line(raw, line_no, source, self.community, self.max_chars)
            if isinstance(parsed, LineError):
                self.stats.errors.append(parsed)
                bad.append(Quarantined(PLATFORM, source, f"line {line_no}", parsed.message, raw or b""))
            elif parsed is not None:
                posts.append(parsed)
                self.stats.post_keys.append((parsed.community, parsed.id))
        self.stats.posts += len(posts)
        await self.sink.quarantine(bad)  # first: the cursor in submit moves past these lines too
        self.stats.accepted += await self.sink.submit(posts, cursor)
        if self.on_progress is not None:
            self.on_progress(self.stats)

    async def _sleep(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.poll_seconds)

    # --- acting -----------------------------------------------------------------------------------

    async def execute(self, action: ActionRecord) -> str:
        if self.actions_log is None:
            raise RuntimeError("console adapter has no actions_log")
        entry = {
            "action_id": action.id,
            "at": datetime.now(UTC).isoformat(),
            "action": action.kind,
            "params": action.params,
            "post_id": action.platform_ref.get("post_id"),
            "community": action.platform_ref.get("community"),
            "channel": action.platform_ref.get("channel"),
            "author_id": action.platform_ref.get("author_id"),
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        await asyncio.to_thread(self._append, line)
        return f"appended to {self.actions_log}"

    def _append(self, line: str) -> None:
        assert self.actions_log is not None
        with self._actions_lock:
            self.actions_log.parent.mkdir(parents=True, exist_ok=True)
            with self.actions_log.open("a", encoding="utf-8") as f:
                f.write(line)


def _parse_cursor(value: str | None) -> tuple[int, int]:
    if not value:
        return 0, 0
    offset, _, line = value.partition(":")
    return int(offset), int(line or 0)


def _iter_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Lines of a stream, None standing for a line over max_bytes (never held in memory whole)."""
    while raw := stream.readline(max_bytes):
        if len(raw) >= max_bytes and not raw.endswith(b"\n"):
            _skip_rest_of_line(stream, max_bytes)
            yield None
        else:
            yield raw


def _skip_rest_of_line(stream: BinaryIO, max_bytes: int) -> None:
    while (rest := stream.readline(max_bytes)) and not rest.endswith(b"\n"):
        pass


def _read_lines(
    path: Path, offset: int, line_no: int, max_bytes: int, at_eof_take_partial: bool
) -> tuple[list[_Line], int, int]:
    """Up to _CHUNK_LINES lines from `offset`. A last line without a newline is taken only when the
    file is not being followed (a writer may still be appending to it)."""
    out: list[_Line] = []
    with path.open("rb") as f:
        f.seek(offset)
        while len(out) < _CHUNK_LINES:
            start = f.tell()
            raw = f.readline(max_bytes)
            if not raw:
                break
            line: bytes | None = raw
            if not raw.endswith(b"\n"):
                if len(raw) >= max_bytes:
                    _skip_rest_of_line(f, max_bytes)
                    line = None
                elif not at_eof_take_partial:
                    f.seek(start)
                    break
            line_no += 1
            out.append((line_no, line))
            offset = f.tell()
    return out, offset, line_no
