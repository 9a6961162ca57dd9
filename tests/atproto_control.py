"""The control channel of the AT Protocol test stack (tests/atproto/stack.mjs): after its one JSON info
line the stack reads requests on stdin, one JSON line each, ``{"id": n, "op": ..., ...}``, and answers
each with one line on stdout, ``{"id": n, "ok": true, ...}`` or ``{"id": n, "ok": false, "error": ...}``.

Ops: ``plc_token`` (did) -> token, requested_at; ``follow_labels`` (did, url) -> service;
``label_stats`` -> accepted, rejected, last_seq, errors, ingesters; ``process`` -> nothing more.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import IO, Any


class StackControl:
    """Sends control requests to the stack and waits for the matching answers.

    A reader thread drains the stack's stdout (so the stack never blocks on a full pipe) and files
    each answer under its id; callers on any thread wait for theirs. Lines that are not answers are
    skipped.
    """

    def __init__(self, stdin: IO[str], stdout: IO[str], timeout: float = 30.0) -> None:
        self._stdin = stdin
        self._stdout = stdout
        self.timeout = timeout
        self._lock = threading.Lock()  # one writer at a time, and guards the fields below
        self._answered = threading.Condition(self._lock)
        self._answers: dict[int, dict[str, Any]] = {}
        self._next_id = 0
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="atproto-stack-control", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for line in self._stdout:
                try:
                    answer = json.loads(line)
                except ValueError:
                    continue
                if isinstance(answer, dict) and isinstance(answer.get("id"), int):
                    with self._answered:
                        self._answers[answer["id"]] = answer
                        self._answered.notify_all()
        except (OSError, ValueError):  # the pipe went away under us
            pass
        finally:
            with self._answered:
                self._closed = True
                self._answered.notify_all()

    def __call__(self, op: str, **fields: Any) -> dict[str, Any]:
        """Runs ``op`` in the stack; returns the answer's fields (without id and ok). Raises
        AssertionError when the stack reports an error, has gone, or takes longer than the timeout."""
        with self._answered:
            if self._closed:
                raise AssertionError(f"the test stack is gone; cannot run {op}")
            self._next_id += 1
            request_id = self._next_id
            try:
                self._stdin.write(json.dumps({**fields, "id": request_id, "op": op}) + "\n")
                self._stdin.flush()
            except (OSError, ValueError) as exc:
                raise AssertionError(f"cannot send {op} to the test stack: {exc}") from exc
            if not self._answered.wait_for(lambda: request_id in self._answers or self._closed, self.timeout):
                raise AssertionError(f"the test stack did not answer {op} within {self.timeout:.0f} s")
            if request_id not in self._answers:
                raise AssertionError(f"the test stack exited before it answered {op}")
            answer = self._answers.pop(request_id)
        if not answer.get("ok"):
            raise AssertionError(f"the test stack could not {op}: {answer.get('error')}")
        return {key: value for key, value in answer.items() if key not in ("id", "ok")}

    async def acall(self, op: str, **fields: Any) -> dict[str, Any]:
        """The same from async code, without blocking the event loop while the stack works."""
        return await asyncio.to_thread(self, op, **fields)
