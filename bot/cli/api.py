"""The Perspective-compatible scoring API from a terminal: `modbot api` serves it alone, and
`modbot api-key` makes, lists and revokes the keys its callers need (docs/perspective.md)."""

from __future__ import annotations

import argparse
import asyncio

from rich.table import Table

from bot.cli.shared import Subcommands, config_of, failing_on, out, store_of
from bot.cli.terminal import escape


def register(sub: Subcommands) -> None:
    p = sub.add_parser("api", help="serve the Perspective-compatible scoring API alone (until SIGINT/SIGTERM)")
    p.add_argument("--port", type=int, default=None, help="instead of [api] port")
    p.set_defaults(func=serve)

    group = sub.add_parser("api-key", help="keys of the scoring API: add, list, revoke")
    ksub = group.add_subparsers(required=True, metavar="ACTION")
    p = ksub.add_parser("add", help="make a key (shown once; only its hash is stored)")
    p.add_argument("name", help="who the key is for (unique; named in the API's log lines)")
    p.add_argument("--qps", type=float, default=None, help="requests per second (default: [api] default_qps)")
    p.add_argument("--community", default=None, help="the community its comments and suggestions belong to")
    p.set_defaults(func=add_key)
    p = ksub.add_parser("list", help="every key, live and revoked")
    p.set_defaults(func=list_keys)
    p = ksub.add_parser("revoke", help="stop a key working at once")
    p.add_argument("name")
    p.set_defaults(func=revoke_key)


def add_key(args: argparse.Namespace) -> int:
    if args.qps is not None and not 0 < args.qps <= 10_000:
        out.print("--qps must be above 0 and at most 10000")
        return 2
    with failing_on(ValueError):
        key = store_of(args).add_api_key(args.name, args.qps, args.community)
    out.print(f"API key for {escape(args.name)} (shown this once; keep it secret):")
    out.print(key, markup=False, highlight=False)
    return 0


def list_keys(args: argparse.Namespace) -> int:
    keys = store_of(args).api_keys()
    if not keys:
        out.print("no API keys: make one with `modbot api-key add NAME`")
        return 0
    table = Table(title="API keys")
    for col in ("name", "qps", "community", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        qps = "default" if k.qps is None else f"{k.qps:g}"
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else ""
        table.add_row(escape(k.name), qps, escape(k.community or ""), k.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    out.print(table)
    return 0


def revoke_key(args: argparse.Namespace) -> int:
    with failing_on(LookupError):
        store_of(args).revoke_api_key(args.name)
    out.print(f"revoked the API key {escape(args.name)}")
    return 0


def serve(args: argparse.Namespace) -> int:
    from bot.runtime.listen import listen
    from bot.runtime.wiring import open_store, perspective_api
    from bot.storage.gateway import DatabaseThread

    config = config_of(args)
    cfg = config.api if args.port is None else config.api.model_copy(update={"port": args.port})
    config = config.model_copy(update={"api": cfg})

    async def go() -> None:
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        db = DatabaseThread()
        api = perspective_api(config, open_store(config), db)
        runner = await listen(api.app(), "api", cfg.host, cfg.port)
        out.print(f"scoring API on http://{cfg.host}:{runner.addresses[0][1]}: {', '.join(sorted(api.served))}")
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await api.scoring.close()
            db.close()

    asyncio.run(go())
    return 0
