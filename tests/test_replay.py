"""`modbot replay`: stored decisions (SQLite and PostgreSQL) decided again under a proposed
configuration. A threshold change replays from stored scores, a changed scorer rescores the text,
a purged post with a changed scorer is counted apart, and verdicts give precision and recall
before and after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.cli import main
from bot.config import Config
from bot.lab.replay import Replayed, replay, report
from bot.storage.schema import PostRow
from bot.storage.store import Store
from moderation.decider import Decider
from moderation.scoring import ScoreResult, ScoringInput
from moderation.types import Author, Outcome, Post

POSTS = [
    ("p1", "you absolute idiot"),  # flagged, confirmed by a moderator
    ("p2", "idiot proof instructions, love it"),  # flagged, overturned
    ("p3", "what a lovely garden"),
    ("p4", "idiot"),  # flagged, nobody judged it yet
]


class Words:
    """A scorer the test controls: harassment 0.7 for "idiot" (0.9 alone), in a version of its choosing."""

    name = "words"
    categories = ("harassment",)
    needs_embedding = False

    def __init__(self, version: str, weight: float = 0.7) -> None:
        self.version = version
        self.weight = weight

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        def one(text: str) -> float:
            return 0.9 if text.strip() == "idiot" else self.weight if "idiot" in text else 0.0

        return [ScoreResult({"harassment": one(i.text)}) for i in batch]


def _decider(flag_at: float, scorer: Words) -> Decider:
    config = Config.model_validate({"policy": {"thresholds": {"harassment": {"flag": flag_at}}}})
    return Decider([scorer], config.build_policy())  # type: ignore[list-item]


def _seed(store: Store) -> None:
    now = datetime.now(UTC)
    posts = [Post("console", "garden", "general", pid, Author(f"a-{pid}"), text, now) for pid, text in POSTS]
    accepted = store.accept(posts)
    decided = _decider(0.5, Words("v1")).decide([p for _, p in accepted])
    store.record([(row, post, d, acts) for (row, post), (d, acts) in zip(accepted, decided, strict=True)])
    cases = {c.post.id: c.id for c in store.cases()}
    for pid, verdict in (("p1", "removed"), ("p2", "approved")):
        store.resolve(cases[pid], verdict, "mod", "test", None, [])


def _tally(store: Store, decider: Decider):  # type: ignore[no-untyped-def]
    return replay(store.stored_for_replay(datetime.now(UTC) - timedelta(days=1), chunk=2), decider)


@pytest.mark.parametrize(
    ("flag_at", "scorer", "how", "after", "figures"),
    [
        # the same policy: nothing moves, all from stored scores
        (0.5, Words("v1"), {Replayed.STORED: 4}, {"flag": 3, "allow": 1}, {"outcomes changed": 0}),
        # a stricter cut keeps only the lone word: the overturned flag goes, and so does the confirmed one
        (
            0.8,
            Words("v1"),
            {Replayed.STORED: 4},
            {"flag": 1, "allow": 3},
            {"cases that would not have opened": 2, "precision after (confirmed / judged flags)": 0.0},
        ),
        # a new scorer version rescores the text: weight 0.6 still flags at 0.5
        (0.5, Words("v2", 0.6), {Replayed.RESCORED: 4}, {"flag": 3, "allow": 1}, {"outcomes changed": 0}),
        # a new version that scores phrases lower: only the lone word stays flagged
        (0.5, Words("v2", 0.3), {Replayed.RESCORED: 4}, {"flag": 1, "allow": 3}, {"outcomes changed": 2}),
    ],
)
def test_replay_reports_what_a_change_would_move(
    store: Store,
    flag_at: float,
    scorer: Words,
    how: dict[Replayed, int],
    after: dict[str, int],
    figures: dict[str, float],
) -> None:
    _seed(store)
    tally = _tally(store, _decider(flag_at, scorer))
    assert {h: n for h, n in tally.how.items() if n} == how
    moved: dict[str, int] = {}
    for (_, a), n in tally.moves.items():
        moved[a.value] = moved.get(a.value, 0) + n
    assert moved == after
    shown = report(tally, "test", {}).figures
    assert shown["verdicts"] == 2 and shown["confirmed"] == 1 and shown["overturned"] == 1
    assert shown["precision before (confirmed / judged flags)"] == 0.5
    assert shown["recall before (confirmed posts still flagged)"] == 1.0
    for key, value in figures.items():
        assert shown[key] == value, key


def test_a_purged_post_replays_from_scores_but_is_not_guessed_when_its_scorer_changed(store: Store) -> None:
    _seed(store)

    def purge(session):  # type: ignore[no-untyped-def]
        session.execute(update(PostRow).where(PostRow.platform_post_id == "p3").values(text=None))

    store.transaction(purge)
    same = _tally(store, _decider(0.5, Words("v1")))
    assert same.how[Replayed.STORED] == 4
    changed = _tally(store, _decider(0.5, Words("v2")))
    assert changed.how == {Replayed.RESCORED: 3, Replayed.PURGED: 1}
    assert sum(changed.moves.values()) == 3


def test_only_the_latest_decision_of_a_post_and_only_the_window(store: Store) -> None:
    _seed(store)
    assert _tally(store, _decider(0.5, Words("v1"))).how[Replayed.STORED] == 4
    later = replay(store.stored_for_replay(datetime.now(UTC) + timedelta(minutes=1)), _decider(0.5, Words("v1")))
    assert sum(later.how.values()) == 0
    other = replay(
        store.stored_for_replay(datetime.now(UTC) - timedelta(days=1), community="elsewhere"),
        _decider(0.5, Words("v1")),
    )
    assert sum(other.how.values()) == 0


def test_modbot_replay_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end on the embedded defaults: `modbot scan` decides a feed, `modbot replay` under a
    config that flags profanity says those posts would open cases."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "1", "author": "a", "text": "fuck this, what a game"}\n{"id": "2", "author": "b", "text": "hello"}\n'
    )
    base = f'[data]\ndir = "{tmp_path / "data"}"\n'
    (tmp_path / "now.toml").write_text(base)
    (tmp_path / "new.toml").write_text(base + "[policy.thresholds]\nprofanity = { flag = 0.5 }\n")
    assert main(["--config", str(tmp_path / "now.toml"), "scan", str(feed)]) == 0
    out = tmp_path / "reports"
    assert main(["--config", str(tmp_path / "new.toml"), "replay", "--days", "1", "--out", str(out)]) == 0
    shown = (out / "replay.json").read_text()
    assert '"from stored scores": 2' in shown
    assert '"cases that would open": 1' in shown
    assert Outcome.FLAG.value in (out / "replay.md").read_text()


def test_a_post_no_scorer_read_stays_unread_in_a_replay(store: Store) -> None:
    """Stored as "not scored: language de", it is not replayed as an allow with no scores."""
    from model.language import LanguageId

    def deciding(flag_at: float) -> Decider:
        config = Config.model_validate({"policy": {"thresholds": {"harassment": {"flag": flag_at}}}})
        return Decider([Words("v1")], config.build_policy(), languages=LanguageId())  # type: ignore[list-item]

    german = "Meine Nachbarn haben gestern ein großes Fest im Garten gefeiert und alle eingeladen"
    posts = [Post("console", "garden", "general", "de1", Author("a"), german, datetime.now(UTC))]
    accepted = store.accept(posts)
    decided = deciding(0.5).decide([p for _, p in accepted])
    assert decided[0][0].outcome is Outcome.LOG
    store.record([(row, post, d, acts) for (row, post), (d, acts) in zip(accepted, decided, strict=True)])
    tally = _tally(store, deciding(0.3))
    assert tally.how == {Replayed.STORED: 1} and dict(tally.moves) == {(Outcome.LOG, Outcome.LOG): 1}


class Deutsch(Words):
    """A scorer for German posts only (a LanguageScorer)."""

    name = "deutsch"
    languages = frozenset({"de"})


def test_a_new_language_model_rescores_only_its_languages_posts(store: Store) -> None:
    """Stored "not scored: language de" before German had a model: the German post is rescored by
    it and read; the English post is replayed from its stored scores (the model never reads it)."""
    from model.language import LanguageId

    def deciding(*scorers: Words) -> Decider:
        return Decider(list(scorers), Config().build_policy(), languages=LanguageId())  # type: ignore[arg-type]

    german = "Du bist so ein Vollidiot, und deine Nachbarn wissen das auch schon lange"
    texts = [("de1", german), ("en1", "you absolute idiot")]
    posts = [Post("console", "garden", "general", pid, Author(pid), t, datetime.now(UTC)) for pid, t in texts]
    accepted = store.accept(posts)
    decided = deciding(Words("v1")).decide([p for _, p in accepted])
    assert [d.outcome for d, _ in decided] == [Outcome.LOG, Outcome.FLAG]
    store.record([(row, post, d, acts) for (row, post), (d, acts) in zip(accepted, decided, strict=True)])
    tally = _tally(store, deciding(Words("v1"), Deutsch("v1")))
    assert tally.how == {Replayed.STORED: 1, Replayed.RESCORED: 1}
    assert dict(tally.moves) == {(Outcome.LOG, Outcome.FLAG): 1, (Outcome.FLAG, Outcome.FLAG): 1}
