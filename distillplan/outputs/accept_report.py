"""The acceptance record (P9.2) as aligned text, versioned JSON or Markdown.

Scores, gaps and bounds are shown in points (score x 100).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from distillplan.evalset.accept import AcceptanceResult, GroupResult
from distillplan.text import json_round, md_text

__all__ = ["render_markdown", "render_text", "to_json"]


_OK = {True: "PASS", False: "FAIL", None: "report only"}
_HEAD = ("Group", "Examples", "Student", "Teacher", "Gap", "95% CI of gap", "Bound", "Result")


def _cells(g: GroupResult) -> list[str]:
    ci = f"[{g.ci_low_points:+.2f}, {g.ci_high_points:+.2f}]"
    bound = "—" if g.bound_points is None else f"≤ {g.bound_points:.2f}"
    return [
        g.name,
        f"{g.examples:,}",
        f"{g.student_score * 100:.2f}",
        f"{g.teacher_score * 100:.2f}",
        f"{g.gap_points:+.2f}",
        ci,
        bound,
        _OK[g.ok],
    ]


def _verdict(r: AcceptanceResult) -> str:
    o = r.overall
    failing = [g for g in (o, *r.strata) if g.ok is False]
    if not failing:
        return (
            f"PASS: the student is within {o.bound_points:.2f} points of the teacher (gap {o.gap_points:+.2f} points)"
        )
    why = "; ".join(
        f"{'overall' if g is o else f'stratum {g.name!r}'} gap {g.gap_points:+.2f} points exceeds {g.bound_points:.2f}"
        for g in failing
    )
    return f"FAIL: {why}"


def _method(r: AcceptanceResult, esc: Callable[[str], str] = str) -> str:
    how = (
        "paired bootstrap (teacher and student resampled together)"
        if r.teacher_source == "measured"
        else "bootstrap of the student only (the teacher score is the spec's constant)"
    )
    strat = f", stratified by {esc(r.strata_field or '')}" if r.strata else ""
    return f"{how}{strat}, percentile method, {r.n_boot:,} resamples, seed {r.seed}"


def _teacher(r: AcceptanceResult) -> str:
    if r.teacher_source == "measured":
        return "measured from teacher predictions on the same eval set"
    return "`[eval].teacher_score` from the spec"


def render_text(result: AcceptanceResult, *, lock_hash: str, commit: str) -> str:
    """Aligned plain text; scores, gaps and bounds in points (score x 100)."""
    rows = [list(_HEAD)] + [_cells(g) for g in (result.overall, *result.strata)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEAD))]
    just = [str.ljust] + [str.rjust] * 6 + [str.ljust]
    table = ["  ".join(j(c, w) for j, c, w in zip(just, row, widths, strict=True)).rstrip() for row in rows]
    where = f"eval lock {lock_hash or '(none)'} at commit {commit or '(not in git)'}"
    return (
        "\n".join(
            [
                _verdict(result),
                f"{where}; metric {result.metric}; teacher {_teacher(result)}",
                *table,
                f"95% CI: {_method(result)}",
            ]
        )
        + "\n"
    )


def to_json(result: AcceptanceResult, *, lock_hash: str, commit: str) -> dict[str, Any]:
    """The versioned machine form (``format_version`` 1); floats to 10 significant digits."""

    def group(g: GroupResult) -> dict[str, Any]:
        return {k: json_round(v) for k, v in asdict(g).items()}

    return {
        "format_version": 1,
        "result": "PASS" if result.passed else "FAIL",
        "metric": result.metric,
        "lock_hash": lock_hash,
        "commit": commit,
        "teacher_source": result.teacher_source,
        "strata_field": result.strata_field,
        "bootstrap": {
            "method": "percentile",
            "paired": result.teacher_source == "measured",
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
    rows = [_cells(g) for g in (result.overall, *result.strata)]
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
        f"| 95% CI | {_method(result, md_text)} |",
        "",
        "Scores, gaps and bounds in points (score x 100).",
        "",
        "| " + " | ".join(_HEAD) + " |",
        "|---|" + "---:|" * 6 + "---|",
        *("| " + " | ".join([md_text(row[0]), *row[1:]]) + " |" for row in rows),
    ]
    return "\n".join(lines) + "\n"
