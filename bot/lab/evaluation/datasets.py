"""Loaders for the public labelled datasets modbot is measured on (see shared/datasets/README.md).

Each returns plain lists, so the metrics and the training code never see a file format. A missing
file raises FileNotFoundError naming what was expected where.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Labelled:
    texts: list[str]
    labels: list[int]


@dataclass(frozen=True, slots=True)
class Madlibs:
    texts: list[str]
    labels: list[int]
    identities: list[str]

    def mentions(self, identity: str) -> list[bool]:
        pattern = re.compile(rf"\b{re.escape(identity)}\b", re.IGNORECASE)
        return [bool(pattern.search(t)) for t in self.texts]


def _need(path: Path) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"expected {path.name} at {path}")
    return path


def _csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with _need(path).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def madlibs(root: Path) -> Madlibs:
    """Jigsaw's templated identity sentences (BAD / NOT_BAD) and the identity terms they use."""
    folder = root / "jigsaw-bias-madlibs"
    rows = _csv(folder / "bias_madlibs_77k.csv")
    identities = [
        w.strip()
        for w in _need(folder / "bias_madlibs_data" / "adjectives_people.txt").read_text(encoding="utf-8").splitlines()
        if w.strip()
    ]
    return Madlibs([r["Text"] for r in rows], [int(r["Label"] == "BAD") for r in rows], identities)


def wikipedia_fuzzed(root: Path, fuzzed: bool) -> Labelled:
    """Wikipedia comments with identity terms swapped at random (fuzzed) or as written."""
    name = "toxicity_fuzzed_testset.csv" if fuzzed else "toxicity_nonfuzzed_testset.csv"
    rows = _csv(root / "jigsaw-bias-madlibs" / name)
    return Labelled([r["comment"] for r in rows], [int(r["toxic"] == "True") for r in rows])


def davidson(root: Path) -> tuple[list[str], list[int]]:
    """Tweets with class 0 hate, 1 offensive, 2 neither."""
    rows = _csv(root / "davidson-hate-offensive" / "labeled_data.csv")
    return [r["tweet"] for r in rows], [int(r["class"]) for r in rows]


def olid_train(root: Path) -> list[dict[str, str]]:
    return _csv(root / "olid-offenseval2019" / "olid-training-v1.0.tsv", delimiter="\t")


def olid_test(root: Path) -> Labelled:
    """OffensEval 2019 level A test set: OFF (offensive) or NOT."""
    folder = root / "olid-offenseval2019"
    tweets = {r["id"]: r["tweet"] for r in _csv(folder / "testset-levela.tsv", delimiter="\t")}
    with _need(folder / "labels-levela.csv").open(encoding="utf-8") as f:
        labels = {row[0]: row[1] for row in csv.reader(f) if row and row[0] != "id"}
    ids = [i for i in tweets if i in labels]
    return Labelled([tweets[i] for i in ids], [int(labels[i] == "OFF") for i in ids])


@dataclass(frozen=True, slots=True)
class ClaimRetrieval:
    claims: list[tuple[int, str]]
    """(claim id, claim text; for CheckThat! with its fact-check title)"""
    queries: list[tuple[str, str]]
    """(query id, query text): a tweet for CheckThat!, a news headline for CoAID"""
    relevant: dict[str, set[int]]


def checkthat(root: Path, split: str = "dev") -> ClaimRetrieval:
    """CLEF 2020 CheckThat! task 2: tweets and the Snopes fact-checks that verify them."""
    folder = root / "clef2020-checkthat-t2-claim-retrieval"
    claims = [
        (int(r[""] if "" in r else r["vclaim_id"]), f"{r['vclaim']} {r['title']}")
        for r in _csv(folder / "verified_claims.docs.tsv", delimiter="\t")
    ]
    queries = [
        (r[""] if "" in r else r["tweet_id"], r["tweet_content"])
        for r in _csv(folder / split / "tweets.queries.tsv", delimiter="\t")
    ]
    relevant: dict[str, set[int]] = {}
    with _need(folder / split / "tweet-vclaim-pairs.qrels.tsv").open(encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[3] == "1":
                relevant.setdefault(parts[0], set()).add(int(parts[2]))
    return ClaimRetrieval(claims, queries, relevant)


def coaid_retrieval(root: Path) -> ClaimRetrieval:
    """CoAID's fact-checked COVID-19 news, turned into claim retrieval out of CheckThat!'s domain:
    each news headline (query) should find the claim its fact-check reviewed, among every claim
    reviewed in CoAID. Rows whose headline merely repeats the claim are left out."""
    csv.field_size_limit(2**31 - 1)  # article bodies exceed the csv module's default field limit
    files = sorted((root / "coaid-covid-misinfo").glob("*/News*COVID-19.csv"))
    if not files:
        raise FileNotFoundError(f"no CoAID news files (*/News*COVID-19.csv) under {root / 'coaid-covid-misinfo'}")
    claims: dict[str, int] = {}
    relevant: dict[str, set[int]] = {}
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                claim = (row.get("title") or "").strip().strip('"')
                headline = (row.get("newstitle") or "").strip().strip('"')
                if not claim:
                    continue
                claim_id = claims.setdefault(claim, len(claims))
                if headline and headline.lower() != claim.lower():
                    relevant.setdefault(headline, set()).add(claim_id)
    return ClaimRetrieval(
        [(i, text) for text, i in claims.items()], [(headline, headline) for headline in relevant], relevant
    )


@dataclass(frozen=True, slots=True)
class InjectionSets:
    """Injected instructions (BIPIA, by attack category) and benign prompts (NotInject, WildGuard)."""

    attacks: list[tuple[str, str]]
    benign: dict[str, list[str]]


def injection(root: Path) -> InjectionSets:
    folder = root / "injecguard-notinject-bipia"
    attacks: list[tuple[str, str]] = []
    for name in ("BIPIA_text.json", "BIPIA_code.json"):
        for category, texts in json.loads(_need(folder / name).read_text(encoding="utf-8")).items():
            attacks.extend((f"{name.split('_')[1].split('.')[0]}: {category}", t) for t in texts)
    notinject = [
        row["prompt"]
        for part in ("one", "two", "three")
        for row in json.loads(_need(folder / f"NotInject_{part}.json").read_text(encoding="utf-8"))
    ]
    wildguard = [row["prompt"] for row in json.loads(_need(folder / "wildguard.json").read_text(encoding="utf-8"))]
    return InjectionSets(attacks, {"NotInject": notinject, "WildGuard": wildguard})


def sms_spam(root: Path) -> Labelled:
    """The UCI SMS Spam Collection (1 = spam), duplicates removed: 403 texts repeat, and a copy on
    both sides of a cross-validation split would measure memory, not detection."""
    texts: list[str] = []
    labels: list[int] = []
    seen: set[str] = set()
    with _need(root / "sms-spam-collection" / "SMSSpamCollection.tsv").open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            label, sep, text = line.rstrip("\n").partition("\t")
            if not sep or label not in ("ham", "spam"):
                raise ValueError(f"SMSSpamCollection.tsv line {number}: expected 'ham|spam<TAB>text'")
            if text in seen:
                continue
            seen.add(text)
            texts.append(text)
            labels.append(int(label == "spam"))
    return Labelled(texts, labels)
