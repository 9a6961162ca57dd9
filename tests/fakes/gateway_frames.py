"""The fake gateway's outgoing frames, compressed the way a server of the configured kind would:
the transport stream the client asked for in the URL (zlib-stream, zstd-stream) when the server
offers it, else each large payload zlib-compressed on its own once IDENTIFY asks (or always, for
a server that does so unasked), else plain text."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import zstandard
from aiohttp import web

PAYLOAD_FROM = 64
"""Payload compression leaves small payloads as text, as Discord does (HELLO, heartbeat ACKs)."""


class PayloadCompression(StrEnum):
    NEVER = "never"
    ASKED = "asked"
    """When IDENTIFY says compress: true (Discord's documented behaviour)."""
    ALWAYS = "always"
    """Whatever the client said: a quirk of some compatible servers."""


@dataclass
class GatewayKind:
    """What a gateway server supports; the fake's default is Discord's."""

    transports: frozenset[str] = frozenset({"zlib-stream", "zstd-stream"})
    payload: PayloadCompression = PayloadCompression.ASKED


@dataclass
class FramedSocket:
    """One client connection: the websocket and the compression state that lives as long as it."""

    ws: web.WebSocketResponse
    transport: str | None
    kind: GatewayKind
    payload: bool = False
    binary_frames: int = 0
    _zlib: Any = field(default_factory=zlib.compressobj)
    _zstd: Any = field(default_factory=lambda: zstandard.ZstdCompressor().compressobj())

    @classmethod
    def opened(cls, ws: web.WebSocketResponse, asked: str | None, kind: GatewayKind) -> FramedSocket:
        return cls(ws, asked if asked in kind.transports else None, kind, kind.payload is PayloadCompression.ALWAYS)

    def identified(self, compress: object) -> None:
        if self.kind.payload is PayloadCompression.ASKED:
            self.payload = compress is True

    @property
    def closed(self) -> bool:
        return self.ws.closed

    async def close(self, code: int = 1000) -> None:
        await self.ws.close(code=code)

    async def send_json(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode()
        if self.transport == "zlib-stream":
            frame = self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        elif self.transport == "zstd-stream":
            frame = self._zstd.compress(data) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        elif self.payload and len(data) >= PAYLOAD_FROM:
            frame = zlib.compress(data)
        else:
            await self.ws.send_str(data.decode())
            return
        self.binary_frames += 1
        await self.ws.send_bytes(frame)
