"""``distillplan diff REV [SPEC]``: the plan at a git revision against the plan now, in
the style of ``infracost diff``: ``~ gpu_hosting  Amount: +$1,234 ($2,000 -> $3,234)``.

* :func:`spec_at_revision` reads the spec's bytes at ``REV`` (gitpython, via ``repo.py``).
* :func:`diff_plans` compares two plans; pure. ``old=None`` (no spec at ``REV``) shows
  everything as added.
* :func:`render_diff` prints the comparison as ``text``, ``json`` (versioned) or ``markdown``.
* :func:`diff_at` ties them together for the command line.

Both sides are planned with the **working tree's** eval state (lock and eval files) and
the working tree's architecture files (a catalog name, or a local folder resolved
against the spec's folder now): the diff shows what the spec change does to the verdict
and the money, not how the eval lock changed. A local ``base_model`` folder that exists
only at ``REV`` therefore cannot be planned and raises ``ArchitectureError``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from distillplan.decision import fmt_tokens
from distillplan.plan_model import Plan
from distillplan.report import fmt_usd

__all__ = [
    "DIFF_FORMAT_VERSION",
    "Change",
    "PlanDiff",
    "diff_at",
    "diff_plans",
    "render_diff",
    "run_diff",
    "spec_at_revision",
]

DIFF_FORMAT_VERSION = 1

Unit = Literal["usd", "usd/month", "usd/mtok", "months", "tokens/month", "count", "text"]
Kind = Literal["+", "-", "~", "="]
Value = float | str | None
Section = Literal["totals", "teacher", "student", "project", "sizing"]

SECTION_TITLES: dict[str, str] = {
    "totals": "Totals",
    "teacher": "Teacher prices",
    "student": "Student operating lines (per month)",
    "project": "Project lines",
    "sizing": "Sizing",
}


@dataclass(frozen=True)
class Change:
    """One compared figure. ``kind``: ``+`` added, ``-`` removed, ``~`` changed, ``=`` same."""

    section: Section
    name: str
    label: str
    unit: Unit
    kind: Kind
    old: Value
    new: Value

    @property
    def delta(self) -> float | None:
        if isinstance(self.old, int | float) and isinstance(self.new, int | float):
            return float(self.new) - float(self.old)
        if self.kind == "+" and isinstance(self.new, int | float):
            return float(self.new)
        if self.kind == "-" and isinstance(self.old, int | float):
            return -float(self.old)
        return None


@dataclass(frozen=True)
class PlanDiff:
    old_ref: str
    new_ref: str
    old_absent: bool
    old_decision: str | None
    new_decision: str
    changes: tuple[Change, ...]

    @property
    def verdict_changed(self) -> bool:
        return self.old_decision != self.new_decision

    @property
    def changed(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind != "=")

    def get(self, section: str, name: str) -> Change:
        for c in self.changes:
            if c.section == section and c.name == name:
                return c
        raise KeyError(f"{section}.{name}")


# ----------------------------------------------------------------------------- compare


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _kind(old: Value, new: Value, *, old_present: bool, new_present: bool) -> Kind:
    if not old_present:
        return "+"
    if not new_present:
        return "-"
    return "=" if _same(old, new) else "~"


def _figures(p: Plan) -> list[tuple[Section, str, str, Unit, Value]]:
    c, f, s, t = p.costs, p.finance, p.sizing, p.teacher
    return [
        ("totals", "tokens_per_month", "volume", "tokens/month", p.volume.tokens_per_month),
        (
            "totals",
            "frontier_usd_per_month",
            "frontier spend",
            "usd/month",
            c.frontier_usd_per_month,
        ),
        (
            "totals",
            "student_usd_per_month",
            "student operating cost",
            "usd/month",
            c.student_usd_per_month,
        ),
        (
            "totals",
            "savings_usd_per_month",
            "monthly savings",
            "usd/month",
            c.savings_usd_per_month,
        ),
        ("totals", "project_usd", "project cost", "usd", c.project_usd),
        ("totals", "payback_months", "payback", "months", f.payback_months),
        ("totals", "npv_usd", "NPV", "usd", f.npv_usd),
        ("teacher", "model", "teacher model", "text", t.model),
        ("teacher", "usd_per_mtok_input", "input price", "usd/mtok", t.usd_per_mtok_input),
        ("teacher", "usd_per_mtok_output", "output price", "usd/mtok", t.usd_per_mtok_output),
        *(("student", ln.name, ln.label, "usd/month", ln.usd) for ln in c.student_lines),
        *(("project", ln.name, ln.label, "usd", ln.usd) for ln in c.project_lines),
        ("sizing", "base_model", "base model", "text", s.base_model),
        ("sizing", "precision", "serving precision", "text", s.precision),
        ("sizing", "gpu", "GPU", "text", s.gpu),
        ("sizing", "replicas", "replicas", "count", s.replicas),
        ("sizing", "gpus_total", "GPUs", "count", s.gpus_total),
        ("sizing", "fits", "fits", "text", "yes" if s.fits else "no"),
    ]


def diff_plans(old: Plan | None, new: Plan, *, old_ref: str = "old", new_ref: str = "new") -> PlanDiff:
    """Compare two plans (pure). ``old`` None: the spec did not exist, all is added."""
    old_rows = {(sec, name): (label, unit, v) for sec, name, label, unit, v in _figures(old)} if old else {}
    new_rows = {(sec, name): (label, unit, v) for sec, name, label, unit, v in _figures(new)}
    keys = list(new_rows) + [k for k in old_rows if k not in new_rows]
    order = list(SECTION_TITLES)
    keys.sort(key=lambda k: order.index(k[0]))  # stable: keeps plan order within a section
    changes = []
    for key in keys:
        o, n = old_rows.get(key), new_rows.get(key)
        label, unit, _ = n or o  # type: ignore[misc]  # one of them is present
        changes.append(
            Change(
                section=key[0],
                name=key[1],
                label=label,
                unit=unit,
                kind=_kind(
                    o[2] if o else None,
                    n[2] if n else None,
                    old_present=o is not None,
                    new_present=n is not None,
                ),
                old=o[2] if o else None,
                new=n[2] if n else None,
            )
        )
    return PlanDiff(
        old_ref=old_ref,
        new_ref=new_ref,
        old_absent=old is None,
        old_decision=old.verdict.decision if old else None,
        new_decision=new.verdict.decision,
        changes=tuple(changes),
    )


# ----------------------------------------------------------------------------- git edge


def spec_at_revision(spec_file_path: Path, rev: str) -> tuple[bytes | None, str]:
    """The spec's bytes at ``rev`` (None when absent there) and its display ``REV:relpath``."""
    from distillplan.repo import file_at, relpath_in_repo

    _, rel = relpath_in_repo(spec_file_path)
    return file_at(spec_file_path, rev), f"{rev}:{rel}"


