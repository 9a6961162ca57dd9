"""A TCP proxy the tests put between modbot and a real peer (the PDS, PostgreSQL), to cut
connections or refuse new ones as a network fault or a restarting server would, or to add a
round trip's delay (bench/firehose_replay.py: a distant AppView)."""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1", delay_seconds: float = 0.0) -> None:
        self.target = (target_host, target_port)
        self.delay_seconds = delay_seconds
        """added to every request (each chunk towards the peer)"""
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0
        self.refusing = False

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:  # the peer is "down": the connection is reset at once
            writer.transport.abort()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float = 0.0) -> None:
            try:
                while data := await src.read(65536):
                    if delay:
                        await asyncio.sleep(delay)
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        with contextlib.suppress(asyncio.CancelledError):  # the proxy stopped under an open connection
            await asyncio.gather(pipe(reader, up_writer, self.delay_seconds), pipe(up_reader, writer))

    def drop(self) -> None:
        """Cut every open connection (new ones still get through)."""
        for w in self.writers:
            w.transport.abort()
        self.writers.clear()

    def down(self) -> None:
        """Cut every connection and refuse new ones until `up()`."""
        self.refusing = True
        self.drop()

    def up(self) -> None:
        self.refusing = False

    async def stop(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()
