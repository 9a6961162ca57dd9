"""Running modbot: `scan` a file once, `run` the service (whole, or one role of a scaled-out
deployment), `web` the dashboard alone."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections import Counter
from pathlib import Path

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.cli.shared import USAGE, CommandFailed, Subcommands, config_of, err, out
from bot.cli.terminal import escape
from bot.config import Config, ConfigError
from bot.storage.records import StoredDecision

_LONG_INPUT_BYTES = 64 * 1024


def register(sub: Subcommands) -> None:
    p = sub.add_parser("scan", help="decide every post in a JSON Lines file (or - for stdin) and summarise")
    p.add_argument("source", help="JSON Lines file, or - for standard input")
    p.add_argument("--top", type=int, default=10, help="how many flagged posts to show (default 10)")
    p.set_defaults(func=scan)

    p = sub.add_parser("run", help="run the service with the configured adapters until stopped")
    p.add_argument("--source", help="override [adapters.console] source (file, folder or -)")
    p.add_argument("--follow", action="store_true", default=None, help="keep reading new input until stopped")
    p.add_argument(
        "--role",
        choices=("all", "ingest", "worker", "web"),
        default="all",
        help="all (default): one process does everything; with [scale] redis_url: ingest (adapters, actions, "
        "drafts), worker (scores posts from the stream; run several), web (the dashboard)",
    )
    p.set_defaults(func=run)

    p = sub.add_parser("web", help="serve the review dashboard alone (`modbot run` serves it when [web] enabled)")
    p.add_argument("--port", type=int, help="override [web] port")
    p.set_defaults(func=web)


def scan(args: argparse.Namespace) -> int:
    from bot.runtime.service import run_service

    config = config_of(args)
    # The summary below lists skipped lines and outcomes; routine service logging would only repeat it.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("bot.adapters.console.adapter").setLevel(logging.ERROR)
    source: str = args.source
    if source != "-" and not Path(source).is_file():
        raise CommandFailed(f"{source} is not a file", USAGE)
    size = Path(source).stat().st_size if source != "-" else 0
    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not (err.is_terminal and size > _LONG_INPUT_BYTES),
    )
    task = progress.add_task("scan", total=size or None)
    with progress:
        report = asyncio.run(
            run_service(
                config,
                console_source=source,
                console_follow=False,
                console_only=True,
                on_progress=lambda s: progress.update(task, completed=s.bytes_read),
                keep_decisions=True,
            )
        )
    stats = next(iter(report.ingest.values()), None)
    for e in report.errors:
        err.print(f"error: {escape(e)}")
    if stats is None:
        return 1
    for line_error in stats.errors:
        err.print(f"skipped {escape(str(line_error))}")
    decisions = _stored_decisions(config, stats.post_keys)
    _print_summary(stats.post_keys, decisions, {d.decision_id for d in report.decided}, len(stats.errors), args.top)
    if report.failed:
        err.print(f"{report.failed} post(s) could not be scored; kept as failed and retried at the next start")
    return 1 if report.errors or report.failed else 0


def _stored_decisions(config: Config, keys: list[tuple[str, str]]) -> dict[tuple[str, str], StoredDecision]:
    """The decision of every scanned post, whether this run or an earlier one made it."""
    from bot.runtime.wiring import open_store

    store = open_store(config)
    by_key: dict[tuple[str, str], StoredDecision] = {}
    for community in {c for c, _ in keys}:
        ids = [pid for c, pid in keys if c == community]
        for pid, d in store.decisions_for("console", community, ids).items():
            by_key[(community, pid)] = d
    store.engine.dispose()
    return by_key


def _print_summary(
    keys: list[tuple[str, str]],
    decisions: dict[tuple[str, str], StoredDecision],
    new_ids: set[int],
    line_errors: int,
    top: int,
) -> None:
    found = [decisions[k] for k in dict.fromkeys(keys) if k in decisions]
    counts = Counter(d.outcome.value for d in found)
    table = Table(title="modbot scan", show_lines=False)
    table.add_column("outcome")
    table.add_column("posts", justify="right")
    for outcome in ("allow", "log", "flag", "hide", "remove", "timeout", "ban"):
        if counts.get(outcome):
            table.add_row(outcome, str(counts[outcome]))
    table.add_row("[dim]skipped lines[/dim]", str(line_errors))
    out.print(table)
    fresh = sum(1 for d in found if d.id in new_ids)
    out.print(
        f"{len(found)} posts: {fresh} decided now, {len(found) - fresh} decided by an earlier run; "
        f"{sum(1 for d in found if d.shadow)} in shadow mode"
    )
    flagged = sorted((d for d in found if d.outcome.needs_review), key=lambda d: -max(d.scores.values(), default=0))
    if flagged:
        t = Table(title=f"top flagged (of {len(flagged)})", show_lines=True)
        t.add_column("post")
        t.add_column("outcome")
        t.add_column("why")
        id_of = {v.id: k for k, v in decisions.items()}
        for d in flagged[:top]:
            t.add_row(escape(id_of[d.id][1]), d.outcome.value, escape("\n".join(r.message for r in d.reasons)))
        out.print(t)
    out.print("Open cases: `modbot queue`; one case: `modbot case ID`.")


def run(args: argparse.Namespace) -> int:
    from bot.runtime.service import run_service

    config = config_of(args)
    if args.role == "web":
        return web(argparse.Namespace(**{**vars(args), "port": None}))
    if args.role == "worker":
        return _run_worker(config)
    report = asyncio.run(
        run_service(
            config, console_source=args.source, console_follow=args.follow, role=args.role, generator=args.generator
        )
    )
    err.print(
        f"modbot stopped: {report.handled} post(s) decided, {report.actions_done} action(s) done, "
        f"{report.actions_failed} failed"
    )
    for e in report.errors:
        err.print(f"error: {escape(e)}")
    return 1 if report.errors else 0


def _run_worker(config: Config) -> int:
    import signal

    from bot.runtime.worker import run_worker

    if not config.scale.redis_url:
        raise ConfigError(["--role worker needs [scale] redis_url (the stream it reads)"])

    async def go() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_worker(config, stop)

    decided = asyncio.run(go())
    err.print(f"worker stopped: {decided} post(s) decided")
    return 0


def web(args: argparse.Namespace) -> int:
    from bot.review import Verdicts
    from bot.runtime.wiring import open_store, planner
    from bot.web.app import serve_until_stopped

    config = config_of(args)
    cfg = config.web if args.port is None else config.web.model_copy(update={"port": args.port})
    verdicts = Verdicts(config.build_policy(), planner(config))
    asyncio.run(serve_until_stopped(open_store(config), verdicts, cfg))
    return 0
