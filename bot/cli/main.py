"""The entry point: the parser assembled from the command groups, and the one place where a
failure becomes an exit code."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

# Imported by their full names: `from bot.cli import ...` would make the package's __init__ (which
# exports `main`) and this module import each other.
import bot.cli.admin as admin
import bot.cli.api as api
import bot.cli.calibration as calibration
import bot.cli.community as community
import bot.cli.lab as lab
import bot.cli.labeler as labeler
import bot.cli.operate as operate
import bot.cli.outbox as outbox
import bot.cli.replies as replies
import bot.cli.review_desk as review_desk
from bot.assistant.writer import GeneratorFactory, local_generator
from bot.cli.shared import USAGE, CommandFailed, err
from bot.cli.terminal import escape
from bot.config import ConfigError
from bot.storage.db import DatabaseError
from moderation.scoring import ScorerError

GROUPS = (admin, operate, review_desk, calibration, outbox, replies, api, lab, community, labeler)


def main(argv: list[str] | None = None, generator: GeneratorFactory = local_generator) -> int:
    """The `modbot` command. `generator` builds the reply assistant's model for the commands that
    write drafts (tests hand in a stand-in; the console script takes the local model)."""
    # Local inference only: nothing may reach a model hub, whatever a library would like to do.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parser().parse_args(argv)
    args.generator = generator
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"config error: {escape(problem)}")
        return USAGE
    except CommandFailed as exc:
        err.print(f"error: {escape(str(exc))}")
        return exc.code
    except (DatabaseError, ScorerError) as exc:
        err.print(f"error: {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        return 130


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="modbot", description="Self-hosted moderation and reply assistant.")
    root.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MODBOT_CONFIG") or None,
        help="TOML config file (default: $MODBOT_CONFIG, else the embedded defaults)",
    )
    sub = root.add_subparsers(required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return root
