"""Latency and throughput of the Perspective-compatible API, over real HTTP on 127.0.0.1.

Two servers, one after the other, in the same run: modbot's default stack, and the same API with
a BERT-base-sized classifier (12 layers, 768 wide, 110 M parameters: the kind of model
Perspective-style services run) as its only scorer. The BERT-base weights are random: no
published checkpoint can be downloaded here, and the weights do not change how long a forward
pass takes. Each server runs in this process on its own thread and loop; the clients (aiohttp)
run in a second process, as callers would, and share the two cores with the server.

- steady: `--rate` requests a second (default 20) for `--seconds`, one comment each, as
  independent clients would send them: p50, p99 and max latency.
- flood: `--clients` concurrent clients (default 64) sending back to back for `--seconds`:
  comments a second.

Comments are OLID's test tweets (mean 146 characters) when ../shared/datasets is there, else
the sample feed's texts.

Usage: .venv/bin/python bench/perspective_api.py [--rate 20] [--clients 64] [--seconds 20] [--skip-bert]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from bench.spam_soak import cpu_flags  # noqa: E402
from bot.config import Config  # noqa: E402
from bot.lab.evaluation import datasets  # noqa: E402
from bot.runtime import wiring  # noqa: E402
from bot.runtime.listen import listen  # noqa: E402
from bot.storage.gateway import DatabaseThread  # noqa: E402
from moderation.decider import Decider  # noqa: E402
from moderation.scoring import ScoreResult, ScoringInput  # noqa: E402


class BertBaseScorer:
    """A BERT-base-sized classifier with random weights: the cost of a Perspective-style model."""

    name = "bert-base"
    version = "bert-base-random"
    categories = ("toxicity",)
    needs_embedding = False

    def __init__(self) -> None:
        import torch
        from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

        from model.embedding import bundled_model_dir

        torch.manual_seed(0)
        self.torch = torch
        self.model = BertForSequenceClassification(BertConfig(num_labels=1)).eval()
        self.tokenizer = BertTokenizerFast.from_pretrained(str(bundled_model_dir()))

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        tokens = self.tokenizer(
            [i.text for i in batch], padding=True, truncation=True, max_length=256, return_tensors="pt"
        )
        with self.torch.inference_mode():
            logits = self.model(**tokens).logits[:, 0]
        return [ScoreResult({"toxicity": float(p)}) for p in self.torch.sigmoid(logits)]


class Server:
    def __init__(self, config: Config, decider: Decider) -> None:
        self.config, self.decider = config, decider
        self.url = ""
        self.key = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=lambda: self._loop.run_until_complete(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        store = wiring.open_store(self.config)
        self.key = store.add_api_key(f"bench-{time.monotonic_ns()}", qps=100_000)
        db = DatabaseThread()
        api = wiring.perspective_api(self.config, store, db, self.decider)
        runner = await listen(api.app(), "api", "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1alpha1/comments:analyze?key={self.key}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()
        await api.scoring.close()
        db.close()

    def __enter__(self) -> Server:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join()


def _body(text: str, attribute: str) -> bytes:
    return json.dumps({"comment": {"text": text}, "requestedAttributes": {attribute: {}}, "languages": ["en"]}).encode()


async def _one(session: aiohttp.ClientSession, url: str, body: bytes) -> float:
    started = time.perf_counter()
    async with session.post(url, data=body, headers={"content-type": "application/json"}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"API answered {response.status}")
    return time.perf_counter() - started


async def steady(url: str, bodies: list[bytes], rate: float, seconds: float) -> list[float]:
    async with aiohttp.ClientSession() as session:
        tasks = []
        for i in range(int(rate * seconds)):
            tasks.append(asyncio.create_task(_one(session, url, bodies[i % len(bodies)])))
            await asyncio.sleep(1 / rate)
        return list(await asyncio.gather(*tasks))


async def flood(url: str, bodies: list[bytes], clients: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        nonlocal done
        i = n
        while time.perf_counter() < deadline:
            await _one(session, url, bodies[i % len(bodies)])
            done += 1
            i += clients

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(n, session) for n in range(clients)))
    return done / (time.perf_counter() - started)


def _steady(url: str, bodies: list[bytes], rate: float, seconds: float) -> list[float]:
    return asyncio.run(steady(url, bodies, rate, seconds))


def _flood(url: str, bodies: list[bytes], clients: int, seconds: float) -> float:
    return asyncio.run(flood(url, bodies, clients, seconds))


def _texts() -> list[str]:
    data = REPO.parent / "shared" / "datasets"
    if (data / "olid-offenseval2019").exists():
        return datasets.olid_test(data).texts
    lines = (REPO / "examples" / "sample-feed.jsonl").read_text().splitlines()
    return [json.loads(line)["text"] for line in lines if line.strip()]


def measure(name: str, config: Config, decider: Decider, attribute: str, args: argparse.Namespace) -> dict[str, Any]:
    bodies = [_body(t, attribute) for t in _texts()]
    spawn = multiprocessing.get_context("spawn")
    with Server(config, decider) as server, ProcessPoolExecutor(1, mp_context=spawn) as clients:
        clients.submit(_steady, server.url, bodies, args.rate, 3).result()  # warm-up
        latencies = sorted(clients.submit(_steady, server.url, bodies, args.rate, args.seconds).result())
        rate = clients.submit(_flood, server.url, bodies, args.clients, args.seconds).result()
    q = statistics.quantiles(latencies, n=100)
    return {
        "stack": name,
        "p50 ms": q[49] * 1000,
        "p99 ms": q[98] * 1000,
        "max ms": latencies[-1] * 1000,
        "comments/s": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--skip-bert", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="modbot-api-bench-"))
    config = Config.model_validate({"data": {"dir": str(folder)}, "api": {"port": 0}})
    print(f"cpu: {cpu_flags()}; steady {args.rate:g} req/s, flood {args.clients} clients, {args.seconds:g} s each")
    started = time.perf_counter()
    default = wiring.filter_stack(config, rules=False).decider
    print(f"default stack loaded in {time.perf_counter() - started:.1f} s: {', '.join(default.versions)}")
    rows = [measure("modbot default", config, default, "TOXICITY", args)]
    if not args.skip_bert:
        bert = Decider([BertBaseScorer()], default.policy)
        rows.append(measure("BERT-base (random weights)", config, bert, "TOXICITY", args))
    for row in rows:
        print(
            f"{row['stack']:<28} p50 {row['p50 ms']:6.1f} ms  p99 {row['p99 ms']:6.1f} ms  "
            f"max {row['max ms']:6.1f} ms  {row['comments/s']:6.1f} comments/s"
        )


if __name__ == "__main__":
    main()
