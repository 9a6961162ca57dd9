"""Long posts are scored in overlapping windows and each category takes its highest window.

Whole-text scores dilute: a slur after 100 kB of filler scores like the filler, and transformer
scorers truncate at 512 tokens and never see it. Windows close both holes.
"""

from __future__ import annotations

from collections.abc import Sequence

from moderation.scoring import ScoreResult
from moderation.types import Ref

WINDOW_CHARS = 1000
OVERLAP_CHARS = 120


def split_windows(text: str, size: int = WINDOW_CHARS, overlap: int = OVERLAP_CHARS) -> list[tuple[int, int]]:
    """Half-open ranges covering `text`, each at most `size` long, cut at spaces where possible and
    overlapping by about `overlap` so a phrase across a cut is whole in one window."""
    if len(text) <= size:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        out.append((start, end))
        if end >= len(text):
            return out
        nxt = max(end - overlap, start + 1)
        space = text.find(" ", nxt, end)
        start = space + 1 if space != -1 else nxt


def merge_windows(results: Sequence[ScoreResult], starts: Sequence[int]) -> ScoreResult:
    """One post's result from its windows': highest score per category (with that window's note),
    spans shifted back."""
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}
    refs: dict[str, Ref] = {}
    spans: dict[str, set[tuple[int, int]]] = {}
    for result, offset in zip(results, starts, strict=True):
        for category, value in result.scores.items():
            if category not in scores or value > scores[category]:
                scores[category] = value
                if category in result.notes:
                    notes[category] = result.notes[category]
                if category in result.refs:
                    refs[category] = result.refs[category]
        for category, ranges in result.spans.items():
            spans.setdefault(category, set()).update((a + offset, b + offset) for a, b in ranges)
    return ScoreResult(scores, {c: tuple(sorted(r)) for c, r in spans.items()}, notes, refs)
