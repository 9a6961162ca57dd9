"""Per-scorer quality on the stats page (SQLite and PostgreSQL): flags, confirmed, overturned and
precision by the cases' top reason, the override rate week by week, and a week that doubled its
override rate marked, on the page and in /api/stats."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.storage.schema import CaseRow, utcnow
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.quality import rule_quality
from tests.test_dashboard import login, run, seed


def _seed_two_weeks(store: Store, profanity_scorer: object, first: tuple[int, int], second: tuple[int, int]) -> None:
    """(confirmed, overturned) verdicts on profanity flags a week ago and this week."""
    posts = [(f"p{i}", f"a{i}", f"fuck this number {i}") for i in range(sum(first) + sum(second))]
    seed(store, profanity_scorer, posts)
    cases = sorted(store.cases(), key=lambda c: c.id)
    assert len(cases) == len(posts)
    verdicts = ["removed"] * first[0] + ["approved"] * first[1] + ["removed"] * second[0] + ["approved"] * second[1]
    for case, verdict in zip(cases, verdicts, strict=True):
        store.resolve(case.id, verdict, "kate", "test", None, [])
    old = [c.id for c in cases[: sum(first)]]

    def backdate(session):  # type: ignore[no-untyped-def]
        session.execute(update(CaseRow).where(CaseRow.id.in_(old)).values(opened_at=utcnow() - timedelta(days=7)))

    store.transaction(backdate)


def test_a_week_whose_override_rate_doubled_is_marked(store: Store, profanity_scorer: object) -> None:
    _seed_two_weeks(store, profanity_scorer, (8, 2), (4, 6))
    [row] = rule_quality(store)
    assert (row["scorer"], row["category"]) == ("profanity", "profanity")
    assert (row["flags"], row["confirmed"], row["overturned"]) == (20, 12, 8)
    assert row["precision"] == 0.6
    weeks = [(w["reviewed"], w["override_rate"], w["doubled"]) for w in row["weeks"]]
    assert weeks == [(10, 0.2, False), (10, 0.6, True)]
    assert row["drift"]


def test_steady_weeks_and_too_few_verdicts_are_not_drift(store: Store, profanity_scorer: object) -> None:
    _seed_two_weeks(store, profanity_scorer, (8, 2), (3, 1))  # 0.25 after 0.2, on 4 verdicts
    [row] = rule_quality(store)
    assert not row["drift"] and [w["doubled"] for w in row["weeks"]] == [False, False]


def test_the_stats_page_and_api_show_it(store: Store, accounts: Accounts, profanity_scorer: object) -> None:
    _seed_two_weeks(store, profanity_scorer, (8, 2), (4, 6))

    async def test(client: TestClient) -> None:
        await login(client, "vic")
        page = await (await client.get("/stats")).text()
        assert "Quality per scorer and category" in page and 'class="drift"' in page and "(doubled)" in page
        stats = await (await client.get("/api/stats")).json()
        assert stats["per_rule"][0]["precision"] == 0.6 and stats["per_rule"][0]["drift"]

    run(store, test)
