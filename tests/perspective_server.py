"""A live scoring API for tests: `modbot api`'s parts on 127.0.0.1 over the shipped models, on a
loop of its own in a thread, so synchronous clients (urllib, google-api-python-client) call it
as they would a remote server."""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from bot.config import Config
from bot.runtime.listen import listen
from bot.runtime.wiring import filter_stack, open_store, perspective_api
from bot.storage.gateway import DatabaseThread
from moderation.decider import Decider


@functools.cache
def _models() -> Decider:
    """The default stack's models, loaded once per test process."""
    return filter_stack(Config(), rules=False).decider


class LiveApi:
    def __init__(self, folder: Path, **api: Any) -> None:
        self.db_file = folder / "modbot.db"
        self.config = Config.model_validate(
            {"data": {"dir": str(folder)}, "database": {"url": f"sqlite:///{self.db_file}"}, "api": {"port": 0, **api}}
        )
        self.store = open_store(self.config)
        self.key = self.store.add_api_key("tests", qps=1000)
        self.slow_key = self.store.add_api_key("slow", qps=0.2)
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="live-api", daemon=True)
        self.url = ""

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        db = DatabaseThread()
        api = perspective_api(self.config, self.store, db, _models())
        runner = await listen(api.app(), "api", "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()
            await api.scoring.close()
            db.close()

    def __enter__(self) -> LiveApi:
        self._thread.start()
        if not self._started.wait(120):
            raise RuntimeError("the scoring API did not start")
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        self.store.engine.dispose()
