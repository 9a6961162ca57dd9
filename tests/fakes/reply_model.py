"""A stand-in for the reply model, for tests of the reply flow: each test decides what the "model"
writes, and can read the prompts it was given. tests/test_reply_model.py runs the real model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from bot.cli import main
from bot.config import ReplyConfig
from moderation.drafting import Prompt


def _default(prompt: Prompt) -> str:
    return "It is on Saturday at 10:00."


class StandInModel:
    """Stands in for model.drafter.LocalGenerator (same constructor and interface), handed to the
    service and the CLI as their `generator` (`stand_in` below)."""

    version = "stand-in"
    prompts: ClassVar[list[Prompt]] = []
    reply: ClassVar[Callable[[Prompt], str]] = staticmethod(_default)

    def __init__(
        self,
        source: str | None,
        cache_dir: Path,
        dtype: str = "float32",
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        pass

    @classmethod
    def reset(cls, reply: Callable[[Prompt], str] = _default) -> None:
        cls.prompts = []
        cls.reply = staticmethod(reply)

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int, max_seconds: float) -> list[str]:
        StandInModel.prompts.extend(prompts)
        return [StandInModel.reply(p) for p in prompts]


def stand_in(cfg: ReplyConfig, models_dir: Path) -> StandInModel:
    """The GeneratorFactory that builds the stand-in."""
    return StandInModel(cfg.model or None, models_dir)


def modbot(argv: list[str]) -> int:
    """`modbot ARGV` with the stand-in as the reply model."""
    return main(argv, generator=stand_in)
