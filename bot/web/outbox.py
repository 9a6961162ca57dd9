"""The outbox page: actions not carried out yet, failed ones with why, and the button that puts a
failed action back in the queue once its cause is fixed (the same store call as `modbot actions
retry`, audit-logged with the moderator's name)."""

from __future__ import annotations

from aiohttp import web

from bot.storage.records import ActionState
from bot.web.context import STATE, origin_of, redirect, render, session_of

SHOWN = 200


async def actions_page(request: web.Request) -> web.Response:
    state = request.app[STATE]
    waiting = [s for s in ActionState if s != ActionState.DONE]
    rows = await state.db(state.store.actions_in, waiting, SHOWN)
    failed = sum(1 for action, _ in rows if action.state == ActionState.FAILED)
    return render(request, "actions.html", rows=rows, failed=failed, shown=SHOWN, done=request.query.get("retried"))


async def retry(request: web.Request) -> web.Response:
    """`id` re-queues one failed action; `all` every failed one."""
    state = request.app[STATE]
    form = await request.post()
    raw = str(form.get("id", ""))
    if not raw.isdigit() and form.get("all") is None:
        raise web.HTTPBadRequest(text="give an action id or all")
    ids = [int(raw)] if raw.isdigit() else None
    actor = session_of(request).moderator.name
    try:
        requeued = await state.db(state.store.retry_actions, ids, actor, origin_of(request))
    except LookupError as exc:
        raise web.HTTPConflict(text=str(exc)) from exc
    return redirect(f"/actions?retried={len(requeued)}")