def diff_at(spec_arg: str | Path, rev: str) -> PlanDiff:
    """Plan the spec at ``rev`` and now, and compare (see the module docstring)."""
    from distillplan.loader import SpecFile, load_spec, parse_spec
    from distillplan.plan import eval_state_for, plan_for_file

    sf = load_spec(spec_arg)
    data, display = spec_at_revision(sf.path, rev)
    state = eval_state_for(sf.spec, sf.dir)
    new = plan_for_file(sf, eval_state=state)
    old = None
    if data is not None:
        spec = parse_spec(data, display=display, base_dir=None)
        old_sf = SpecFile(spec=spec, path=sf.path, display=display, sha256=hashlib.sha256(data).hexdigest())
        old = plan_for_file(old_sf, eval_state=state)
    return diff_plans(old, new, old_ref=display, new_ref=sf.display)


# ----------------------------------------------------------------------------- render


def fmt_value(v: Value, unit: Unit) -> str:
    if v is None:
        return "never" if unit == "months" else "none"
    if isinstance(v, str):
        return v
    if unit in ("usd", "usd/month"):
        return fmt_usd(v)
    if unit == "usd/mtok":
        return fmt_usd(v, cents=True)
    if unit == "months":
        return f"{v:,.1f}"
    if unit == "tokens/month":
        return fmt_tokens(v)
    return f"{v:,.0f}"


def fmt_delta(c: Change) -> str:
    d = c.delta
    if d is None:
        return ""
    if c.unit in ("usd", "usd/month"):
        return fmt_usd(d, sign=True)
    if c.unit == "usd/mtok":
        return fmt_usd(d, cents=True, sign=True)
    if c.unit == "months":
        return f"{d:+,.1f}"
    if c.unit == "tokens/month":
        return ("-" if d < 0 else "+") + fmt_tokens(abs(d))
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
    return c.name if c.section in ("student", "project") else c.label


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
        "no changes" if n == 0 and not d.verdict_changed else f"{n} change{'s' if n != 1 else ''}",
    ]
    return "\n".join(out) + "\n"


def _json_value(v: Value) -> Value:
    return float(f"{v:.10g}") if isinstance(v, float) else v


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
                "old": _json_value(c.old),
                "new": _json_value(c.new),
                "delta": _json_value(c.delta),
            }
            for c in d.changes
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def render_diff(d: PlanDiff, fmt: Literal["text", "json", "markdown"]) -> str:
    if fmt == "json":
        return render_json(d)
    if fmt == "markdown":
        from distillplan.report_md import render_diff_markdown

        return render_diff_markdown(d)
    if fmt == "text":
        return render_text(d)
    raise ValueError(f"unknown diff format {fmt!r} (text, json or markdown)")


def run_diff(spec_arg: str | Path, rev: str, fmt: str) -> str:
    """``distillplan diff REV [SPEC] --format FMT``: the rendered comparison."""
    if fmt not in ("text", "json", "markdown"):
        raise ValueError(f"unknown diff format {fmt!r} (text, json or markdown)")
    return render_diff(diff_at(spec_arg, rev), fmt)  # type: ignore[arg-type]  # checked above
