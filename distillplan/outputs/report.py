"""A :class:`~distillplan.plan.model.Plan` as a report: ``text`` (terminal, in the spirit of
``infracost breakdown``), ``json`` (the versioned form, documented in ``docs/plan-json.md``)
or ``markdown`` (a pull-request comment, in :mod:`distillplan.outputs.markdown`).

Pure and deterministic: the same plan gives the same bytes. No click here (core modules
never import it); colour is plain ANSI, and only when the caller asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from distillplan.outputs.markdown import render_markdown
from distillplan.outputs.rows import (
    eval_rows,
    finance_rows,
    flip_rows,
    frontier_rows,
    payback_cells,
    short_hash,
    sizing_rows,
    table,
    training_rows,
)
from distillplan.plan.model import Plan
from distillplan.text import usd, yaml_comment

__all__ = ["Format", "render", "render_text"]

Format = Literal["text", "json", "markdown"]

_ANSI = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
_DECISION_COLOR = {
    "distill": "green",
    "route-first": "yellow",
    "lock-eval-first": "yellow",
    "stay-on-frontier": "red",
}


class _Text:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def style(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(_ANSI[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"

    def heading(self, text: str) -> None:
        self.lines += ["", self.style(text, "bold")]

    def kv(self, rows: Sequence[tuple[str, str]]) -> None:
        self.lines += table([[k + ":", v] for k, v in rows])


def render_text(p: Plan, *, color: bool = False) -> str:
    t = _Text(color)
    v, c, vol, te = p.verdict, p.costs, p.volume, p.teacher
    sp = p.spec  # free text from the spec: control characters shown as escapes, never sent to the terminal
    t.lines.append(
        t.style(f"{yaml_comment(sp.title)} ({sp.name})", "bold")
        + f"  {yaml_comment(sp.client)} / {yaml_comment(sp.provider)}, start {sp.start.isoformat()}"
    )
    t.lines.append("")
    head = t.style(v.decision.upper(), "bold", _DECISION_COLOR[v.decision])
    t.lines.append(f"{head}  {v.summary}")
    if v.revisit_on is not None:
        t.lines.append(f"  revisit on {v.revisit_on.isoformat()}")

    t.heading("Checks")
    rows = [
        [
            t.style("✔", "green") if ck.ok else t.style("✘", "red"),
            ck.id,
            ck.rule,
            short_hash(ck.figure),
            short_hash(ck.message),
        ]
        for ck in v.checks
    ]
    t.lines += _styled_table(
        rows, plain=[["✔" if ck.ok else "✘", *r[1:]] for ck, r in zip(v.checks, rows, strict=True)]
    )
    if v.warnings:
        t.heading("Warnings")
        t.lines += [f"  {t.style('!', 'yellow')} {w.id} ({w.rule}): {w.message}" for w in v.warnings]
    if p.flips:
        t.heading("What would change the verdict (one input at a time, the plan re-run)")
        t.kv(flip_rows(p))

    as_of = f", as of {te.as_of.isoformat()}" if te.as_of else ""
    t.heading(f"Frontier bill: {te.model or 'teacher'} ({te.source}{as_of})")
    t.lines += table([*frontier_rows(p), ["Total per month", "", usd(c.frontier_usd_per_month)]], right=(2,))
    shape = " (request shape assumed)" if vol.request_shape_assumed else ""
    t.lines.append(
        f"  {vol.requests_per_month:,.0f} requests/month x ({vol.input_tokens_per_request:,} in + "
        f"{vol.output_tokens_per_request:,} out tokens){shape}"
    )

    t.heading("Student operating lines (per month)")
    t.lines += table(
        [[ln.label, ln.formula, usd(ln.usd), ln.basis] for ln in c.student_lines]
        + [["Total per month", "", usd(c.student_usd_per_month), ""]],
        right=(2,),
    )
    if vol.student_share < 1:
        t.lines.append(f"  the student serves {vol.student_share:.0%} of traffic (cache routing, P5.3)")
    t.lines += table(
        [
            [
                "Monthly savings",
                t.style(
                    usd(c.savings_usd_per_month),
                    "green" if c.savings_usd_per_month > 0 else "red",
                ),
            ],
            [
                "Cost per million tokens",
                f"{usd(c.usd_per_mtok_before, 2)} -> {usd(c.usd_per_mtok_after, 2)}",
            ],
        ]
    )

    t.heading(f"Project lines ({c.estimate} estimate)")
    t.lines += table(
        [["line", "band", "chosen", "basis"]]
        + [
            [
                pl.label,
                f"{usd(pl.low_usd)}-{usd(pl.high_usd)}",
                usd(pl.usd) + ("" if pl.in_band else " *"),
                pl.basis,
            ]
            for pl in c.project_lines
        ]
        + [
            [
                "Project total",
                f"{usd(c.project_band_usd[0])}-{usd(c.project_band_usd[1])}",
                usd(c.project_usd),
                "",
            ]
        ],
        right=(2,),
    )
    if not all(pl.in_band for pl in c.project_lines):
        t.lines.append("  * outside the P4 band")

    t.heading("Finance")
    t.kv(finance_rows(p))
    t.heading("Sensitivity: payback from go-live by estimate and volume")
    t.lines += table(payback_cells(p), right=(1, 2, 3, 4))
    t.heading("Sizing (serving)")
    t.kv(sizing_rows(p))
    t.heading("Training")
    t.kv(training_rows(p))
    t.heading("Eval")
    t.kv(eval_rows(p))
    return "\n".join(t.lines) + "\n"


def _styled_table(styled: list[list[str]], *, plain: list[list[str]]) -> list[str]:
    """Align on the plain cells, then swap the styled first cell in (ANSI has no width)."""
    lines = table(plain)
    return [ln.replace(pr[0], sr[0], 1) for ln, pr, sr in zip(lines, plain, styled, strict=True)]


# ----------------------------------------------------------------------------- entry point


def render(plan: Plan, fmt: Format, *, color: bool = False) -> str:
    """The plan as ``text``, ``json`` or ``markdown``; ANSI colour only with ``color``."""
    if fmt == "json":
        return json.dumps(plan.to_json(), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(plan)
    if fmt == "text":
        return render_text(plan, color=color)
    raise ValueError(f"unknown report format {fmt!r} (text, json or markdown)")
