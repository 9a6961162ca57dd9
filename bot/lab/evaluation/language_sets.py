"""The labelled abuse sets in languages other than English (shared/datasets/README.md), each read
into modbot's categories with the split its authors published.

What each set's labels mean decides which categories its language really covers: a set that
only says "offensive" trains `harassment` (modbot's word for insults and attacks on people or
groups that are not a protected attribute) and nothing about hate; a hate-speech set trains
`hate`. The first category of each set is the one its own test figure is measured on.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.lab.evaluation.datasets import _need

Labels = dict[str, list[int]]
"""category -> 0/1 per text"""


@dataclass(frozen=True, slots=True)
class Split:
    texts: list[str]
    labels: Labels


@dataclass(frozen=True, slots=True)
class LanguageSet:
    language: str
    name: str
    folder: str
    licence: str
    commercial: bool
    """whether its licence allows a model trained on it to ship"""
    ships: bool
    """whether its model is in the artifact shipped in the package"""
    categories: tuple[str, ...]
    published: float | None
    """the best published macro-F1 on its test split for its first category's task, where there is one"""
    published_by: str
    load: Callable[[Path], tuple[Split, Split]]
    """(train, test) under the set's folder"""


def _rows(path: Path, delimiter: str = ",", raw: bool = False, encoding: str = "utf-8") -> list[dict[str, str]]:
    """`raw`: no quoting at all (the tab-separated sets quote nothing, and their tweets hold quotes)."""
    with _need(path).open(encoding=encoding, newline="") as f:
        if raw:
            return list(csv.DictReader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE))
        return list(csv.DictReader(f, delimiter=delimiter))


def _split(texts: list[str], labels: Mapping[str, list[int]], keep: list[bool]) -> Split:
    return Split(
        [t for t, k in zip(texts, keep, strict=True) if k],
        {c: [v for v, k in zip(values, keep, strict=True) if k] for c, values in labels.items()},
    )


def _germeval_file(path: Path) -> Split:
    """Its ABUSE label is strong degradation of anyone, not attacks on a protected attribute, so
    German covers harassment only."""
    texts, offense = [], []
    for line in _need(path).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        texts.append(parts[0].replace("|LBR|", "\n"))
        offense.append(int(parts[1] == "OFFENSE"))
    return Split(texts, {"harassment": offense})


def germeval(folder: Path) -> tuple[Split, Split]:
    return _germeval_file(folder / "germeval2018.training.txt"), _germeval_file(folder / "germeval2018.test.txt")


def _danish_file(path: Path) -> list[tuple[str, int]]:
    rows = _rows(path, "\t", raw=True)
    return [(r["tweet"], int(r["subtask_a"] == "OFF")) for r in rows if r.get("subtask_a") in ("OFF", "NOT")]


def danish(folder: Path) -> tuple[Split, Split]:
    test = _danish_file(folder / "offenseval-da-test-v1-with-gold.tsv")
    seen = {t for t, _ in test}
    train = [(t, y) for t, y in _danish_file(folder / "offenseval-da-training-v1.tsv") if t not in seen]
    return (
        Split([t for t, _ in train], {"harassment": [y for _, y in train]}),
        Split([t for t, _ in test], {"harassment": [y for _, y in test]}),
    )


def _told_file(path: Path) -> Split:
    rows = _rows(path)
    return Split([r["text"] for r in rows], {"harassment": [int(float(r["toxic"]) > 0) for r in rows]})


def told(folder: Path) -> tuple[Split, Split]:
    """The validation split is training data here: the published figures are on the test split."""
    train, val = _told_file(folder / "ptbr_train_1annotator.csv"), _told_file(folder / "ptbr_validation_1annotator.csv")
    merged = Split(train.texts + val.texts, {"harassment": train.labels["harassment"] + val.labels["harassment"]})
    return merged, _told_file(folder / "ptbr_test_1annotator.csv")


def _korean_file(path: Path) -> Split:
    """Its `hate` column grades hostility to anyone (hate is the stronger, offensive the milder);
    `bias` says whether a comment carries a gender or other social bias. Hostile and biased is
    modbot's hate, hostile at all its harassment."""
    rows = _rows(path, "\t", raw=True)
    return Split(
        [r["comments"] for r in rows],
        {
            "harassment": [int(r["hate"] != "none") for r in rows],
            "hate": [int(r["hate"] != "none" and r["bias"] != "none") for r in rows],
        },
    )


def korean(folder: Path) -> tuple[Split, Split]:
    """Its test labels were never published: the dev split is the test here, as in its benchmark."""
    return _korean_file(folder / "train.tsv"), _korean_file(folder / "dev.tsv")


def _cold_file(path: Path) -> Split:
    rows = _rows(path, encoding="utf-8-sig")
    return Split([r["TEXT"] for r in rows], {"harassment": [int(r["label"]) for r in rows]})


def cold(folder: Path) -> tuple[Split, Split]:
    """dev joins train: COLD's figures are on its test split."""
    train, dev = _cold_file(folder / "train.csv"), _cold_file(folder / "dev.csv")
    merged = Split(train.texts + dev.texts, {"harassment": train.labels["harassment"] + dev.labels["harassment"]})
    return merged, _cold_file(folder / "test.csv")


def _by_hash(texts: list[str], labels: Labels, read: Callable[[str], str] = str) -> tuple[Split, Split]:
    """For a set with no published split: a fifth of its texts, chosen by a hash of the text as
    released, is the test (duplicates land on one side); `read` then makes each text what a
    platform would deliver."""
    test = [hashlib.sha256(t.encode()).digest()[0] % 5 == 0 for t in texts]
    delivered = [read(t) for t in texts]
    return _split(delivered, labels, [not t for t in test]), _split(delivered, labels, test)


