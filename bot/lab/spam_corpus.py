"""A templated corpus of social-post and comment spam, with hard-negative ham, for the spam-text recipe.

Why it exists: the only labelled spam in the shared datasets is SMS spam of 2012 (prize draws,
premium numbers), and a model trained on it alone misses what comment sections get today: channel
promotion, sub4sub bait, crypto "mentors", doubling giveaways, gift-card and prize bait, dating and
adult bait, work-from-home offers, fake support numbers, pharmacy spam and "your account is locked"
phishing. No public comment-spam set is used; bot/lab/data/spam_templates.toml holds hand-written
frames (about 32 per family) and slot fillers, and this module expands them.

It also writes hard-negative ham from the same fillers: people sharing links, warning about crypto
scams, talking about raffles, recommending a channel. Without them "has a URL" or "mentions a
coin" would become a spam signal, because the real posts the ham comes from rarely carry either.

Generalisation, not memory: every frame and every filler value belongs to one part, train, val or
test, by its position (see the TOML header), and a part's frames draw only that part's fillers.
The held-out test texts therefore share no frame, domain word, handle piece, coin, brand or call to
action with anything the shipped model was trained on.

Deterministic per seed: each frame's draws come from its own `random.Random` seeded with a string
(hashed with SHA-512 by the random module, not with Python's salted `hash`), so the output does
not depend on PYTHONHASHSEED, and adding a frame does not change the texts of the others.
"""

from __future__ import annotations

import random
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

Part = Literal["train", "val", "test"]
PARTS: tuple[Part, ...] = ("train", "val", "test")
PER_FRAME = 12
"""texts drawn from each frame (fewer when the frame has fewer distinct expansions)"""
_SPLIT_MIN = 5
"""slot lists shorter than this are shared by every part"""
_SLOT = re.compile(r"\{([^{}]*)\}")
_DEPTH = 6


def part_of(index: int) -> Part:
    """The part a frame or filler value belongs to, by its position in its list."""
    rest = index % 5
    return "test" if rest == 4 else "val" if rest == 3 else "train"


@dataclass(frozen=True, slots=True)
class Generated:
    text: str
    label: int
    """1 spam, 0 ham"""
    family: str
    frame: int
    """index of the frame within its family"""
    part: Part


@dataclass(frozen=True, slots=True)
class Templates:
    slots: dict[str, list[str]]
    spam: dict[str, list[str]]
    ham: dict[str, list[str]]

    def pool(self, slot: str, part: Part) -> list[str]:
        values = self.slots[slot]
        if len(values) < _SPLIT_MIN:
            return values
        return [v for j, v in enumerate(values) if part_of(j) == part]

    def families(self) -> Iterator[tuple[int, str, list[str]]]:
        """(label, family, frames) for every family, spam first, in file order."""
        for label, table in ((1, self.spam), (0, self.ham)):
            for family, frames in table.items():
                yield label, family, frames


def load(path: Path | None = None) -> Templates:
    """The templates at `path`, or the ones shipped in bot/lab/data; every slot a frame names is checked."""
    raw = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("bot.lab").joinpath("data/spam_templates.toml").read_text(encoding="utf-8")
    )
    data = tomllib.loads(raw)
    templates = Templates(
        {k: [str(v) for v in vs] for k, vs in data["slots"].items()},
        {k: [str(v) for v in vs] for k, vs in data["spam"].items()},
        {k: [str(v) for v in vs] for k, vs in data["ham"].items()},
    )
    _check(templates)
    return templates


def _check(templates: Templates) -> None:
    known = set(templates.slots) | set(_GENERATED)
    sources = [("slot " + k, v) for k, vs in templates.slots.items() for v in vs]
    sources += [(f"{family} frame {i}", f) for _, family, frames in templates.families() for i, f in enumerate(frames)]
    for where, text in sources:
        for name in _SLOT.findall(text):
            if "|" not in name and name not in known:
                raise ValueError(f"spam templates: {where} names an unknown slot {{{name}}}")
    for slot, values in templates.slots.items():
        if len(values) >= _SPLIT_MIN and any(not templates.pool(slot, p) for p in PARTS):
            raise ValueError(f"spam templates: slot {slot} leaves a part without values")


# --- generated fillers: numbers whose format, not value, is the signal -----------------------------


def _amount(rng: random.Random) -> str:
    value = rng.choice([50, 100, 200, 250, 300, 450, 500, 750, 800, 1000, 1200, 1500, 2000, 2500, 3000, 4800])
    value *= rng.choice([1, 1, 1, 2, 5, 10])
    currency = rng.choice(["$", "$", "$", "£", "€", "USD ", ""])
    style = rng.random()
    if style < 0.15 and value >= 1000:
        number = f"{value / 1000:g}k"
    elif style < 0.5:
        number = f"{value:,}"
    else:
        number = str(value)
    return f"{number} dollars" if not currency else f"{currency}{number}"


