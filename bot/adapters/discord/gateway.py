"""How the gateway's frames are compressed, chosen per client by `[adapters.discord] compression`.

discord.py always asks for zstd-stream when a zstd module is importable (atproto brings one) and
zlib-stream otherwise, and always announces payload compression in IDENTIFY; it has no setting.
Discord-compatible servers differ: some speak only zlib-stream, some compress each payload on its
own, some nothing. So modbot rewrites the `compress` query of the gateway URL, the IDENTIFY flag
and the websocket's decompressor for its own client only (the hooks are the client's HTTP
session and connection state, which every shard's websocket passes through), and a binary frame
that fits no stream is decoded as a whole zlib message with a warning naming the setting, rather
than buffered forever.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import discord
import yarl
import zstandard

from bot.config import DiscordCompression as Compression

log = logging.getLogger(__name__)

_SYNC_FLUSH = b"\x00\x00\xff\xff"
MAX_MESSAGE = 64 * 1024 * 1024
"""A compressed gateway message larger than this is a broken stream, not a big guild."""


class Guarded:
    """A frame that cannot be read reconnects the shard (a fresh stream) instead of stopping the
    client, which treats any other error from a websocket read as fatal. The frame's bytes are not
    logged: they may hold messages."""

    def __init__(self, inner: Decompressor, shard_id: int | None) -> None:
        self.inner = inner
        self.shard_id = shard_id
        self.COMPRESSION_TYPE = inner.COMPRESSION_TYPE

    def decompress(self, data: bytes, /) -> str | None:
        try:
            return self.inner.decompress(data)
        except (zlib.error, zstandard.ZstdError, UnicodeDecodeError, ValueError) as exc:
            log.warning(
                "a Discord gateway frame could not be read (%s: %s); reconnecting. If this repeats, check "
                "[adapters.discord] compression",
                type(exc).__name__,
                exc,
            )
            raise discord.gateway.ReconnectWebSocket(self.shard_id) from exc


class Decompressor(Protocol):
    COMPRESSION_TYPE: str

    def decompress(self, data: bytes, /) -> str | None: ...


class ZlibStream:
    """Bytes of one stream until a message's sync flush; a whole zlib message the server sent on
    its own (payload compression) is read too, once the buffer holds a complete one."""

    COMPRESSION_TYPE = Compression.ZLIB_STREAM.value

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.context = zlib.decompressobj()
        self.warned = False
        self.started = False

    def decompress(self, data: bytes, /) -> str | None:
        if not self.started and not self.buffer and data.startswith(b"{"):
            return data.decode("utf-8")  # plain JSON in a binary frame: the server compresses nothing
        self.buffer.extend(data)
        if self.buffer.endswith(_SYNC_FLUSH):
            text = self.context.decompress(bytes(self.buffer)).decode("utf-8")
            self.buffer.clear()
            self.started = True
            return text
        if len(self.buffer) > MAX_MESSAGE:
            raise ValueError(f"a gateway message over {MAX_MESSAGE} bytes never reached its sync flush")
        # Only a message in one frame can be a whole zlib message (trying every partial frame
        # again would be quadratic in a large READY split over many frames).
        whole = _whole_zlib(data) if len(self.buffer) == len(data) else None
        if whole is None:
            return None
        if not self.warned:
            self.warned = True
            log.warning(
                "the Discord gateway sent a payload compressed on its own while modbot asked for %s: "
                "set [adapters.discord] compression = 'payload' for this server",
                Compression.ZLIB_STREAM,
            )
        self.buffer.clear()
        return whole


class ZstdStream:
    COMPRESSION_TYPE = Compression.ZSTD_STREAM.value

    def __init__(self) -> None:
        self.context = zstandard.ZstdDecompressor().decompressobj()

    def decompress(self, data: bytes, /) -> str | None:
        return self.context.decompress(data).decode("utf-8") or None  # nothing yet: a message split over frames


class WholeMessages:
    """Payload compression (each binary frame a complete zlib message), and the plain mode, where
    a server should send text but a binary frame is read the same way rather than dropped."""

    COMPRESSION_TYPE = Compression.PAYLOAD.value

    def decompress(self, data: bytes, /) -> str | None:
        whole = _whole_zlib(data)
        return whole if whole is not None else data.decode("utf-8")


def _whole_zlib(data: bytes) -> str | None:
    context = zlib.decompressobj()
    try:
        text = context.decompress(data)
    except zlib.error:
        return None
    return text.decode("utf-8") if context.eof else None


Send = Callable[[Any], Coroutine[Any, Any, None]]

_DECOMPRESSORS: dict[Compression, Callable[[], Decompressor]] = {
    Compression.ZLIB_STREAM: ZlibStream,
    Compression.ZSTD_STREAM: ZstdStream,
    Compression.PAYLOAD: WholeMessages,
    Compression.NONE: WholeMessages,
}


def gateway_url(url: str, mode: Compression) -> str:
    """The gateway URL discord.py built, with the `compress` query this mode asks for."""
    parsed = yarl.URL(url)
    if mode in (Compression.ZLIB_STREAM, Compression.ZSTD_STREAM):
        return str(parsed.update_query(compress=mode.value))
    return str(parsed.without_query_params("compress"))


def use(client: discord.Client, mode: Compression) -> None:
    """Make this client's gateway connections (every shard's, every reconnect's) use `mode`."""
    connect = client.http.ws_connect

    async def ws_connect(url: str, **kwargs: Any) -> Any:
        if kwargs.get("compress", 0):  # a voice gateway (permessage-deflate): not ours to change
            return await connect(url, **kwargs)
        return await connect(gateway_url(url, mode), **kwargs)

    client.http.ws_connect = ws_connect  # type: ignore[method-assign]
    state = client._connection
    update_references = state._update_references

    def on_new_websocket(ws: discord.gateway.DiscordWebSocket) -> None:
        # from_client calls this before it reads HELLO, so the first frame is read the new way.
        update_references(ws)
        ws._decompressor = Guarded(_DECOMPRESSORS[mode](), ws.shard_id)
        ws.send_as_json = _announcing(ws.send_as_json, payload=mode is Compression.PAYLOAD)  # type: ignore[method-assign,assignment]

    state._update_references = on_new_websocket  # type: ignore[method-assign]


def _announcing(send: Send, *, payload: bool) -> Send:
    """IDENTIFY's `compress` flag says whether payloads may come compressed one by one: only in
    payload mode, so a server never mixes it with a transport stream."""

    async def send_as_json(data: Any) -> None:
        if isinstance(data, dict) and data.get("op") == discord.gateway.DiscordWebSocket.IDENTIFY:
            data["d"]["compress"] = payload
        await send(data)

    return send_as_json
