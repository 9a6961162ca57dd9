"""`modbot train injection`: the injection-text model that stands beside the injection rules in
front of the reply model, and its figures.

Trained on: deepset's prompt-injections train split, jailbreak-classification's train split, and,
as benign text, 80 % of NotInject (benign prompts full of trigger words) and of WildGuard's
prompts, plus the dev half of the reply evaluation set (ordinary community questions benign, its
own attacks not). Held out and reported: deepset's and jailbreak-classification's test splits,
the other 20 % of NotInject and WildGuard, the reply set's test half, and, never trained on,
BIPIA's injected instructions and BastionCorpus. BIPIA's are plain tasks ("write a script that
renames files") that are attacks only inside a document; trained as attacks they would teach the
model that a member asking how to do something is attacking the bot.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.lab.evaluation import datasets
from bot.lab.evaluation.reply_set import Kind, communities
from model.injection_text import FLAG, InjectionTextModel
from model.text_classifier import fit_classifier
from moderation.injection import detect

C = 10.0
RECIPE = "injection-text-recipe-1"


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    texts: list[str]
    label: int
    train: bool


def _held_out(text: str) -> bool:
    return hashlib.sha1(text.encode()).digest()[0] % 5 == 0


def _csv(path: Path, text: str, label: str, positive: str) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(r[text], int(r[label] == positive)) for r in csv.DictReader(f) if r[text].strip()]


def parts(data: Path) -> list[Part]:
    out = []
    for split, train in (("train", True), ("test", False)):
        rows = _csv(data / "deepset-prompt-injections" / f"{split}.csv", "text", "label", "1")
        jail = _csv(data / "jailbreak-classification" / f"jailbreak_dataset_{split}.csv", "prompt", "type", "jailbreak")
        for name, got in (("deepset", rows), ("jailbreak", jail)):
            out += [Part(f"{name} {split}", [t for t, y in got if y == label], label, train) for label in (1, 0)]
    sets = datasets.injection(data)
    for name, texts in sets.benign.items():
        out.append(Part(f"{name} train", [t for t in texts if not _held_out(t)], 0, True))
        out.append(Part(f"{name} test", [t for t in texts if _held_out(t)], 0, False))
    out.append(Part("BIPIA (never trained)", [t for _, t in sets.attacks], 1, False))
    bastion = [json.loads(line) for line in (data / "bastioncorpus-prompt-injection" / "injections.jsonl").open()]
    for label, wanted in ((1, "malicious"), (0, "benign")):
        chosen = [r["text"] for r in bastion if r["label"] == wanted]
        out.append(Part(f"BastionCorpus {wanted} (never trained)", chosen, label, False))
    items = [i for c in communities() for i in c.items]
    for split in ("dev", "test"):
        asked = [i.text for i in items if i.split == split and i.kind is not Kind.ATTACK]
        attacks = [i.text for i in items if i.split == split and i.kind is Kind.ATTACK]
        out.append(Part(f"community questions {split}", asked, 0, split == "dev"))
        out.append(Part(f"community attacks {split}", attacks, 1, split == "dev"))
    return [p for p in out if p.texts]


def figures(parts_: list[Part], score: Callable[[list[str]], Any]) -> list[dict[str, Any]]:
    """Per held-out part: the share flagged by the rules, by the model, and by either."""
    rows = []
    for part in (p for p in parts_ if not p.train):
        model = np.asarray(score(part.texts)) >= FLAG
        rules = np.asarray([bool(detect(t)) for t in part.texts])
        share = "recall" if part.label else "false-positive rate"
        rows.append(
            {
                "set": part.name,
                "texts": len(part.texts),
                "figure": share,
                "rules": round(float(rules.mean()), 3),
                "model": round(float(model.mean()), 3),
                "rules or model": round(float((rules | model).mean()), 3),
            }
        )
    return rows


def train(data: Path, out: Path, seed: int = 13) -> tuple[InjectionTextModel, dict[str, Any]]:
    started = time.perf_counter()
    everything = parts(data)
    training = [p for p in everything if p.train]
    texts = [t for p in training for t in p.texts]
    labels = [p.label for p in training for _ in p.texts]
    model = fit_classifier(InjectionTextModel, texts, labels, C)
    model.meta = {"name": "injection-text", "recipe": RECIPE, "seed": seed, "C": C, "texts": len(texts)}
    model.meta["parts"] = {p.name: len(p.texts) for p in training}
    rows = figures(everything, lambda batch: model.predict(batch))
    model.meta["held out"] = rows
    model.save(out)
    summary: dict[str, Any] = {"version": model.version, "training texts": len(texts)}
    for r in rows:
        summary[f"{r['set']} {r['figure']} (rules / model / either)"] = (
            f"{r['rules']} / {r['model']} / {r['rules or model']}"
        )
    summary |= {"written": str(out), "seconds": round(time.perf_counter() - started)}
    return model, summary
