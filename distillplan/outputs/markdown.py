"""A :class:`~distillplan.plan.model.Plan` as GitHub-flavoured Markdown, fit for a pull-request
comment. Every table row has as many cells as its header; cell text is escaped by
:func:`distillplan.text.md_text`, never by ad-hoc concatenation."""

from __future__ import annotations

from collections.abc import Sequence

from distillplan.outputs.rows import (
    eval_rows,
    finance_rows,
    flip_rows,
    frontier_rows,
    payback_cells,
    short_hash,
    sizing_rows,
    training_rows,
)
from distillplan.plan.model import Plan
from distillplan.text import md_table, md_text, usd

__all__ = ["render_markdown"]

_DECISION_ICON = {
    "distill": "✅",
    "route-first": "🟡",
    "lock-eval-first": "🟡",
    "stay-on-frontier": "⛔",
}


def _kv(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Label and value rows; a label can carry data (a stratum's name from the eval set), so it is escaped."""
    return md_table(["", ""], [[f"**{md_text(k)}**", v] for k, v in rows])


def render_markdown(p: Plan) -> str:
    v, c, te = p.verdict, p.costs, p.teacher
    out = [f"## distillplan: {md_text(p.spec.title)} (`{md_text(p.spec.name)}`)", ""]
    out += [f"{_DECISION_ICON[v.decision]} **{v.decision.upper()}**: {md_text(v.summary)}", ""]
    if v.revisit_on is not None:
        out += [f"Revisit on {v.revisit_on.isoformat()}.", ""]
    out += md_table(
        ["", "Frontier per month", "Student per month", "Savings per month", "Project", "Payback"],
        [
            [
                "",
                usd(c.frontier_usd_per_month),
                usd(c.student_usd_per_month),
                usd(c.savings_usd_per_month),
                usd(c.project_usd),
                "never" if p.finance.payback_months is None else f"{p.finance.payback_months:.1f} months",
            ]
        ],
        right=(1, 2, 3, 4, 5),
    )

    out += ["### Checks", ""]
    out += md_table(
        ["", "Check", "Rule", "Figure", "Message"],
        [
            ["✔" if ck.ok else "✘", ck.id, ck.rule, md_text(short_hash(ck.figure)), md_text(short_hash(ck.message))]
            for ck in v.checks
        ],
    )
    if v.warnings:
        out += ["**Warnings**", ""]
        out += [f"- `{w.id}` ({w.rule}): {md_text(w.message)}" for w in v.warnings]
        out.append("")
    if p.flips:
        out += ["### What would change the verdict", "", "One input at a time, the plan re-run.", ""]
        out += md_table(["Lever", "The verdict changes at"], [[k, v] for k, v in flip_rows(p)])

    as_of = f", as of {te.as_of.isoformat()}" if te.as_of else ""
    out += [
        "### Frontier bill",
        "",
        f"{md_text(te.model or 'teacher')} ({md_text(te.source)}{as_of})",
        "",
    ]
    out += md_table(
        ["Line", "Formula", "Per month"],
        [
            *frontier_rows(p),
            ["**Total**", "", f"**{usd(c.frontier_usd_per_month)}**"],
        ],
        right=(2,),
    )

    out += ["### Student operating lines", ""]
    out += md_table(
        ["Line", "Formula", "Per month", "Basis"],
        [[ln.label, ln.formula, usd(ln.usd), ln.basis] for ln in c.student_lines]
        + [["**Total**", "", f"**{usd(c.student_usd_per_month)}**", ""]],
        right=(2,),
    )
    out += [
        f"Monthly savings **{usd(c.savings_usd_per_month)}**; cost per million tokens "
        f"{usd(c.usd_per_mtok_before, 2)} → {usd(c.usd_per_mtok_after, 2)}.",
        "",
    ]

    out += [f"### Project lines ({c.estimate} estimate)", ""]
    out += md_table(
        ["Line", "P4 band", "Chosen", "Basis"],
        [
            [
                pl.label,
                f"{usd(pl.low_usd)}-{usd(pl.high_usd)}",
                usd(pl.usd) + ("" if pl.in_band else " (outside band)"),
                pl.basis,
            ]
            for pl in c.project_lines
        ]
        + [
            [
                "**Total**",
                f"{usd(c.project_band_usd[0])}-{usd(c.project_band_usd[1])}",
                f"**{usd(c.project_usd)}**",
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
