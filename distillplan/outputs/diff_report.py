"""A plan diff (:mod:`distillplan.plan.diff`) as ``text`` in the style of ``infracost diff``
(``~ gpu_hosting  Amount: +$1,234 ($2,000 -> $3,234)``), versioned ``json``, or ``markdown``."""

from __future__ import annotations

import json
from typing import Literal

from distillplan.plan.diff import DIFF_FORMAT_VERSION, SECTION_TITLES, Change, PlanDiff, Unit, Value
from distillplan.text import count, json_round, md_table, md_text, tokens, usd

__all__ = ["render_diff", "render_json", "render_text"]


def fmt_value(v: Value, unit: Unit) -> str:
    if v is None:
        return "none"
    if isinstance(v, str):
        return v
    if unit in ("usd", "usd/month"):
        return usd(v)
    if unit == "usd/mtok":
        return usd(v, 2)
    if unit == "months":
        return f"{v:,.1f}"
    if unit == "tokens/month":
        return tokens(v)
    return f"{v:,.0f}"


_UNITS = {"usd/month": "/month", "usd/mtok": "/Mtok", "months": " months", "tokens/month": " tokens/month"}


def with_unit(text: str, unit: Unit) -> str:
    """A Markdown cell with its unit: ``$1,234/month``, ``190M tokens/month``, ``3.6 months``."""
    return text + _UNITS.get(unit, "") if text and text != "none" else text


def fmt_delta(c: Change) -> str:
    d = c.delta
    if d is None:
        return ""
    if c.unit in ("usd", "usd/month"):
        return usd(d, sign=True)
    if c.unit == "usd/mtok":
        return usd(d, 2, sign=True)
    if c.unit == "months":
        return f"{d:+,.1f}"
    if c.unit == "tokens/month":
        return ("-" if d < 0 else "+") + tokens(abs(d))
    return f"{d:+,.0f}"


def _what(c: Change) -> str:
    return {
        "usd": "Amount",
        "usd/month": "Amount",
        "usd/mtok": "Price",
        "months": "Months",
        "tokens/month": "Tokens",
        "count": "Count",
        "text": "Value",
    }[c.unit]


def _line(c: Change) -> str:
    """``Amount: +$1,234 ($2,000 -> $3,234)``; added/removed show the one side."""
    if c.kind == "+":
        shown = fmt_delta(c) if c.unit not in ("text", "months") else fmt_value(c.new, c.unit)
        return f"{_what(c)}: {shown or fmt_value(c.new, c.unit)}"
    if c.kind == "-":
        shown = fmt_delta(c) if c.unit not in ("text", "months") else fmt_value(c.old, c.unit)
        return f"{_what(c)}: {shown or fmt_value(c.old, c.unit)}"
    move = f"{fmt_value(c.old, c.unit)} -> {fmt_value(c.new, c.unit)}"
    d = fmt_delta(c)
    return f"{_what(c)}: {d} ({move})" if d else f"{_what(c)}: {move}"


def display_name(c: Change) -> str:
    """The line's label as the reports show it, never a raw key such as ``gpu_hosting``."""
    return c.label


def verdict_text(d: PlanDiff) -> str:
    if d.old_decision is None:
        return f"Verdict: {d.new_decision} (new)"
    if d.verdict_changed:
        return f"Verdict: {d.old_decision} -> {d.new_decision}"
    return f"Verdict: {d.new_decision} (unchanged)"


def render_text(d: PlanDiff) -> str:
    out = [f"distillplan diff {d.old_ref} -> {d.new_ref}"]
    if d.old_absent:
        out.append(f"  (no spec at {d.old_ref}: everything is new)")
    out += ["", verdict_text(d)]
    for section, title in SECTION_TITLES.items():
        items = [c for c in d.changed if c.section == section]
        if not items:
            continue
        width = max(len(display_name(c)) for c in items)
        out += ["", title]
        out += [f"  {c.kind} {display_name(c).ljust(width)}  {_line(c)}" for c in items]
    n = len(d.changed)
    out += [
        "",
        "no changes" if n == 0 and not d.verdict_changed else count(n, "change"),
    ]
    return "\n".join(out) + "\n"


def render_json(d: PlanDiff) -> str:
    doc = {
        "format_version": DIFF_FORMAT_VERSION,
        "old_ref": d.old_ref,
        "new_ref": d.new_ref,
        "old_absent": d.old_absent,
        "changed": bool(d.changed) or d.verdict_changed,
        "verdict": {"old": d.old_decision, "new": d.new_decision, "changed": d.verdict_changed},
        "changes": [
            {
                "section": c.section,
                "name": c.name,
                "label": c.label,
                "unit": c.unit,
                "change": c.kind,
                "old": json_round(c.old),
                "new": json_round(c.new),
                "delta": json_round(c.delta),
            }
            for c in d.changes
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def render_diff(d: PlanDiff, fmt: Literal["text", "json", "markdown"]) -> str:
    if fmt == "json":
        return render_json(d)
    if fmt == "markdown":
        return render_diff_markdown(d)
    if fmt == "text":
        return render_text(d)
    raise ValueError(f"unknown diff format {fmt!r} (text, json or markdown)")


def render_diff_markdown(d: PlanDiff) -> str:
    """A :class:`~distillplan.outputs.diff_report.PlanDiff` as a pull-request comment."""
    out = [f"### distillplan diff: `{md_text(d.old_ref)}` → `{md_text(d.new_ref)}`", ""]
    if d.old_absent:
        out += [f"No spec at `{md_text(d.old_ref)}`: everything is new.", ""]
    verdict = verdict_text(d).replace("Verdict: ", "")
    out += [f"**Verdict**: {md_text(verdict)}", ""]
    totals = [c for c in d.changes if c.section == "totals"]
    out += md_table(
        ["", "Figure", "Before", "After", "Change"],
        [
            [
                c.kind if c.kind != "=" else "",
                c.label,
                "" if c.kind == "+" else with_unit(fmt_value(c.old, c.unit), c.unit),
                with_unit(fmt_value(c.new, c.unit), c.unit),
                "" if c.kind == "=" else with_unit(fmt_delta(c), c.unit),
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
                    "" if c.kind == "+" else with_unit(fmt_value(c.old, c.unit), c.unit),
                    "" if c.kind == "-" else with_unit(fmt_value(c.new, c.unit), c.unit),
                    with_unit(fmt_delta(c), c.unit),
                ]
                for c in rest
            ],
            right=(3, 4, 5),
        )
        out += ["</details>", ""]
    if not d.changed and not d.verdict_changed:
        out += ["No changes.", ""]
    return "\n".join(out).rstrip("\n") + "\n"
