"""Bluesky's moderation actions, carried out for the bot account: reply, report to a moderation
service, label through a labeler, hide a reply in the bot's own thread, mute, block."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from atproto import AsyncClient, models
from atproto_client.exceptions import BadRequestError

from bot.adapters.base import ActionFailed, LabelSink
from bot.adapters.bluesky.convert import rkey_of
from bot.config import BlueskyConfig
from bot.storage.records import ActionRecord

_REPORT_REASON = {
    "profanity": "com.atproto.moderation.defs#reasonRude",
    "toxicity": "com.atproto.moderation.defs#reasonRude",
    "harassment": "com.atproto.moderation.defs#reasonRude",
    "threat": "com.atproto.moderation.defs#reasonViolation",
    "hate": "com.atproto.moderation.defs#reasonViolation",
    "sexual": "com.atproto.moderation.defs#reasonSexual",
}


async def carry_out(
    client: AsyncClient, did: str, config: BlueskyConfig, action: ActionRecord, labels: LabelSink | None = None
) -> str:
    """One outbox action as the bot account `did`; a refusal that retrying cannot fix is
    `ActionFailed(retryable=False)`. With `labels` (modbot's own labeler) `label` and `unlabel`
    sign labels as `did`; without, they go to the Ozone labeler `config.labeler_did`."""
    ref = action.platform_ref
    subject = {"uri": ref["uri"], "cid": ref["cid"]}
    match action.kind:
        case "reply":
            text = str(action.params.get("text", ""))
            if not text:
                raise ActionFailed("reply without text", retryable=False)
            root = ref.get("root") or subject
            reply = models.AppBskyFeedPost.ReplyRef(
                root=models.ComAtprotoRepoStrongRef.Main(uri=root["uri"], cid=root["cid"]),
                parent=models.ComAtprotoRepoStrongRef.Main(**subject),
            )
            sent = await client.send_post(text, reply_to=reply, profile_identify=did)
            return f"replied: {sent.uri}"
        case "report":
            category = str(action.params.get("category", ""))
            moderation = client.with_proxy("atproto_labeler", config.moderation_service_did)
            await moderation.com.atproto.moderation.create_report(
                {
                    "reasonType": _REPORT_REASON.get(category, "com.atproto.moderation.defs#reasonOther"),
                    "reason": f"modbot: {action.params.get('reason', '')}"[:2000],
                    "subject": {"$type": "com.atproto.repo.strongRef", **subject},
                }
            )
            return f"reported to {config.moderation_service_did}"
        case "label" if labels is not None:
            category, rule = str(action.params.get("category", "")), str(action.params.get("rule", ""))
            return await labels.label(did, ref["uri"], ref.get("cid"), category, rule, action.case_id)
        case "unlabel" if labels is not None:
            return await labels.unlabel(did, ref["uri"], str(action.params.get("reason", "")))
        case "label" | "unlabel":
            return await _ozone_label(client, did, config, subject, action)
        case "hide_reply":
            return await _hide_reply(client, did, ref)
        case "mute":
            await client.app.bsky.graph.mute_actor({"actor": ref["repo"]})
            return f"muted {ref['repo']}"
        case "block":
            await client.com.atproto.repo.create_record(
                {
                    "repo": did,
                    "collection": "app.bsky.graph.block",
                    "record": {
                        "$type": "app.bsky.graph.block",
                        "subject": ref["repo"],
                        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                    },
                }
            )
            return f"blocked {ref['repo']}"
    raise ActionFailed(f"Bluesky has no action {action.kind!r}", retryable=False)


async def _ozone_label(
    client: AsyncClient, did: str, config: BlueskyConfig, subject: dict[str, Any], action: ActionRecord
) -> str:
    if not config.labeler_did:
        raise ActionFailed(f"no labeler_did configured for the {action.kind} action", retryable=False)
    labeler = client.with_proxy("atproto_labeler", config.labeler_did)
    values = {"createLabelVals": [config.label], "negateLabelVals": []}
    if action.kind == "unlabel":
        values = {"createLabelVals": [], "negateLabelVals": [config.label]}
    await labeler.tools.ozone.moderation.emit_event(
        {
            "event": {
                "$type": "tools.ozone.moderation.defs#modEventLabel",
                **values,
                "comment": f"modbot: {action.params.get('reason', '')}"[:2000],
            },
            "subject": {"$type": "com.atproto.repo.strongRef", **subject},
            "createdBy": did,
        }
    )
    done = "negated" if action.kind == "unlabel" else "labelled"
    return f"{done} {config.label!r} via {config.labeler_did}"


async def _hide_reply(client: AsyncClient, did: str, ref: dict[str, Any]) -> str:
    """Add the reply to the threadgate of the bot's own thread (Bluesky lets only the thread's
    author hide replies)."""
    root = (ref.get("root") or {}).get("uri", "")
    if ref["uri"] == root or not root.startswith(f"at://{did}/"):
        raise ActionFailed("hide_reply works only on replies in the bot account's own threads", False)
    rkey = rkey_of(root)
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.threadgate",
        "post": root,
        "hiddenReplies": [],
        "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    with contextlib.suppress(BadRequestError):  # no threadgate yet
        existing = await client.com.atproto.repo.get_record(
            {"repo": did, "collection": "app.bsky.feed.threadgate", "rkey": rkey}
        )
        record = models.get_model_as_dict(existing.value)
    hidden = list(record.get("hiddenReplies") or [])
    if ref["uri"] not in hidden:
        hidden.append(ref["uri"])
    record["hiddenReplies"] = hidden
    await client.com.atproto.repo.put_record(
        {"repo": did, "collection": "app.bsky.feed.threadgate", "rkey": rkey, "record": record}
    )
    return f"hidden in the threadgate of {root}"
