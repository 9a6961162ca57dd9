"""Scoring a post that names a group together with copies naming other groups (a GroupBlind
scorer, the shipped abuse model by default): the copies are made the same way for the same text,
name another group everywhere the first was named, are scored only by the scorer that asked for
them, and the post keeps the mean with a note saying what it was as written."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.config import Config
from moderation.decider import Decider
from moderation.identity import Swaps, identity_terms
from moderation.policy import Policy, PolicyRules
from moderation.scoring import GroupBlind, ScoreResult, ScoringInput
from moderation.types import Author, Decision, Outcome, Post
from tests.conftest import Reader


class WordFearing:
    """A biased model a test can see: it calls any text naming "nonbinary" hate."""

    name = "fearing"
    version = "1"
    categories = ("hate",)
    needs_embedding = False

    def __init__(self, identity_swaps: int) -> None:
        self.identity_swaps = identity_swaps
        self.read: list[str] = []

    def score(self, batch: Sequence[ScoringInput]) -> list[ScoreResult]:
        self.read += [i.text for i in batch]
        return [ScoreResult({"hate": 0.9 if "nonbinary" in i.text.lower() else 0.15}) for i in batch]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Alex is a gracious nonbinary", "nonbinary"),
        ("Muslims are my neighbours and every muslim here is kind", "muslim"),
        ("my Native American friends", "native american"),
        ("GAY people deserve respect", "gay"),
        ("this old car again", None),  # "old" is too often not a group to be taken as one
        ("no group here at all", None),
    ],
)
def test_copies_name_another_group_everywhere_and_are_always_the_same(text: str, named: str | None) -> None:
    swaps = Swaps(3)
    copies = swaps.of(text)
    if named is None:
        assert copies == []
        return
    assert len(copies) == 3 and copies == swaps.of(text)  # a post always gets the same copies
    for copy in copies:
        assert copy.named == named and copy.other != named and copy.other in identity_terms()
        assert named not in copy.text.lower() and copy.other in copy.text.lower()
    assert len({c.other for c in copies}) == 3
    assert Swaps(0).of(text) == []


@pytest.mark.parametrize(
    ("text", "never"),
    [
        ("Muslims are my neighbours", {"Olds", "Youngs", "Straights", "Deafs", "Nonbinarys", "Intersexs", "Jewishs"}),
        ("LGBT people are welcome here", {"LGBT people", "Lgbt"}),
        ("muslims and hindus live here", {"hindus and hindus", "Hindus and hindus"}),
    ],
)
def test_copies_read_as_sentences(text: str, never: set[str]) -> None:
    copies = Swaps(40).of(text)
    assert len(copies) >= 30
    for copy in copies:
        assert not any(bad in copy.text for bad in never), copy.text
        assert copy.other not in {"old", "young", "straight"}
    if text.startswith("LGBT"):
        assert all(c.text.split()[0] == c.text.split()[0].upper() or c.other != "lgbt" for c in copies)
        assert any(c.text.startswith("Native American people") for c in Swaps(60).of(text))


def test_fewer_copies_are_the_first_of_more_and_the_list_is_in_the_version() -> None:
    for text in ("Alex is a gracious nonbinary", "every muslim here is kind", "trans women are women"):
        assert Swaps(6).of(text)[:2] == Swaps(2).of(text)
    assert Swaps(2).version.startswith("swaps2-") and Swaps(2).version != Swaps(2, ["muslim", "sikh"]).version
    assert Swaps(0).version == ""


def _decide(texts: list[str], swaps: int) -> tuple[list[Decision], WordFearing, Reader]:
    fearing, reader = WordFearing(swaps), Reader()
    policy = Policy(default=PolicyRules(thresholds={"hate": {Outcome.FLAG: 0.5}, "harassment": {Outcome.FLAG: 0.5}}))
    decider = Decider([fearing, reader], policy)  # type: ignore[list-item]
    posts = [Post("console", "c", "", str(i), Author(f"a{i}"), t, datetime.now(UTC)) for i, t in enumerate(texts)]
    return [d for d, _ in decider.decide(posts, count=False)], fearing, reader


def test_a_post_naming_a_group_keeps_the_mean_over_its_copies_with_a_note() -> None:
    assert isinstance(WordFearing(2), GroupBlind) and not isinstance(Reader(), GroupBlind)
    texts = ["Alex is a gracious nonbinary", "see you at the match", "you nonbinary idiot"]
    (gracious, plain, insult), fearing, reader = _decide(texts, swaps=2)
    assert reader.read == texts  # a scorer that did not ask reads each post once, as written
    assert len(fearing.read) == 3 + 4 and fearing.read[:3] == texts
    assert gracious.scores["hate"] == pytest.approx((0.9 + 0.15 + 0.15) / 3)
    assert gracious.outcome is Outcome.ALLOW
    [why] = [r.message for r in gracious.reasons if r.category == "hate"]
    assert "0.90 as written, 0.40 with copies naming " in why and why.endswith(" for nonbinary (mean)")
    assert plain.scores["hate"] == 0.15 and not any("as written" in r.message for r in plain.reasons)
    assert insult.outcome is Outcome.FLAG and insult.scores["harassment"] == 0.9  # the insult is still read


def test_without_swaps_the_model_is_read_as_it_is() -> None:
    (gracious,), fearing, _ = _decide(["Alex is a gracious nonbinary"], swaps=0)
    assert fearing.read == ["Alex is a gracious nonbinary"]
    assert gracious.scores["hate"] == 0.9 and gracious.outcome is Outcome.FLAG


def test_the_setting_is_bounded_and_on_by_default() -> None:
    assert Config().scorers.head.identity_swaps == 2
    with pytest.raises(ValueError, match="identity_swaps"):
        Config.model_validate({"scorers": {"head": {"identity_swaps": 50}}})
