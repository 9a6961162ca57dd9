"""Spam and coordinated-abuse rules, with the in-memory counters and with Redis."""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.runtime.counters import RedisCounters
from moderation.counters import Counters, InMemoryCounters
from moderation.normalise import normalise
from moderation.spam import SpamRules, SpamSettings, fingerprint
from moderation.types import Author, Post

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
REDIS_URL = os.environ.get("MODBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def post(
    pid: str,
    author: str,
    text: str,
    at: float = 0,
    links: tuple[str, ...] = (),
    mentions: tuple[str, ...] = (),
    age: timedelta | None = None,
) -> Post:
    created = T0 + timedelta(seconds=at)
    return Post(
        "console",
        "c",
        "g",
        pid,
        Author(author, account_created_at=created - age if age else None),
        text,
        created,
        links=links,
        mentions=mentions,
    )


def _redis() -> Counters:
    counters = RedisCounters(REDIS_URL, prefix=f"modbot-test:{uuid.uuid4().hex}:")  # a fresh namespace per test
    try:
        counters._redis.ping()
    except Exception as exc:
        if os.environ.get("MODBOT_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis required but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    return counters


@pytest.fixture(params=["memory", "redis"])
def rules(request: pytest.FixtureRequest) -> SpamRules:
    counters = InMemoryCounters() if request.param == "memory" else _redis()
    return SpamRules(counters, SpamSettings(author_burst=5, duplicate_accounts=3))


def check(rules: SpamRules, p: Post) -> tuple[float, str]:
    result = rules.check(p, normalise(p.text))
    return result.scores["spam"], result.notes.get("spam", "")


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"  # Redis is shared between runs: keep keys apart


def test_author_burst(rules: SpamRules) -> None:
    author = unique("flooder")
    scores = [check(rules, post(f"{author}-{i}", author, f"message {i}", at=i))[0] for i in range(6)]
    assert scores[:4] == [0.0] * 4 and scores[4] >= 0.6
    assert "author posted 7 times in 60s" in check(rules, post(f"{author}-x", author, "again", at=7))[1]
    late = check(rules, post(f"{author}-late", author, "much later", at=500))
    assert late[0] == 0.0  # the window moved on


def test_near_duplicates_across_accounts(rules: SpamRules) -> None:
    base = f"Claim your free crypto reward now at the link below before it expires {uuid.uuid4().hex[:6]}"
    variants = [base, base + " !!", base.replace("free", "FREE"), base + " today"]
    results = [check(rules, post(unique("p"), unique("acct"), text, at=i)) for i, text in enumerate(variants)]
    assert results[0][0] == 0.0 and results[1][0] == 0.0
    assert results[2][0] >= 0.7 and "3 accounts posted near-identical text" in results[2][1]
    assert results[3][0] >= 0.8


@pytest.mark.parametrize(
    ("texts", "flagged"),
    [
        # short replies that share only their mentions are not one text (they are too short to compare)
        (
            ["@alice.test.bsky.social yes please", "@alice.test.bsky.social me too!!", "@alice.test.bsky.social same"],
            False,
        ),
        (["<@1234567> <@7654321> count me in", "<@1234567> <@7654321> me too", "<@1234567> <@7654321> yes!"], False),
        # one campaign that changes only its links is one text
        (
            [
                "Free reward, claim it today: https://a1.example/u/9f8e7d/claim/now/q1",
                "Free reward, claim it today: https://b2.example/v/1a2b3c/take/it/q2",
                "Free reward, claim it today: https://c3.example/w/0z9y8x/get/yours/q3",
            ],
            True,
        ),
    ],
)
def test_near_duplicates_compare_text_without_mentions_and_links(
    rules: SpamRules, texts: list[str], flagged: bool
) -> None:
    results = [check(rules, post(unique("p"), unique("acct"), text, at=i)) for i, text in enumerate(texts)]
    assert (results[-1][0] >= 0.7 and "near-identical" in results[-1][1]) is flagged


def test_one_account_repeating_itself_is_not_coordination(rules: SpamRules) -> None:
    author = unique("repeater")
    text = f"I really think the council should fix the road by the school {uuid.uuid4().hex[:6]}"
    scores = [check(rules, post(unique("p"), author, text, at=i * 30))[0] for i in range(3)]
    assert scores == [0.0, 0.0, 0.0]


def test_link_and_mention_floods_and_new_accounts(rules: SpamRules) -> None:
    links = tuple(f"https://spam{i}.example" for i in range(7))
    score, note = check(rules, post(unique("p"), unique("a"), "look", links=links))
    assert score >= 0.8 and "7 links in one post" in note
    score, note = check(rules, post(unique("p"), unique("a"), "hey", mentions=tuple(str(i) for i in range(9))))
    assert score >= 0.8 and "9 mentions" in note
    score, note = check(
        rules, post(unique("p"), unique("a"), "deal", links=("https://x.example",), age=timedelta(hours=2))
    )
    assert score == 0.5 and "account 2.0h old posts links" in note
    old = check(rules, post(unique("p"), unique("a"), "deal", links=("https://x.example",), age=timedelta(days=90)))
    assert old[0] == 0.0


def test_fingerprints_match_near_duplicates_only() -> None:
    a = fingerprint("the quick brown fox jumps over the lazy dog near the river bank today")
    b = fingerprint("the quick brown fox jumps over the lazy dog near the river bank today!")
    c = fingerprint("completely unrelated text about gardening tomatoes in the spring season")
    assert set(a) & set(b)
    assert not set(a) & set(c)


def test_checking_a_post_does_not_count_it() -> None:
    rules = SpamRules(InMemoryCounters(), SpamSettings(author_burst=2))
    p = post("p1", "u", "hello")
    rules.check(p, normalise(p.text), count=False)
    assert rules.check(post("p2", "u", "hello again", at=1), normalise("hello again")).scores["spam"] == 0.0


@given(
    st.lists(
        st.tuples(st.sampled_from("abcde"), st.floats(0, 20), st.floats(0, 30), st.booleans()),
        max_size=60,
    ),
    st.floats(1, 120),
)
def test_in_memory_counts_match_a_plain_model(steps: list[tuple[str, float, float, bool]], window: float) -> None:
    """Adds (member, time), times out of order too, re-adds refresh; each count equals a scan."""
    counters, model = InMemoryCounters(horizon_seconds=100), {}
    now = 0.0
    for member, dt, late, is_add in steps:
        now += dt
        if is_add:
            counters.add("k", member, now - late)
            model[member] = now - late
        else:
            assert counters.count("k", window, now) == sum(now - window < t <= now for t in model.values())
            assert counters.seen("k", member, window, now) == (now - window < model.get(member, -1e9) <= now)
    assert counters.count("k", 100, now) == sum(now - 100 < t <= now for t in model.values())


def test_in_memory_counters_hold_one_horizon_of_traffic() -> None:
    """A day of a busy community at one post a second: 5,000 occasional authors (their keys go
    quiet and are dropped) and 50 regulars (their keys never go quiet, so they must trim
    themselves), and the community key. What is held stays about one horizon's worth."""
    counters = InMemoryCounters(horizon_seconds=600)
    held = []
    for second in range(86_400):
        author = f"regular:{second % 50}" if second % 2 else f"occasional:{second % 5000}"
        counters.add(author, f"p{second}", second)
        counters.add("community:c", f"p{second}", second)
        if second % 3600 == 3599:
            held.append((len(counters), sum(len(w.entries) for w in counters._keys.values())))
    live = 600 * 2  # one horizon of posts, each under its author and the community
    assert all(keys <= 300 + 50 + 1 and entries <= 2 * live + InMemoryCounters._TRIM_AT for keys, entries in held)
    assert counters.count("community:c", 60, 86_399) == 60
    assert counters.count("regular:1", 600, 86_399) == 12  # every 50 s


WORDS = [f"{a}{b}" for a in ("river", "copper", "lantern", "marble", "fern", "owl") for b in "abcdefgh"]


@pytest.mark.parametrize(
    ("anonymous", "time_known", "flagged"),
    [
        (False, True, True),  # one named author posting a burst: spam
        (True, True, False),  # a feed of bare texts is not one author
        (False, False, False),  # posts read in one second are not posted in one second
    ],
)
def test_posts_without_an_author_or_a_time_are_not_pooled(
    rules: SpamRules, anonymous: bool, time_known: bool, flagged: bool
) -> None:
    scores = []
    for i in range(12):
        p = post(f"p{i}", "anonymous", " ".join(random.Random(i).sample(WORDS, 8)), at=i)
        p = Post(
            p.platform,
            p.community,
            p.channel,
            p.id,
            Author("anonymous", anonymous=anonymous),
            p.text,
            p.created_at,
            time_known=time_known,
        )
        scores.append(rules.check(p, normalise(p.text)).scores["spam"])
    assert (max(scores) >= 0.6) is flagged


def test_identical_texts_from_anonymous_posts_still_count_as_coordination(rules: SpamRules) -> None:
    text = "buy cheap followers now at the best price on the whole internet"
    scores = [
        rules.check(
            Post("console", "c", "g", f"p{i}", Author("anonymous", anonymous=True), text, T0), normalise(text)
        ).scores["spam"]
        for i in range(4)
    ]
    assert scores[-1] >= 0.7


def test_back_dating_a_post_does_not_take_it_out_of_the_window(rules: SpamRules) -> None:
    """The author's client sets created_at (Bluesky's createdAt): 20 identical posts back-dated a
    day apart but received within seconds are still a burst and still near-duplicates."""
    author = unique("backdater")
    text = f"free followers for everyone who clicks the link in my profile {uuid.uuid4().hex[:6]}"
    scores = []
    for i in range(20):
        p = post(f"{author}-{i}", author, text, at=-86_400 * (i + 1))
        p = Post(p.platform, p.community, p.channel, p.id, p.author, p.text, p.created_at, received_at=T0)
        scores.append(check(rules, p)[0])
    assert max(scores) >= 0.6


def test_the_store_stamps_the_time_it_received_a_post(tmp_path: Path) -> None:
    from bot.storage.db import make_engine, upgrade
    from bot.storage.spool import IngestSpool
    from bot.storage.store import Store

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    store = Store(engine)
    old = post("old", "a", "posted long ago, or so its client says", at=-10 * 86_400)
    before = datetime.now(UTC)
    [(row, accepted)] = store.accept([old])
    assert accepted.received_at is not None and accepted.received_at >= before
    assert accepted.created_at == old.created_at  # the platform's time is kept for display
    [(_, again)] = store.posts_to_decide([row])
    assert again.received_at == accepted.received_at
    spool = IngestSpool(tmp_path / "spool.db", 10)
    spool.put([post("spooled", "a", "arrived while the database was down")], None)
    found = spool.oldest()
    assert found is not None and found[1][0].received_at is not None and found[1][0].received_at >= before
    spool.close()
    engine.dispose()
