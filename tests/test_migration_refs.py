"""Migration 0007 on SQLite and PostgreSQL: a stored misinformation reason that named its
fact-check only in its sentence gets the id as data, so an old case still links the fact-check;
reasons of other categories are left as they were, and the downgrade drops the refs."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.storage.db import make_engine, upgrade
from bot.storage.schema import DecisionRow
from bot.storage.store import Store
from moderation.types import Decision, Outcome, Reason
from tests.test_migration_categories import _migrate
from tests.test_store import post

MATCHED = Reason(
    "claims",
    "misinformation",
    0.91,
    0.55,
    Outcome.LOG,
    'misinformation 0.91 ≥ 0.55 (claims); matches fact-check 42 (false, Snopes): "5G spreads the virus" '
    "https://fact.example/42",
)
NAMED_ELSEWHERE = Reason("spam", "spam", 0.7, 0.6, Outcome.FLAG, "spam 0.70; matches fact-check 7 (not a claim)")
OLD = Decision(
    outcome=Outcome.FLAG,
    scores={"misinformation": 0.91, "spam": 0.7},
    scores_by_scorer={"claims": {"misinformation": 0.91}, "spam": {"spam": 0.7}},
    reasons=(NAMED_ELSEWHERE, MATCHED),
    scorer_versions={"claims": "1"},
    policy_version="p-1",
    shadow=False,
    normalised_text="5g spreads the virus",
)


def test_stored_fact_check_ids_become_refs_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    store = Store(engine)
    [(row, p)] = store.accept([post("p1")])
    store.record([(row, p, OLD, [])])  # written as a decision before 0007 was: no ref
    _migrate(engine, "0006", up=False)
    _migrate(engine, "head", up=True)
    [view] = store.cases(("open",), 10)
    assert [r.fact_check for r in view.decision.reasons] == [None, 42]
    with engine.connect() as conn:
        reasons = conn.execute(select(DecisionRow.reasons)).scalar_one()
    assert reasons[1]["ref"] == {"kind": "fact-check", "id": "42"} and "ref" not in reasons[0]
    _migrate(engine, "0006", up=False)
    with engine.connect() as conn:
        reasons = conn.execute(select(DecisionRow.reasons)).scalar_one()
    assert all("ref" not in r for r in reasons)
    engine.dispose()


def test_a_reason_keeps_its_ref_through_json() -> None:
    from moderation.types import Ref, RefKind

    with_ref = replace(MATCHED, ref=Ref(RefKind.FACT_CHECK, "42"))
    assert Reason.from_json(with_ref.to_json()) == with_ref
    assert Reason.from_json(MATCHED.to_json()).fact_check is None
    assert with_ref.erased().fact_check == 42
