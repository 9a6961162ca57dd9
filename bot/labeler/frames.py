"""subscribeLabels' wire format: each WebSocket message is two DAG-CBOR objects back to back, a
header (`op` 1 and the message type, or `op` -1 for an error) and the body."""

from __future__ import annotations

from typing import Any

import libipld


def labels_frame(seq: int, labels: list[dict[str, Any]]) -> bytes:
    return _frame({"op": 1, "t": "#labels"}, {"seq": seq, "labels": labels})


def info_frame(name: str, message: str) -> bytes:
    """`OutdatedCursor`: the cursor is older than what the labeler keeps; the stream goes on."""
    return _frame({"op": 1, "t": "#info"}, {"name": name, "message": message})


def error_frame(error: str, message: str) -> bytes:
    """`FutureCursor`: the cursor is ahead of the stream; the connection closes after it."""
    return _frame({"op": -1}, {"error": error, "message": message})


def _frame(header: dict[str, Any], body: dict[str, Any]) -> bytes:
    return bytes(libipld.encode_dag_cbor(header)) + bytes(libipld.encode_dag_cbor(body))
