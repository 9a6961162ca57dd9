"""The functional suite's generator and its report maths, without any model: a broken frame or a
wrong pass rate would misreport every model judged on it."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict

import pytest

from moderation.functional import CATEGORIES, Case, Expect, cases, evade, identities
from moderation.functional_report import FunctionalReport, Tally, render_markdown, report
from moderation.types import CATEGORIES as SCORE_CATEGORIES


@pytest.fixture(scope="module")
def suite() -> list[Case]:
    return cases()


def test_deterministic_per_seed_and_the_seed_only_moves_evasions(suite: list[Case]) -> None:
    assert cases(0) == suite
    assert cases(7) == cases(7)
    other = cases(7)
    changed = {a.functionality for a, b in zip(suite, other, strict=True) if a != b}
    assert changed and changed <= {"hate.spelling_evasion", "harassment.spelling_evasion"}
    assert [(c.functionality, c.identity) for c in other] == [(c.functionality, c.identity) for c in suite]


def test_size_and_every_functionality_has_enough_cases(suite: list[Case]) -> None:
    assert 1500 <= len(suite) <= 3200
    counts = Counter(c.functionality for c in suite)
    thin = {f: n for f, n in counts.items() if n < 40}
    assert not thin, thin
    for name in ("hate.derogation", "hate.counter_quote", "harassment.negated", "threat.idiom", "profanity.clean"):
        assert name in counts


def test_every_identity_appears_in_every_identity_functionality(suite: list[Case]) -> None:
    groups = {i.group for i in identities()}
    attributes = {i.attribute for i in identities()}
    assert {"race/ethnicity", "religion", "gender", "gender identity", "sexual orientation"} <= attributes
    assert {"disability", "nationality", "age"} <= attributes
    seen: dict[str, set[str]] = defaultdict(set)
    for case in suite:
        if case.identity:
            seen[case.functionality].add(case.identity)
    assert len(seen) >= 12
    for functionality, found in seen.items():
        assert found == groups, (functionality, groups - found)


def test_texts_are_unique_and_fully_filled(suite: list[Case]) -> None:
    duplicates = [t for t, n in Counter(c.text for c in suite).items() if n > 1]
    assert not duplicates
    for case in suite:
        assert not re.search(r"[{}\[\]]", case.text), case.text
        assert case.text == case.text.strip() and "  " not in case.text


def test_categories_have_both_outcomes_and_functionalities_one(suite: list[Case]) -> None:
    expects: dict[str, set[Expect]] = defaultdict(set)
    for case in suite:
        assert case.category in CATEGORIES
        assert case.functionality.startswith(case.category + ".")
        expects[case.category].add(case.expect)
    assert set(expects) == set(CATEGORIES)
    assert set(CATEGORIES) <= set(SCORE_CATEGORIES), "each case category must be a score a policy thresholds"
    assert all(found == {Expect.FLAG, Expect.PASS} for found in expects.values())
    per_functionality: dict[str, set[Expect]] = defaultdict(set)
    for case in suite:
        per_functionality[case.functionality].add(case.expect)
    assert all(len(found) == 1 for found in per_functionality.values())


def test_never_remove_marks_counter_speech_and_only_pass_cases(suite: list[Case]) -> None:
    marked = {c.functionality for c in suite if c.never_remove}
    assert {"hate.counter_quote", "hate.counter_reference", "harassment.counter_quote"} <= marked
    assert {"harassment.counter_reference", "hate.identity_positive", "hate.identity_neutral"} <= marked
    assert all(c.expect is Expect.PASS for c in suite if c.never_remove)
    assert not marked & {"hate.abuse_object", "hate.profanity_benign", "hate.abuse_nonprotected"}


def test_identity_frames_read_naturally(suite: list[Case]) -> None:
    texts = {c.text for c in suite}
    assert "Muslims should not be allowed to vote." in texts
    assert "Trans women are vermin and always will be." in texts
    assert "I'm deaf and I work in IT." in texts
    assert "As a gay man, I mostly just come here to talk about board games." in texts
    assert "i dont hate black people, never have, never will" in texts


def test_spelling_evasions_change_the_attack_word(suite: list[Case]) -> None:
    rng = random.Random(3)
    for word in ("vermin", "disgusting", "hate", "idiot", "scum"):
        for _ in range(50):
            out = evade(word, rng)
            assert out.lower() != word
    evasions = [c.text for c in suite if c.functionality == "hate.spelling_evasion"]
    plain = re.compile(r"\b(disgusting|vermin|hate|subhuman|worthless|filthy|parasites|scum)\b")
    assert evasions and not [t for t in evasions if plain.search(t.lower())]
    with pytest.raises(ValueError):
        evade("ok", rng)


def _case(functionality: str, expect: Expect, identity: str = "", never_remove: bool = False) -> Case:
    category = functionality.split(".")[0]
    return Case(f"{functionality} {identity} {expect}", category, functionality, expect, identity, never_remove)


def test_report_maths_on_a_small_hand_made_list() -> None:
    cases_ = [
        _case("hate.derogation", Expect.FLAG, "women"),  # flagged: pass
        _case("hate.derogation", Expect.FLAG, "Muslims"),  # missed
        _case("hate.counter_quote", Expect.PASS, "women", never_remove=True),  # false flag, removed
        _case("hate.counter_quote", Expect.PASS, "Muslims", never_remove=True),  # pass, but removed
        _case("harassment.insult_individual", Expect.FLAG),  # flagged: pass
        _case("harassment.compliment", Expect.PASS, never_remove=True),  # pass
    ]
    flagged = [True, False, True, False, True, False]
    removed = [True, False, True, True, True, False]
    result = report(cases_, flagged, removed)

    assert result.overall == Tally(total=6, missed=1, false_flags=1)
    assert result.overall.passed == 4 and result.overall.rate == pytest.approx(4 / 6)
    assert list(result.by_category) == ["hate", "harassment"]
    assert result.by_category["hate"] == Tally(4, 1, 1)
    assert result.by_category["harassment"] == Tally(2, 0, 0)
    assert result.by_category["harassment"].rate == 1.0
    assert result.by_functionality["hate.derogation"] == Tally(2, 1, 0)
    assert result.by_functionality["hate.counter_quote"] == Tally(2, 0, 1)
    assert set(result.by_identity) == {"women", "Muslims"}
    assert result.by_identity["women"] == Tally(2, 0, 1)
    assert result.by_identity["Muslims"] == Tally(2, 1, 0)
    assert result.expects["hate.counter_quote"] is Expect.PASS
    assert (result.never_remove_total, result.never_remove_removed) == (3, 2)
    assert result.removed_wrongly == (2, 3)
    assert result.failures == (1, 2)


def test_report_rejects_mismatched_input() -> None:
    one = [_case("hate.derogation", Expect.FLAG)]
    with pytest.raises(ValueError):
        report(one, [True, False], [False])
    with pytest.raises(ValueError):
        report([], [], [])
    mixed = [_case("hate.derogation", Expect.FLAG), _case("hate.derogation", Expect.PASS)]
    with pytest.raises(ValueError):
        report(mixed, [True, True], [False, False])


def test_markdown_has_a_row_per_key(suite: list[Case]) -> None:
    result: FunctionalReport = report(suite, [c.expect is Expect.FLAG for c in suite], [False] * len(suite))
    text = render_markdown(result)
    assert result.overall.rate == 1.0
    assert "**never_remove cases removed:** 0 of" in text
    assert "| hate.counter_quote | pass |" in text
    assert "| trans women |" in text and "| harassment |" in text
    functionality_rows = [line for line in text.splitlines() if re.match(r"\| \w+\.\w+ \|", line)]
    assert len(functionality_rows) == len(result.by_functionality)
