"""Migration 0006 on SQLite and PostgreSQL: decisions, cases and drafts stored under detoxify's
category names read under the new ones, severe_toxicity folds into toxicity by its higher score,
and the downgrade gives the old names back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select

from bot.storage.db import _alembic_config, make_engine, upgrade
from bot.storage.schema import CaseRow, DecisionRow
from bot.storage.store import Store
from moderation.types import Decision, Outcome, Reason
from tests.test_store import post

OLD = Decision(
    outcome=Outcome.FLAG,
    scores={"identity_attack": 0.9, "insult": 0.4, "toxicity": 0.7, "severe_toxicity": 0.8},
    scores_by_scorer={"detoxify": {"identity_attack": 0.9, "toxicity": 0.7, "severe_toxicity": 0.8}},
    reasons=(Reason("detoxify", "identity_attack", 0.9, 0.5, Outcome.FLAG, "identity_attack 0.90 ≥ 0.50"),),
    scorer_versions={"detoxify": "1"},
    policy_version="p-1",
    shadow=False,
    normalised_text="hello",
)


def _migrate(engine, revision: str, up: bool) -> None:  # type: ignore[no-untyped-def]
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.upgrade if up else command.downgrade)(cfg, revision)


def test_stored_categories_are_renamed_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    store = Store(engine)
    [(row, p)] = store.accept([post("p1")])
    store.record([(row, p, OLD, [])])  # a decision (and its case) under the old names
    _migrate(engine, "0005", up=False)
    _migrate(engine, "head", up=True)
    with engine.connect() as conn:
        stored = conn.execute(select(DecisionRow.scores, DecisionRow.reasons, DecisionRow.scores_by_scorer)).one()
        case_category = conn.execute(select(CaseRow.category)).scalar_one()
    assert stored.scores == {"hate": 0.9, "harassment": 0.4, "toxicity": 0.8}
    assert stored.scores_by_scorer == {"detoxify": {"hate": 0.9, "toxicity": 0.8}}
    assert stored.reasons[0]["category"] == "hate" and case_category == "hate"
    _migrate(engine, "0005", up=False)
    with engine.connect() as conn:
        back = conn.execute(select(DecisionRow.scores)).scalar_one()
        case_category = conn.execute(select(CaseRow.category)).scalar_one()
    assert back == {"identity_attack": 0.9, "insult": 0.4, "toxicity": 0.8} and case_category == "identity_attack"
    engine.dispose()
