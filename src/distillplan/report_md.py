"""A :class:`~distillplan.plan_model.Plan` as GitHub-flavoured Markdown, fit for a pull-request
comment. Every table row has as many cells as its header; cell text is escaped by
:func:`cell` (``|`` escaped, newlines folded), never by ad-hoc concatenation."""

from __future__ import annotations

from collections.abc import Sequence

from distillplan.diff import (
    SECTION_TITLES,
    PlanDiff,
    display_name,
    fmt_delta,
    fmt_value,
    verdict_text,
)
from distillplan.plan_model import Plan
from distillplan.report import (
    eval_rows,
    finance_rows,
    fmt_rate,
    fmt_usd,
    frontier_rows,
    payback_cells,
    short_hash,
    sizing_rows,
    training_rows,
)

__all__ = ["cell", "md_table", "render_diff_markdown", "render_markdown"]

_DECISION_ICON = {
    "distill": "✅",
    "route-first": "🟡",
    "lock-eval-first": "🟡",
    "stay-on-frontier": "⛔",
}


def cell(text: str) -> str:
    """Text safe inside a GFM table cell: one line, ``|`` and backslashes escaped."""
    one_line = " ".join(text.replace("\r", "\n").split("\n")).strip()
    return one_line.replace("\\", "\\\\").replace("|", "\\|") or " "


def md_table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[str]:
    """A well-formed GFM table; ``right`` lists right-aligned columns."""
    n = len(head)
    for r in rows:
        if len(r) != n:
            raise ValueError(f"table row has {len(r)} cells, header has {n}")
    sep = ["---:" if i in right else "---" for i in range(n)]
    out = ["| " + " | ".join(cell(h) for h in head) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return [*out, ""]


def _kv(rows: Sequence[tuple[str, str]]) -> list[str]:
    return md_table(["", ""], [[f"**{k}**", v] for k, v in rows])


def render_markdown(p: Plan) -> str:
    v, c, te = p.verdict, p.costs, p.teacher
    out = [f"## distillplan: {cell(p.spec.title)} (`{cell(p.spec.name)}`)", ""]
    out += [f"{_DECISION_ICON[v.decision]} **{v.decision.upper()}**: {cell(v.summary)}", ""]
    if v.revisit_on is not None:
        out += [f"Revisit on {v.revisit_on.isoformat()}.", ""]
    out += md_table(
        ["", "Frontier per month", "Student per month", "Savings per month", "Project", "Payback"],
        [
            [
                "",
                fmt_usd(c.frontier_usd_per_month),
                fmt_usd(c.student_usd_per_month),
                fmt_usd(c.savings_usd_per_month),
                fmt_usd(c.project_usd),
                "never" if p.finance.payback_months is None else f"{p.finance.payback_months:.1f} months",
            ]
        ],
        right=(1, 2, 3, 4, 5),
    )

    out += ["### Checks", ""]
    out += md_table(
        ["", "Check", "Rule", "Figure", "Message"],
        [["✔" if ck.ok else "✘", ck.id, ck.rule, short_hash(ck.figure), short_hash(ck.message)] for ck in v.checks],
    )
    if v.warnings:
        out += ["**Warnings**", ""]
        out += [f"- `{w.id}` ({w.rule}): {cell(w.message)}" for w in v.warnings]
        out.append("")

    as_of = f", as of {te.as_of.isoformat()}" if te.as_of else ""
    out += [
        "### Frontier bill",
        "",
        f"{cell(te.model or 'teacher')} ({cell(te.source)}{as_of})",
        "",
    ]
    out += md_table(
        ["Line", "Formula", "Per month"],
        [
            *frontier_rows(p),
            ["**Total**", "", f"**{fmt_usd(c.frontier_usd_per_month)}**"],
        ],
        right=(2,),
    )

    out += ["### Student operating lines", ""]
    out += md_table(
        ["Line", "Formula", "Per month", "Basis"],
        [[ln.label, ln.formula, fmt_usd(ln.usd), ln.basis] for ln in c.student_lines]
        + [["**Total**", "", f"**{fmt_usd(c.student_usd_per_month)}**", ""]],
        right=(2,),
    )
    out += [
        f"Monthly savings **{fmt_usd(c.savings_usd_per_month)}**; cost per million tokens "
        f"{fmt_rate(c.usd_per_mtok_before)} → {fmt_rate(c.usd_per_mtok_after)}.",
        "",
    ]

    out += [f"### Project lines ({c.estimate} estimate)", ""]
    out += md_table(
        ["Line", "P4 band", "Chosen", "Basis"],
        [
            [
                pl.label,
                f"{fmt_usd(pl.low_usd)}-{fmt_usd(pl.high_usd)}",
                fmt_usd(pl.usd) + ("" if pl.in_band else " (outside band)"),
                pl.basis,
            ]
            for pl in c.project_lines
        ]
        + [
            [
                "**Total**",
                f"{fmt_usd(c.project_band_usd[0])}-{fmt_usd(c.project_band_usd[1])}",
                f"**{fmt_usd(c.project_usd)}**",
                "",
            ]
        ],
        right=(2,),
    )

    out += ["### Finance", ""]
    out += _kv(finance_rows(p))
    sens = payback_cells(p)
    out += ["**Sensitivity**: payback from go-live by estimate and volume", ""]
    out += md_table(sens[0], sens[1:], right=tuple(range(1, len(sens[0]))))

    out += ["### Sizing", ""]
    out += _kv(sizing_rows(p))
    out += ["<details><summary>Training</summary>", ""]
    out += _kv(training_rows(p))
    out += ["</details>", "", "### Eval", ""]
    out += _kv(eval_rows(p))
    return "\n".join(out).rstrip("\n") + "\n"


def render_diff_markdown(d: PlanDiff) -> str:
    """A :class:`~distillplan.diff.PlanDiff` as a pull-request comment."""
    out = [f"### distillplan diff: `{cell(d.old_ref)}` → `{cell(d.new_ref)}`", ""]
    if d.old_absent:
        out += [f"No spec at `{cell(d.old_ref)}`: everything is new.", ""]
    verdict = verdict_text(d).replace("Verdict: ", "")
    out += [f"**Verdict**: {cell(verdict)}", ""]
    totals = [c for c in d.changes if c.section == "totals"]
    out += md_table(
        ["", "Figure", "Before", "After", "Change"],
        [
            [
                c.kind if c.kind != "=" else "",
                c.label,
                "" if c.kind == "+" else fmt_value(c.old, c.unit),
                fmt_value(c.new, c.unit),
                "" if c.kind == "=" else fmt_delta(c),
            ]
            for c in totals
        ],
        right=(2, 3, 4),
    )
    rest = [c for c in d.changed if c.section != "totals"]
    if rest:
        out += ["<details open><summary>Changed lines</summary>", ""]
        out += md_table(
            ["", "Section", "Item", "Before", "After", "Change"],
            [
                [
                    c.kind,
                    SECTION_TITLES[c.section],
                    display_name(c),
                    "" if c.kind == "+" else fmt_value(c.old, c.unit),
                    "" if c.kind == "-" else fmt_value(c.new, c.unit),
                    fmt_delta(c),
                ]
                for c in rest
            ],
            right=(3, 4, 5),
        )
        out += ["</details>", ""]
    if not d.changed and not d.verdict_changed:
        out += ["No changes.", ""]
    return "\n".join(out).rstrip("\n") + "\n"
