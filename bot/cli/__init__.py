"""The `modbot` command: one module per command group, each a thin shell over the runtime, the
review desk, operations or the lab, and one mapping from failures to exit codes (`bot.cli.main`)."""

from bot.cli.main import main

__all__ = ["main"]
