"""`modbot calibrate`: flag thresholds proposed from moderators' verdicts, with their evidence;
an admin accepts one (the community's threshold rises in every process that decides, within
seconds) or reverts an accepted one. Both audit-logged."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from rich.table import Table

from bot.cli.shared import USAGE, CommandFailed, Subcommands, actor_of, add_actor, config_of, failing_on, out
from bot.cli.terminal import escape
from moderation.types import CATEGORIES

if TYPE_CHECKING:
    from bot.storage.thresholds import ThresholdChange
    from bot.thresholds import Proposed


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "calibrate", help="propose flag thresholds per community and category from moderators' verdicts; accept one"
    )
    p.add_argument("--days", type=int, default=90, help="verdicts of the cases closed this far back (default 90)")
    p.add_argument("--target", type=_share, default=0.8, help="precision asked of the flags (default 0.8)")
    p.add_argument("--confidence", type=_share, default=0.95, help="of the lower bound on it (default 0.95)")
    p.add_argument("--minimum", type=int, default=30, help="verdicts needed before proposing (default 30)")
    p.add_argument("--curve", action="store_true", help="also print each proposal's evidence per threshold")
    p.add_argument("--accept", choices=CATEGORIES, metavar="CATEGORY", help="accept the proposal for this category")
    p.add_argument("--platform", help="with --accept: the community's platform")
    p.add_argument("--community", help="with --accept: the community")
    p.add_argument("--revert", type=int, metavar="ID", help="revert an accepted threshold (see the list printed)")
    add_actor(p)
    p.set_defaults(func=calibrate)


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 < share < 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return share


def calibrate(args: argparse.Namespace) -> int:
    from bot import thresholds
    from bot.runtime.wiring import open_store

    config = config_of(args)
    store, policy = open_store(config), config.build_policy()
    since = datetime.now(UTC) - timedelta(days=args.days)
    asked = thresholds.Asked(args.target, args.confidence, args.minimum)
    if args.accept:
        if not (args.platform and args.community):
            raise CommandFailed("--accept needs --platform and --community", USAGE)
        where = (args.platform, args.community, args.accept)
        with failing_on(LookupError, ValueError):
            change, p = thresholds.accept(store, policy, where, since, asked, actor_of(args), "cli")
        out.print(
            f"accepted as change {change}: {args.accept} flags in {escape(args.platform)}/{escape(args.community)} "
            f"from {p.threshold:.2f} up ({escape(p.why)}); running services apply it within 15 s"
        )
        return 0
    if args.revert is not None:
        with failing_on(LookupError, ValueError):
            undone = store.revert_threshold(args.revert, actor_of(args), "cli")
        out.print(
            f"reverted change {undone.id}: {undone.category} in {escape(undone.platform)}/{escape(undone.community)}"
        )
        return 0
    _print_proposals(thresholds.proposals(store, policy, since, asked), args)
    _print_accepted(store.threshold_changes())
    return 0


def _print_proposals(found: list[Proposed], args: argparse.Namespace) -> None:
    if not found:
        out.print(f"no judged cases in the last {args.days} days")
        return
    total = sum(f.proposal.confirmed + f.proposal.overturned for f in found)
    table = Table(title=f"flag thresholds from {total} verdicts (target {args.target:.0%})")
    for col in ("platform/community", "category", "confirmed", "overturned", "missed", "now", "proposal"):
        table.add_column(col)
    table.add_column("precision then")
    table.add_column("why")
    for f in found:
        p = f.proposal
        table.add_row(
            escape(f"{f.platform}/{f.community}"),
            p.category,
            str(p.confirmed),
            str(p.overturned),
            str(p.missed),
            "-" if p.current is None else f"{p.current:.2f} ({p.precision_now:.0%})",
            p.verdict.value + ("" if p.threshold is None else f" {p.threshold:.2f}"),
            f"{p.precision_then:.0%} (>= {p.lower_bound:.0%})" if p.threshold is not None else "-",
            escape(p.why),
        )
    out.print(table)
    if args.curve:
        for f in found:
            points = ", ".join(f"{cut:.2f}: {hits}/{kept}" for cut, kept, hits in f.curve if kept)
            out.print(f"{escape(f.platform)}/{escape(f.community)} {f.proposal.category} confirmed/kept: {points}")


def _print_accepted(changes: list[ThresholdChange]) -> None:
    if not changes:
        return
    table = Table(title="accepted thresholds (newest first)")
    for col in ("id", "platform/community", "category", "threshold", "accepted", "reverted"):
        table.add_column(col)
    for c in changes:
        reverted = f"{c.reverted_at:%Y-%m-%d %H:%M} by {c.reverted_by}" if c.reverted_at else "-"
        table.add_row(
            str(c.id),
            escape(f"{c.platform}/{c.community}"),
            c.category,
            f"{c.threshold:.2f}",
            escape(f"{c.accepted_at:%Y-%m-%d %H:%M} by {c.accepted_by}"),
            escape(reverted),
        )
    out.print(table)
