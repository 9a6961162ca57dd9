"""`[adapters.discord] compression` against gateways that compress differently: each setting asks
the fake gateway for its mode and reads what comes back, and a server that compresses payloads
unasked is still read (with a warning naming the setting). The decompressors themselves are
checked on frames cut at awkward places. The compression has nothing to do with the database, so
the round trips run on SQLite only."""

from __future__ import annotations

import logging
import zlib
from pathlib import Path

import pytest
import zstandard

from bot.adapters.discord.gateway import WholeMessages, ZlibStream, ZstdStream, gateway_url
from bot.config import DiscordCompression
from tests.fakes.gateway_frames import GatewayKind, PayloadCompression
from tests.test_discord import TOXIC, build_world, eventually, run, running, with_discord

DISCORD = GatewayKind()
ZLIB_ONLY = GatewayKind(transports=frozenset({"zlib-stream"}))
PAYLOAD_ONLY = GatewayKind(transports=frozenset())
UNASKED_PAYLOADS = GatewayKind(transports=frozenset(), payload=PayloadCompression.ALWAYS)
PLAIN = GatewayKind(transports=frozenset(), payload=PayloadCompression.NEVER)

ROUND_TRIPS = [
    # setting, server, query sent, IDENTIFY compress, frames arrive compressed
    (DiscordCompression.ZLIB_STREAM, DISCORD, "zlib-stream", False, True),
    (DiscordCompression.ZLIB_STREAM, ZLIB_ONLY, "zlib-stream", False, True),
    (DiscordCompression.ZSTD_STREAM, DISCORD, "zstd-stream", False, True),
    (DiscordCompression.PAYLOAD, PAYLOAD_ONLY, None, True, True),
    (DiscordCompression.NONE, PLAIN, None, False, False),
    (DiscordCompression.ZLIB_STREAM, UNASKED_PAYLOADS, "zlib-stream", False, True),
    (DiscordCompression.NONE, UNASKED_PAYLOADS, None, False, True),
]


@pytest.mark.parametrize(("setting", "server", "query", "announced", "compressed"), ROUND_TRIPS)
def test_each_setting_reads_its_gateway_and_decides_messages(
    setting: DiscordCompression,
    server: GatewayKind,
    query: str | None,
    announced: bool,
    compressed: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = build_world(f"sqlite:///{tmp_path / 'modbot.db'}", tmp_path)
    with_discord(world, compression=setting)
    fake = world.fake
    fake.gateway_kind = server

    async def go() -> None:
        async with running(world, monkeypatch):
            toxic = await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: toxic["id"] in fake.deleted, what="the toxic message to be removed")
            assert fake.gateway_query.get("compress") == query
            assert fake.identify_compress is announced
            assert (fake._ws is not None and fake._ws.binary_frames > 0) is compressed

    run(go)


def _zlib_stream(messages: list[bytes]) -> list[bytes]:
    stream = zlib.compressobj()
    return [stream.compress(m) + stream.flush(zlib.Z_SYNC_FLUSH) for m in messages]


def test_zlib_stream_joins_frames_cut_anywhere_and_reads_payloads_sent_whole(caplog: pytest.LogCaptureFixture) -> None:
    first, second = _zlib_stream([b'{"op": 10}', b'{"op": 0, "t": "READY", "d": {"x": "' + b"y" * 500 + b'"}}'])
    reader = ZlibStream()
    assert reader.decompress(first[:3]) is None  # a message split across websocket frames
    assert reader.decompress(first[3:]) == '{"op": 10}'
    assert reader.decompress(second[:-4]) is None  # not yet at its sync flush
    assert reader.decompress(second[-4:]).startswith('{"op": 0')  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING):
        assert ZlibStream().decompress(zlib.compress(b'{"op": 11}')) == '{"op": 11}'
    assert "compression = 'payload'" in caplog.text


def test_zstd_stream_and_whole_messages() -> None:
    writer = zstandard.ZstdCompressor().compressobj()
    frames = [writer.compress(m) + writer.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for m in (b'{"a": 1}', b'{"b": 2}')]
    reader = ZstdStream()
    assert [reader.decompress(f) for f in frames] == ['{"a": 1}', '{"b": 2}']
    whole = WholeMessages()
    assert whole.decompress(zlib.compress(b'{"c": 3}')) == '{"c": 3}'
    assert whole.decompress(b'{"d": 4}') == '{"d": 4}'  # a binary frame that is not compressed at all


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        (DiscordCompression.ZLIB_STREAM, "wss://gw.example/?v=10&encoding=json&compress=zlib-stream"),
        (DiscordCompression.ZSTD_STREAM, "wss://gw.example/?v=10&encoding=json&compress=zstd-stream"),
        (DiscordCompression.PAYLOAD, "wss://gw.example/?v=10&encoding=json"),
        (DiscordCompression.NONE, "wss://gw.example/?v=10&encoding=json"),
    ],
)
def test_the_gateway_url_asks_for_the_setting(setting: DiscordCompression, url: str) -> None:
    assert gateway_url("wss://gw.example/?v=10&encoding=json&compress=zstd-stream", setting) == url


def test_an_unreadable_frame_reconnects_instead_of_stopping_the_client(caplog: pytest.LogCaptureFixture) -> None:
    import discord

    from bot.adapters.discord.gateway import Guarded

    for inner, junk in ((ZstdStream(), b"\x00garbage"), (WholeMessages(), b"\xff\xfe\x00")):
        with caplog.at_level(logging.WARNING), pytest.raises(discord.gateway.ReconnectWebSocket):
            Guarded(inner, 3).decompress(junk)
    assert "reconnecting" in caplog.text and "garbage" not in caplog.text
    assert ZlibStream().decompress(b'{"op": 10}') == '{"op": 10}'  # plain JSON sent as a binary frame
    writer = zstandard.ZstdCompressor().compressobj()
    frame = writer.compress(b'{"op": 0, "d": "' + b"z" * 4000 + b'"}') + writer.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    reader = ZstdStream()
    assert reader.decompress(frame[:10]) is None  # a message split over frames: nothing yet
    assert reader.decompress(frame[10:]).endswith('"}')  # type: ignore[union-attr]
