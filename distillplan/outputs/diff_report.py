"""A plan diff (:mod:`distillplan.plan.diff`) as ``text`` in the style of ``infracost diff``
(``~ gpu_hosting  Amount: +$1,234 ($2,000 -> $3,234)``), versioned ``json``, or ``markdown``."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Literal
from urllib.parse import quote

from distillplan.plan.diff import DIFF_FORMAT_VERSION, SECTION_TITLES, Change, PlanDiff, Unit, Value
from distillplan.plan.guardrails import Breach
from distillplan.text import count, json_round, md_table, md_text, tokens, usd

__all__ = ["COMMENT_LIMIT", "comment_marker", "render_diff", "render_github", "render_json", "render_text"]

#: GitHub refuses an issue comment longer than 65,536 characters; the body stays well under it.
COMMENT_LIMIT = 65_536
_BODY_BUDGET = 60_000


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
    if unit == "points":
        return f"{v:,.2f}"
    if unit == "score":
        return f"{v:.4f}"
    return f"{v:,.0f}"


_UNITS = {
    "usd/month": "/month",
    "usd/mtok": "/Mtok",
    "months": " months",
    "tokens/month": " tokens/month",
    "points": " points",
}


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
    if c.unit == "points":
        return f"{d:+,.2f}"
    if c.unit == "score":
        return f"{d:+.4f}"
    return f"{d:+,.0f}"


def _what(c: Change) -> str:
    return {
        "usd": "Amount",
        "usd/month": "Amount",
        "usd/mtok": "Price",
        "months": "Months",
        "tokens/month": "Tokens",
        "count": "Count",
        "points": "Points",
        "score": "Score",
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
    if d.new_decision is None:
        return f"Verdict: {d.old_decision} -> none (spec removed)"
    if d.old_decision is None:
        return f"Verdict: {d.new_decision} (new)"
    if d.verdict_changed:
        return f"Verdict: {d.old_decision} -> {d.new_decision}"
    return f"Verdict: {d.new_decision} (unchanged)"


def render_text(d: PlanDiff) -> str:
    out = [f"distillplan diff {d.old_ref} -> {d.new_ref}"]
    if d.old_absent:
        out.append(f"  (no spec at {d.old_ref}: everything is new)")
    if d.new_absent:
        out.append(f"  (no spec at {d.new_ref}: everything is removed)")
    if d.moved_from:
        out.append(f"  (moved from {d.moved_from})")
    out += ["", verdict_text(d)]
    for section, title in SECTION_TITLES.items():
        items = [c for c in d.changed if c.section == section]
        if not items:
            continue
        width = max(len(display_name(c)) for c in items)
        out += ["", title]
        out += [f"  {c.kind} {display_name(c).ljust(width)}  {_line(c)}" for c in items]
    if d.lock is not None and d.lock.changed:
        out += ["", lock_text(d)]
    n = len(d.changed)
    out += [
        "",
        "no changes" if n == 0 and not d.verdict_changed else count(n, "change"),
    ]
    return "\n".join(out) + "\n"


def lock_text(d: PlanDiff) -> str:
    lk = d.lock
    if lk is None or not lk.changed:
        return ""
    old, new = (lk.old_hash or "none")[:12], (lk.new_hash or "none")[:12]
    why = f"reason: {lk.reason}" if lk.reason is not None else "no `lock --reason` entry"
    return f"Eval lock: {old} -> {new} ({why})"


def render_json(d: PlanDiff, breaches: Sequence[Breach] = ()) -> str:
    lk = d.lock
    doc = {
        "format_version": DIFF_FORMAT_VERSION,
        "old_ref": d.old_ref,
        "new_ref": d.new_ref,
        "old_absent": d.old_absent,
        "new_absent": d.new_absent,
        "moved_from": d.moved_from or None,
        "changed": d.material,
        "verdict": {"old": d.old_decision, "new": d.new_decision, "changed": d.verdict_changed},
        "lock": None
        if lk is None
        else {
            "old_hash": lk.old_hash,
            "new_hash": lk.new_hash,
            "changed": lk.changed,
            "reason": lk.reason,
            "problem": lk.problem or None,
        },
        "breaches": [{"condition": b.condition, "old": b.old, "new": b.new, "why": b.why} for b in breaches],
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


def render_diff(
    d: PlanDiff,
    fmt: Literal["text", "json", "markdown", "github"],
    *,
    breaches: Sequence[Breach] = (),
    spec_path: str = "",
) -> str:
    if fmt == "json":
        return render_json(d, breaches)
    if fmt == "markdown":
        return render_diff_markdown(d)
    if fmt == "github":
        return render_github(d, breaches, spec_path=spec_path or d.new_ref)
    if fmt == "text":
        return render_text(d)  # the breaches go to stderr (the command)
    raise ValueError(f"unknown diff format {fmt!r} (text, json, markdown or github)")


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
                md_text(c.label),
                "" if c.kind == "+" else _cell(c.old, c),
                _cell(c.new, c),
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
                    md_text(display_name(c)),
                    "" if c.kind == "+" else _cell(c.old, c),
                    "" if c.kind == "-" else _cell(c.new, c),
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


def _cell(v: Value, c: Change) -> str:
    """A value as a Markdown cell: with its unit, spec-controlled text escaped."""
    return md_text(with_unit(fmt_value(v, c.unit), c.unit))


# ----------------------------------------------------------------------------- pull-request comment


def md_code(value: str) -> str:
    """``value`` as a Markdown code span, shown literally (a code span reads no escapes, HTML or
    links): one line, control characters dropped, fenced by more backticks than it holds."""
    text = " ".join(md_text_line(value).split("\n"))
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_text_line(value: str) -> str:
    """One line: every line break a space, control characters dropped (as :func:`md_text` does)."""
    return re.sub("[\x00-\x08\x0e-\x1f\x7f]", "", re.sub(r"\s*(?:\r\n|[\n\r\x0b\x0c\x85\u2028\u2029])\s*", " ", value))


def comment_marker(spec_path: str) -> str:
    """The hidden first line that lets the action find this spec's comment and update it in place.
    The path is percent-encoded (``/ . _ -`` kept), so it cannot close the HTML comment."""
    return f"<!-- distillplan-diff: {quote(spec_path, safe='/._-')} -->"


def _changes_table(items: Sequence[Change], *, section_column: bool) -> list[str]:
    head = ["", *(["Section"] if section_column else []), "Item", "Before", "After", "Change"]
    rows = [
        [
            c.kind,
            *([SECTION_TITLES[c.section]] if section_column else []),
            md_text(display_name(c)),
            "" if c.kind == "+" else _cell(c.old, c),
            "" if c.kind == "-" else _cell(c.new, c),
            with_unit(fmt_delta(c), c.unit),
        ]
        for c in items
    ]
    n = len(head)
    return md_table(head, rows, right=(n - 3, n - 2, n - 1))


def _breach_lines(breaches: Sequence[Breach]) -> list[str]:
    if not breaches:
        return []
    out = [f"**:x: {count(len(breaches), 'guardrail')} breached**", ""]
    out += [f"- {md_code(b.condition)}: {md_text(b.why)} ({md_text(b.old)} → {md_text(b.new)})" for b in breaches]
    return [*out, ""]


def _header(d: PlanDiff, spec_path: str) -> list[str]:
    verdict = verdict_text(d).removeprefix("Verdict: ")
    out = [
        comment_marker(spec_path),
        f"### distillplan: `{md_text(spec_path)}`",
        "",
        f"**Verdict**: {md_text(verdict)}",
        "",
    ]
    notes = []
    if d.old_absent:
        notes.append(f"New spec: nothing at {md_code(d.old_ref)}.")
    if d.new_absent:
        notes.append(f"Spec removed: nothing at {md_code(d.new_ref)}.")
    if d.moved_from:
        notes.append(f"Moved from {md_code(d.moved_from)}.")
    if d.lock is not None and d.lock.changed:
        notes.append(md_text(lock_text(d)) + ".")
    return out + ([" ".join(notes), ""] if notes else [])


def _footer(d: PlanDiff) -> list[str]:
    return [f"<sub>{md_code(d.old_ref)} → {md_code(d.new_ref)} · <code>distillplan diff</code></sub>"]


def _short(d: PlanDiff, breaches: Sequence[Breach], spec_path: str, why: str) -> str:
    """The verdict, the breaches and the totals; what does not fit the budget is left out."""
    totals = [c for c in d.changed if c.section == "totals"]
    for table, shown in ((True, len(breaches)), (False, len(breaches)), (False, 10)):
        out = _header(d, spec_path) + _breach_lines(breaches[:shown])
        if shown < len(breaches):
            out += [f"… and {len(breaches) - shown} more guardrails breached.", ""]
        if table and totals:
            out += _changes_table(totals, section_column=False)
        out += [why, "", *_footer(d)]
        body = "\n".join(out) + "\n"
        if len(body) <= _BODY_BUDGET:
            break
    return body


def render_github(d: PlanDiff, breaches: Sequence[Breach] = (), *, spec_path: str) -> str:
    """The pull-request comment: a hidden marker (:func:`comment_marker`), the verdict, any
    guardrail breached with both values, the money, sizing and contract deltas, and every changed
    line folded in ``<details>``. A short form when nothing material changed, or when the full
    body would not fit well under GitHub's 65,536-character limit."""
    if not d.material and not breaches:
        return _short(d, breaches, spec_path, "No material change to the plan.")
    out = _header(d, spec_path) + _breach_lines(breaches)
    for section, title in (("totals", "Money"), ("sizing", "Sizing"), ("contract", "Contract terms")):
        items = [c for c in d.changed if c.section == section]
        if items:
            out += [f"**{title}**", "", *_changes_table(items, section_column=False)]
    rest = list(d.changed)
    if rest:
        out += [f"<details><summary>Every changed line ({len(rest)})</summary>", ""]
        out += _changes_table(rest, section_column=True)
        out += ["</details>", ""]
    out += _footer(d)
    body = "\n".join(out) + "\n"
    if len(body) > _BODY_BUDGET:
        return _short(
            d, breaches, spec_path, "The full diff is too long for a comment: run `distillplan diff` locally."
        )
    return body
