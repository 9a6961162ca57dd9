"""The English abuse sets in the shared datasets, each mapped onto modbot's categories.

Each set labels a different thing (DynaHate says hate or not, CAD says who abuse is aimed at,
ToxicSpans says which kind of toxicity each rater marked), so an example carries only the
categories its set really tells: DynaHate's "not hate" is not "not rude", and treating it as such
would teach the model that insults are fine. A category absent from `labels` is unknown and
carries no training loss. The mapping per set is written down in docs/training-data.md.

Every set keeps its own test split (a hash of the text where the set has none, so the split does
not depend on file order or on Python's string hashing); `deduplicated` removes from training any
text that appears in any set's dev or test split.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from bot.lab.evaluation.datasets import _csv, _need
from moderation.types import ABUSE

csv.field_size_limit(10_000_000)


class Split(StrEnum):
    TRAIN = "train"
    DEV = "dev"
    TEST = "test"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    labels: Mapping[str, int]
    """only the categories this set tells (0 or 1); an absent category is unknown"""
    source: str
    split: Split
    group: str = ""
    """a finer slice for reporting: counterspeech, perturbation, implicit_hate, ..."""


NOT_ABUSE = {"hate": 0, "harassment": 0, "threat": 0}
HATE = {"hate": 1, "toxicity": 1}


def hash_split(text: str) -> Split:
    bucket = int(hashlib.sha1(text_key(text).encode()).hexdigest()[:8], 16) % 10
    return Split.TEST if bucket == 0 else Split.DEV if bucket == 1 else Split.TRAIN


_SPLITS = {"train": Split.TRAIN, "dev": Split.DEV, "val": Split.DEV, "validation": Split.DEV, "test": Split.TEST}


def _dynahate(root: Path) -> list[Example]:
    rows = _csv(root / "dynahate" / "dynahate_v0.2.3_text_label_split.csv")
    return [
        Example(r["text"], HATE if r["label"] == "1" else {"hate": 0}, "dynahate", _SPLITS[r["split"]])
        for r in rows
        if r["split"] in _SPLITS
    ]


def _cad(root: Path) -> list[Example]:
    out = []
    for name, split in (("train", Split.TRAIN), ("dev", Split.DEV), ("test", Split.TEST)):
        for r in _csv(root / "cad-contextual-abuse" / f"cad_v1_1_{name}.tsv", delimiter="\t"):
            kinds = set(r["labels"].split(","))
            labels: dict[str, int] = dict(NOT_ABUSE)
            if "IdentityDirectedAbuse" in kinds:
                labels |= HATE
            if kinds & {"PersonDirectedAbuse", "AffiliationDirectedAbuse"}:
                labels |= {"harassment": 1, "toxicity": 1}
            group = "counterspeech" if "CounterSpeech" in kinds else ""
            out.append(Example(r["text"], labels, "cad-contextual-abuse", split, group))
    return out


def _implicit(root: Path) -> list[Example]:
    rows = _csv(root / "implicit-hate-corpus" / "implicit_hate_v1_stg1_posts.tsv", delimiter="\t")
    return [
        Example(
            r["post"],
            {"hate": int(r["class"] != "not_hate")},
            "implicit-hate-corpus",
            hash_split(r["post"]),
            r["class"],
        )
        for r in rows
    ]


def _gab(root: Path) -> list[Example]:
    out = []
    for name in ("train", "test"):
        for r in _csv(root / "gab-hate-corpus" / f"ghc_{name}.tsv", delimiter="\t"):
            hd, cv, vo = (r[k] == "1" for k in ("hd", "cv", "vo"))
            labels = {"hate": int(hd or cv), "threat": int(cv), "harassment": int(vo)}
            if hd or cv or vo:
                labels["toxicity"] = 1
            split = Split.TEST if name == "test" else Split.DEV if hash_split(r["text"]) is Split.DEV else Split.TRAIN
            out.append(Example(r["text"], labels, "gab-hate-corpus", split))
    return out


def _stormfront(root: Path) -> list[Example]:
    out = []
    for r in _csv(root / "stormfront-white-supremacy" / "stormfront_sentences.csv"):
        if r["label"] not in ("hate", "noHate"):
            continue
        split = Split.TEST if r["sampled_split"] == "test" else hash_split(r["text"])
        split = Split.TRAIN if split is Split.TEST and r["sampled_split"] != "test" else split
        out.append(Example(r["text"], {"hate": int(r["label"] == "hate")}, "stormfront-white-supremacy", split))
    return out


def _mhs(root: Path) -> list[Example]:
    folder = root / "measuring-hate-speech-binary"
    files = (("train_20692.csv", Split.TRAIN), ("dev_500.csv", Split.DEV), ("test_2000.csv", Split.TEST))
    return [
        Example(r["text"], {"hate": int(r["label"] == "1")}, "measuring-hate-speech-binary", split)
        for name, split in files
        for r in _csv(folder / name)
    ]


_SPAN_TYPES = {
    "Insult": "harassment",
    "Threat": "threat",
    "Identity based Attack": "hate",
    "Profane/Obscene": "profanity",
}


def _toxic_spans(root: Path) -> list[Example]:
    """Civil Comments posts, each read by 3-7 raters who marked typed spans: a category is 1 when
    at least a third of the raters marked a span of its type (one of the usual three: threats are
    rare and raters mark different words), 0 when none did."""
    folder = root / "toxic-spans-civil-comments"
    texts = {r["comment_id"]: r["comment_text"] for r in _csv(folder / "comments.csv")}
    rater_of = {r["annotation"]: r["comment_id"] for r in _csv(folder / "annotations.csv")}
    raters: dict[str, int] = defaultdict(int)
    for comment in rater_of.values():
        raters[comment] += 1
    marked: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _csv(folder / "spans.csv"):
        if (category := _SPAN_TYPES.get(r["type"])) and r["annotation"] in rater_of:
            marked[(rater_of[r["annotation"]], category)].add(r["annotation"])
    out = []
    for comment, text in texts.items():
        if raters[comment] < 3:
            continue
        labels = {}
        for category in _SPAN_TYPES.values():
            share = len(marked[(comment, category)]) / raters[comment]
            if share == 0 or share >= 1 / 3:
                labels[category] = int(share > 0)
        if any(labels.values()):
            labels["toxicity"] = 1
        out.append(Example(text, labels, "toxic-spans-civil-comments", hash_split(text)))
    return out


def _ethos(root: Path) -> list[Example]:
    rows = _csv(root / "ethos" / "Ethos_Dataset_Binary.csv", delimiter=";")
    return [
        Example(r["comment"], {"hate": int(float(r["isHate"]) >= 0.5)}, "ethos", hash_split(r["comment"])) for r in rows
    ]


def _hatemoji(root: Path) -> list[Example]:
    folder = root / "hatemoji-build"
    out = []
    for name, split in (("train", Split.TRAIN), ("validation", Split.DEV), ("test", Split.TEST)):
        for r in _csv(folder / f"{name}.csv"):
            labels = HATE if r["label_gold"] == "1" else {"hate": 0}
            if r["label_gold"] == "1" and r["type"] == "threateninglanguage":
                labels = {**HATE, "threat": 1}
            out.append(Example(r["text"], labels, "hatemoji-build", split, r["set"]))
    return out


def _counterspeech(root: Path) -> list[Example]:
    """Replies in hate subreddits: 1 hate, 2 counter-speech, 0 other. The 672 human labels are the
    test; GPT-4o's labels of other replies may train."""
    folder = root / "reddit-counterspeech-hickey"
    out = []
    for name, split in (("gpt_4o_labels.csv", Split.TRAIN), ("validation_set.csv", Split.TEST)):
        for r in _csv(folder / name):
            label = r["label"].strip()
            if label not in ("0", "1", "2"):
                continue
            group = {"1": "hate", "2": "counterspeech"}.get(label, "other")
            labels = HATE if label == "1" else {"hate": 0}
            out.append(Example(r["reply"], labels, "reddit-counterspeech-hickey", split, group))
    return out


