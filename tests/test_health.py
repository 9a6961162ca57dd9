"""Health and metrics of the running service: /healthz, /readyz and Prometheus /metrics from
`run_service` with the console adapter following a file, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.config import Config
from bot.ops.metrics import Health, Metrics, make_health_app
from bot.runtime.service import run_service
from tests.conftest import RULES_ONLY, SWEARING_FLAGGED_POLICY, free_port


def test_service_exposes_health_and_metrics(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "1", "text": "good morning"}\n{"id": "2", "text": "fuck this"}\n{"id": "3", "text": "hello"}\n'
    )
    config = Config.model_validate(
        {
            "data": {"dir": str(tmp_path)},
            "database": {"url": db_url},
            "adapters": {"console": {"source": str(feed), "follow": True}},
            "health": {"enabled": True, "port": port},
            "policy": SWEARING_FLAGGED_POLICY,
            "scorers": RULES_ONLY,
        }
    )

    async def go() -> None:
        stop = asyncio.Event()
        service = asyncio.create_task(run_service(config, stop_request=stop))
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                try:
                    async with http.get(f"{base}/metrics") as resp:
                        text = await resp.text()
                    if 'modbot_decisions_total{outcome="flag"} 1.0' in text:
                        break
                except aiohttp.ClientConnectionError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the decisions never showed in /metrics")
            assert 'modbot_posts_accepted_total{platform="console"} 3.0' in text
            assert 'modbot_decisions_total{outcome="allow"} 2.0' in text
            assert 'modbot_review_cases_total{category="profanity"} 1.0' in text
            assert 'modbot_scorer_seconds_count{scorer="profanity"}' in text
            assert 'modbot_model_info{component="profanity",version="alt-profanity-check-' in text
            assert 'modbot_adapter_connected{platform="console"} 1.0' in text
            assert "modbot_queue_depth 0.0" in text and 'modbot_outbox_backlog{state="pending"}' in text
            assert "fuck" not in text and "good morning" not in text  # no post text in metrics
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
            async with http.get(f"{base}/readyz") as resp:
                assert resp.status == 200 and (await resp.json())["ready"] is True
        stop.set()
        await asyncio.wait_for(service, 60)

    asyncio.run(go())


def test_readyz_names_what_is_wrong() -> None:
    class Disconnected:
        platform = "discord"
        reconnects = 3
        frames = 0
        lag = None

        def connected(self) -> bool:
            return False

    class Behind:
        platform = "bluesky"
        reconnects = 1
        frames = 1800
        lag = 412.0

        def connected(self) -> bool:
            return True

    async def db_down() -> None:
        raise ConnectionRefusedError("connection refused")

    async def no_outbox() -> dict[str, int]:
        raise ConnectionRefusedError("connection refused")

    health = Health(
        Metrics(), db_down, no_outbox, lambda: 7, lambda: False, [Disconnected(), Behind()], max_lag_seconds=300
    )

    async def go() -> None:
        from aiohttp.test_utils import TestClient, TestServer

        async with TestClient(TestServer(make_health_app(health))) as client:
            resp = await client.get("/readyz")
            body = await resp.json()
            assert resp.status == 503 and body["ready"] is False
            assert body["problems"] == [
                "database: ConnectionRefusedError: connection refused",
                "pipeline: not running",
                "adapter discord: not connected",
                "adapter bluesky: 412 s behind the platform (bound 300 s)",
            ]
            metrics = await (await client.get("/metrics")).text()
            assert (
                "modbot_queue_depth 7.0" in metrics and 'modbot_adapter_reconnects{platform="discord"} 3.0' in metrics
            )
            assert 'modbot_adapter_lag_seconds{platform="bluesky"} 412.0' in metrics
            assert 'modbot_adapter_frames{platform="bluesky"} 1800.0' in metrics

    asyncio.run(go())


@pytest.mark.parametrize("section", ["health", "web"])
def test_port_in_use_is_a_clear_error(section: str, tmp_path: Path) -> None:
    from bot.config import ConfigError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = Config.model_validate(
            {
                "data": {"dir": str(tmp_path)},
                "adapters": {"console": {"source": str(tmp_path / "none.jsonl")}},
                section: {"enabled": True, "port": port},
            }
        )
        with pytest.raises(ConfigError, match=rf"\[{section}\] cannot listen on 127.0.0.1:{port}"):
            asyncio.run(run_service(config))
