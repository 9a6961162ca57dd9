"""The store's guarantees, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.review import Verdicts, escalate_case, resolve_case
from bot.storage.records import CursorUpdate
from bot.storage.store import Store
from moderation.actions import ActionPlanner, ActionSpec
from moderation.policy import Policy, PolicyRules
from moderation.types import Author, Decision, Outcome, Post, Reason, Span

POLICY = Policy(default=PolicyRules(thresholds={}, timeout_seconds=120))
VERDICTS = Verdicts(POLICY, ActionPlanner())


def post(pid: str, text: str = "hello", community: str = "c") -> Post:
    return Post(
        platform="console",
        community=community,
        channel="general",
        id=pid,
        author=Author(id="u1", handle="user", account_created_at=datetime(2020, 1, 1, tzinfo=UTC)),
        text=text,
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
        links=("https://x.example",),
        mentions=("bob",),
        platform_ref={"line": 1},
    )


def decision(outcome: Outcome = Outcome.FLAG, shadow: bool = False) -> Decision:
    return Decision(
        outcome=outcome,
        scores={"toxicity": 0.8},
        scores_by_scorer={"s": {"toxicity": 0.8}},
        reasons=(Reason("s", "toxicity", 0.8, 0.7, outcome, "toxicity 0.80 ≥ 0.70", (Span(0, 5),)),),
        scorer_versions={"s": "1"},
        policy_version="p-1",
        shadow=shadow,
        normalised_text="hello",
    )


def test_accept_is_idempotent_and_stores_cursor_with_posts(store: Store) -> None:
    first = store.accept([post("a"), post("b"), post("a")], CursorUpdate("console", "/f", "120:2"))
    assert [p.id for _, p in first] == ["a", "b"]
    assert store.get_cursor("console", "/f") == "120:2"
    again = store.accept([post("a"), post("c")], CursorUpdate("console", "/f", "200:3"))
    assert [p.id for _, p in again] == ["c"]
    assert store.accept([post("a", community="other")])  # same id, other community: a different post
    pending = store.pending()
    assert [p.id for _, p in pending] == ["a", "b", "c", "a"]
    roundtrip = pending[0][1]
    assert roundtrip.received_at is not None  # stamped on acceptance: what the spam rules count by
    assert dataclasses.replace(roundtrip, received_at=None) == post("a")


def test_text_that_databases_refuse_is_stored_safely(store: Store) -> None:
    [(row, _)] = store.accept([post("nul", "a\x00b \ud800 c")])
    [(_, back)] = [p for p in store.pending() if p[0] == row]
    assert back.text == "a\ufffdb \ufffd c"


def test_a_post_is_decided_once_with_case_and_outbox(store: Store) -> None:
    [(row, p)] = store.accept([post("a")])
    ids = store.record([(row, p, decision(Outcome.REMOVE), [ActionSpec("remove", {"reason": "r"})])])
    assert ids[0] is not None
    assert store.record([(row, p, decision(Outcome.REMOVE), [ActionSpec("remove", {})])]) == [None]
    assert store.pending() == []
    [case] = store.cases()
    assert case.decision.outcome is Outcome.REMOVE and case.post == p
    assert case.decision.reasons[0].spans == (Span(0, 5),)
    [action] = store.lease_actions(["console"])
    assert action.kind == "remove" and action.platform_ref["post_id"] == "a" and action.attempts == 1
    assert store.lease_actions(["console"]) == []  # running: nobody else takes it
    store.finish_action(action.id, False, "timeout", retry_in=timedelta(seconds=0))
    [again] = store.lease_actions(["console"])
    assert again.attempts == 2
    store.finish_action(again.id, True, "done")
    full = store.case(case.id)
    assert full is not None and full.actions[0].state == "done"


def test_allow_opens_no_case_and_shadow_queues_nothing(store: Store) -> None:
    accepted = store.accept([post("a"), post("b")])
    store.record(
        [
            (accepted[0][0], accepted[0][1], decision(Outcome.ALLOW), []),
            (accepted[1][0], accepted[1][1], decision(Outcome.REMOVE, shadow=True), []),
        ]
    )
    [case] = store.cases()
    assert case.post.id == "b" and case.decision.shadow
    assert store.lease_actions(["console"]) == []


def test_resolve_closes_audits_and_queues_removal_once(store: Store) -> None:
    [(row, p)] = store.accept([post("a")])
    store.record([(row, p, decision(Outcome.FLAG), [])])
    [case] = store.cases()
    view = resolve_case(store, VERDICTS, case.id, "remove", actor="kate", origin="cli", note="slur")
    assert view.state == "closed" and view.resolution == "removed" and view.closed_by == "kate"
    assert [a.kind for a in view.actions] == ["remove"]
    assert view.audit[0].actor == "kate" and view.audit[0].action == "case.removed"
    assert view.audit[0].details["note"] == "slur"
    with pytest.raises(ValueError, match="already closed"):
        resolve_case(store, VERDICTS, case.id, "approve", actor="kate", origin="cli")
    with pytest.raises(LookupError):
        resolve_case(store, VERDICTS, 9999, "approve", actor="kate", origin="cli")
    assert store.cases() == []


def test_audit_log_is_append_only_in_the_database(store: Store) -> None:
    store.audit("kate", "test", "case", "1", "cli", {})
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalar_one() == "kate"


def test_crashed_running_actions_are_requeued(store: Store) -> None:
    [(row, p)] = store.accept([post("a")])
    store.record([(row, p, decision(Outcome.REMOVE), [ActionSpec("remove", {})])])
    assert len(store.lease_actions(["console"])) == 1
    assert store.requeue_running() == 1
    assert len(store.lease_actions(["console"])) == 1


def test_timeout_verdict_and_escalation(store: Store) -> None:
    accepted = store.accept([post("a"), post("b")])
    store.record([(row, p, decision(Outcome.FLAG), []) for row, p in accepted])
    first, second = store.cases()
    view = escalate_case(store, first.id, actor="kate", origin="cli", note="needs an admin")
    assert view.state == "escalated" and view.audit[-1].action == "case.escalated"
    assert [c.id for c in store.cases()] == [first.id, second.id]  # escalated cases stay in the queue
    closed = resolve_case(store, VERDICTS, first.id, "timeout", actor="ann", origin="cli")
    assert closed.resolution == "removed"
    assert [(a.kind, a.params.get("seconds")) for a in closed.actions] == [("remove", None), ("timeout", 120)]
    record = store.author_record("console", "c", "u1")
    assert record["flag"] == 2 and record["strikes"] == 1


def test_the_migrations_build_the_schema_the_models_declare(db_url: str) -> None:
    """A column added to or dropped from bot/storage/schema.py needs its migration (0009 dropped
    moderators.locked_until): alembic's comparison of the migrated database with the models is empty."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.storage.db import make_engine, upgrade
    from bot.storage.schema import Base

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


@pytest.mark.parametrize(
    "author",
    [
        Author("a1", "alice", datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 2, 3, tzinfo=UTC), ("r1", "Mods")),
        Author("anon", anonymous=True),
    ],
)
def test_a_post_is_the_same_after_its_json_round_trip(author: Author) -> None:
    """Post.to_json is the one encoding the ingest spool keeps and the API serves."""
    import json

    full = Post(
        "discord", "g1", "c1", "m1", author, "hello 😀 \x1b[2J", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        reply_to="m0", thread_root="t1", links=("https://x.example",), mentions=("u2",),
        platform_ref={"guild_id": "g1", "nested": {"k": [1, None]}}, time_known=False,
        received_at=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC),
    )  # fmt: skip
    for post in (full, Post("console", "c", "ch", "p", author, "", datetime(2026, 1, 1, tzinfo=UTC))):
        assert Post.from_json(json.loads(json.dumps(post.to_json()))) == post