def _olid(root: Path) -> list[Example]:
    folder = root / "olid-offenseval2019"
    out = []
    for r in _csv(folder / "olid-training-v1.0.tsv", delimiter="\t"):
        if r["subtask_a"] == "NOT":
            labels: dict[str, int] = {**NOT_ABUSE, "toxicity": 0, "profanity": 0}
        elif r["subtask_b"] == "UNT":  # offensive and aimed at nobody: swearing
            labels = {"toxicity": 1, "profanity": 1, "hate": 0, "harassment": 0}
        else:
            labels = {"toxicity": 1} | ({"harassment": 1} if r["subtask_c"] == "IND" else {})
        dev = hash_split(r["tweet"]) is Split.DEV  # OLID has no dev split: a tenth of its training tweets
        out.append(Example(r["tweet"], labels, "olid-offenseval2019", Split.DEV if dev else Split.TRAIN))
    tweets = {r["id"]: r["tweet"] for r in _csv(folder / "testset-levela.tsv", delimiter="\t")}
    with _need(folder / "labels-levela.csv").open(encoding="utf-8") as f:
        gold = {row[0]: row[1] for row in csv.reader(f) if len(row) == 2}
    out += [
        Example(text, {"toxicity": int(gold[i] == "OFF")}, "olid-offenseval2019", Split.TEST)
        for i, text in tweets.items()
        if i in gold
    ]
    return out


