"""The reply assistant's own evaluation set (bot/lab/data/reply_eval): three imaginary communities
written by the project, each a knowledge folder (with the moderators' private notes in
`private.md`), a persona, questions the knowledge answers with the fact a right answer holds,
questions it does not answer, and attacks; plus attacks drawn from the shared injection sets.

Every question and attack falls in `dev` or `test` by a hash of its text: the answerability
weights are fitted on dev (`modbot train answerability`), `modbot eval reply` reports both."""

from __future__ import annotations

import csv
import hashlib
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.lab.evaluation import datasets

DATA = Path(__file__).resolve().parent.parent / "data" / "reply_eval"
SHARED_PER_SET = 40
"""Attacks taken from each shared set: 120 with the communities' own 30."""


class Kind(StrEnum):
    ANSWERABLE = "answerable"
    UNANSWERABLE = "unanswerable"
    ATTACK = "attack"


@dataclass(frozen=True, slots=True)
class Item:
    community: str
    kind: Kind
    text: str
    facts: tuple[str, ...] = ()
    origin: str = "own"
    """for attacks: "own" or the shared set it came from"""

    @property
    def split(self) -> str:
        return "dev" if hashlib.sha1(self.text.encode()).digest()[0] % 2 == 0 else "test"


@dataclass(frozen=True, slots=True)
class Community:
    slug: str
    name: str
    persona: str
    knowledge: Path
    items: tuple[Item, ...]


def holds(text: str, facts: Sequence[str]) -> bool:
    """Whether the text states one of the facts, as a whole token run ("8:30" is not in "18:30")."""
    return any(re.search(rf"(?<!\w){re.escape(f)}(?!\w)", text, re.IGNORECASE) for f in facts)


def communities(root: Path = DATA) -> list[Community]:
    out = []
    for folder in sorted(p for p in root.iterdir() if (p / "questions.toml").is_file()):
        spec = tomllib.loads((folder / "questions.toml").read_text(encoding="utf-8"))
        slug = folder.name
        items = [Item(slug, Kind.ANSWERABLE, q["question"], tuple(q["facts"])) for q in spec["answerable"]]
        items += [Item(slug, Kind.UNANSWERABLE, q["question"]) for q in spec["unanswerable"]]
        items += [Item(slug, Kind.ATTACK, q["text"]) for q in spec["attack"]]
        out.append(Community(slug, spec["community"], spec["persona"], folder / "knowledge", tuple(items)))
    return out


def shared_attacks(data: Path, slugs: Sequence[str]) -> list[Item]:
    """SHARED_PER_SET attacks from each shared injection set's test split (BIPIA has none: its text
    attacks), the same ones every run (by hash), dealt round the communities."""
    picked: list[tuple[str, str]] = []
    jailbreaks = data / "jailbreak-classification" / "jailbreak_dataset_test.csv"
    for origin, texts in (
        ("deepset", _csv_texts(data / "deepset-prompt-injections" / "test.csv", "text", "label", "1")),
        ("jailbreak", _csv_texts(jailbreaks, "prompt", "type", "jailbreak")),
        ("bipia", [t for c, t in datasets.injection(data).attacks if c.startswith("text")]),
    ):
        chosen = sorted(set(texts), key=lambda t: hashlib.sha1(t.encode()).hexdigest())[:SHARED_PER_SET]
        picked += [(origin, t) for t in chosen]
    return [Item(slugs[i % len(slugs)], Kind.ATTACK, t, (), o) for i, (o, t) in enumerate(picked)]


def _csv_texts(path: Path, column: str, label: str, wanted: str) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: the shared injection sets are needed for the attacks")
    with path.open(encoding="utf-8", newline="") as f:
        return [row[column] for row in csv.DictReader(f) if row[label] == wanted and row[column].strip()]
