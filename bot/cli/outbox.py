"""The outbox from a terminal: what failed and why, and re-queueing it once the cause is fixed (a
permission granted, a channel restored). The running service picks re-queued actions up within a
second; with none running, the next `modbot run` does."""

from __future__ import annotations

import argparse

from rich.table import Table

from bot.cli.shared import Subcommands, actor_of, add_actor, failing_on, out, store_of
from bot.cli.terminal import escape
from bot.storage.records import ActionState


def register(sub: Subcommands) -> None:
    group = sub.add_parser("actions", help="outbox actions: list them, retry failed ones")
    asub = group.add_subparsers(required=True, metavar="ACTION")
    p = asub.add_parser("list", help="actions not done yet, newest first (failed ones with why)")
    p.add_argument(
        "--state",
        choices=[s.value for s in ActionState],
        action="append",
        help="only these states (repeatable; default: pending, running, failed)",
    )
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=list_actions)

    p = asub.add_parser("retry", help="put failed actions back in the queue with their attempts reset (audit-logged)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", type=int, nargs="*", default=[], metavar="ID", help="these failed actions")
    which.add_argument("--failed", action="store_true", help="every failed action")
    add_actor(p)
    p.set_defaults(func=retry)


def list_actions(args: argparse.Namespace) -> int:
    states = [ActionState(s) for s in args.state or ()] or [s for s in ActionState if s != ActionState.DONE]
    rows = store_of(args).actions_in(states, args.limit)
    if not rows:
        out.print(f"no {', '.join(states)} actions")
        return 0
    table = Table(title=f"actions ({len(rows)} newest)")
    for col in ("id", "kind", "state", "attempts", "platform/community", "case", "changed", "result"):
        table.add_column(col)
    for action, changed in rows:
        where = f"{action.platform}/{action.platform_ref.get('community', '')}"
        cells = [str(action.id), action.kind, action.state, str(action.attempts), where]
        cells += [str(action.case_id or ""), changed.strftime("%Y-%m-%d %H:%M:%S"), action.result or ""]
        table.add_row(*(escape(c) for c in cells))
    out.print(table)
    return 0


def retry(args: argparse.Namespace) -> int:
    with failing_on(LookupError):
        requeued = store_of(args).retry_actions(None if args.failed else args.ids, actor_of(args), "cli")
    if not requeued:
        out.print("no failed actions")
        return 0
    out.print(f"re-queued {len(requeued)} action(s): {', '.join(map(str, requeued))}")
    return 0
