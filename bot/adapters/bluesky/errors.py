"""What the atproto SDK raises when Bluesky cannot be reached. Its own errors (AtProtocolError,
with NetworkError for a failed transport) cover most calls, but a connection the server resets
before answering surfaces as httpx's RemoteProtocolError, unwrapped. Caught as the SDK's errors
alone, that stalled ingest for as long as an outage lasted (an author lookup failed the batch)
and would have ended the notifications poll."""

from __future__ import annotations

import httpx
from atproto_client.exceptions import AtProtocolError, RequestErrorBase

UNREACHABLE: tuple[type[Exception], ...] = (AtProtocolError, httpx.TransportError)
"""any call to the PDS or AppView that failed for want of an answer, or with one"""
REQUEST_FAILED: tuple[type[Exception], ...] = (RequestErrorBase, httpx.TransportError)
"""a request that failed: refused by the server (with a status) or cut off (without one)"""
