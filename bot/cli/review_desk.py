"""The review queue from a terminal: list cases and quarantined input, show a case with its
evidence marked, resolve or escalate it (audit-logged like the dashboard and Discord)."""

from __future__ import annotations

import argparse

from rich.table import Table

from bot.cli.shared import (
    CommandFailed,
    Subcommands,
    actor_of,
    add_actor,
    config_of,
    excerpt,
    failing_on,
    out,
    store_of,
)
from bot.cli.terminal import escape
from bot.storage.records import WAITING, ActionState, CaseState, CaseView
from moderation.types import CATEGORIES, Author, Span

_VERDICTS = (
    ("approve", "the post is fine"),
    ("remove", "the post breaks the rules: remove it"),
    ("timeout", "remove it and time the author out (policy's timeout_minutes)"),
    ("ban", "remove it and ban the author"),
)


def register(sub: Subcommands) -> None:
    p = sub.add_parser("queue", help="list open cases")
    p.add_argument("--all", action="store_true", help="include closed cases")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=queue)

    p = sub.add_parser("quarantine", help="list input that could not become a post, newest first")
    p.add_argument("--platform", help="only this platform's")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--raw", action="store_true", help="show each item's raw bytes (control characters as codes)")
    p.set_defaults(func=quarantine)

    p = sub.add_parser("case", help="show one case in full")
    p.add_argument("id", type=int)
    p.set_defaults(func=case)

    p = sub.add_parser("resolve", help="close a case with a verdict (audit-logged)")
    p.add_argument("id", type=int)
    verdict = p.add_mutually_exclusive_group(required=True)
    for name, meaning in _VERDICTS:
        verdict.add_argument(f"--{name}", dest="verdict", action="store_const", const=name, help=meaning)
    p.add_argument("--note", help="why (kept with the case)")
    add_actor(p)
    p.set_defaults(func=resolve)

    p = sub.add_parser("report", help="a post modbot allowed that should have been flagged: open a case for it")
    p.add_argument("post", help="the post's id on its platform (a Discord message id, a Bluesky post's URI)")
    p.add_argument("--platform", required=True)
    p.add_argument("--community", required=True, help="the Discord guild id, the Bluesky account's DID")
    p.add_argument("--category", required=True, choices=CATEGORIES, help="what it should have been flagged for")
    p.add_argument("--note", help="why (kept with the case)")
    add_actor(p)
    p.set_defaults(func=report)

    p = sub.add_parser("appeal", help="answer an author's appeal on a case (audit-logged; the author is told)")
    p.add_argument("id", type=int)
    answer = p.add_mutually_exclusive_group(required=True)
    answer.add_argument("--uphold", dest="verb", action="store_const", const="uphold", help="the decision stands")
    answer.add_argument(
        "--overturn", dest="verb", action="store_const", const="overturn", help="it was wrong: lift what can be lifted"
    )
    p.add_argument("--note", help="said to the author with the answer")
    add_actor(p)
    p.set_defaults(func=appeal)

    p = sub.add_parser("escalate", help="mark a case for senior moderators (audit-logged)")
    p.add_argument("id", type=int)
    p.add_argument("--note", help="why")
    add_actor(p)
    p.set_defaults(func=escalate)


def _who(author: Author) -> str:
    """The handle a moderator knows, with the id that stays (a Bluesky DID) when they differ."""
    if author.handle and author.handle != author.id:
        return f"{author.handle} ({author.id})"
    return author.id


def queue(args: argparse.Namespace) -> int:
    store = store_of(args)
    states = tuple(CaseState) if args.all else WAITING
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
            c.state if c.state != CaseState.CLOSED else f"closed ({c.resolution})",
            c.decision.outcome.value + (" (shadow)" if c.decision.shadow else ""),
            escape(f"{c.post.platform}/{c.post.community}"),
            escape(_who(c.post.author)),
            escape(excerpt(c.post.text)),
            escape(top),
        )
    out.print(table)
    return 0


def quarantine(args: argparse.Namespace) -> int:
    from bot.storage.quarantine import QuarantineStore

    entries = QuarantineStore(store_of(args)).latest(args.limit, args.platform)
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
            table.add_row("", "", "", "", "", escape(e.readable()), "")
    out.print(table)
    return 0


def case(args: argparse.Namespace) -> int:
    view = store_of(args).case(args.id)
    if view is None:
        raise CommandFailed(f"no case {args.id}")
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
        f"#{escape(c.post.channel)} by {escape(_who(c.post.author))} at {c.post.created_at.isoformat()}"
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
    if (appeal := c.appeal) is not None:
        when = appeal.opened_at.isoformat()
        out.print(f"appeal ({appeal.state}, {when} via {escape(appeal.via)}): {escape(appeal.text)}")
        if appeal.decided_by:
            out.print(f"  answered by {escape(appeal.decided_by)}: {escape(appeal.answer or '(no note)')}")


def _marked(text: str, spans: list[Span]) -> str:
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


def resolve(args: argparse.Namespace) -> int:
    from bot.review import Verdicts, resolve_case
    from bot.runtime.wiring import open_store, planner

    config = config_of(args)
    actor = actor_of(args)
    verdicts = Verdicts(config.build_policy(), planner(config))
    with failing_on(LookupError, ValueError):
        view = resolve_case(open_store(config), verdicts, args.id, args.verdict, actor, origin="cli", note=args.note)
    out.print(f"case {view.id} closed: {view.resolution} by {escape(actor)}")
    for a in view.actions:
        if a.state == ActionState.PENDING:
            out.print(f"queued action {a.kind} (carried out by the running service or the next `modbot run`)")
    return 0


def report(args: argparse.Namespace) -> int:
    """The missed case's label: the case it opens is judged like any flag, and its verdict counts
    in `modbot calibrate` and `modbot learn`."""
    store = store_of(args)
    found = store.decisions_for(args.platform, args.community, [args.post]).get(args.post)
    if found is None:
        raise CommandFailed(f"no decision for post {args.post} in {args.platform}/{args.community}")
    with failing_on(LookupError, ValueError):
        view = store.report_missed(found.id, args.category, actor_of(args), "cli", args.note)
    score = view.decision.scores.get(args.category, 0.0)
    out.print(f"case {view.id} opened: {args.category} missed (scored {score:.2f}, decided {found.outcome.value})")
    return 0


def appeal(args: argparse.Namespace) -> int:
    from bot.review import Verdicts, answer_appeal
    from bot.runtime.wiring import open_store, planner

    config = config_of(args)
    verdicts = Verdicts(config.build_policy(), planner(config))
    with failing_on(LookupError, ValueError):
        view = answer_appeal(open_store(config), verdicts, args.id, args.verb, actor_of(args), "cli", args.note)
    out.print(f"case {view.id}: appeal {view.appeal.state if view.appeal else '?'}, case {view.state}")
    for a in view.actions:
        if a.state == ActionState.PENDING:
            out.print(f"queued action {a.kind} (carried out by the running service or the next `modbot run`)")
    return 0


def escalate(args: argparse.Namespace) -> int:
    from bot.review import escalate_case

    with failing_on(LookupError, ValueError):
        view = escalate_case(store_of(args), args.id, actor_of(args), origin="cli", note=args.note)
    out.print(f"case {view.id} escalated")
    return 0
