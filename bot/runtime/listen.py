"""Serving an aiohttp application (the dashboard, the health endpoints) on the service's loop."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.config import ConfigError

log = logging.getLogger(__name__)


async def listen(app: web.Application, section: str, host: str, port: int) -> web.AppRunner:
    """Serve `app` until the returned runner is cleaned up; a port in use is a configuration error
    naming the config section."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError([f"[{section}] cannot listen on {host}:{port}: {exc.strerror}"]) from exc
    for address in runner.addresses:
        log.info("%s on http://%s:%s", section, *address[:2])
    return runner
