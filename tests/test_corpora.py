"""The abuse corpora: each set's labels map onto modbot's categories as docs/training-data.md says,
unknown stays absent (never 0), splits are stable hashes where a set has none, and deduplication
keeps every dev and test text out of training."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.lab.evaluation.corpora import SOURCES, Example, Split, deduplicated, hash_split, load, load_all, text_key
from tests.conftest import REPO

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"

FILES: dict[str, str] = {
    "dynahate/dynahate_v0.2.3_text_label_split.csv": (
        "text,label,split\n"
        '"those people are vermin, all of them",1,train\n'
        "I don't hate those people at all,0,dev\n"
        "saying they are vermin is vile,0,test\n"
    ),
    "cad-contextual-abuse/cad_v1_1_train.tsv": (
        "id\ttext\tlabels\n"
        "c1\tjust a chat about bikes\tNeutral\n"
        "c2\tthat religion breeds animals\tIdentityDirectedAbuse\n"
        "c3\tyou are a clown, mate\tPersonDirectedAbuse\n"
        "c4\tvoters of that party are morons\tAffiliationDirectedAbuse\n"
        "c5\tcalling them animals is not ok\tCounterSpeech\n"
    ),
    "cad-contextual-abuse/cad_v1_1_dev.tsv": "id\ttext\tlabels\nd1\ta dev comment\tNeutral\n",
    "cad-contextual-abuse/cad_v1_1_test.tsv": "id\ttext\tlabels\nt1\ta test comment\tNeutral\n",
    "toxic-spans-civil-comments/comments.csv": (
        "comment_id,comment_text\n1,you are an idiot and damn it\n2,the mayor should resign\n3,I will hurt you\n"
    ),
    "toxic-spans-civil-comments/annotations.csv": (
        "annotation,comment_id,worker,country,all toxic,not toxic\n"
        "10,1,a,USA,False,False\n11,1,b,USA,False,False\n12,1,c,USA,False,False\n"
        "20,2,a,USA,True,True\n21,2,b,USA,True,True\n22,2,c,USA,False,False\n"
        "30,3,a,USA,False,False\n31,3,b,USA,False,False\n"
    ),
    "toxic-spans-civil-comments/spans.csv": (
        "annotation,type,start,end\n10,Insult,11,16\n11,Insult,11,16\n11,Profane/Obscene,21,25\n30,Threat,0,6\n"
    ),
    "gab-hate-corpus/ghc_train.tsv": (
        "text\thd\tcv\tvo\nthey are subhuman\t1\t0\t0\nkill them all\t1\t1\t0\nyou moron\t0\t0\t1\n"
    ),
    "gab-hate-corpus/ghc_test.tsv": "text\thd\tcv\tvo\na gab test post\t0\t0\t0\n",
    "olid-offenseval2019/olid-training-v1.0.tsv": (
        "id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n"
        "1\thave a nice day\tNOT\tNULL\tNULL\n"
        "2\tfucking hell what a game\tOFF\tUNT\tNULL\n"
        "3\t@USER you are a liar\tOFF\tTIN\tIND\n"
        "4\tthose people ruin everything\tOFF\tTIN\tGRP\n"
    ),
    "olid-offenseval2019/testset-levela.tsv": "id\ttweet\n9\ta test tweet\n",
    "olid-offenseval2019/labels-levela.csv": "9,OFF\n",
}
_TRAIN = Split.TRAIN


def _train_or_dev(text: str) -> Split:
    """The split of a training row in a set whose dev is a hashed tenth of its train (Gab, OLID)."""
    return Split.DEV if hash_split(text) is Split.DEV else Split.TRAIN


CASES = [
    ("dynahate", "those people are vermin, all of them", {"hate": 1, "toxicity": 1}, _TRAIN),
    ("dynahate", "I don't hate those people at all", {"hate": 0}, Split.DEV),  # nothate says nothing of rudeness
    ("cad-contextual-abuse", "just a chat about bikes", {"hate": 0, "harassment": 0, "threat": 0}, _TRAIN),
    (
        "cad-contextual-abuse",
        "that religion breeds animals",
        {"hate": 1, "harassment": 0, "threat": 0, "toxicity": 1},
        _TRAIN,
    ),
    ("cad-contextual-abuse", "you are a clown, mate", {"hate": 0, "harassment": 1, "threat": 0, "toxicity": 1}, _TRAIN),
    (
        "cad-contextual-abuse",
        "voters of that party are morons",
        {"hate": 0, "harassment": 1, "threat": 0, "toxicity": 1},
        _TRAIN,
    ),
    ("cad-contextual-abuse", "calling them animals is not ok", {"hate": 0, "harassment": 0, "threat": 0}, _TRAIN),
    (
        "toxic-spans-civil-comments",
        "you are an idiot and damn it",
        {"harassment": 1, "threat": 0, "hate": 0, "profanity": 1, "toxicity": 1},
        hash_split("you are an idiot and damn it"),
    ),
    (
        "toxic-spans-civil-comments",
        "the mayor should resign",
        {"harassment": 0, "threat": 0, "hate": 0, "profanity": 0},
        hash_split("the mayor should resign"),
    ),
    (
        "gab-hate-corpus",
        "they are subhuman",
        {"hate": 1, "threat": 0, "harassment": 0, "toxicity": 1},
        _train_or_dev("they are subhuman"),
    ),
    (
        "gab-hate-corpus",
        "kill them all",
        {"hate": 1, "threat": 1, "harassment": 0, "toxicity": 1},
        _train_or_dev("kill them all"),
    ),
    (
        "gab-hate-corpus",
        "you moron",
        {"hate": 0, "threat": 0, "harassment": 1, "toxicity": 1},
        _train_or_dev("you moron"),
    ),
    ("gab-hate-corpus", "a gab test post", {"hate": 0, "threat": 0, "harassment": 0}, Split.TEST),
    (
        "olid-offenseval2019",
        "have a nice day",
        {"hate": 0, "harassment": 0, "threat": 0, "toxicity": 0, "profanity": 0},
        _train_or_dev("have a nice day"),
    ),
    (
        "olid-offenseval2019",
        "fucking hell what a game",
        {"toxicity": 1, "profanity": 1, "hate": 0, "harassment": 0},
        _train_or_dev("fucking hell what a game"),
    ),
    (
        "olid-offenseval2019",
        "@USER you are a liar",
        {"toxicity": 1, "harassment": 1},
        _train_or_dev("@USER you are a liar"),
    ),
    (
        "olid-offenseval2019",
        "those people ruin everything",
        {"toxicity": 1},  # a group may or may not be protected: hate unknown
        _train_or_dev("those people ruin everything"),
    ),
    ("olid-offenseval2019", "a test tweet", {"toxicity": 1}, Split.TEST),
]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("datasets")
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("source", "text", "labels", "split"), CASES)
def test_each_set_maps_onto_the_categories(
    root: Path, source: str, text: str, labels: dict[str, int], split: Split
) -> None:
    [example] = [e for e in load(root, source) if e.text == text]
    assert (dict(example.labels), example.split, example.source) == (labels, split, source)


def test_counter_speech_is_a_slice_and_a_post_with_too_few_raters_is_skipped(root: Path) -> None:
    assert [e.group for e in load(root, "cad-contextual-abuse") if e.text.startswith("calling")] == ["counterspeech"]
    assert "I will hurt you" not in {e.text for e in load(root, "toxic-spans-civil-comments")}  # 2 raters only


def test_missing_files_and_unknown_sets_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=re.escape(str(tmp_path / "cad-contextual-abuse" / "cad_v1_1_train.tsv"))
    ):
        load(tmp_path, "cad-contextual-abuse")
    with pytest.raises(ValueError, match="unknown abuse set 'mlma-hate-speech'"):
        load(tmp_path, "mlma-hate-speech")


def _ex(text: str, labels: dict[str, int], split: Split = Split.TRAIN, source: str = "a") -> Example:
    return Example(text, labels, source, split)


def test_text_key_ignores_case_spacing_links_and_handles() -> None:
    assert text_key("Hello  @Bob\nsee https://t.co/x & URL") == text_key("hello @user see http & url")
    assert text_key("g@y") == text_key("g@user")  # DynaHate's cleaning mangled e-mail-like words
    assert text_key("you are nice") != text_key("you are mean")


def test_training_copies_of_dev_or_test_texts_are_dropped() -> None:
    examples = [
        _ex("Hello @bob, see http://x.co/1", {"hate": 1}, source="a"),
        _ex("a dev text", {"hate": 0}, source="a"),
        _ex("hello   @user, see URL", {"hate": 1}, Split.TEST, source="b"),
        _ex("A  DEV text", {"hate": 0}, Split.DEV, source="c"),
        _ex("kept", {"hate": 0}),
    ]
    out = deduplicated(examples)
    assert [(e.text, e.split) for e in out] == [
        ("hello   @user, see URL", Split.TEST),
        ("A  DEV text", Split.DEV),
        ("kept", Split.TRAIN),
    ]


def test_training_duplicates_merge_and_conflicts_become_unknown() -> None:
    examples = [
        _ex("Same text", {"hate": 1, "toxicity": 1}, source="a"),
        _ex("other", {"hate": 0}),
        _ex("same  TEXT", {"hate": 0, "toxicity": 1, "harassment": 0}, source="b"),
        _ex("same text", {"threat": 0}, source="c"),
    ]
    out = deduplicated(examples)
    assert len(out) == 2
    assert (out[0].text, out[0].source) == ("Same text", "a")
    assert dict(out[0].labels) == {"toxicity": 1, "harassment": 0, "threat": 0}
    assert out[1].text == "other"


def test_dev_and_test_duplicates_are_kept_as_they_are() -> None:
    examples = [_ex("x y", {"hate": 1}, Split.TEST, "a"), _ex("X  y", {"hate": 0}, Split.TEST, "b")]
    assert deduplicated(examples) == examples


def test_hash_split_is_stable_and_about_80_10_10() -> None:
    assert hash_split("Some Text  here") == hash_split("some text here")
    counts = Counter(hash_split(f"text number {i}") for i in range(5000))
    assert 3800 < counts[Split.TRAIN] < 4200 and 400 < counts[Split.DEV] < 600 and 400 < counts[Split.TEST] < 600
    texts = [f"text number {i}" for i in range(50)]
    here = ",".join(hash_split(t) for t in texts)
    code = (
        "from bot.lab.evaluation.corpora import hash_split;"
        f"print(','.join(hash_split(f'text number {{i}}') for i in range({len(texts)})))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        there = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        assert there == here


@pytest.mark.skipif(not DATA.is_dir(), reason=f"no datasets at {DATA}")
def test_the_real_sets_load_with_every_split_and_no_test_text_in_training() -> None:
    examples = deduplicated(load_all(DATA))
    splits = Counter((e.source, e.split) for e in examples)
    for source in SOURCES:
        wanted = {
            "davidson-hate-offensive": [Split.TEST],
            "reddit-counterspeech-hickey": [Split.TRAIN, Split.TEST],
        }.get(source, list(Split))
        assert all(splits[(source, s)] > 0 for s in wanted), (source, splits)
    train = {text_key(e.text) for e in examples if e.split is Split.TRAIN}
    held = {text_key(e.text) for e in examples if e.split is not Split.TRAIN}
    assert not train & held
    assert len(train) == sum(e.split is Split.TRAIN for e in examples)  # one copy per training text
