"""Scoring the functional suite (moderation/functional.py): pass rates by category, functionality and
identity group, and the counter-speech and identity talk that would have been removed.

The two failure kinds stay apart in every tally, because they cost different people: a missed flag
leaves abuse standing, a false flag puts the people it was aimed at, or their defenders, in the
review queue. Removal is counted on its own for `never_remove` cases: those must survive whatever
any score says, and a policy that removes them is broken even where the flag rate looks fine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from moderation.functional import Case, Expect


@dataclass(frozen=True, slots=True)
class Tally:
    total: int
    missed: int
    """FLAG cases whose category did not reach its flag threshold."""
    false_flags: int
    """PASS cases whose category did."""

    @property
    def passed(self) -> int:
        return self.total - self.missed - self.false_flags

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class FunctionalReport:
    overall: Tally
    by_category: Mapping[str, Tally]
    """Every mapping keeps the order in which the cases first show its keys: the suite's order, so
    functionalities come grouped by category and identities by protected attribute."""
    by_functionality: Mapping[str, Tally]
    by_identity: Mapping[str, Tally]
    """Only cases with an identity slot filled, keyed by the group as in identities.txt."""
    expects: Mapping[str, Expect]
    """functionality -> what its cases expect (each functionality expects one thing)."""
    never_remove_total: int
    never_remove_removed: int
    """never_remove cases whose decision would remove or hide the post: each one is a failure."""
    failures: tuple[int, ...]
    """Indexes into the cases of those that failed the flag check, for listing examples."""
    removed_wrongly: tuple[int, ...]
    """Indexes of the never_remove cases that were removed."""


def report(cases: Sequence[Case], flagged: Sequence[bool], removed: Sequence[bool]) -> FunctionalReport:
    """`flagged[i]`: case i's category reached its flag threshold; `removed[i]`: the decision on case i
    would auto-remove or hide it. A case passes when it is flagged exactly where it expects FLAG."""
    if not cases:
        raise ValueError("no cases to report on")
    if not len(cases) == len(flagged) == len(removed):
        raise ValueError(f"{len(cases)} cases but {len(flagged)} flagged and {len(removed)} removed outcomes")
    expects: dict[str, Expect] = {}
    for case in cases:
        if expects.setdefault(case.functionality, case.expect) is not case.expect:
            raise ValueError(f"{case.functionality} mixes FLAG and PASS cases")
    failures = tuple(i for i, (c, f) in enumerate(zip(cases, flagged, strict=True)) if f != (c.expect is Expect.FLAG))
    wrong = tuple(i for i, (c, r) in enumerate(zip(cases, removed, strict=True)) if c.never_remove and r)
    failed = set(failures)

    def tally(key: Callable[[Case], str]) -> dict[str, Tally]:
        groups: dict[str, list[int]] = {}
        for i, case in enumerate(cases):
            if k := key(case):
                groups.setdefault(k, []).append(i)
        return {k: _tally(cases, rows, failed) for k, rows in groups.items()}

    return FunctionalReport(
        overall=_tally(cases, range(len(cases)), failed),
        by_category=tally(lambda c: c.category),
        by_functionality=tally(lambda c: c.functionality),
        by_identity=tally(lambda c: c.identity),
        expects=expects,
        never_remove_total=sum(c.never_remove for c in cases),
        never_remove_removed=len(wrong),
        failures=failures,
        removed_wrongly=wrong,
    )


def _tally(cases: Sequence[Case], rows: Sequence[int], failed: set[int]) -> Tally:
    missed = sum(1 for i in rows if i in failed and cases[i].expect is Expect.FLAG)
    false_flags = sum(1 for i in rows if i in failed and cases[i].expect is Expect.PASS)
    return Tally(total=len(rows), missed=missed, false_flags=false_flags)


def render_markdown(result: FunctionalReport) -> str:
    """The report as markdown tables, for a terminal, a PR comment or docs/evaluation.md."""
    o = result.overall
    lines = [
        f"**Overall:** {o.rate:.1%} of {o.total} cases pass ({o.missed} missed, {o.false_flags} false flags).",
        "",
        f"**never_remove cases removed:** {result.never_remove_removed} of {result.never_remove_total}.",
        "",
        *_table("Category", result.by_category),
        "",
        "| Functionality | Expect | Cases | Pass rate | Missed | False flags |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, t in result.by_functionality.items():
        expect = result.expects[name].value
        lines.append(f"| {name} | {expect} | {t.total} | {t.rate:.1%} | {t.missed} | {t.false_flags} |")
    if result.by_identity:
        lines += ["", *_table("Identity", result.by_identity)]
    return "\n".join(lines) + "\n"


def _table(label: str, tallies: Mapping[str, Tally]) -> list[str]:
    rows = [f"| {label} | Cases | Pass rate | Missed | False flags |", "|---|---:|---:|---:|---:|"]
    rows += [f"| {k} | {t.total} | {t.rate:.1%} | {t.missed} | {t.false_flags} |" for k, t in tallies.items()]
    return rows
