"""The calibration page: each community's proposed flag thresholds with their evidence (counts,
precision, its bound, the curve), the admin's button that accepts one, and the accepted ones
with the button that reverts each. The same code as `modbot calibrate` (bot/thresholds.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot import thresholds
from bot.web.context import STATE, origin_of, path_id_of, redirect, render, session_of
from bot.web.inputs import BadInput, number
from moderation.types import CATEGORIES

DAYS = 90


async def calibration_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    target = number(request.query, "target", 0.5, 0.99) or 0.8
    since = datetime.now(UTC) - timedelta(days=DAYS)
    found = await state.db(thresholds.proposals, state.store, state.verdicts.policy, since, thresholds.Asked(target))
    changes = await state.db(state.store.threshold_changes)
    return render(request, "calibration.html", found=found, changes=changes, target=target, days=DAYS)


async def accept(request: web.Request) -> web.Response:
    """Re-proposed from the verdicts now: what the form says is only which proposal."""
    state = request.app[STATE]
    form = await request.post()
    platform, community, category = (str(form.get(k, ""))[:200] for k in ("platform", "community", "category"))
    if category not in CATEGORIES:
        raise BadInput(f"unknown category {category[:40]!r}")
    target = number({"target": str(form.get("target", "0.8"))}, "target", 0.5, 0.99) or 0.8
    since = datetime.now(UTC) - timedelta(days=DAYS)
    actor = session_of(request).moderator.name
    where = (platform, community, category)
    asked = thresholds.Asked(target)
    await state.act(
        thresholds.accept, state.store, state.verdicts.policy, where, since, asked, actor, origin_of(request)
    )
    return redirect("/calibration")


async def revert(request: web.Request) -> web.Response:
    state = request.app[STATE]
    await state.act(
        state.store.revert_threshold, path_id_of(request), session_of(request).moderator.name, origin_of(request)
    )
    return redirect("/calibration")
