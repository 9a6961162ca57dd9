"""What every command group shares: the two consoles, the failure that becomes an exit code, and
the config, store and actor a command works with."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeAlias

from rich.console import Console

from bot.config import Config, load_config
from bot.ops.logs import setup_logging
from bot.storage.store import Store

# Piped output (logs, files, tests) gets wide tables instead of rich's 80-column default.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# Exit codes: 1 when the command could not do what was asked, 2 when it was asked wrongly.
FAILED = 1
USAGE = 2


class CommandFailed(Exception):
    """A command that cannot go on: `main` prints the message as `error: ...` and exits with `code`."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


@contextmanager
def failing_on(*errors: type[Exception], code: int = FAILED) -> Iterator[None]:
    """Turns the expected failures of one step (a missing case, a bad file) into `CommandFailed`;
    anything else is a bug and keeps its traceback."""
    try:
        yield
    except errors as exc:
        raise CommandFailed(str(exc), code) from exc


def config_of(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.logging.level, config.logging.format)
    return config


def store_of(args: argparse.Namespace) -> Store:
    from bot.runtime.wiring import open_store

    return open_store(config_of(args))


def actor_of(args: argparse.Namespace) -> str:
    """Who acts, for the audit log: `--as`, else the login name."""
    return str(getattr(args, "actor", None) or os.environ.get("USER") or getpass.getuser())


def excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def add_actor(parser: argparse.ArgumentParser, help_text: str = "moderator name for the audit log") -> None:
    parser.add_argument("--as", dest="actor", default=None, help=f"{help_text} (default: $USER)")