def _davidson(root: Path) -> list[Example]:
    """Held out whole: its "offensive" class is mostly slurs and swearing in African-American
    English, which taught an earlier head that dialect is abuse."""
    labels = ({"hate": 1, "toxicity": 1}, {"hate": 0, "toxicity": 1}, {"hate": 0, "toxicity": 0})
    rows = _csv(root / "davidson-hate-offensive" / "labeled_data.csv")
    return [Example(r["tweet"], labels[int(r["class"])], "davidson-hate-offensive", Split.TEST) for r in rows]


LOADERS: dict[str, Callable[[Path], list[Example]]] = {
    "dynahate": _dynahate,
    "cad-contextual-abuse": _cad,
    "implicit-hate-corpus": _implicit,
    "gab-hate-corpus": _gab,
    "stormfront-white-supremacy": _stormfront,
    "measuring-hate-speech-binary": _mhs,
    "toxic-spans-civil-comments": _toxic_spans,
    "ethos": _ethos,
    "hatemoji-build": _hatemoji,
    "reddit-counterspeech-hickey": _counterspeech,
    "olid-offenseval2019": _olid,
    "davidson-hate-offensive": _davidson,
}
SOURCES: tuple[str, ...] = tuple(LOADERS)


def load(root: Path, source: str) -> list[Example]:
    if source not in LOADERS:
        raise ValueError(f"unknown abuse set {source!r}; known: {', '.join(SOURCES)}")
    return [e for e in LOADERS[source](root) if e.text.strip()]


def load_all(root: Path, sources: Sequence[str] = SOURCES) -> list[Example]:
    return [e for s in sources for e in load(root, s)]


_LINK = re.compile(r"https?://\S+|\burl\b|\bhttp\b")
_HANDLE = re.compile(r"@\w+")
_SPACE = re.compile(r"\s+")


def text_key(text: str) -> str:
    """What counts as the same text across sets: case, spacing, links and @handles aside (the
    sets replace them differently: DynaHate writes @user and http)."""
    return _SPACE.sub(" ", _HANDLE.sub("@user", _LINK.sub("http", text.lower()))).strip()


def deduplicated(examples: Sequence[Example]) -> list[Example]:
    """Training texts that appear in any set's dev or test split are dropped; duplicates within
    training are merged into one, a category the copies disagree on becoming unknown."""
    held = {text_key(e.text) for e in examples if e.split is not Split.TRAIN}
    merged: dict[str, Example] = {}
    out: list[Example] = []
    for e in examples:
        if e.split is not Split.TRAIN:
            out.append(e)
            continue
        key = text_key(e.text)
        if key in held:
            continue
        if key in merged:
            first = merged[key]
            agreed = {c: v for c, v in first.labels.items() if e.labels.get(c, v) == v}
            agreed |= {c: v for c, v in e.labels.items() if c not in first.labels}
            merged[key] = replace(first, labels=agreed)
        else:
            merged[key] = e
    assert set(ABUSE) >= {c for e in merged.values() for c in e.labels}
    return out + list(merged.values())
