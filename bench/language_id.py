"""Language identification on the shared sets' posts: per language, how often py3langid names it
(accuracy), how often the Decider sends the post to that language's own model (`[scorers.native]`,
the shipped languages), how often it is "not scored: language xx" (sure, and no model reads it),
how often it is read as English (the silent case routing exists to avoid), and the cost per post.
English: OLID's test tweets and the project's functional suite, where any post routed away is an
English post no English scorer read.

"declared": accuracy where the community says it writes in that language and English (`[policy]
languages = ["xx", "en"]`); for an English set, the worst over communities declaring each of the
other languages with English (an English post in a Danish server must stay English).

Usage: .venv/bin/python bench/language_id.py [--per-set 1000] [--no-words]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.spam_soak import cpu_flags  # noqa: E402
from bot.lab.evaluation import datasets  # noqa: E402
from bot.lab.evaluation.language_sets import unescaped  # noqa: E402
from model.language import LanguageId  # noqa: E402
from model.native import NativeModels  # noqa: E402
from moderation.decider import READS, reading_of  # noqa: E402
from moderation.functional import cases  # noqa: E402
from moderation.types import Reading  # noqa: E402

DATA = REPO.parent / "shared" / "datasets"


def _column(path: Path, column: str, delimiter: str, limit: int, encoding: str = "utf-8") -> list[str]:
    with path.open(encoding=encoding) as f:
        return [row[column] for _, row in zip(range(limit), csv.DictReader(f, delimiter=delimiter), strict=False)]


def sets(limit: int) -> dict[str, list[str]]:
    germeval = (DATA / "germeval2018" / "germeval2018.test.txt").read_text(encoding="utf-8").splitlines()
    return {
        "de (GermEval 2018 test)": [line.split("\t")[0] for line in germeval[:limit]],
        "es (HatEval 2019)": _column(DATA / "hateval2019-spanish" / "hateval2019_es.csv", "text", ",", limit),
        "da (OffensEval 2020 test)": _column(
            DATA / "offenseval2020-danish" / "offenseval-da-test-v1-with-gold.tsv", "tweet", "\t", limit
        ),
        "pt (ToLD-Br test)": _column(DATA / "told-br-portuguese" / "ptbr_test_1annotator.csv", "text", ",", limit),
        "it (HaSpeeDe 2)": _column(DATA / "haspeede2-italian" / "haspeede2_tweets_it.csv", "text", ",", limit),
        "pt (HateBR)": _column(DATA / "hatebr-portuguese" / "HateBR.csv", "comentario", ",", limit),
        "ko (Korean Hate Speech dev)": _column(DATA / "korean-hate-speech" / "dev.tsv", "comments", "\t", limit),
        "zh (COLD test)": _column(DATA / "cold-chinese-offensive" / "test.csv", "TEXT", ",", limit, "utf-8-sig"),
        "fr (MLMA)": _column(DATA / "mlma-hate-speech" / "fr_dataset.csv", "tweet", ",", limit),
        "ar (MLMA)": _column(DATA / "mlma-hate-speech" / "ar_dataset.csv", "tweet", ",", limit),
        "id (Indonesian)": [
            unescaped(t)
            for t in _column(DATA / "indonesian-hate-abusive" / "re_dataset.csv", "Tweet", ",", limit, "latin-1")
        ],
        "en (OLID test)": datasets.olid_test(DATA).texts,
        "en (functional suite)": [c.text for c in cases()],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-set", type=int, default=1000)
    parser.add_argument("--no-words", action="store_true", help="the character model alone, without word evidence")
    args = parser.parse_args()
    model = LanguageId(words_weigh=not args.no_words)
    model.identify(["warm up the model", "Hvad laver du i dag? Saya tidak tahu"], [[], []])
    reads = READS | set(NativeModels.load().by_language)
    print(f"cpu: {cpu_flags()}; {model.version}; own models for {', '.join(sorted(reads - READS))}")
    print("language | posts | accuracy | declared | to its own model | not scored | read as English | ms/post")
    named = sets(args.per_set)
    others = sorted({name.split()[0] for name in named} - {"en"})
    for name, texts in named.items():
        code = name.split()[0]
        started = time.perf_counter()
        found = model.identify(texts, [[] for _ in texts])
        ms = (time.perf_counter() - started) / len(texts) * 1000
        right = sum(f.code == code for f in found) / len(texts)
        communities = [frozenset({code, "en"})] if code != "en" else [frozenset({o, "en"}) for o in others]
        declared = min(_accuracy(model, texts, code, community) for community in communities)
        readings = [reading_of(f, frozenset(reads)) for f in found]
        own = sum(r is Reading.READ and f.code == code for f, r in zip(found, readings, strict=True)) / len(texts)
        unread = sum(r is Reading.UNREAD for r in readings) / len(texts)
        english = sum(f.code == "en" or r is Reading.UNSURE for f, r in zip(found, readings, strict=True)) / len(texts)
        figures = " | ".join(f"{v:.3f}" for v in (right, declared, own, unread, english, ms))
        print(f"{name} | {len(texts)} | {figures}")


def _accuracy(model: LanguageId, texts: list[str], code: str, community: frozenset[str]) -> float:
    found = model.identify(texts, [[] for _ in texts], [community] * len(texts))
    return sum(f.code == code for f in found) / len(texts)


if __name__ == "__main__":
    main()
