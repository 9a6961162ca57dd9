from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from moderation.actions import ActionPlanner
from moderation.normalise import normalise
from moderation.policy import PolicyRules, decide
from moderation.scoring import ScoreResult
from moderation.types import Author, Outcome, Post

RULES = PolicyRules(
    thresholds={
        "toxicity": {Outcome.FLAG: 0.5, Outcome.REMOVE: 0.9},
        "hate": {Outcome.FLAG: 0.4, Outcome.BAN: 0.8},
        "threat": {Outcome.TIMEOUT: 0.7},
    },
    exempt_users=frozenset({"trusted"}),
    exempt_roles=frozenset({"mod"}),
    review_only=frozenset({"hate"}),
    timeout_seconds=600,
)


def post(text: str = "you are a fool", author: str = "u1", roles: tuple[str, ...] = ()) -> Post:
    return Post(
        platform="console",
        community="c",
        channel="general",
        id="p1",
        author=Author(id=author, roles=roles),
        text=text,
        created_at=datetime.now(UTC),
    )


def run(
    scores: dict[str, float],
    rules: PolicyRules = RULES,
    p: Post | None = None,
    spans: dict[str, tuple[tuple[int, int], ...]] | None = None,
):  # type: ignore[no-untyped-def]
    p = p or post()
    return decide(p, normalise(p.text), {"s": ScoreResult(scores, spans or {})}, {"s": "1.0"}, rules)


def test_strongest_reached_threshold_wins_and_reason_says_why() -> None:
    d = run({"toxicity": 0.95})
    assert d.outcome is Outcome.REMOVE
    [reason] = d.reasons
    assert reason.category == "toxicity" and reason.threshold == 0.9 and reason.source == "s"
    assert "toxicity 0.95 ≥ 0.90 (s) → remove" in reason.message
    assert d.scorer_versions == {"s": "1.0"} and d.policy_version == RULES.version


def test_below_every_threshold_allows_with_the_nearest_miss_as_reason() -> None:
    d = run({"toxicity": 0.3, "threat": 0.1})
    assert d.outcome is Outcome.ALLOW
    assert "toxicity 0.30 is below the lowest threshold 0.50" in d.reasons[0].message


def test_hate_goes_to_review_not_ban() -> None:
    d = run({"hate": 0.95})
    assert d.outcome is Outcome.FLAG
    assert "capped at flag" in d.reasons[0].message
    opted_in = PolicyRules(thresholds=RULES.thresholds, review_only=frozenset())
    assert run({"hate": 0.95}, opted_in).outcome is Outcome.BAN


def test_exempt_users_and_roles_are_allowed_with_reason() -> None:
    d = run({"toxicity": 0.99}, p=post(author="trusted"))
    assert d.outcome is Outcome.ALLOW and "exempt" in d.reasons[0].message
    assert d.scores == {"toxicity": 0.99}
    assert run({"toxicity": 0.99}, p=post(roles=("mod",))).outcome is Outcome.ALLOW


def test_shadow_mode_decides_but_queues_no_action() -> None:
    shadow = PolicyRules(thresholds=RULES.thresholds, shadow=True)
    d = run({"toxicity": 0.99}, shadow)
    assert d.outcome is Outcome.REMOVE and d.shadow and not d.acts
    assert ActionPlanner().plan(post(), d, shadow) == []
    live = run({"toxicity": 0.99})
    assert [a.kind for a in ActionPlanner().plan(post(), live, RULES)] == ["remove"]


@pytest.mark.parametrize(
    ("marks", "text", "replied"),
    [
        ({"asks_bot": True, "mentions_bot": True}, "@modbot when is the meetup?", True),
        ({"asks_bot": True}, "anyone know a bike shop that fixes derailleurs?", False),  # a reply under its post
        ({"asks_bot": True, "mentions_bot": True}, "@modbot thanks for the update", False),  # no question
        ({}, "when is the meetup?", False),
    ],
)
def test_the_canned_reply_answers_only_a_mention_that_asks(marks: dict[str, bool], text: str, replied: bool) -> None:
    planner = ActionPlanner(question_replies={"bluesky": "Details are pinned on our profile."})
    p = replace(post(text), platform="bluesky", platform_ref=marks)
    kinds = [a.kind for a in planner.plan(p, run({}, p=p), RULES)]
    assert kinds == (["reply"] if replied else [])


def test_timeout_removes_and_times_out_for_the_configured_length() -> None:
    d = run({"threat": 0.8})
    kinds = [(a.kind, a.params.get("seconds")) for a in ActionPlanner().plan(post(), d, RULES)]
    assert kinds == [("remove", None), ("timeout", 600)]


def test_evidence_spans_point_into_raw_text() -> None:
    p = post(text="you are a **f u c k** wit")
    norm = normalise(p.text)
    start = norm.text.index("fuck")
    d = decide(p, norm, {"s": ScoreResult({"toxicity": 0.95}, {"toxicity": ((start, start + 4),)})}, {"s": "1"}, RULES)
    [span] = d.reasons[0].spans
    assert p.text[span.start : span.end] == "f u c k"
    assert 'evidence: "f u c k"' in d.reasons[0].message


def test_several_scorers_take_the_highest_score_per_category() -> None:
    p = post()
    d = decide(
        p,
        normalise(p.text),
        {"a": ScoreResult({"toxicity": 0.6}), "b": ScoreResult({"toxicity": 0.92})},
        {"a": "1", "b": "2"},
        RULES,
    )
    assert d.outcome is Outcome.REMOVE and d.reasons[0].source == "b"
    assert d.scores_by_scorer == {"a": {"toxicity": 0.6}, "b": {"toxicity": 0.92}}


def test_windows_cover_long_text_and_merge_to_the_worst() -> None:
    from moderation.windows import merge_windows, split_windows

    text = " ".join(f"w{i}" for i in range(2000))
    windows = split_windows(text, size=300, overlap=40)
    assert windows[0][0] == 0 and windows[-1][1] == len(text)
    assert all(b - a <= 300 for a, b in windows)
    assert all(nxt[0] < cur[1] for cur, nxt in itertools.pairwise(windows))  # overlapping
    merged = merge_windows(
        [ScoreResult({"x": 0.1}, {"x": ((0, 2),)}), ScoreResult({"x": 0.8}, {"x": ((5, 7),)})], [0, 100]
    )
    assert merged.scores == {"x": 0.8} and merged.spans == {"x": ((0, 2), (105, 107))}
    assert split_windows("short") == [(0, 5)]


def test_a_post_that_reaches_hate_is_not_removed_for_its_other_categories() -> None:
    """Counter-speech quoting hate is often rude too: a human decides the whole post."""
    d = run({"hate": 0.5, "toxicity": 0.95})
    assert d.outcome is Outcome.FLAG
    removal = next(r for r in d.reasons if r.category == "toxicity")
    assert removal.outcome is Outcome.FLAG and "the post also reached hate, which a human decides" in removal.message
    assert run({"hate": 0.1, "toxicity": 0.95}).outcome is Outcome.REMOVE
