"""Accepting a calibrated threshold (`modbot calibrate --accept`, the dashboard's calibration
page): re-proposed from the verdicts at that moment, stored and audit-logged, applied by every
process that decides, revertible; only admins accept or revert."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import thresholds
from bot.config import WebConfig
from bot.runtime.wiring import run_time_settings
from bot.storage.store import Store
from bot.web.accounts import Accounts
from bot.web.app import make_app
from moderation.decider import Decider
from moderation.policy import Policy, PolicyRules
from moderation.scoring import ScoreResult, ScoringInput
from moderation.types import Author, Outcome, Post
from tests.conftest import swearing_verdicts
from tests.test_dashboard import login

RULES = PolicyRules(thresholds={"harassment": {Outcome.FLAG: 0.5, Outcome.REMOVE: 0.95}, "spam": {Outcome.LOG: 0.3}})


@pytest.mark.parametrize(
    ("raise_to", "expected"),
    [
        ({"harassment": 0.8}, {"harassment": {Outcome.FLAG: 0.8, Outcome.REMOVE: 0.95}}),
        ({"harassment": 0.97}, {"harassment": {Outcome.FLAG: 0.97, Outcome.REMOVE: 0.97}}),
        ({"harassment": 0.3}, {"harassment": {Outcome.FLAG: 0.5, Outcome.REMOVE: 0.95}}),  # never lowered
        ({"spam": 0.7}, {"spam": {Outcome.LOG: 0.3, Outcome.FLAG: 0.7}}),  # a category that only logged
    ],
)
def test_raised_rules(raise_to: dict[str, float], expected: dict[str, dict[Outcome, float]]) -> None:
    raised = RULES.raised(raise_to)
    for category, cuts in expected.items():
        assert dict(raised.thresholds[category]) == cuts
    assert raised.version != RULES.version or raise_to == {"harassment": 0.3}


class Scripted:
    """Harassment as the text says: "insult" 0.9, "banter" 0.6."""

    name = "scripted"
    version = "1"
    categories: tuple[str, ...] = ("harassment",)
    needs_embedding = False

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        return [ScoreResult({"harassment": 0.9 if "insult" in i.text else 0.6}) for i in batch]


def _judged_community(store: Store, decider: Decider) -> None:
    """35 insults the moderators confirm and 15 bits of banter they overturn, in 'garden'."""
    now = datetime.now(UTC)
    texts = [f"insult {i}" for i in range(35)] + [f"banter {i}" for i in range(15)]
    posts = [Post("console", "garden", "general", t, Author(t), t, now) for t in texts]
    accepted = store.accept(posts)
    decided = decider.decide([p for _, p in accepted])
    store.record([(row, post, d, acts) for (row, post), (d, acts) in zip(accepted, decided, strict=True)])
    for case in store.cases(limit=100):
        verdict = "removed" if case.post.text.startswith("insult") else "approved"
        store.resolve(case.id, verdict, "mod", "test", None, [])


def test_accepted_in_one_process_applied_in_another_and_reverted(store: Store) -> None:
    policy = Policy(default=RULES)
    decider = Decider([Scripted()], policy)  # type: ignore[list-item]
    _judged_community(store, decider)
    since, asked = datetime.now(UTC) - timedelta(days=1), thresholds.Asked(0.8)
    (found,) = thresholds.proposals(store, policy, since, asked)
    assert (found.proposal.verdict.value, found.proposal.threshold) == ("raise", 0.9)
    assert (0.6, 50, 35) in [(c, k, h) for c, k, h in found.curve], found.curve
    change, _ = thresholds.accept(store, policy, ("console", "garden", "harassment"), since, asked, "ada", "test")
    with pytest.raises(ValueError, match="nothing to accept"):  # now at 0.9: every judged flag there was confirmed
        thresholds.accept(store, policy, ("console", "garden", "harassment"), since, asked, "ada", "test")
    with pytest.raises(LookupError):
        thresholds.accept(store, policy, ("console", "elsewhere", "harassment"), since, asked, "ada", "test")

    other = Decider([Scripted()], policy)  # type: ignore[list-item]
    run_time_settings(store, other)  # what a worker does before each batch
    banter = [
        Post("console", c, "general", "b", Author("x"), "banter again", datetime.now(UTC)) for c in ("garden", "field")
    ]
    (garden, _), (field, _) = other.decide(banter)
    assert garden.outcome is Outcome.ALLOW and field.outcome is Outcome.FLAG
    assert garden.policy_version != field.policy_version, "a new policy version, recorded with each decision"
    store.revert_threshold(change, "ada", "test")
    with pytest.raises(ValueError, match="reverted by ada already"):
        store.revert_threshold(change, "ada", "test")
    run_time_settings(store, other)
    assert other.decide(banter[:1])[0][0].outcome is Outcome.FLAG


def test_the_dashboard_shows_proposals_and_only_admins_accept_or_revert(store: Store, accounts: Accounts) -> None:
    verdicts = swearing_verdicts()
    _judged_community(store, Decider([Scripted()], Policy(default=RULES)))  # type: ignore[list-item]

    async def go() -> None:
        app = make_app(store, verdicts, WebConfig(secure_cookies=False))
        async with TestClient(TestServer(app)) as client:
            csrf = await login(client, "kate")  # a moderator: reads, may not accept
            page = await (await client.get("/calibration")).text()
            assert "console/garden" in page and "raise 0.90" in page and "0.60: 35/50" in page
            form = {"csrf": csrf, "platform": "console", "community": "garden", "category": "harassment"}
            assert (await client.post("/calibration/accept", data=form)).status == 403
            await client.post("/logout", data={"csrf": csrf})
            csrf = await login(client, "ada")
            form["csrf"] = csrf
            bad = await client.post("/calibration/accept", data={**form, "category": "nonsense"})
            assert bad.status == 400
            done = await client.post("/calibration/accept", data=form, allow_redirects=False)
            assert done.status == 303
            again = await client.post("/calibration/accept", data=form)
            assert again.status == 409 and "nothing to accept" in await again.text()
            page = await (await client.get("/calibration")).text()
            change = re.search(r'action="/calibration/(\d+)/revert"', page)
            assert change is not None and "by ada" in page
            assert (await client.post(f"/calibration/{change[1]}/revert", data={"csrf": csrf})).status == 200
            assert (await client.post(f"/calibration/{change[1]}/revert", data={"csrf": csrf})).status == 409

    asyncio.run(go())
    (change,) = store.threshold_changes()
    assert change.accepted_by == "ada" and change.reverted_by == "ada" and change.threshold == 0.9
    assert change.evidence["confirmed"] == 35 and change.evidence["overturned"] == 15
    assert store.threshold_overrides() == {}