def _phone(rng: random.Random) -> str:
    def d(n: int) -> str:
        return "".join(str(rng.randrange(10)) for _ in range(n))

    area = rng.choice(["800", "888", "877", "866", "855", "844", "833"])
    return rng.choice(
        [
            f"+1 ({area}) {d(3)}-{d(4)}",
            f"1-{area}-{d(3)}-{d(4)}",
            f"+1 {area} {d(3)} {d(4)}",
            f"({area}) {d(3)} {d(4)}",
            f"+44 {d(2)} {d(4)} {d(4)}",
            f"0800 {d(3)} {d(3)}",
            f"1.{area}.{d(3)}.{d(4)}",
            f"+{d(2)} {d(3)} {d(3)} {d(4)}",
        ]
    )


def _code(rng: random.Random) -> str:
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(4, 8)))


_GENERATED: dict[str, Callable[[random.Random], str]] = {
    "amount": _amount,
    "qty": lambda r: r.choice(["0.05", "0.1", "0.2", "0.25", "0.5", "1", "1.5", "2", "2.5", "5", "10", "500", "1000"]),
    "num": lambda r: str(r.randint(2, 99)),
    "big": lambda r: r.choice(["1k", "10k", "100k", "1,000", "5,000", "10,000", "50k", "500", "2k", "1M", "250k"]),
    "pct": lambda r: f"{r.choice([15, 20, 30, 35, 40, 50, 60, 70, 80, 100, 150, 200, 300, 500])}%",
    "phone": _phone,
    "code": _code,
    "digits": lambda r: str(r.randint(10, 9999)),
    "age": lambda r: str(r.randint(16, 34)),
    "hours": lambda r: str(r.choice([1, 2, 3, 6, 12, 24, 48, 72])),
    "days": lambda r: str(r.choice([3, 5, 7, 10, 14, 21, 30])),
    "year": lambda r: str(r.randint(2019, 2025)),
}


def expand(frame: str, templates: Templates, part: Part, rng: random.Random) -> str:
    """One text from `frame`: slots filled from `part`'s values, alternatives chosen."""

    def fill(match: re.Match[str]) -> str:
        name: str = match.group(1)
        if "|" in name:
            return rng.choice(name.split("|"))
        if name in _GENERATED:
            return _GENERATED[name](rng)
        return rng.choice(templates.pool(name, part))

    text = frame
    for _ in range(_DEPTH):
        text, changed = _SLOT.subn(fill, text)
        if not changed:
            break
    return re.sub(r"\s+", " ", text).strip()


# --- surface variation, the same for spam and ham so that it is no signal itself -------------------

_PLAIN_WORD = re.compile(r"[A-Za-z]{4,}")


def _typo(text: str, rng: random.Random) -> str:
    words = [m for m in _PLAIN_WORD.finditer(text) if not _in_link(text, m.start())]
    if not words:
        return text
    m = rng.choice(words)
    w = m.group()
    i = rng.randrange(1, len(w) - 1)
    dropped, doubled, swapped = w[:i] + w[i + 1 :], w[:i] + w[i] + w[i:], w[:i] + w[i + 1] + w[i] + w[i + 2 :]
    new = rng.choice([dropped, doubled, swapped])
    return text[: m.start()] + new + text[m.end() :]


def _in_link(text: str, at: int) -> bool:
    start = text.rfind(" ", 0, at) + 1
    end = text.find(" ", at)
    token = text[start : end if end != -1 else len(text)]
    return any(c in token for c in "/@.")


def vary(text: str, rng: random.Random, emoji: list[str]) -> str:
    """Casing, typos, spacing around punctuation and stray emoji, each drawn at a fixed rate."""
    case = rng.random()
    if case < 0.12:
        text = text.lower()
    elif case < 0.17:
        text = text.upper()
    elif case < 0.21:
        text = " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    for _ in range(rng.choice([0, 0, 0, 0, 0, 1, 1, 2])):
        text = _typo(text, rng)
    spacing = rng.random()
    if spacing < 0.1:
        text = re.sub(r"([,.!?]) (?=\w)", r"\1", text)
    elif spacing < 0.15:
        text = re.sub(r"(\w)([,!?])", r"\1 \2", text)
    if rng.random() < 0.15:
        text = f"{text} {rng.choice(emoji)}"
    if rng.random() < 0.06:
        text = f"{rng.choice(emoji)} {text}"
    return text


def generate(
    part: Part, seed: int = 13, per_frame: int = PER_FRAME, templates: Templates | None = None
) -> list[Generated]:
    """Every family's frames of `part`, `per_frame` distinct texts each, spam families first."""
    t = templates or load()
    emoji = t.pool("emoji", part) if "emoji" in t.slots else ["!"]
    out: list[Generated] = []
    for label, family, frames in t.families():
        for i, frame in enumerate(frames):
            if part_of(i) != part:
                continue
            rng = random.Random(f"spam-corpus/{seed}/{part}/{label}/{family}/{i}")
            texts: list[str] = []
            for _ in range(per_frame * 4):
                text = vary(expand(frame, t, part, rng), rng, emoji)
                if text not in texts:
                    texts.append(text)
                if len(texts) == per_frame:
                    break
            out += [Generated(text, label, family, i, part) for text in texts]
    return out
