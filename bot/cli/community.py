"""`modbot learn`: a community's own model from its moderators' verdicts. Fitted into shadow,
shown with what it would have changed, promoted by a moderator past the guard-rails, retired at
will; every step audit-logged."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.table import Table

from bot.cli.shared import USAGE, CommandFailed, Subcommands, actor_of, add_actor, config_of, out
from bot.cli.terminal import escape
from bot.config import Config
from moderation.types import ABUSE


def register(sub: Subcommands) -> None:
    p = sub.add_parser("learn", help="a community's own model from its moderators' verdicts (shadow first)")
    steps = p.add_subparsers(dest="step", metavar="STEP", required=True)

    fit = steps.add_parser("fit", help="fit the community's model from its verdicts; it starts in shadow")
    _community(fit)
    fit.add_argument("--days", type=int, default=90, help="verdicts of the cases closed this far back (default 90)")
    fit.add_argument("--minimum", type=int, default=30, help="verdicts a category needs (default 30)")
    fit.add_argument(
        "--keep", type=_share, default=0.98, help="share of confirmed flags it must still flag, held out (default 0.98)"
    )
    fit.add_argument(
        "--cap", type=_share, default=1 / 3, help="the most one moderator's verdicts may weigh (default a third)"
    )
    fit.add_argument(
        "--may-lower",
        type=_categories,
        default=frozenset(),
        metavar="CATEGORIES",
        help="hate or threat flags the model may clear (an admin's explicit choice; default: none)",
    )
    add_actor(fit)
    fit.set_defaults(func=learn_fit)

    status = steps.add_parser("status", help="every community model, and what each shadow model would have changed")
    status.add_argument("--days", type=int, default=30, help="shadow figures over this many days (default 30)")
    status.set_defaults(func=learn_status)

    promote = steps.add_parser("promote", help="let the model decide, if the functional and bias floors hold")
    _community(promote)
    add_actor(promote)
    promote.set_defaults(func=learn_promote)

    retire = steps.add_parser("retire", help="delete the community's model: the shared models decide alone")
    _community(retire)
    add_actor(retire)
    retire.set_defaults(func=learn_retire)


def _community(p: argparse.ArgumentParser) -> None:
    p.add_argument("community", help="the community's id (a Discord guild id, a Bluesky account's DID)")
    p.add_argument("--platform", required=True, help="discord, bluesky, console, ...")


def _share(value: str) -> float:
    share = float(value)
    if not 0.0 < share <= 1.0:
        raise argparse.ArgumentTypeError("must be above 0 and at most 1")
    return share


def _categories(value: str) -> frozenset[str]:
    named = frozenset(v.strip() for v in value.split(",") if v.strip())
    if unknown := named - set(ABUSE):
        raise argparse.ArgumentTypeError(f"unknown categories {sorted(unknown)}; known: {', '.join(ABUSE)}")
    return named


def learn_fit(args: argparse.Namespace) -> int:
    from bot.lab.community import examples, suggested_examples
    from bot.perspective.scoring import PLATFORM as API
    from bot.runtime import wiring
    from model.community import TooFewVerdicts, fit, model_path, save
    from moderation.community import HELD

    config = config_of(args)
    store = wiring.open_store(config)
    since = datetime.now(UTC) - timedelta(days=args.days)
    judged, purged = store.verdicted(args.platform, args.community, since)
    decider = wiring.filter_stack(config).decider
    found = examples(decider, judged)
    if args.platform == API:  # the scoring API's clients give their verdicts as suggested scores
        found += suggested_examples(decider, args.community, store.suggested(args.community, since))
    try:
        model = fit(args.platform, args.community, found, args.minimum, args.cap, HELD - args.may_lower, args.keep)
    except TooFewVerdicts as exc:
        raise CommandFailed(f"{exc} ({len(found)} usable verdicts, {purged} without text)") from exc
    path = model_path(config.data.dir, args.platform, args.community)
    save(model, path)
    details = {"version": model.version, "verdicts": len(found), "may_lower": sorted(args.may_lower)}
    store.audit(actor_of(args), "community_model.fit", "community", f"{args.platform}:{args.community}", "cli", details)
    table = Table(title=f"{escape(model.version)} for {escape(args.platform)}/{escape(args.community)}: in shadow")
    for col in ("category", "verdicts", "confirmed", "applies from", "held at its flag threshold"):
        table.add_column(col)
    for category, a in sorted(model.adjustments.items()):
        held = "yes" if category in model.held else "no"
        table.add_row(category, str(a.verdicts), str(a.confirmed), f"{a.applies_from:.2f}", held)
    out.print(table)
    out.print(
        f"{len(found)} verdicts ({purged} more had no text left). In shadow its scores are logged as "
        "'community (shadow)' beside each decision and change nothing; `modbot learn status` shows what it "
        "would have changed, `modbot learn promote` lets it decide. A running service loads it within 15 s."
    )
    return 0


def learn_status(args: argparse.Namespace) -> int:
    from bot.lab.community import shadow_figures
    from bot.runtime import wiring
    from model.community import load_all

    config = config_of(args)
    store = wiring.open_store(config)
    policy = config.build_policy()
    found = list(load_all(config.data.dir))
    if not found:
        out.print("no community models (fit one with `modbot learn fit`)")
        return 0
    since = datetime.now(UTC) - timedelta(days=args.days)
    for _, model in found:
        verdicts = sum(a.verdicts for a in model.adjustments.values())
        out.print(
            f"[bold]{escape(model.platform)}/{escape(model.community)}[/bold]: {model.stage.value}, "
            f"{escape(model.version)}, {verdicts} verdicts from {len(model.trained_on)} moderators"
        )
        rules = policy.rules_for(model.community, "")
        figures = shadow_figures(store.stored_for_replay(since, model.community), model.platform, rules)
        for key, n in sorted(figures.items()):
            out.print(f"  {key}: {n}")
    return 0


def _fitted(args: argparse.Namespace) -> tuple[Config, Path]:
    """The configuration and the community's model file, which must exist."""
    from model.community import model_path

    config = config_of(args)
    path = model_path(config.data.dir, args.platform, args.community)
    if not path.exists():
        raise CommandFailed(f"no model for {args.platform}/{args.community} (fit one with `modbot learn fit`)", USAGE)
    return config, path


def learn_promote(args: argparse.Namespace) -> int:
    from bot.lab.community import promote
    from bot.runtime import wiring

    config, path = _fitted(args)
    store = wiring.open_store(config)
    checked = promote(path, wiring.filter_stack(config).decider)
    target = f"{args.platform}:{args.community}"
    details = {"refused": checked.refusals, **checked.figures}
    action = "community_model.refused" if checked.refusals else "community_model.promoted"
    store.audit(actor_of(args), action, "community", target, "cli", details)
    if checked.refusals:
        reasons = "\n".join(f"  - {r}" for r in checked.refusals)
        raise CommandFailed(f"not promoted: with the model live,\n{reasons}")
    out.print(f"promoted: the model decides for {escape(target)} (a running service within 15 s)")
    return 0


def learn_retire(args: argparse.Namespace) -> int:
    from bot.runtime import wiring

    config, path = _fitted(args)
    path.unlink()
    target = f"{args.platform}:{args.community}"
    wiring.open_store(config).audit(actor_of(args), "community_model.retired", "community", target, "cli", {})
    out.print(f"retired: the shared models decide alone for {escape(target)} (a running service within 15 s)")
    return 0
