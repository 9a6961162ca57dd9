"""Setting modbot up and keeping it: config check, the database, retention and erasure, the
systemd install, dashboard accounts, the Discord invite and the fact-check import."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from pathlib import Path

from bot.cli.shared import (
    USAGE,
    CommandFailed,
    Subcommands,
    actor_of,
    add_actor,
    config_of,
    err,
    failing_on,
    out,
    store_of,
)
from bot.cli.terminal import escape
from bot.config import load_config
from bot.storage.db import DatabaseError, display_url, make_engine, schema_status, upgrade
from moderation.grounding import secret_like

_ROLES = ("viewer", "moderator", "admin")


def register(sub: Subcommands) -> None:
    csub = sub.add_parser("config", help="configuration tools").add_subparsers(required=True, metavar="ACTION")
    c = csub.add_parser("check", help="validate a config file without starting anything")
    c.add_argument("file", type=Path)
    c.set_defaults(func=config_check)
    _register_db(sub)

    rsub = sub.add_parser("retention", help="post text retention").add_subparsers(required=True, metavar="ACTION")
    r = rsub.add_parser("purge", help="purge old post text now (closed cases only; decisions and hashes stay)")
    r.add_argument("--days", type=int, help="older than this (default: [retention] post_text_days)")
    r.add_argument("--dry-run", action="store_true", help="count, change nothing")
    r.set_defaults(func=retention_purge)

    p = sub.add_parser("forget", help="delete a user's content on request (audit-logged)")
    p.add_argument("user", help="the platform's user id (Discord user id, Bluesky DID, console author id)")
    p.add_argument("--platform", required=True, choices=("discord", "bluesky", "console"))
    p.add_argument("--community", help="only in this community")
    add_actor(p, "who asked, for the audit log")
    p.set_defaults(func=forget)

    ssub = sub.add_parser("service", help="install as a systemd service").add_subparsers(
        required=True, metavar="ACTION"
    )
    s = ssub.add_parser("install", help="write the systemd unit, a config skeleton and a secrets file")
    s.add_argument("--dry-run", action="store_true", help="show what would be written, write nothing")
    s.add_argument("--instance", help="use the template unit modbot@.service for this instance name")
    s.add_argument("--root", type=Path, default=Path("/"), help="write under this folder (default /)")
    s.set_defaults(func=service_install)
    _register_accounts(sub)

    dcsub = sub.add_parser("discord", help="Discord tools").add_subparsers(required=True, metavar="ACTION")
    invite = dcsub.add_parser("invite-url", help="print the bot's invite link with the least permissions it needs")
    invite.set_defaults(func=discord_invite)

    clsub = sub.add_parser("claims", help="the fact-check store").add_subparsers(required=True, metavar="ACTION")
    c = clsub.add_parser("import", help="import fact-checks: ClaimReview JSON, CSV or CheckThat! TSV")
    c.add_argument("file", type=Path)
    c.add_argument("--format", choices=("claimreview", "csv", "checkthat"), help="default: from the file name")
    c.set_defaults(func=claims_import)


def _register_db(sub: Subcommands) -> None:
    dsub = sub.add_parser("db", help="database tools").add_subparsers(required=True, metavar="ACTION")
    dsub.add_parser("upgrade", help="apply migrations up to the newest schema").set_defaults(func=db_upgrade)
    dsub.add_parser("status", help="show the schema version").set_defaults(func=db_status)
    b = dsub.add_parser("backup", help="copy the SQLite database while it runs (online backup API)")
    b.add_argument("file", type=Path)
    b.set_defaults(func=db_backup)
    b = dsub.add_parser("restore", help="replace the SQLite database with a backup (stop the service first)")
    b.add_argument("file", type=Path)
    b.set_defaults(func=db_restore)


def _register_accounts(sub: Subcommands) -> None:
    msub = sub.add_parser("moderator", help="dashboard accounts").add_subparsers(required=True, metavar="ACTION")
    m = msub.add_parser("add", help="add an account (asks for the password)")
    m.add_argument("name")
    m.add_argument("--role", choices=_ROLES, required=True)
    m.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    m.set_defaults(func=moderator_add)
    m = msub.add_parser("set", help="change an account's role, or disable / enable it")
    m.add_argument("name")
    m.add_argument("--role", choices=_ROLES)
    m.add_argument("--disable", action="store_true", default=None)
    m.add_argument("--enable", dest="disable", action="store_false")
    m.set_defaults(func=moderator_set)
    msub.add_parser("list", help="list accounts").set_defaults(func=moderator_list)


def config_check(args: argparse.Namespace) -> int:
    from bot.runtime.executor import gives_up_early

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
    out.print("  thresholds (the defaults merged with this file's):")
    for category, cuts in sorted(policy.default.thresholds.items()):
        shown = ", ".join(f"{outcome.value} {value:g}" for outcome, value in sorted(cuts.items(), key=lambda x: x[1]))
        out.print(f"    {category}: {shown or 'off'}")
    if (early := gives_up_early(config.executor)) is not None:
        out.print(f"  [yellow]warning[/]: {escape(early)}")
    personas = {"[reply] persona": config.reply.persona} | {
        f"[reply.communities.{name}] persona": c.persona for name, c in config.reply.communities.items() if c.persona
    }
    for where, persona in personas.items():
        for line in secret_like(persona):
            out.print(
                f"  [yellow]warning[/]: {escape(where)} looks like it holds a secret ({escape(line[:80])}): the "
                "persona goes to the model with every draft and a model can be talked into repeating it; keep "
                "secrets out of it (private notes belong in the knowledge folder's private*.md)"
            )
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    config = config_of(args)
    revision = upgrade(make_engine(config.database_url()))
    out.print(f"{escape(display_url(config.database_url()))}: schema at {revision}")
    return 0


def db_status(args: argparse.Namespace) -> int:
    config = config_of(args)
    try:
        current, head = schema_status(make_engine(config.database_url()))
    except Exception as exc:
        raise DatabaseError(f"cannot read {display_url(config.database_url())}: {exc}") from exc
    state = "up to date" if current == head else "needs `modbot db upgrade`"
    out.print(f"schema {current or 'empty'}, newest {head}: {state}")
    return 0 if current == head else 1


def db_backup(args: argparse.Namespace) -> int:
    from bot.storage.maintenance import MaintenanceError, backup

    config = config_of(args)
    with failing_on(MaintenanceError):
        pages = backup(make_engine(config.database_url()), args.file)
    out.print(f"backed up {pages} pages to {escape(str(args.file))}")
    return 0


def db_restore(args: argparse.Namespace) -> int:
    from bot.storage.maintenance import MaintenanceError, restore

    engine = make_engine(config_of(args).database_url())
    with failing_on(MaintenanceError):
        restore(engine, args.file)
    revision = upgrade(engine)  # a backup from an older version is migrated forward
    out.print(f"restored {escape(str(args.file))}; schema {revision}")
    return 0


def retention_purge(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime, timedelta

    from bot.storage.maintenance import purge_text

    config = config_of(args)
    days = args.days if args.days is not None else config.retention.post_text_days
    if days <= 0:
        raise CommandFailed("no retention window: pass --days N or set [retention] post_text_days", USAGE)
    purged = purge_text(store_of(args), datetime.now(UTC) - timedelta(days=days), args.dry_run)
    verb = "would purge" if args.dry_run else "purged"
    out.print(f"{verb} the text of {purged.posts} post(s) older than {days} days ({purged.drafts} draft(s))")
    return 0


def forget(args: argparse.Namespace) -> int:
    from bot.storage.maintenance import forget as erase

    purged = erase(store_of(args), args.platform, args.user, actor_of(args), "cli", args.community)
    out.print(f"forgot {escape(args.user)}: {purged.posts} post(s) and {purged.drafts} draft(s) erased")
    return 0


def service_install(args: argparse.Namespace) -> int:
    import shutil

    from bot.ops.install import apply, next_steps, plan

    if args.instance is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", args.instance):
        raise CommandFailed("an instance name is 1-64 letters, digits, '.', '_' or '-'", USAGE)
    found = shutil.which("modbot")
    executable = Path(found) if found else Path(sys.executable).with_name("modbot")
    with failing_on(FileNotFoundError):
        planned = plan(args.root, executable.absolute(), args.instance)
    if args.dry_run:
        for item in planned:
            out.print(escape(item.describe(item.path.exists())))
            out.print(escape(item.content), markup=False)
        out.print("(dry run: nothing written)")
        return 0
    try:
        lines = apply(planned)
    except OSError as exc:
        raise CommandFailed(f"{exc} (run as root, or pass --root)") from exc
    for line in lines:
        out.print(escape(line))
    out.print("then:")
    for step in next_steps(args.instance):
        out.print("  " + escape(step))
    return 0


def moderator_add(args: argparse.Namespace) -> int:
    from bot.web.accounts import Accounts

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise CommandFailed("the passwords differ")
    with failing_on(ValueError):
        mod = Accounts(store_of(args)).add(args.name, password, args.role, actor_of(args), "cli")
    out.print(f"added {escape(mod.name)} ({mod.role})")
    return 0


def moderator_set(args: argparse.Namespace) -> int:
    from bot.web.accounts import Accounts

    with failing_on(LookupError):
        mod = Accounts(store_of(args)).update(args.name, actor_of(args), "cli", args.role, args.disable)
    out.print(f"{escape(mod.name)}: {mod.role}{', disabled' if mod.disabled else ''}")
    return 0


def moderator_list(args: argparse.Namespace) -> int:
    from bot.web.accounts import Accounts

    for mod in Accounts(store_of(args)).list():
        out.print(f"{escape(mod.name)}: {mod.role}{' (disabled)' if mod.disabled else ''}")
    return 0


def discord_invite(args: argparse.Namespace) -> int:
    from bot.adapters.discord.permissions import invite_url, kinds_taken

    discord_cfg = load_config(args.config).adapters.discord
    if discord_cfg.application_id is None:
        raise CommandFailed("set [adapters.discord] application_id (the Developer Portal's Application ID)", USAGE)
    out.print(invite_url(discord_cfg.application_id, kinds_taken(discord_cfg)), soft_wrap=True)
    return 0


def claims_import(args: argparse.Namespace) -> int:
    from bot.ops.claims import ImportError_, read, store_claims
    from bot.runtime.wiring import open_store
    from model.embedding import Embedder

    config = config_of(args)
    with failing_on(OSError, ImportError_, code=USAGE):
        records = read(args.file, args.format)
    embedder = Embedder(config.scorers.embedding.model_dir)

    def progress(done: int, total: int) -> None:
        err.print(f"embedded and stored {done} of {total} new claims")

    added, known = store_claims(open_store(config), records, embedder.embed, embedder.version, args.file.name, progress)
    out.print(f"{escape(str(args.file))}: {len(records)} claims read, {added} added, {known} already stored")
    return 0
