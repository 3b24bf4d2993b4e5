"""The acceptance record (P9.2) as aligned text, versioned JSON or Markdown.

Scores, gaps and bounds are shown in points (score x 100).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from distillplan.errors import one_line
from distillplan.evalset.accept import AcceptanceResult, GroupResult
from distillplan.text import count, json_round, md_text

__all__ = ["render_markdown", "render_text", "to_json"]


_OK = {True: "PASS", False: "FAIL", None: "report only"}
_HEAD = ("Group", "Examples", "Student", "95% CI", "Teacher (locked)", "Threshold", "Gap", "Bound", "Result")
_PAIRED_HEAD = ("Group", "Teacher (now)", "Gap to teacher now", "Paired 95% CI of gap")


def _pts(x: float | None, fmt: str = ".2f") -> str:
    return "—" if x is None else format(x * 100, fmt)


def _cells(g: GroupResult) -> list[str]:
    return [
        g.name,
        f"{g.examples:,}",
        _pts(g.student_score),
        f"[{g.student_ci_low * 100:.2f}, {g.student_ci_high * 100:.2f}]",
        _pts(g.teacher_score),
        _pts(g.threshold),
        "—" if g.gap_points is None else f"{g.gap_points:+.2f}",
        "—" if g.bound_points is None else f"≤ {g.bound_points:.2f}",
        _OK[g.ok],
    ]


def _paired_cells(g: GroupResult) -> list[str]:
    p = g.paired
    assert p is not None
    return [
        g.name,
        _pts(p.teacher_score),
        f"{p.gap_points:+.2f}",
        f"[{p.ci_low_points:+.2f}, {p.ci_high_points:+.2f}]",
    ]


def _figure(r: AcceptanceResult) -> str:
    return "the lower end of its 95% CI" if r.decide_by == "confidence-bound" else "its score"


def _verdict(r: AcceptanceResult) -> str:
    o = r.overall
    failing = [g for g in (o, *r.strata) if g.ok is False]
    if not failing:
        return f"PASS: the student scores {_pts(o.student_score)} against the locked threshold {_pts(o.threshold)}"
    which = "the lower end of the 95% CI" if r.decide_by == "confidence-bound" else "score"

    def fig(g: GroupResult) -> float:
        return g.student_ci_low if r.decide_by == "confidence-bound" else g.student_score

    def reason(g: GroupResult) -> str:
        name = "overall" if g is o else f"stratum {g.name!r}"
        if g.too_few:
            return (
                f"{name} has {count(g.examples, 'example')}, fewer than the {g.min_examples:,} the contract decides on "
                "(80% power to detect the contracted gap, P2.3)"
            )
        floor = g.min_score is not None and g.threshold is not None and g.min_score >= g.threshold
        what = "the contract's floor ([eval] min_score)" if floor else "the locked threshold"
        return f"{name} {which} {_pts(fig(g))} is below {what} {_pts(g.threshold)}"

    return "FAIL: " + "; ".join(reason(g) for g in failing)


def _method(r: AcceptanceResult, esc: Callable[[str], str] = str) -> str:
    strat = f", stratified by {esc(r.strata_field or '')}" if r.strata else ""
    paired = "; paired bootstrap of the gap to the teacher predictions given now" if r.overall.paired else ""
    resamples = count(r.n_boot, "resample")
    return f"bootstrap of the student's score{strat}, percentile method, {resamples}, seed {r.seed}{paired}"


def _teacher(r: AcceptanceResult) -> str:
    if r.baseline_source == "teacher-predictions":
        return "locked from teacher predictions (`distillplan lock --teacher-predictions`)"
    return "locked from `[eval].teacher_score` in the spec"


def _rule(r: AcceptanceResult) -> str:
    return f"a group passes when {_figure(r)} is at least its locked threshold"


def render_text(result: AcceptanceResult, *, lock_hash: str, commit: str) -> str:
    """Aligned plain text; scores, gaps and bounds in points (score x 100)."""
    groups = (result.overall, *result.strata)
    table = _aligned([list(_HEAD)] + [[one_line(c[0]), *c[1:]] for c in (_cells(g) for g in groups)])
    where = f"eval lock {lock_hash or '(none)'} at commit {commit or '(not in git)'}"
    paired = []
    if result.overall.paired is not None:
        paired = ["Teacher predictions given now (information only; they never move a threshold):"]
        paired += _aligned([list(_PAIRED_HEAD)] + [[one_line(c[0]), *c[1:]] for c in map(_paired_cells, groups)])
    return (
        "\n".join(
            [
                _verdict(result),
                f"{where}; metric {result.metric}; teacher {_teacher(result)}; {_rule(result)}",
                "Scores, thresholds and gaps in points (score x 100).",
                *table,
                *paired,
                f"95% CI: {_method(result)}",
            ]
        )
        + "\n"
    )


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    just = [str.ljust] + [str.rjust] * (len(widths) - 2) + [str.ljust]
    return ["  ".join(j(c, w) for j, c, w in zip(just, row, widths, strict=True)).rstrip() for row in rows]


def to_json(result: AcceptanceResult, *, lock_hash: str, commit: str) -> dict[str, Any]:
    """The versioned machine form (``format_version`` 2: thresholds are the lock's, the teacher file only
    adds ``paired``); floats to 10 significant digits."""

    def group(g: GroupResult) -> dict[str, Any]:
        return {k: json_round(v) for k, v in asdict(g).items()}  # paired: nested dict or None

    return {
        "format_version": 2,
        "result": "PASS" if result.passed else "FAIL",
        "metric": result.metric,
        "lock_hash": lock_hash,
        "commit": commit,
        "baseline_source": result.baseline_source,
        "decide_by": result.decide_by,
        "strata_field": result.strata_field,
        "bootstrap": {
            "method": "percentile",
            "paired": result.overall.paired is not None,
            "stratified": bool(result.strata),
            "resamples": result.n_boot,
            "seed": result.seed,
            "confidence": result.confidence,
        },
        "overall": group(result.overall),
        "strata": [group(g) for g in result.strata],
    }


def render_markdown(result: AcceptanceResult, *, lock_hash: str, commit: str, spec_name: str) -> str:
    """An acceptance record to attach to the contract (P9.2); numbers in points."""
    groups = (result.overall, *result.strata)
    rows = [_cells(g) for g in groups]
    lines = [
        f"# Acceptance record: {md_text(spec_name)}",
        "",
        f"**{md_text(_verdict(result))}**",
        "",
        "| Item | Value |",
        "|---|---|",
        f"| Eval lock | `{lock_hash or '(none)'}` |",
        f"| Commit | `{commit or '(not in git)'}` |",
        f"| Metric | {md_text(result.metric)} |",
        f"| Teacher score | {_teacher(result)} |",
        f"| Decision rule | {_rule(result)} |",
        f"| 95% CI | {_method(result, md_text)} |",
        "",
        "Scores, thresholds, gaps and bounds in points (score x 100).",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|---|" + "---:|" * (len(_HEAD) - 2) + "---|",
        *("| " + " | ".join([md_text(row[0]), *row[1:]]) + " |" for row in rows),
    ]
    if result.overall.paired is not None:
        lines += [
            "",
            "Teacher predictions given at accept time (information only; they never move a threshold):",
            "",
            "| " + " | ".join(_PAIRED_HEAD) + " |",
            "|---|---:|---:|---:|",
            *("| " + " | ".join([md_text(c[0]), *c[1:]]) + " |" for c in (_paired_cells(g) for g in groups)),
        ]
    return "\n".join(lines) + "\n"
