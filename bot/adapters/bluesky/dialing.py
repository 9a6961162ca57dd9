"""The firehose client as an operator needs to see it. The SDK redials by itself after a dropped
connection, with its own back-off; without a hook, a PDS outage left the adapter "connected" with
0 reconnects and nothing in the log. `DialingClient` tells the adapter each time it dials, so
every dial after the first counts as a reconnect and the adapter reads as disconnected until a
frame arrives. `lag_of` turns a commit's event time into how far behind the network modbot reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from atproto import AsyncFirehoseSubscribeReposClient

MAX_REDIAL_SECONDS = 15.0
"""The longest wait between dials. The SDK doubles its wait after each failed dial up to 64 s, so
after an outage of a minute the firehose stayed unread for up to another minute once the PDS was
back; 15 s still spaces the dials of many clients after a restart (the SDK adds jitter)."""


class DialingClient(AsyncFirehoseSubscribeReposClient):  # type: ignore[misc]
    def __init__(self, params: Any, base_uri: str, on_dial: Callable[[bool], None]) -> None:
        super().__init__(params, base_uri=base_uri)
        self._on_dial = on_dial
        self._dialled = False
        self._max_reconnect_delay_sec = MAX_REDIAL_SECONDS  # the SDK's own cap, read by its back-off

    async def _before_connect(self) -> None:
        """The SDK's hook, called before every dial, reconnects included."""
        self._on_dial(not self._dialled)
        self._dialled = True
        await super()._before_connect()


def lag_of(event_time: Any, now: datetime | None = None) -> float | None:
    """Seconds from a commit's `time` (when the network saw it) to now; None if it has none."""
    if not isinstance(event_time, str):
        return None
    try:
        when = datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, ((now or datetime.now(UTC)) - when).total_seconds())
