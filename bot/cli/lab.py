"""The lab: measure the configured filter on public labelled data (`eval`) and train the shipped
models from it (`train`, deterministic per seed)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from bot.cli.shared import USAGE, CommandFailed, Subcommands, config_of, failing_on, out
from bot.cli.terminal import escape
from bot.config import Config

if TYPE_CHECKING:
    from bot.lab.evaluation.runner import Report

_DATA = Path("../shared/datasets")


def register(sub: Subcommands) -> None:
    p = sub.add_parser("eval", help="measure the configured scorers on public labelled data")
    p.add_argument(
        "suite",
        choices=(
            "bias",
            "toxicity",
            "abuse",
            "functional",
            "languages",
            "claims",
            "spam",
            "injection",
            "reply",
            "live",
        ),
        help="bias: madlibs identity AUCs; toxicity: OLID, Davidson; abuse: every abuse set's test split per "
        "category through the default policy; functional: modbot's own templated functional suite; "
        "languages: every other-language set's test split, routed by language, through the default policy; "
        "claims: CheckThat! retrieval; "
        "spam: the spam-text recipe cross-validated on SMS spam; "
        "injection: the reply assistant's prompt-injection rules on BIPIA, NotInject, WildGuard; "
        "reply: the reply assistant on its own questions and attacks (right, wrong, silent, leaks); "
        "live: the bias audit of the store",
    )
    p.add_argument("--data", type=Path, default=_DATA, help="datasets folder")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the report goes (default ./reports)")
    p.add_argument("--category", help="score category to evaluate (default: the highest abuse category)")
    p.add_argument("--threshold", type=float, default=0.5, help="decision threshold for F1 (toxicity suite)")
    p.add_argument(
        "--answers",
        choices=("quoted", "rephrased"),
        default="quoted",
        help="reply suite: quote the knowledge (default) or have the model reword the quote (loads the model)",
    )
    p.add_argument("--days", type=int, default=30, help="how far back the live audit looks (default 30)")
    p.add_argument(
        "--split",
        choices=("dev", "coaid"),
        default="dev",
        help="claims suite: CheckThat! dev tweets (default) or CoAID news headlines (out of domain)",
    )
    p.set_defaults(func=evaluate)

    _train_parser(sub)

    p = sub.add_parser(
        "replay",
        help="decide the stored posts of a window again under this configuration and report what would change",
    )
    p.add_argument("--days", type=_positive_days, default=30, help="how far back (default 30)")
    p.add_argument("--community", help="only this community's posts")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the report goes (default ./reports)")
    p.set_defaults(func=replay)


def _train_parser(sub: Subcommands) -> None:
    p = sub.add_parser("train", help="train a shipped model from public data (deterministic per seed)")
    p.add_argument(
        "model",
        nargs="?",
        choices=("abuse", "spam", "claims", "native", "answerability", "injection"),
        default="abuse",
        help="abuse: the fine-tuned abuse model (default); spam: the spam-text classifier; "
        "claims: the map that adapts the embedding to fact-check matching; "
        "native: one model per language other than English, from that language's own data; "
        "answerability: when a knowledge section answers a member's question (the reply assistant); "
        "injection: the injection-text model in front of the reply model",
    )
    p.add_argument("--data", type=Path, default=_DATA, help="datasets folder")
    p.add_argument("--out", type=Path, default=None, help="artifact path (default: the one shipped in the package)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument(
        "--languages",
        type=_languages,
        default=None,
        metavar="CODES",
        help="native: only these languages, comma-separated ISO 639-1 codes (default: every one whose "
        "data's licence allows shipping)",
    )
    p.add_argument(
        "--noncommercial",
        action="store_true",
        help="native: also train on data under a non-commercial licence (never into the shipped artifact: needs --out)",
    )
    p.add_argument(
        "--counterfactuals",
        type=_count,
        default=0,
        metavar="N",
        help="abuse: also train on N copies of texts naming a group with another group swapped in "
        "(an experiment, not the shipped recipe: docs/models.md)",
    )
    p.set_defaults(func=train)


def _positive_days(value: str) -> int:
    days = int(value)
    if not 1 <= days <= 3650:
        raise argparse.ArgumentTypeError("must be 1-3650")
    return days


def replay(args: argparse.Namespace) -> int:
    """The configuration given (`modbot --config NEW.toml replay`) is the proposal; the stored
    decisions in its database are the baseline."""
    import time
    from datetime import UTC, datetime, timedelta

    from bot.lab import replay as replaying
    from bot.lab.evaluation.runner import fmt
    from bot.runtime import wiring

    config = config_of(args)
    started = time.perf_counter()
    store = wiring.open_store(config)
    decider = wiring.filter_stack(config, store).decider
    since = datetime.now(UTC) - timedelta(days=args.days)
    tally = replaying.replay(store.stored_for_replay(since, args.community), decider)
    command = "modbot " + " ".join(sys.argv[1:]) if "replay" in sys.argv[1:4] else "modbot replay"
    report = replaying.report(tally, command, decider.versions)
    report.seconds = time.perf_counter() - started
    for path in report.write(args.out, {}):
        out.print(f"wrote {escape(str(path))}")
    table = Table(title=f"modbot replay: the last {args.days} days under {args.config or 'the defaults'}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.figures.items():
        table.add_row(key, fmt(value))
    out.print(table)
    return 0


def _need_data(folder: Path) -> None:
    if not folder.is_dir():
        raise CommandFailed(f"no datasets folder at {folder} (pass --data)", USAGE)


def evaluate(args: argparse.Namespace) -> int:
    from bot.lab.evaluation import abuse, languages, runner
    from bot.runtime import wiring

    config = config_of(args)
    if args.suite == "live":
        return _eval_live(args, config)
    if args.suite != "functional":
        _need_data(args.data)
    command = "modbot " + " ".join(sys.argv[1:]) if "eval" in sys.argv[1:4] else f"modbot eval {args.suite}"
    with failing_on(FileNotFoundError, code=USAGE):
        if args.suite == "reply":
            from bot.lab.evaluation import replies

            report, plots = replies.run(args.data, config, args.answers, command)
        elif args.suite == "injection":
            report, plots = runner.injection(args.data, command)
        elif args.suite == "spam":
            report, plots = runner.spam(args.data, command)
        elif args.suite == "claims":
            report, plots = _eval_claims(args, config, command)
        else:
            decider = wiring.filter_stack(config, rules=False).decider
            score = runner.scorer_for(decider, args.category)
            if args.suite == "bias":
                report, plots = runner.bias(args.data, score, decider.versions, command)
            elif args.suite == "abuse":
                report, plots = abuse.per_set(args.data, decider, command)
            elif args.suite == "functional":
                report, plots = abuse.functional(decider, command)
            elif args.suite == "languages":
                report, plots = languages.per_language(args.data, decider, command)
            else:
                report, plots = runner.toxicity(args.data, score, decider.versions, command, args.threshold)
    for path in report.write(args.out, plots):
        out.print(f"wrote {escape(str(path))}")
    table = Table(title=f"modbot eval {args.suite}")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in report.figures.items():
        table.add_row(key, runner.fmt(value))
    out.print(table)
    return 0


def _eval_claims(
    args: argparse.Namespace, config: Config, command: str
) -> tuple[Report, dict[str, Callable[[Path], None]]]:
    from bot.lab.evaluation import retrieval
    from bot.runtime.scorers import load_claim_map
    from model.embedding import Embedder

    e = config.scorers.embedding
    posts = Embedder(e.model_dir, e.device, e.batch_size, precision=e.precision)
    claims_embedder = posts if posts.precision == "fp32" else Embedder(e.model_dir, e.device, e.batch_size)
    claim_map = load_claim_map(config.scorers.claims, posts.version)
    reranker = posts if config.scorers.claims.rerank else None
    return retrieval.claims(
        args.data, posts.embed, posts.label, command, args.split, claim_map, claims_embedder.embed, reranker
    )


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return number


def _languages(value: str) -> list[str]:
    codes = [c.strip() for c in value.split(",") if c.strip()]
    bad = [c for c in codes if not (len(c) == 2 and c.isascii() and c.isalpha() and c.islower())]
    if bad or not codes:
        raise argparse.ArgumentTypeError(f"expected ISO 639-1 codes like de,da; not {', '.join(bad) or 'nothing'}")
    return codes


def train(args: argparse.Namespace) -> int:
    import model
    from bot.lab import claims_training, native_training, spam_training, training
    from model import claimmap, heads, native, spamtext

    config = config_of(args)
    _need_data(args.data)
    artifacts = Path(model.__file__).parent / "artifacts"
    summary: dict[str, object]
    with failing_on(FileNotFoundError, ValueError, code=USAGE):
        if args.model == "injection":
            from bot.lab import injection_training
            from model.injection_text import SHIPPED as INJECTION

            _, summary = injection_training.train(args.data, args.out or artifacts / INJECTION, seed=args.seed)
        elif args.model == "answerability":
            from bot.lab import answerability_training
            from model.knowledge import ANSWERABILITY

            _, summary = answerability_training.train(args.data, args.out or ANSWERABILITY, seed=args.seed)
        elif args.model == "spam":
            _, summary = spam_training.train(args.data, args.out or artifacts / spamtext.SHIPPED, seed=args.seed)
        elif args.model == "native":
            target = args.out or artifacts / native.SHIPPED
            _, summary = native_training.train(args.data, target, args.languages, args.noncommercial)
        elif args.model == "claims":
            target = args.out or artifacts / claimmap.SHIPPED
            _, summary = claims_training.train(args.data, target, config.data.dir / "cache", seed=args.seed)
        else:
            target = args.out or artifacts / heads.SHIPPED
            copies = args.counterfactuals
            _, summary = training.train(args.data, target, config.data.dir / "cache", args.seed, copies)
    for key, value in summary.items():
        out.print(f"{key}: {value}")
    return 0


def _eval_live(args: argparse.Namespace, config: Config) -> int:
    from datetime import datetime

    from bot.lab.evaluation.live import audit_store
    from bot.runtime.wiring import open_store

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
