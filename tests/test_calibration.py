"""Thresholds proposed from verdicts: the lowest cut whose judged flags reach the precision asked
for at the lower confidence bound, never from too few verdicts, never below the current cut."""

from __future__ import annotations

import pytest

from moderation.calibration import Judged, Verdict, propose, wilson_lower


def _judged(spec: list[tuple[float, int, int]]) -> list[Judged]:
    """(score, confirmed, overturned) -> that many verdicts at that score"""
    return [Judged(s, True) for s, c, _ in spec for _ in range(c)] + [
        Judged(s, False) for s, _, o in spec for _ in range(o)
    ]


@pytest.mark.parametrize(
    ("spec", "current", "verdict", "threshold"),
    [
        # mere offence overturned at middling scores, hate confirmed at high ones: raise the cut
        ([(0.55, 5, 40), (0.7, 10, 20), (0.9, 60, 2)], 0.5, Verdict.RAISE, 0.9),
        # already precise enough: keep what is there
        ([(0.55, 50, 2), (0.9, 60, 1)], 0.5, Verdict.KEEP, 0.5),
        # 29 verdicts are not evidence
        ([(0.9, 29, 0)], 0.5, Verdict.TOO_FEW, None),
        # moderators overturn everything: no cut reaches the target with enough flags left
        ([(0.6, 10, 30), (0.95, 10, 30)], 0.5, Verdict.UNREACHABLE, None),
    ],
)
def test_proposals(
    spec: list[tuple[float, int, int]], current: float, verdict: Verdict, threshold: float | None
) -> None:
    proposal = propose("harassment", _judged(spec), current, target=0.8, minimum=30)
    assert proposal.verdict is verdict, proposal.why
    assert proposal.threshold == threshold
    assert proposal.confirmed == sum(c for _, c, _ in spec)
    if threshold is not None:
        assert proposal.lower_bound >= 0.8 and proposal.kept >= 30


def test_posts_reported_as_missed_are_counted_never_taken_for_flags() -> None:
    flags = _judged([(0.55, 50, 2), (0.9, 60, 1)])
    missed = [Judged(0.2, True)] * 5 + [Judged(0.3, False)] * 40
    proposal = propose("hate", flags + missed, 0.5, target=0.8, minimum=30)
    assert proposal.verdict is Verdict.KEEP and proposal.threshold == 0.5
    assert (proposal.confirmed, proposal.overturned, proposal.missed) == (110, 3, 5)
    assert "5 confirmed posts score below it" in proposal.why


def test_ties_are_kept_or_dropped_together_and_the_bound_is_below_the_rate() -> None:
    # 30 at one score: the cut is that score or above it, never between equal scores
    proposal = propose("hate", _judged([(0.7, 28, 2), (0.8, 40, 0)]), 0.5, target=0.85, minimum=30)
    assert proposal.threshold in (0.5, 0.8)
    assert proposal.kept in (70, 40)
    assert wilson_lower(9, 10) < 0.9 < wilson_lower(900, 1000) + 0.03
    assert wilson_lower(0, 0) == 0.0


def test_modbot_calibrate_reads_the_verdicts_of_closed_cases(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """End to end on SQLite: `modbot scan` flags swearing under a strict config, a moderator
    closes the cases (confirming the abusive ones, overturning the cheerful ones), and
    `modbot calibrate` reports each side's count with a proposal."""
    import json

    from bot.cli import main
    from bot.config import load_config
    from bot.runtime.wiring import open_store

    rude = ["fuck you, you worthless idiot", "shut the fuck up you moron", "you are a fucking disgrace"]
    cheerful = ["fuck yeah what a game", "holy shit that was good", "damn, that goal was amazing"]
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(json.dumps({"id": str(i), "author": f"a{i}", "text": t}) + "\n" for i, t in enumerate(rude + cheerful))
    )
    config = tmp_path / "modbot.toml"
    config.write_text(
        f'[data]\ndir = "{tmp_path / "data"}"\n[policy.thresholds]\nprofanity = {{ flag = 0.3 }}\n'
        "harassment = { flag = 0.99 }\nhate = { flag = 0.99 }\n"
    )
    assert main(["--config", str(config), "scan", str(feed)]) == 0
    store = open_store(load_config(config))
    cases = {c.post.text: c for c in store.cases()}
    assert set(cases) == set(rude + cheerful), "every post should be flagged for profanity"
    for text, case in cases.items():
        verdict = "--remove" if text in rude else "--approve"
        assert main(["--config", str(config), "resolve", str(case.id), verdict, "--as", "mod"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "calibrate", "--minimum", "5", "--target", "0.6"]) == 0
    shown = capsys.readouterr().out
    assert "console/console" in shown and "profanity" in shown
    row = next(line for line in shown.splitlines() if "profanity" in line)
    assert "│ 3 " in row and row.count("│ 3 ") == 2, row  # 3 confirmed, 3 overturned
