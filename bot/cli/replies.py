"""Reply drafts from a terminal: list them, ask for one, approve, edit or reject one
(audit-logged; nothing is sent without a moderator)."""

from __future__ import annotations

import argparse
import asyncio

from rich.table import Table

import bot.cli.shared as cli
from bot.cli.terminal import escape
from bot.storage.drafts import DraftStore, DraftVerdict, DraftView
from bot.storage.records import DraftStatus


def register(sub: cli.Subcommands) -> None:
    p = sub.add_parser("drafts", help="list reply drafts (newest first)")
    p.add_argument("--status", action="append", help="only these statuses (repeatable; default: proposed)")
    p.add_argument("--all", action="store_true", help="every status")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--write", action="store_true", help="write queued drafts now, in this process, then list")
    p.set_defaults(func=list_drafts)

    p = sub.add_parser("draft", help="show a reply draft; approve, edit or reject it (audit-logged)")
    p.add_argument("id", type=int)
    verdict = p.add_mutually_exclusive_group()
    verdict.add_argument("--approve", action="store_true", help="send it as drafted")
    verdict.add_argument("--edit", metavar="TEXT", help="send this text instead")
    verdict.add_argument("--reject", action="store_true", help="never send it")
    p.add_argument("--note", help="why (kept in the audit log)")
    cli.add_actor(p)
    p.set_defaults(func=draft)

    p = sub.add_parser("draft-reply", help="ask the reply assistant for a draft reply to a stored post")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--post", type=int, help="the post's row id (as `modbot drafts` and `case` show it)")
    target.add_argument("--case", type=int, help="the post of this case")
    p.add_argument("--note", help="what the reply should address (the draft is grounded on it too)")
    cli.add_actor(p)
    p.set_defaults(func=draft_reply)


def list_drafts(args: argparse.Namespace) -> int:
    from bot.runtime.wiring import open_store

    config = cli.config_of(args)
    store = open_store(config)
    if args.write:
        from bot.assistant.drafting_loop import write_queued
        from bot.runtime import wiring

        built = wiring.filter_stack(config, store)
        written = asyncio.run(write_queued(config, store, built.decider, built.embedder, args.generator))
        cli.out.print(f"wrote {written} queued draft(s)")
    statuses = [] if args.all else (args.status or [DraftStatus.PROPOSED])
    drafts = DraftStore(store).drafts(statuses, args.limit)
    table = Table("draft", "status", "trigger", "post", "where", "text / reasons", box=None)
    for d in drafts:
        shown = (
            d.text
            if d.status not in (DraftStatus.REJECTED, DraftStatus.ABSTAINED, DraftStatus.FAILED) or not d.reasons
            else "; ".join(d.reasons)
        )
        table.add_row(
            str(d.id),
            d.status,
            d.trigger,
            str(d.post_row),
            escape(f"{d.post.platform}/{d.post.community}"),
            escape(cli.excerpt(shown or "", 100)),
        )
    cli.out.print(table if drafts else f"no drafts ({', '.join(statuses) or 'any status'})")
    return 0


def draft(args: argparse.Namespace) -> int:
    drafts = DraftStore(cli.store_of(args))
    verdict: DraftVerdict | None = (
        "approve" if args.approve else "edit" if args.edit is not None else "reject" if args.reject else None
    )
    with cli.failing_on(LookupError, ValueError):
        view = _shown(drafts, args.id) if verdict is None else _decided(drafts, args, verdict)
    where = escape(f"{view.post.platform}/{view.post.community}")
    cli.out.print(f"draft {view.id}: {view.status} ({view.trigger}) for post {view.post_row} on {where}")
    cli.out.print("post:  " + escape(view.post.text))
    cli.out.print("draft: " + escape(view.text or "(none)"))
    for reason in view.reasons:
        cli.out.print(f"  - {escape(reason)}")
    if view.citations:
        cli.out.print("cites: " + escape(", ".join(view.citations)))
    cli.out.print(f"model {escape(view.model_version or '-')}, prompt {view.prompt_version or '-'}")
    if verdict in ("approve", "edit"):
        cli.out.print("queued the reply (sent by the running service or the next `modbot run`)")
    return 0


def _shown(drafts: DraftStore, draft_id: int) -> DraftView:
    view = drafts.draft(draft_id)
    if view is None:
        raise LookupError(f"no draft {draft_id}")
    return view


def _decided(drafts: DraftStore, args: argparse.Namespace, verdict: DraftVerdict) -> DraftView:
    from moderation.drafting import length_of

    if args.edit is not None:
        current = drafts.draft(args.id)
        platform = current.post.platform if current else ""
        size, limit, unit = length_of(args.edit, platform)
        if size > limit:
            raise ValueError(f"the edited text is {size} {unit}; {platform} takes at most {limit}")
    return drafts.decide(args.id, verdict, cli.actor_of(args), "cli", args.edit, args.note)


def draft_reply(args: argparse.Namespace) -> int:
    store = cli.store_of(args)
    post_row = args.post
    if args.case is not None:
        case = store.case(args.case)
        if case is None:
            raise cli.CommandFailed(f"no case {args.case}")
        post_row = case.post_row
    params = {"note": args.note} if args.note else {}
    with cli.failing_on(LookupError):
        draft_id = DraftStore(store).request(post_row, "request", params, cli.actor_of(args), "cli")
    cli.out.print(f"draft {draft_id} queued (written by the running service, or now with `modbot drafts --write`)")
    return 0
