"""Two plans compared, figure by figure: what ``distillplan diff`` reports. Pure; the git
edge (reading the spec at a revision) is in :mod:`distillplan.commands.diff`, the text, JSON
and Markdown forms in :mod:`distillplan.outputs.diff_report`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from distillplan.plan.model import Plan
from distillplan.spec.models import Milestone

__all__ = [
    "DIFF_FORMAT_VERSION",
    "Change",
    "LockChange",
    "PlanDiff",
    "Section",
    "Unit",
    "Value",
    "contract_rows",
    "diff_plans",
]

#: 2: two revisions (``new`` may be absent: the spec removed), the ``contract`` section, the lock change.
DIFF_FORMAT_VERSION = 2

Unit = Literal["usd", "usd/month", "usd/mtok", "months", "tokens/month", "count", "points", "score", "text"]
Kind = Literal["+", "-", "~", "="]
Value = float | str | None
Section = Literal["totals", "teacher", "student", "project", "sizing", "contract"]

SECTION_TITLES: dict[str, str] = {
    "totals": "Totals",
    "teacher": "Teacher prices",
    "student": "Student operating lines (per month)",
    "project": "Project lines",
    "sizing": "Sizing",
    "contract": "Contract terms",
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
class LockChange:
    """The eval lock (``distill.lock`` beside the spec) on both sides: its ``[eval]`` hash (None:
    no lock, or none of the eval set), and the ``lock --reason`` the new lock's history gives for
    replacing the old hash (None: it gives none). ``problem``: a lock that could not be read."""

    old_hash: str | None
    new_hash: str | None
    reason: str | None = None
    problem: str = ""

    @property
    def changed(self) -> bool:
        return self.old_hash != self.new_hash


@dataclass(frozen=True)
class PlanDiff:
    old_ref: str
    new_ref: str
    old_absent: bool
    old_decision: str | None
    new_decision: str | None
    changes: tuple[Change, ...]
    new_absent: bool = False
    lock: LockChange | None = None
    #: the spec's path at the old revision when it moved (git's rename detection), else "".
    moved_from: str = ""

    @property
    def verdict_changed(self) -> bool:
        return self.old_decision != self.new_decision

    @property
    def material(self) -> bool:
        """Anything a reviewer should see: a changed figure or term, the verdict, the lock."""
        return bool(self.changed) or self.verdict_changed or bool(self.lock and self.lock.changed)

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


Row = tuple[Section, str, str, Unit, Value]


def contract_rows(p: Plan, milestones: Sequence[Milestone] = ()) -> list[Row]:
    """The contract's terms (P9.2): the quality bar ``accept`` holds the student to, the eval lock
    it is measured on, and the payment milestones (from the spec: the plan does not carry them)."""
    g = p.gap
    rows: list[Row] = [
        ("contract", "metric", "metric", "text", g.metric),
        ("contract", "teacher_score", "teacher baseline score", "score", g.teacher_score),
        ("contract", "allowed_points", "allowed gap", "points", g.allowed_points),
        ("contract", "min_score", "minimum score", "score", g.min_score),
        ("contract", "contract_threshold", "acceptance threshold", "score", g.contract_threshold),
        ("contract", "lock_hash", "eval lock hash", "text", p.eval.lock_hash or "unlocked"),
    ]
    seen: dict[str, int] = {}
    for m in milestones:
        seen[m.name] = seen.get(m.name, 0) + 1
        key = m.name if seen[m.name] == 1 else f"{m.name} ({seen[m.name]})"
        terms = f"{m.payment_share * 100:g}% due {m.due.isoformat()}" + (", on acceptance" if m.acceptance else "")
        rows.append(("contract", f"milestone:{key}", f"milestone {key}", "text", terms))
    return rows


def diff_plans(
    old: Plan | None,
    new: Plan | None,
    *,
    old_ref: str = "old",
    new_ref: str = "new",
    old_milestones: Sequence[Milestone] = (),
    new_milestones: Sequence[Milestone] = (),
    lock: LockChange | None = None,
    moved_from: str = "",
) -> PlanDiff:
    """Compare two plans (pure). ``old`` None: the spec did not exist, all is added; ``new``
    None: it was removed, all is removed."""
    if old is None and new is None:
        raise ValueError("diff_plans needs at least one plan")

    def rows(p: Plan | None, milestones: Sequence[Milestone]) -> dict[tuple[Section, str], tuple[str, Unit, Value]]:
        if p is None:
            return {}
        return {
            (sec, name): (label, unit, v) for sec, name, label, unit, v in [*_figures(p), *contract_rows(p, milestones)]
        }

    old_rows = rows(old, old_milestones)
    new_rows = rows(new, new_milestones)
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
        new_decision=new.verdict.decision if new else None,
        changes=tuple(changes),
        new_absent=new is None,
        lock=lock,
        moved_from=moved_from,
    )
