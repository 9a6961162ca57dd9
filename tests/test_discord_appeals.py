"""The appeal round trip through the fake Discord: the warning says which rule and which words in
plain language, the author appeals by replying to it or with its Appeal button and form, the
appeal reaches the mod channel beside the original decision, and a moderator upholds (the user is
told) or overturns it (the timeout is lifted, the user is told the message cannot come back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.storage.records import AppealState, CaseState, Resolution
from tests.test_discord import TOXIC, World, build_world, eventually, mod_messages, run, running


def dms_to(world: World, uid: str) -> list[dict[str, Any]]:
    return [
        m
        for m in world.fake.messages.values()
        if world.fake.dms.get(m["channel_id"]) == uid and m["author"]["id"] == world.fake.bot_user["id"]
    ]


def appeal_button(message: dict[str, Any]) -> str:
    [custom_id] = [c["custom_id"] for row in message["components"] for c in row["components"]]
    return str(custom_id)


def test_a_reply_to_the_warning_is_an_appeal_and_an_upheld_one_is_answered(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake

    async def go() -> None:
        async with running(world, monkeypatch):
            await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: dms_to(world, world.troll), what="the warning")
            [warning] = dms_to(world, world.troll)
            text = warning["content"]
            assert "strong language" in text and "The part that broke it: “shut … fuck … worthless”." in text
            assert "profanity" not in text and "0." not in text and "≥" not in text  # no scorer, no score
            assert appeal_button(warning).startswith("modbot:appeal:")
            case_id = int(appeal_button(warning).rsplit(":", 1)[1])
            await fake.user_dms_bot(world.troll, "I was quoting the song, not insulting anyone", reply_to=warning["id"])
            await eventually(lambda: len(dms_to(world, world.troll)) == 2, what="the appeal acknowledged")
            assert "with the moderators" in dms_to(world, world.troll)[1]["content"]
            await eventually(lambda: len(mod_messages(world)) == 2, what="the appeal in the mod channel")
            posted = mod_messages(world)[1]
            fields = {f["name"]: f["value"] for f in posted["embeds"][0]["fields"]}
            assert fields["Appeal by the author (open)"] == "I was quoting the song, not insulting anyone"
            assert fields["Original decision"].startswith("timeout; carried out:")
            ids = [c["custom_id"] for row in posted["components"] for c in row["components"]]
            assert ids == [f"modbot:case:{case_id}:uphold", f"modbot:case:{case_id}:overturn"]
            case = world.store.case(case_id)
            assert case is not None and case.state == CaseState.APPEALED
            await fake.wait_callback(await fake.click(posted["id"], ids[0], world.kate))
            await eventually(lambda: len(dms_to(world, world.troll)) == 3, what="the answer")
            assert "the decision stands" in dms_to(world, world.troll)[2]["content"]
            await fake.user_dms_bot(world.troll, "please look again", reply_to=warning["id"])
            await eventually(lambda: len(dms_to(world, world.troll)) == 4)
            assert "appealed already (upheld)" in dms_to(world, world.troll)[3]["content"]

    run(go)
    case = world.store.case(1)
    assert case is not None and case.appeal is not None and case.appeal.state == AppealState.UPHELD
    assert case.state == CaseState.CLOSED and case.appeal.decided_by == "discord:2001 (kate)"
    assert [a.action for a in case.audit if a.action.startswith("appeal.")] == ["appeal.opened", "appeal.upheld"]


def test_an_appeal_through_the_button_and_form_overturned_lifts_the_timeout(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = build_world(db_url, tmp_path)
    fake = world.fake
    timed_out = (world.guild, world.troll)

    async def go() -> None:
        async with running(world, monkeypatch):
            await fake.user_says(world.general, world.troll, TOXIC)
            await eventually(lambda: fake.members[timed_out]["communication_disabled_until"], what="the timeout")
            await eventually(lambda: dms_to(world, world.troll), what="the warning")
            [warning] = dms_to(world, world.troll)
            pressed = await fake.click(warning["id"], appeal_button(warning), world.troll)
            form = await fake.wait_callback(pressed)
            assert form["type"] == 9  # MODAL
            [field] = [c for row in form["data"]["components"] for c in row["components"]]
            sent = await fake.submit_form(
                warning["channel_id"], world.troll, form["data"]["custom_id"], {field["custom_id"]: "a friend's joke"}
            )
            assert "with the moderators" in (await fake.wait_callback(sent))["data"]["content"]
            await eventually(lambda: len(mod_messages(world)) == 2, what="the appeal in the mod channel")
            posted = mod_messages(world)[1]
            overturn = [c["custom_id"] for row in posted["components"] for c in row["components"]][1]
            await fake.wait_callback(await fake.click(posted["id"], overturn, world.kate))
            await eventually(lambda: not fake.members[timed_out]["communication_disabled_until"], what="the lift")
            await eventually(lambda: len(dms_to(world, world.troll)) == 2, what="the answer")

    run(go)
    answer = dms_to(world, world.troll)[1]["content"]
    assert "overturned the decision: your timeout is lifted" in answer and "cannot be restored" in answer
    case = world.store.case(1)
    assert case is not None and case.resolution == Resolution.APPROVED and case.state == CaseState.CLOSED
    assert (
        case.appeal is not None and case.appeal.text == "a friend's joke" and case.appeal.via == "discord:appeal button"
    )
