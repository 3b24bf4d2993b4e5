"""A :class:`~distillplan.plan.compare.Comparison` as ``text``, ``json`` (versioned, documented in
``docs/compare-json.md``) or ``markdown``, and the proposal's "alternatives considered" rows.

Pure and deterministic. The latency columns (p95 TTFT / TPOT) appear when the plan's sizing
carries them; the spec's own configuration is marked ``*``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from distillplan.outputs.rows import table
from distillplan.plan.compare import CompareRow, Comparison
from distillplan.text import count, md_table, md_text, usd

__all__ = ["alternatives", "render", "render_markdown", "render_text"]

Format = Literal["text", "json", "markdown"]
OWN_MARK = "*"


def _has_latency(rows: Sequence[CompareRow]) -> bool:
    return any(r.ttft_p95_ms is not None or r.tpot_p95_ms is not None for r in rows)


def _payback(r: CompareRow) -> str:
    return "none" if r.payback_months is None else f"{r.payback_months:,.1f} mo"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _latency(r: CompareRow) -> str:
    met = "" if r.latency_target_met is None else (" ok" if r.latency_target_met else " MISSED")
    return f"{_ms(r.ttft_p95_ms)} / {_ms(r.tpot_p95_ms)}{met}"


def _serving(r: CompareRow) -> str:
    return f"{r.replicas} x {r.tensor_parallel_size} = {r.gpus_total}"


def _quality(r: CompareRow) -> str:
    """The quality evidence the row ranks by: a pilot, a stated gap, or the prior and its tier."""
    if r.quality_basis in ("pilot", "stated gap", "pilot missed the gap"):
        gap = "" if r.expected_gap_points is None else f" {r.expected_gap_points:.1f} pts"
        return r.quality_basis + gap
    if r.quality_prior is None:
        return "unknown"
    tier = "" if r.quality_tier is None else f" t{r.quality_tier}"
    old = ", superseded" if r.superseded_by else ""
    return f"MMLU {r.quality_prior:.1f}{tier}{old}"


def _head(latency: bool) -> list[str]:
    head = ["#", "", "student", "quality", "precision", "GPU", "method", "replicas x TP = GPUs"]
    if latency:
        head.append("p95 TTFT / TPOT ms")
    return [*head, "student/month", "saving/month", "project", "payback", "NPV", "verdict"]


def _cells(r: CompareRow, latency: bool) -> list[str]:
    cells = [
        str(r.rank),
        OWN_MARK if r.is_spec else "",
        r.student,
        _quality(r),
        r.precision,
        r.gpu,
        r.method,
        _serving(r),
    ]
    if latency:
        cells.append(_latency(r))
    return [
        *cells,
        usd(r.student_usd_per_month),
        usd(r.savings_usd_per_month),
        usd(r.project_usd),
        _payback(r),
        usd(r.npv_usd),
        r.decision,
    ]


def _intro(c: Comparison) -> list[str]:
    n_ok = sum(r.feasible for r in c.rows)
    own = c.own
    a = c.axes
    swept = len(a.students) * len(a.precisions) * len(a.gpus) * len(a.methods)
    axes = " x ".join(
        count(len(values), noun)
        for values, noun in (
            (a.students, "student"),
            (a.precisions, "precision"),
            (a.gpus, "GPU"),
            (a.methods, "method"),
        )
    )
    extra = " plus the spec's own configuration" if len(c.rows) > swept else ""
    lines = [
        f"{count(len(c.rows), 'candidate')} ({axes}{extra}), {n_ok} feasible, ranked by quality"
        " (a superseded base after the others, then the quality tier: a pilot, else the base's MMLU prior in"
        " 5-point bands), then by payback (ties by NPV).",
        f"The spec's own configuration ({OWN_MARK}) ranks {own.rank} of {len(c.rows)}.",
    ]
    if c.latency_target_p95_ttft_ms is not None or c.latency_target_p95_tpot_ms is not None:
        lines.append(
            f"Latency target: p95 TTFT {_ms(c.latency_target_p95_ttft_ms)} ms, "
            f"p95 TPOT {_ms(c.latency_target_p95_tpot_ms)} ms."
        )
    if c.pinned:
        lines.append("Pinned in the spec, applied to every candidate: " + ", ".join(c.pinned) + ".")
    return lines


def render_text(c: Comparison) -> str:
    latency = _has_latency(c.rows)
    ok = [r for r in c.rows if r.feasible]
    bad = [r for r in c.rows if not r.feasible]
    lines = [f"{c.spec.title} ({c.spec.name})", *_intro(c), ""]
    right = (0, 6, 7 + latency, 8 + latency, 9 + latency, 10 + latency, 11 + latency)
    lines += table([_head(latency), *(_cells(r, latency) for r in ok)], right=right)
    if bad:
        lines += ["", f"Infeasible ({len(bad)}):"]
        lines += table(
            [["#", "", "student", "precision", "GPU", "method", "why not"]]
            + [
                [str(r.rank), OWN_MARK if r.is_spec else "", r.student, r.precision, r.gpu, r.method, r.reason]
                for r in bad
            ],
            right=(0,),
        )
    return "\n".join(lines) + "\n"


def render_markdown(c: Comparison) -> str:
    latency = _has_latency(c.rows)
    ok = [r for r in c.rows if r.feasible]
    bad = [r for r in c.rows if not r.feasible]
    out = [f"## distillplan compare: {md_text(c.spec.title)} (`{md_text(c.spec.name)}`)", ""]
    for line in _intro(c):
        out += [md_text(line), ""]
    right = (0, 7 + latency, 8 + latency, 9 + latency, 10 + latency, 11 + latency)
    out += md_table(_head(latency), [[md_text(x) for x in _cells(r, latency)] for r in ok], right=right)
    if bad:
        out += [f"### Infeasible ({len(bad)})", ""]
        out += md_table(
            ["#", "", "student", "precision", "GPU", "method", "why not"],
            [
                [md_text(x) for x in (str(r.rank), OWN_MARK if r.is_spec else "", r.student, r.precision)]
                + [md_text(r.gpu), md_text(r.method), md_text(r.reason)]
                for r in bad
            ],
            right=(0,),
        )
    return "\n".join(out).rstrip("\n") + "\n"


def render(c: Comparison, fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(c.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(c)
    if fmt == "text":
        return render_text(c)
    raise ValueError(f"unknown report format {fmt!r} (text, json or markdown)")


def alternatives(c: Comparison, count: int) -> dict[str, Any]:
    """The proposal's "alternatives considered": the spec's own row and the best-ranked feasible
    configuration of each of the ``count`` best-ranked students (one row per student, so three
    precisions of one student at equal cost do not fill the table), as plain dicts, best first."""
    others: list[CompareRow] = []
    seen: set[str] = set()
    for r in c.rows:
        if len(others) == count:
            break
        if r.feasible and not r.is_spec and r.student not in seen:
            seen.add(r.student)
            others.append(r)
    rows = sorted([c.own, *others], key=lambda r: r.rank)
    return {
        "candidates": len(c.rows),
        "feasible": sum(r.feasible for r in c.rows),
        "own_rank": c.own.rank,
        "latency": _has_latency(rows),
        "rows": [dict(r.model_dump(mode="json"), serving=_serving(r), latency_cell=_latency(r)) for r in rows],
    }
