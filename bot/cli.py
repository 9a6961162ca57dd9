"""The `modbot` command. Each subcommand is a thin shell over the same runtime functions."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from bot.config import Config, ConfigError, load_config
from bot.logs import setup_logging
from bot.storage.db import DatabaseError, display_url, make_engine, schema_status, upgrade
from bot.storage.store import CaseView, Store, StoredDecision
from bot.terminal import escape
from moderation.scoring import ScorerError

# Piped output (logs, files, tests) gets wide tables instead of rich's 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)
_LONG_INPUT_BYTES = 64 * 1024


def main(argv: list[str] | None = None) -> int:
    # Local inference only: nothing may reach a model hub, whatever a library would like to do.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"config error: {escape(problem)}")
        return 2
    except (DatabaseError, ScorerError) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="modbot", description="Self-hosted moderation and reply assistant.")
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MODBOT_CONFIG") or None,
        help="TOML config file (default: $MODBOT_CONFIG, else the embedded defaults)",
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    p = sub.add_parser("config", help="configuration tools")
    csub = p.add_subparsers(required=True, metavar="ACTION")
    c = csub.add_parser("check", help="validate a config file without starting anything")
    c.add_argument("file", type=Path)
    c.set_defaults(func=cmd_config_check)

    p = sub.add_parser("db", help="database tools")
    dsub = p.add_subparsers(required=True, metavar="ACTION")
    dsub.add_parser("upgrade", help="apply migrations up to the newest schema").set_defaults(func=cmd_db_upgrade)
    dsub.add_parser("status", help="show the schema version").set_defaults(func=cmd_db_status)
    b = dsub.add_parser("backup", help="copy the SQLite database while it runs (online backup API)")
    b.add_argument("file", type=Path)
    b.set_defaults(func=cmd_db_backup)
    b = dsub.add_parser("restore", help="replace the SQLite database with a backup (stop the service first)")
    b.add_argument("file", type=Path)
    b.set_defaults(func=cmd_db_restore)

    p = sub.add_parser("retention", help="post text retention")
    rsub = p.add_subparsers(required=True, metavar="ACTION")
    r = rsub.add_parser("purge", help="purge old post text now (closed cases only; decisions and hashes stay)")
    r.add_argument("--days", type=int, help="older than this (default: [retention] post_text_days)")
    r.add_argument("--dry-run", action="store_true", help="count, change nothing")
    r.set_defaults(func=cmd_retention_purge)

    p = sub.add_parser("forget", help="delete a user's content on request (audit-logged)")
    p.add_argument("user", help="the platform's user id (Discord user id, Bluesky DID, console author id)")
    p.add_argument("--platform", required=True, choices=("discord", "bluesky", "console"))
    p.add_argument("--community", help="only in this community")
    p.add_argument("--as", dest="actor", default=None, help="who asked, for the audit log (default: $USER)")
    p.set_defaults(func=cmd_forget)

    p = sub.add_parser("scan", help="decide every post in a JSON Lines file (or - for stdin) and summarise")
    p.add_argument("source", help="JSON Lines file, or - for standard input")
    p.add_argument("--top", type=int, default=10, help="how many flagged posts to show (default 10)")
    p.set_defaults(func=cmd_scan)

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
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("queue", help="list open cases")
    p.add_argument("--all", action="store_true", help="include closed cases")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser("quarantine", help="list input that could not become a post, newest first")
    p.add_argument("--platform", help="only this platform's")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--raw", action="store_true", help="show each item's raw bytes (control characters as codes)")
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("case", help="show one case in full")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_case)

    p = sub.add_parser("resolve", help="close a case with a verdict (audit-logged)")
    p.add_argument("id", type=int)
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--approve", dest="verdict", action="store_const", const="approve", help="the post is fine")
    verdict.add_argument(
        "--remove", dest="verdict", action="store_const", const="remove", help="the post breaks the rules: remove it"
    )
    verdict.add_argument(
        "--timeout",
        dest="verdict",
        action="store_const",
        const="timeout",
        help="remove it and time the author out (policy's timeout_minutes)",
    )
    verdict.add_argument(
        "--ban", dest="verdict", action="store_const", const="ban", help="remove it and ban the author"
    )
    p.add_argument("--note", help="why (kept with the case)")
    p.add_argument("--as", dest="actor", default=None, help="moderator name for the audit log (default: $USER)")
    p.set_defaults(func=cmd_resolve)

    p = sub.add_parser("drafts", help="list reply drafts (newest first)")
    p.add_argument("--status", action="append", help="only these statuses (repeatable; default: proposed)")
    p.add_argument("--all", action="store_true", help="every status")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--write", action="store_true", help="write queued drafts now, in this process, then list")
    p.set_defaults(func=cmd_drafts)

    p = sub.add_parser("draft", help="show a reply draft; approve, edit or reject it (audit-logged)")
    p.add_argument("id", type=int)
    verdict = p.add_mutually_exclusive_group()
    verdict.add_argument("--approve", action="store_true", help="send it as drafted")
    verdict.add_argument("--edit", metavar="TEXT", help="send this text instead")
    verdict.add_argument("--reject", action="store_true", help="never send it")
    p.add_argument("--note", help="why (kept in the audit log)")
    p.add_argument("--as", dest="actor", default=None, help="moderator name for the audit log (default: $USER)")
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser("draft-reply", help="ask the reply assistant for a draft reply to a stored post")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--post", type=int, help="the post's row id (as `modbot drafts` and `case` show it)")
    target.add_argument("--case", type=int, help="the post of this case")
    p.add_argument("--note", help="what the reply should address (the draft is grounded on it too)")
    p.add_argument("--as", dest="actor", default=None, help="moderator name for the audit log (default: $USER)")
    p.set_defaults(func=cmd_draft_reply)

    p = sub.add_parser("web", help="serve the review dashboard alone (`modbot run` serves it when [web] enabled)")
    p.add_argument("--port", type=int, help="override [web] port")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("service", help="install as a systemd service")
    ssub = p.add_subparsers(required=True, metavar="ACTION")
    s = ssub.add_parser("install", help="write the systemd unit, a config skeleton and a secrets file")
    s.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    s.add_argument("--instance", help="use the template unit modbot@.service for this instance name")
    s.add_argument("--root", type=Path, default=Path("/"), help="write under this folder (default /)")
    s.set_defaults(func=cmd_service_install)

    p = sub.add_parser("moderator", help="dashboard accounts")
    msub = p.add_subparsers(required=True, metavar="ACTION")
    m = msub.add_parser("add", help="add an account (asks for the password)")
    m.add_argument("name")
    m.add_argument("--role", choices=("viewer", "moderator", "admin"), required=True)
    m.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    m.set_defaults(func=cmd_moderator_add)
    m = msub.add_parser("set", help="change an account's role, or disable / enable it")
    m.add_argument("name")
    m.add_argument("--role", choices=("viewer", "moderator", "admin"))
    m.add_argument("--disable", action="store_true", default=None)
    m.add_argument("--enable", dest="disable", action="store_false")
    m.set_defaults(func=cmd_moderator_set)
    msub.add_parser("list", help="list accounts").set_defaults(func=cmd_moderator_list)

    p = sub.add_parser("discord", help="Discord tools")
    dcsub = p.add_subparsers(required=True, metavar="ACTION")
    dcsub.add_parser("invite-url", help="print the bot's invite link with the least permissions it needs").set_defaults(
        func=cmd_discord_invite
    )

    p = sub.add_parser("eval", help="measure the configured scorers on public labelled data")
    p.add_argument(
        "suite",
        choices=("bias", "toxicity", "abuse", "functional", "claims", "spam", "injection", "live"),
        help="bias: madlibs identity AUCs; toxicity: OLID, Davidson; abuse: every abuse set's test split per "
        "category through the default policy; functional: modbot's own templated functional suite; "
        "claims: CheckThat! retrieval; "
        "spam: the spam-text recipe cross-validated on SMS spam; "
        "injection: the reply assistant's prompt-injection rules on BIPIA, NotInject, WildGuard; "
        "live: the bias audit of the store",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/datasets"), help="datasets folder")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the report goes (default ./reports)")
    p.add_argument("--category", help="score category to evaluate (default: the highest abuse category)")
    p.add_argument("--threshold", type=float, default=0.5, help="decision threshold for F1 (toxicity suite)")
    p.add_argument("--days", type=int, default=30, help="how far back the live audit looks (default 30)")
    p.add_argument(
        "--split",
        choices=("dev", "coaid"),
        default="dev",
        help="claims suite: CheckThat! dev tweets (default) or CoAID news headlines (out of domain)",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train a shipped model from public data (deterministic per seed)")
    p.add_argument(
        "model",
        nargs="?",
        choices=("abuse", "spam", "claims"),
        default="abuse",
        help="abuse: the fine-tuned abuse model (default); spam: the spam-text classifier; "
        "claims: the map that adapts the embedding to fact-check matching",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/datasets"), help="datasets folder")
    p.add_argument("--out", type=Path, default=None, help="artifact path (default: the one shipped in the package)")
    p.add_argument("--seed", type=int, default=13)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("claims", help="the fact-check store")
    clsub = p.add_subparsers(required=True, metavar="ACTION")
    c = clsub.add_parser("import", help="import fact-checks: ClaimReview JSON, CSV or CheckThat! TSV")
    c.add_argument("file", type=Path)
    c.add_argument("--format", choices=("claimreview", "csv", "checkthat"), help="default: from the file name")
    c.set_defaults(func=cmd_claims_import)

    p = sub.add_parser("escalate", help="mark a case for senior moderators (audit-logged)")
    p.add_argument("id", type=int)
    p.add_argument("--note", help="why")
    p.add_argument("--as", dest="actor", default=None, help="moderator name for the audit log (default: $USER)")
    p.set_defaults(func=cmd_escalate)
    return parser


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.logging.level, config.logging.format)
    return config


# --- config and db --------------------------------------------------------------------------------


def cmd_config_check(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    out.print(f"{escape(str(args.file))}: OK")
    out.print(f"  database: {escape(display_url(config.database_url()))}")
    enabled = [n for n in type(config.scorers).model_fields if getattr(config.scorers, n).enabled]
    out.print(f"  scorers: {', '.join(enabled) or 'none'}")
    policy = config.build_policy()
    out.print(
        f"  policy {policy.default.version}; {len(policy.communities)} community override(s), "
        f"{len(policy.channels)} channel override(s)"
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = _config(args)
    engine = make_engine(config.database_url())
    revision = upgrade(engine)
    out.print(f"{escape(display_url(config.database_url()))}: schema at {revision}")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    config = _config(args)
    try:
        current, head = schema_status(make_engine(config.database_url()))
    except Exception as exc:
        raise DatabaseError(f"cannot read {display_url(config.database_url())}: {exc}") from exc
    state = "up to date" if current == head else "needs `modbot db upgrade`"
    out.print(f"schema {current or 'empty'}, newest {head}: {state}")
    return 0 if current == head else 1


# --- scan and run ---------------------------------------------------------------------------------


def cmd_scan(args: argparse.Namespace) -> int:
    from bot.service import run_service
    from bot.wiring import open_store

    config = _config(args)
    # The summary below lists skipped lines and outcomes; routine service logging would only repeat it.
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("bot.adapters.console.adapter").setLevel(logging.ERROR)
    source: str = args.source
    if source != "-" and not Path(source).is_file():
        err.print(f"error: {escape(source)} is not a file")
        return 2
    size = Path(source).stat().st_size if source != "-" else 0
    show_bar = err.is_terminal and size > _LONG_INPUT_BYTES
    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not show_bar,
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

    store = open_store(config)
    by_key: dict[tuple[str, str], StoredDecision] = {}
    communities = {c for c, _ in stats.post_keys}
    for community in communities:
        ids = [pid for c, pid in stats.post_keys if c == community]
        for pid, d in store.decisions_for("console", community, ids).items():
            by_key[(community, pid)] = d
    store.engine.dispose()
    new_ids = {d.decision_id for d in report.decided}
    _print_summary(stats.post_keys, by_key, new_ids, len(stats.errors), args.top)
    if report.failed:
        err.print(f"{report.failed} post(s) could not be scored; kept as failed and retried at the next start")
    return 1 if report.errors or report.failed else 0


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


def cmd_run(args: argparse.Namespace) -> int:
    from bot.service import run_service

    config = _config(args)
    if args.role == "web":
        return cmd_web(argparse.Namespace(**{**vars(args), "port": None}))
    if args.role == "worker":
        return _run_worker(config)
    report = asyncio.run(run_service(config, console_source=args.source, console_follow=args.follow, role=args.role))
    decided = sum(s.accepted for s in report.ingest.values()) + report.resumed
    err.print(
        f"modbot stopped: {decided} accepted post(s) handled, {report.actions_done} action(s) done, "
        f"{report.actions_failed} failed"
    )
    for e in report.errors:
        err.print(f"error: {escape(e)}")
    return 1 if report.errors else 0


def _run_worker(config: Config) -> int:
    import signal

    from bot.worker import run_worker

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


def cmd_web(args: argparse.Namespace) -> int:
    from bot.web.app import serve_until_stopped
    from bot.wiring import open_store

    config = _config(args)
    cfg = config.web if args.port is None else config.web.model_copy(update={"port": args.port})
    asyncio.run(serve_until_stopped(open_store(config), config.build_policy(), cfg))
    return 0


def cmd_db_backup(args: argparse.Namespace) -> int:
    from bot.storage.maintenance import MaintenanceError, backup

    config = _config(args)
    try:
        pages = backup(make_engine(config.database_url()), args.file)
    except MaintenanceError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    out.print(f"backed up {pages} pages to {escape(str(args.file))}")
    return 0


def cmd_db_restore(args: argparse.Namespace) -> int:
    from bot.storage.maintenance import MaintenanceError, restore

    config = _config(args)
    engine = make_engine(config.database_url())
    try:
        restore(engine, args.file)
    except MaintenanceError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    revision = upgrade(engine)  # a backup from an older version is migrated forward
    out.print(f"restored {escape(str(args.file))}; schema {revision}")
    return 0


def cmd_retention_purge(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from bot.storage.maintenance import purge_text

    config = _config(args)
    days = args.days if args.days is not None else config.retention.post_text_days
    if days <= 0:
        err.print("error: no retention window: pass --days N or set [retention] post_text_days")
        return 2
    purged = purge_text(_review_store(args), datetime.now(UTC) - timedelta(days=days), args.dry_run)
    verb = "would purge" if args.dry_run else "purged"
    out.print(f"{verb} the text of {purged.posts} post(s) older than {days} days ({purged.drafts} draft(s))")
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.storage.maintenance import forget

    purged = forget(_review_store(args), args.platform, args.user, _actor(args), "cli", args.community)
    out.print(f"forgot {escape(args.user)}: {purged.posts} post(s) and {purged.drafts} draft(s) erased")
    return 0


def cmd_service_install(args: argparse.Namespace) -> int:
    import shutil

    from bot.install import apply, next_steps, plan

    if args.instance is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", args.instance):
        err.print("error: an instance name is 1-64 letters, digits, '.', '_' or '-'")
        return 2
    found = shutil.which("modbot")
    executable = Path(found) if found else Path(sys.executable).with_name("modbot")
    try:
        planned = plan(args.root, executable.absolute(), args.instance)
    except FileNotFoundError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    if args.dry_run:
        for item in planned:
            out.print(escape(item.describe(item.path.exists())))
            out.print(escape(item.content), markup=False)
        out.print("(dry run: nothing written)")
        return 0
    try:
        lines = apply(planned)
    except OSError as exc:
        err.print(f"error: {escape(str(exc))} (run as root, or pass --root)")
        return 1
    for line in lines:
        out.print(escape(line))
    out.print("then:")
    for step in next_steps(args.instance):
        out.print("  " + escape(step))
    return 0


def cmd_moderator_add(args: argparse.Namespace) -> int:
    from bot.web.accounts import Accounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            err.print("error: the passwords differ")
            return 1
    try:
        mod = Accounts(_review_store(args)).add(args.name, password, args.role, _actor(args), "cli")
    except ValueError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    out.print(f"added {escape(mod.name)} ({mod.role})")
    return 0


def cmd_moderator_set(args: argparse.Namespace) -> int:
    from bot.web.accounts import Accounts

    try:
        mod = Accounts(_review_store(args)).update(args.name, _actor(args), "cli", args.role, args.disable)
    except LookupError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    out.print(f"{escape(mod.name)}: {mod.role}{', disabled' if mod.disabled else ''}")
    return 0


def cmd_moderator_list(args: argparse.Namespace) -> int:
    from bot.web.accounts import Accounts

    for mod in Accounts(_review_store(args)).list():
        out.print(f"{escape(mod.name)}: {mod.role}{' (disabled)' if mod.disabled else ''}")
    return 0


# --- review ---------------------------------------------------------------------------------------


def _review_store(args: argparse.Namespace) -> Store:
    from bot.wiring import open_store

    return open_store(_config(args))


def cmd_queue(args: argparse.Namespace) -> int:
    store = _review_store(args)
    states = ("open", "escalated", "closed") if args.all else ("open", "escalated")
    cases = store.cases(states, args.limit)
    if not cases:
        out.print("no open cases" if not args.all else "no cases")
        return 0
    table = Table(title=f"cases ({len(cases)})")
    for col in ("case", "state", "outcome", "platform/community", "author", "excerpt", "top reason"):
        table.add_column(col)
    for c in cases:
        top = c.decision.reasons[0].message if c.decision.reasons else ""
        table.add_row(
            str(c.id),
            c.state if c.state != "closed" else f"closed ({c.resolution})",
            c.decision.outcome.value + (" (shadow)" if c.decision.shadow else ""),
            escape(f"{c.post.platform}/{c.post.community}"),
            escape(c.post.author.id),
            escape(_excerpt(c.post.text)),
            escape(top),
        )
    out.print(table)
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from bot.storage.quarantine import QuarantineStore

    entries = QuarantineStore(_review_store(args)).latest(args.limit, args.platform)
    if not entries:
        out.print("nothing in quarantine")
        return 0
    table = Table(title=f"quarantine ({len(entries)} newest)")
    for col in ("id", "at", "platform", "source", "where", "why", "bytes"):
        table.add_column(col)
    for e in entries:
        item = e.item
        row = [str(e.id), e.at.strftime("%Y-%m-%d %H:%M:%S"), item.platform, item.source, item.position, item.reason]
        table.add_row(*(escape(v) for v in row), str(e.raw_size))
        if args.raw:
            table.add_row("", "", "", "", "", escape(item.raw.decode("utf-8", "replace")), "")
    out.print(table)
    return 0


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def cmd_case(args: argparse.Namespace) -> int:
    store = _review_store(args)
    view = store.case(args.id)
    if view is None:
        err.print(f"error: no case {args.id}")
        return 1
    _print_case(view)
    return 0


def _print_case(c: CaseView) -> None:
    d = c.decision
    out.print(
        f"[bold]case {c.id}[/bold]  state {c.state}"
        + (f" ({c.resolution} by {escape(c.closed_by or '')})" if c.resolution else "")
    )
    out.print(
        f"post {escape(c.post.id)} (row {c.post_row}) on {escape(c.post.platform)}/{escape(c.post.community)}"
        f"#{escape(c.post.channel)} by {escape(c.post.author.id)} at {c.post.created_at.isoformat()}"
    )
    out.print("text:     " + _marked(c.post.text, [s for r in d.reasons for s in r.spans]))
    out.print("scored as: " + escape(d.normalised_text or ""))
    out.print(
        f"decision: {d.outcome.value}{' (shadow mode: not acted on)' if d.shadow else ''}; "
        f"policy {d.policy_version}; scorers " + escape(", ".join(f"{k} {v}" for k, v in d.scorer_versions.items()))
    )
    out.print("scores:   " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(d.scores.items(), key=lambda kv: -kv[1])))
    for r in d.reasons:
        out.print(f"  - {escape(r.message)}")
    for a in c.actions:
        out.print(
            f"action {a.kind}: {a.state} after {a.attempts} attempt(s){': ' + escape(a.result) if a.result else ''}"
        )
    for entry in c.audit:
        out.print(
            f"audit {entry.at.isoformat()} {escape(entry.actor)} {entry.action} via {escape(entry.origin)}"
            + (f": {escape(str(entry.details.get('note')))}" if entry.details.get("note") else "")
        )
    if c.note:
        out.print(f"note: {escape(c.note)}")


def _marked(text: str, spans: list) -> str:  # type: ignore[type-arg]
    """Raw text with evidence spans in reverse video (escaped: post text is attacker-controlled)."""
    pieces, pos = [], 0
    for span in sorted({(s.start, s.end) for s in spans}):
        start, end = max(span[0], pos), span[1]
        if start >= end:
            continue
        pieces.append(escape(text[pos:start]))
        pieces.append(f"[reverse]{escape(text[start:end])}[/reverse]")
        pos = end
    pieces.append(escape(text[pos:]))
    return "".join(pieces)


def cmd_resolve(args: argparse.Namespace) -> int:
    from bot.review import resolve_case
    from bot.wiring import open_store

    config = _config(args)
    store = open_store(config)
    actor = _actor(args)
    try:
        view = resolve_case(store, config.build_policy(), args.id, args.verdict, actor, origin="cli", note=args.note)
    except (LookupError, ValueError) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    out.print(f"case {view.id} closed: {view.resolution} by {escape(actor)}")
    for a in view.actions:
        if a.state == "pending":
            out.print(f"queued action {a.kind} (carried out by the running service or the next `modbot run`)")
    return 0


def _actor(args: argparse.Namespace) -> str:
    return str(getattr(args, "actor", None) or os.environ.get("USER") or getpass.getuser())


def cmd_escalate(args: argparse.Namespace) -> int:
    from bot.review import escalate_case

    store = _review_store(args)
    try:
        view = escalate_case(store, args.id, _actor(args), origin="cli", note=args.note)
    except (LookupError, ValueError) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    out.print(f"case {view.id} escalated")
    return 0


def cmd_drafts(args: argparse.Namespace) -> int:
    from bot.storage.drafts import DraftStore

    config = _config(args)
    store = _review_store(args)
    if args.write:
        from bot import wiring
        from bot.drafts import write_queued

        built = wiring.filter_stack(config, store)
        written = asyncio.run(write_queued(config, store, built.decider, built.embedder))
        out.print(f"wrote {written} queued draft(s)")
    statuses = [] if args.all else (args.status or ["proposed"])
    drafts = DraftStore(store).drafts(statuses, args.limit)
    table = Table("draft", "status", "trigger", "post", "where", "text / reasons", box=None)
    for d in drafts:
        shown = d.text if d.status not in ("rejected", "failed") or not d.reasons else "; ".join(d.reasons)
        table.add_row(
            str(d.id),
            d.status,
            d.trigger,
            str(d.post_row),
            escape(f"{d.post.platform}/{d.post.community}"),
            escape(_excerpt(shown or "", 100)),
        )
    out.print(table if drafts else f"no drafts ({', '.join(statuses) or 'any status'})")
    return 0


def cmd_draft(args: argparse.Namespace) -> int:
    from bot.storage.drafts import DraftStore, DraftVerdict
    from moderation.drafting import length_of

    drafts = DraftStore(_review_store(args))
    verdict: DraftVerdict | None = (
        "approve" if args.approve else "edit" if args.edit is not None else "reject" if args.reject else None
    )
    try:
        if verdict is None:
            view = drafts.draft(args.id)
            if view is None:
                raise LookupError(f"no draft {args.id}")
        else:
            if args.edit is not None:
                current = drafts.draft(args.id)
                platform = current.post.platform if current else ""
                size, limit, unit = length_of(args.edit, platform)
                if size > limit:
                    raise ValueError(f"the edited text is {size} {unit}; {platform} takes at most {limit}")
            view = drafts.decide(args.id, verdict, _actor(args), "cli", args.edit, args.note)
    except (LookupError, ValueError) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    where = escape(f"{view.post.platform}/{view.post.community}")
    out.print(f"draft {view.id}: {view.status} ({view.trigger}) for post {view.post_row} on {where}")
    out.print("post:  " + escape(view.post.text))
    out.print("draft: " + escape(view.text or "(none)"))
    for reason in view.reasons:
        out.print(f"  - {escape(reason)}")
    if view.citations:
        out.print("cites: " + escape(", ".join(view.citations)))
    out.print(f"model {escape(view.model_version or '-')}, prompt {view.prompt_version or '-'}")
    if verdict in ("approve", "edit"):
        out.print("queued the reply (sent by the running service or the next `modbot run`)")
    return 0


def cmd_draft_reply(args: argparse.Namespace) -> int:
    from bot.storage.drafts import DraftStore

    store = _review_store(args)
    post_row = args.post
    if args.case is not None:
        case = store.case(args.case)
        if case is None:
            err.print(f"error: no case {args.case}")
            return 1
        post_row = case.post_row
    params = {"note": args.note} if args.note else {}
    try:
        draft_id = DraftStore(store).request(post_row, "request", params, _actor(args), "cli")
    except LookupError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    out.print(f"draft {draft_id} queued (written by the running service, or now with `modbot drafts --write`)")
    return 0


def cmd_discord_invite(args: argparse.Namespace) -> int:
    from bot.adapters.discord.permissions import invite_url

    discord_cfg = load_config(args.config).adapters.discord
    if discord_cfg.application_id is None:
        err.print("error: set [adapters.discord] application_id (the Developer Portal's Application ID)")
        return 2
    kinds = {k for ks in discord_cfg.actions.values() for k in ks} | {"alert"}
    out.print(invite_url(discord_cfg.application_id, kinds), soft_wrap=True)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot import wiring
    from bot.evaluation import runner

    config = _config(args)
    if args.suite == "live":
        return _eval_live(args, config)
    if args.suite != "functional" and not args.data.is_dir():
        err.print(f"error: no datasets folder at {escape(str(args.data))} (pass --data)")
        return 2
    command = "modbot " + " ".join(sys.argv[1:]) if "eval" in sys.argv[1:4] else f"modbot eval {args.suite}"
    try:
        if args.suite == "injection":
            report, plots = runner.injection(args.data, command)
        elif args.suite == "spam":
            report, plots = runner.spam(args.data, command)
        elif args.suite == "claims":
            from bot.scorers import load_claim_map
            from model.embedding import Embedder

            e = config.scorers.embedding
            posts = Embedder(e.model_dir, e.device, e.batch_size, precision=e.precision)
            claims_embedder = posts if posts.precision == "fp32" else Embedder(e.model_dir, e.device, e.batch_size)
            claim_map = load_claim_map(config.scorers.claims, posts.version)
            report, plots = runner.claims(
                args.data,
                posts.embed,
                posts.label,
                command,
                args.split,
                claim_map,
                claims_embedder.embed,
                posts if config.scorers.claims.rerank else None,
            )
        else:
            decider = wiring.filter_stack(config, rules=False).decider
            score = runner.scorer_for(decider, args.category)
            if args.suite == "bias":
                report, plots = runner.bias(args.data, score, decider.versions, command)
            elif args.suite == "abuse":
                from bot.evaluation import abuse

                report, plots = abuse.per_set(args.data, decider, command)
            elif args.suite == "functional":
                from bot.evaluation import abuse

                report, plots = abuse.functional(decider, command)
            else:
                report, plots = runner.toxicity(args.data, score, decider.versions, command, args.threshold)
    except FileNotFoundError as exc:
        err.print(f"error: {escape(str(exc))}")
        return 2
    for path in report.write(args.out, plots):
        out.print(f"wrote {escape(str(path))}")
    table = Table(title=f"modbot eval {args.suite}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.figures.items():
        table.add_row(key, runner.fmt(value))
    out.print(table)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import model
    from bot import claims_training, spam_training, training
    from model import claimmap, heads, spamtext

    config = _config(args)
    if not args.data.is_dir():
        err.print(f"error: no datasets folder at {escape(str(args.data))} (pass --data)")
        return 2
    artifacts = Path(model.__file__).parent / "artifacts"
    summary: dict[str, object]
    try:
        if args.model == "spam":
            _, summary = spam_training.train(args.data, args.out or artifacts / spamtext.SHIPPED, seed=args.seed)
        elif args.model == "claims":
            target = args.out or artifacts / claimmap.SHIPPED
            _, summary = claims_training.train(args.data, target, config.data.dir / "cache", seed=args.seed)
        else:
            target = args.out or artifacts / heads.SHIPPED
            _, summary = training.train(args.data, target, config.data.dir / "cache", seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 2
    for key, value in summary.items():
        out.print(f"{key}: {value}")
    return 0


def _eval_live(args: argparse.Namespace, config: Config) -> int:
    from datetime import datetime

    from bot.evaluation.live import audit_store
    from bot.wiring import open_store

    result = audit_store(open_store(config), args.days)
    since = datetime.fromisoformat(result["since"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    base = result["all posts"]
    out.print(
        f"{base['posts']} posts since {since:%Y-%m-%d}: flag rate {base['flag_rate']:.1%}, "
        f"override rate {base['override_rate']:.1%} of {base['reviewed']} reviewed"
    )
    table = Table(title="per identity term mentioned")
    for col in ("identity", "posts", "flag rate", "reviewed", "override rate"):
        table.add_column(col)
    for row in result["per identity"]:
        table.add_row(
            row["identity"],
            str(row["posts"]),
            f"{row['flag_rate']:.1%}",
            str(row["reviewed"]),
            f"{row['override_rate']:.1%}",
        )
    out.print(table)
    out.print(f"wrote {escape(str(args.out / 'live.json'))}")
    return 0


def cmd_claims_import(args: argparse.Namespace) -> int:
    from bot.claims import ImportError_, read, store_claims
    from bot.wiring import open_store
    from model.embedding import Embedder

    config = _config(args)
    try:
        records = read(args.file, args.format)
    except (OSError, ImportError_) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 2
    embedder = Embedder(config.scorers.embedding.model_dir)

    def progress(done: int, total: int) -> None:
        err.print(f"embedded and stored {done} of {total} new claims")

    added, known = store_claims(open_store(config), records, embedder.embed, embedder.version, args.file.name, progress)
    out.print(f"{escape(str(args.file))}: {len(records)} claims read, {added} added, {known} already stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