_ESCAPED_BYTES = re.compile(r"(?:\\x[0-9a-fA-F]{2})+")


def unescaped(text: str) -> str:
    """A tweet whose emoji the set stored as the escaped text of their UTF-8 bytes
    ("\\xf0\\x9f\\x98\\x82", one post in thirteen of the Indonesian set), with the emoji back: a
    platform delivers the character, and the escapes read as words to the language model."""
    return _ESCAPED_BYTES.sub(lambda m: bytes.fromhex(m.group(0).replace("\\x", "")).decode("utf-8", "replace"), text)


def _mlma(language: str) -> Callable[[Path], tuple[Split, Split]]:
    """Every MLMA tweet was collected for hate keywords and `normal` (the only non-hostile label)
    is a fifth of them, so a model from it has never seen ordinary talk: trainable, not shipped."""

    def load(folder: Path) -> tuple[Split, Split]:
        rows = _rows(folder / f"{language}_dataset.csv")
        texts = [r["tweet"] for r in rows]
        return _by_hash(texts, {"harassment": [int(r["sentiment"].strip() != "normal") for r in rows]})

    return load


PROTECTED = ("HS_Religion", "HS_Race", "HS_Physical", "HS_Gender")
"""Indonesian hate-speech labels that name a protected attribute (HS_Other is mostly politics)"""


def indonesian(folder: Path) -> tuple[Split, Split]:
    """Ibrohim and Budi's tweets: abusive (swearing, insults) or hate speech is harassment; hate
    speech about religion, race, disability or gender is hate. Latin-1, as released."""
    rows = _rows(folder / "re_dataset.csv", encoding="latin-1")
    texts = [r["Tweet"] for r in rows]
    labels = {
        "harassment": [int(r["HS"] == "1" or r["Abusive"] == "1") for r in rows],
        "hate": [int(r["HS"] == "1" and any(r[k] == "1" for k in PROTECTED)) for r in rows],
    }
    return _by_hash(texts, labels, unescaped)


def hateval(folder: Path) -> tuple[Split, Split]:
    """The official split joined by id; dev joins train."""
    split = {r["id"]: r["split"] for r in _rows(folder / "hateval2019_es_official_split.csv")}
    rows = _rows(folder / "hateval2019_es.csv")
    texts = [r["text"] for r in rows]
    labels = {"hate": [int(r["HS"]) for r in rows]}
    test = [split.get(r["id"]) == "test" for r in rows]
    known = [r["id"] in split for r in rows]
    return _split(texts, labels, [k and not t for k, t in zip(known, test, strict=True)]), _split(texts, labels, test)


def haspeede(folder: Path) -> tuple[Split, Split]:
    rows = _rows(folder / "haspeede2_tweets_it.csv")
    texts = [r["text"] for r in rows]
    labels = {"hate": [int(r["hs"]) for r in rows]}
    test = [r["split"] == "test" for r in rows]
    return _split(texts, labels, [not t for t in test]), _split(texts, labels, test)


SETS: tuple[LanguageSet, ...] = (
    LanguageSet(
        "de", "GermEval 2018", "germeval2018", "CC BY 4.0", True, True, ("harassment",), 0.7677,
        "TUWienKBS, GermEval 2018 Task 1 (coarse)", germeval,
    ),
    LanguageSet(
        "da", "OffensEval 2020 (DKHate)", "offenseval2020-danish", "CC BY 4.0", True, True, ("harassment",), 0.8119,
        "LT@Helsinki, OffensEval 2020 Danish sub-task A", danish,
    ),
    LanguageSet(
        "pt", "ToLD-Br", "told-br-portuguese", "CC BY-SA 4.0", True, True, ("harassment",), 0.76,
        "BERT (Leite et al. 2020), binary", told,
    ),
    LanguageSet(
        "ko", "Korean Hate Speech (BEEP!)", "korean-hate-speech", "CC BY-SA 4.0", True, True,
        ("harassment", "hate"), None,
        "none for this binary task (Moon et al. 2020 report 3-class hate F1 about 0.63)", korean,
    ),
    LanguageSet(
        "zh", "COLD", "cold-chinese-offensive", "Apache-2.0", True, True, ("harassment",), 0.81,
        "COLDetector (Deng et al. 2022)", cold,
    ),
    *(
        LanguageSet(
            code, f"MLMA ({name})", "mlma-hate-speech", "MIT", True, False, ("harassment",), None,
            "none (no split published)", _mlma(code),
        )
        for code, name in (("fr", "French"), ("ar", "Arabic"))
    ),
    LanguageSet(
        "es", "HatEval 2019", "hateval2019-spanish", "CC BY-NC 4.0", False, False, ("hate",), 0.7308,
        "Atalaya, HatEval 2019 Spanish Task A", hateval,
    ),
    LanguageSet(
        "it", "HaSpeeDe 2", "haspeede2-italian", "CC BY-NC-SA 4.0", False, False, ("hate",), 0.8088,
        "TheNorth, HaSpeeDe 2 Task A (tweets)", haspeede,
    ),
    LanguageSet(
        "id", "Indonesian hate speech and abusive language", "indonesian-hate-abusive", "CC BY-NC-SA 4.0", False,
        False, ("harassment", "hate"), None,
        "none comparable (no split published; the paper reports multi-label accuracy)", indonesian,
    ),
)  # fmt: skip
