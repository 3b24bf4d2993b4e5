"""The reports of ``distillplan monitor``: text, versioned JSON (``docs/monitor-json.md``) and
Markdown with one Mermaid ``xychart-beta`` trend chart per segment for the weekly review."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from distillplan.errors import one_line, quote_value
from distillplan.evalset.monitor import CellResult
from distillplan.text import count, json_round, md_table, md_text, usd

__all__ = ["FORMAT_VERSION", "BudgetRow", "MixRow", "MonitorResult", "State", "UnseenSegment", "render"]

FORMAT_VERSION = 1

#: The run's outcome; ``distillplan monitor`` exits 0, 5 and 4 for them.
State = Literal["within", "undecided", "breach"]


@dataclass(frozen=True)
class MixRow:
    week: str
    segment: str
    examples: int
    share: float
    eval_share: float | None  # None: the locked eval set has no such segment


@dataclass(frozen=True)
class UnseenSegment:
    segment: str
    examples: int
    first_at: str  # file:line


@dataclass(frozen=True)
class BudgetRow:
    segment: str
    eval_share: float
    budget_examples_per_week: int
    needed_examples_per_week: int
    bound_points: float


@dataclass(frozen=True)
class MonitorResult:
    project: str
    metric: str
    lock_hash: str
    files: tuple[str, ...]
    rows: int
    cells: tuple[CellResult, ...]  # per week: the segments, then "overall"
    mix: tuple[MixRow, ...]
    unseen: tuple[UnseenSegment, ...]
    budget_usd_per_month: float
    teacher_usd_per_request: float
    budget_examples_per_week: int
    budget: tuple[BudgetRow, ...]
    detect_method: str

    @property
    def breaches(self) -> tuple[CellResult, ...]:
        return tuple(c for c in self.cells if c.status == "breach")

    @property
    def breached_segments(self) -> list[str]:
        return sorted({c.segment for c in self.breaches} | {u.segment for u in self.unseen})

    @property
    def undecided(self) -> tuple[CellResult, ...]:
        """The cells with too few rows to decide either way."""
        return tuple(c for c in self.cells if c.status == "too-few")

    @property
    def undecided_segments(self) -> list[str]:
        return sorted({c.segment for c in self.undecided})

    @property
    def state(self) -> State:
        """``breach``: a cell breaches or a segment is outside the eval set; else ``undecided``:
        a cell had too few rows to decide; else ``within``: every cell is shown within its bound."""
        if self.breached_segments:
            return "breach"
        return "undecided" if self.undecided else "within"

    @property
    def ok(self) -> bool:
        return self.state == "within"

    @property
    def weeks(self) -> list[str]:
        return sorted({c.week for c in self.cells})


def _status(c: CellResult) -> str:
    if c.status == "too-few":
        need = f"{c.examples_to_decide:,}" if c.examples_to_decide is not None else "no sample size (gap on the bound)"
        return f"too few examples: {need} needed"
    return c.status.upper() if c.status == "breach" else "within"


def _gap(c: CellResult) -> str:
    return f"{c.gap_points:.1f} [{c.ci_low_points:.1f}, {c.ci_high_points:.1f}]"


def _verdict(r: MonitorResult) -> str:
    if r.state == "within":
        return f"WITHIN CONTRACT: {r.rows:,} sampled rows, {count(len(r.weeks), 'week')}, no breach."
    if r.state == "undecided":
        parts = [
            f"{seg} (weeks {', '.join(c.week for c in r.undecided if c.segment == seg)})"
            for seg in r.undecided_segments
        ]
        return (
            f"UNDECIDED: no breach in {r.rows:,} sampled rows, but too few rows to decide "
            + one_line("; ".join(parts))
            + ": the contract is not shown held there (the rows needed are in the table)."
        )
    parts = []
    for seg in r.breached_segments:
        weeks = [c.week for c in r.breaches if c.segment == seg]
        if weeks:
            parts.append(f"{seg} (weeks {', '.join(weeks)})")
        else:
            parts.append(f"{seg} (not in the locked eval set)")
    return "BREACH: " + one_line("; ".join(parts))


def _budget_lines(r: MonitorResult) -> list[list[str]]:
    rows = [
        [
            b.segment,
            f"{b.eval_share:.1%}",
            f"{b.budget_examples_per_week:,}",
            f"{b.needed_examples_per_week:,}",
            "yes" if b.budget_examples_per_week >= b.needed_examples_per_week else "NO",
        ]
        for b in r.budget
    ]
    return rows


def render_text(r: MonitorResult) -> str:
    out = [
        f"distillplan monitor: {one_line(r.project)} (metric {r.metric}; eval lock {r.lock_hash})",
        f"{r.rows:,} sampled rows from {', '.join(r.files)}; gap in points, teacher minus student, 95% CI",
        "",
        f"P8 teacher-on-sample budget {usd(r.budget_usd_per_month)}/month at {usd(r.teacher_usd_per_request, 4)} "
        f"a request buys {count(r.budget_examples_per_week, 'row')} a week",
        "segment             eval mix  budget/week  needed/week  enough",
    ]
    out += [f"{one_line(a):<19} {b:>8}  {c:>11}  {d:>11}  {e}" for a, b, c, d, e in _budget_lines(r)]
    out += [f"needed: {r.detect_method}", ""]
    for week in r.weeks:
        out.append(f"{week}")
        for c in (c for c in r.cells if c.week == week):
            out.append(
                f"  {one_line(c.segment):<18} n={c.examples:>7,}"
                f"  student {c.student_score:.3f} vs teacher {c.teacher_score:.3f}"
                f"  gap {_gap(c):<22} bound {c.bound_points:g}  {_status(c)}"
            )
        mix = [m for m in r.mix if m.week == week]
        shares = ", ".join(
            f"{one_line(m.segment)} {m.share:.0%}"
            + (f" (eval {m.eval_share:.0%})" if m.eval_share is not None else " (not in eval)")
            for m in mix
        )
        out.append(f"  mix: {shares}")
    for u in r.unseen:
        out.append(
            f"{one_line(u.first_at)}: segment {quote_value(u.segment)} is not in the locked eval set "
            f"({count(u.examples, 'row')})"
        )
    out += ["", _verdict(r)]
    return "\n".join(out)


def to_json(r: MonitorResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "distillplan-monitor",
        "format_version": FORMAT_VERSION,
        "project": r.project,
        "metric": r.metric,
        "eval_lock_hash": r.lock_hash,
        "files": list(r.files),
        "rows": r.rows,
        "confidence": 0.95,
        "ok": r.ok,
        "state": r.state,
        "breached_segments": r.breached_segments,
        "undecided_segments": r.undecided_segments,
        "cells": [asdict(c) for c in r.cells],
        "mix": [asdict(m) for m in r.mix],
        "unseen_segments": [asdict(u) for u in r.unseen],
        "budget": {
            "teacher_on_sample_usd_per_month": r.budget_usd_per_month,
            "teacher_usd_per_request": r.teacher_usd_per_request,
            "examples_per_week": r.budget_examples_per_week,
            "needed_method": r.detect_method,
            "segments": [asdict(b) for b in r.budget],
        },
    }
    out: dict[str, Any] = json_round(data)
    return out


def _chart(r: MonitorResult, segment: str) -> list[str]:
    cells = [c for c in r.cells if c.segment == segment]
    weeks = ", ".join(json.dumps(c.week) for c in cells)
    top = max([cells[0].bound_points * 2, *(c.gap_points for c in cells)]) * 1.1
    # no quote, and no HTML a chart label could render: the segment is data from production
    safe = one_line(segment).translate({ord('"'): "'", ord("<"): "(", ord(">"): ")", ord("&"): "+", ord("`"): "'"})
    title = safe + ": gap to the teacher (points) and the bound"
    return [
        "```mermaid",
        "xychart-beta",
        f"    title {json.dumps(title)}",
        f"    x-axis [{weeks}]",
        f'    y-axis "gap (points)" 0 --> {max(1.0, round(top, 1)):g}',
        f"    line [{', '.join(f'{max(0.0, c.gap_points):.2f}' for c in cells)}]",
        f"    line [{', '.join(f'{c.bound_points:g}' for c in cells)}]",
        "```",
        "",
    ]


def render_markdown(r: MonitorResult) -> str:
    out = [f"# Weekly teacher-on-sample review: {md_text(r.project)}", ""]
    out += [f"**{md_text(_verdict(r))}**", ""]
    out += [
        f"{r.rows:,} sampled rows; metric `{r.metric}`; eval lock `{r.lock_hash}`. Gap in points "
        "(teacher minus student) with its 95% confidence interval (P8.2).",
        "",
    ]
    out += ["## Sample size: the P8 budget line against what the statistics need", ""]
    out += [
        f"{usd(r.budget_usd_per_month)}/month at {usd(r.teacher_usd_per_request, 4)} a request buys "
        f"{count(r.budget_examples_per_week, 'row')} a week. Needed: {md_text(r.detect_method)}",
        "",
    ]
    out += md_table(
        ["segment", "eval mix", "budget/week", "needed/week", "enough"],
        [[md_text(x) for x in row] for row in _budget_lines(r)],
        right=(1, 2, 3),
    )
    segments = [*sorted({c.segment for c in r.cells if c.segment != "overall"}), "overall"]
    for seg in segments:
        out += [f"## {md_text(seg)}", ""]
        out += _chart(r, seg)
        out += md_table(
            ["week", "examples", "student", "teacher", "gap [95% CI]", "bound", "status"],
            [
                [
                    c.week,
                    f"{c.examples:,}",
                    f"{c.student_score:.3f}",
                    f"{c.teacher_score:.3f}",
                    _gap(c),
                    f"{c.bound_points:g}",
                    md_text(_status(c)),
                ]
                for c in r.cells
                if c.segment == seg
            ],
            right=(1, 2, 3, 5),
        )
    out += ["## Input drift: segment mix against the locked eval set", ""]
    out += md_table(
        ["week", "segment", "examples", "share", "eval share"],
        [
            [
                m.week,
                md_text(m.segment),
                f"{m.examples:,}",
                f"{m.share:.1%}",
                "not in eval" if m.eval_share is None else f"{m.eval_share:.1%}",
            ]
            for m in r.mix
        ],
        right=(2, 3, 4),
    )
    for u in r.unseen:
        out.append(
            f"- {md_text(u.first_at)}: segment {md_text(u.segment)} is not in the locked eval set "
            f"({count(u.examples, 'row')})"
        )
    return "\n".join(out).rstrip("\n") + "\n"


def render(r: MonitorResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_json(r), indent=2, sort_keys=True)
    if fmt == "markdown":
        return render_markdown(r)
    return render_text(r)
