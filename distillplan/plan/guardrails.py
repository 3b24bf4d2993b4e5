"""Guardrails judged on a plan diff (pure): which conditions of ``--fail-on`` and
``[policy.guardrails]`` (the language is :mod:`distillplan.spec.guardrails`) a change breaches,
each with the value before and after, so the job log and the comment say why it failed.

A spec added between the revisions is compared with nothing: an increase counts from $0 (any
rise in percent), while the verdict, the contract and the lock have no earlier state to change.
A spec removed breaches nothing: there is no new plan to judge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from distillplan.plan.diff import Change, PlanDiff
from distillplan.spec.guardrails import Condition, parse_condition
from distillplan.text import count, usd

__all__ = ["BREACH_EXIT_CODE", "Breach", "conditions_of", "evaluate"]

#: ``distillplan diff`` exits with this code when a guardrail is breached (0 ok, 1 error, 2 usage,
#: 3 internal error, 4 FAIL / breach of accept and monitor, 5 undecided, 130 interrupt).
BREACH_EXIT_CODE = 6


@dataclass(frozen=True)
class Breach:
    """A condition that fired: its canonical text, the value before and after, and why."""

    condition: str
    old: str
    new: str
    why: str

    def __str__(self) -> str:
        return f"guardrail {self.condition} breached: {self.why} ({self.old} -> {self.new})"


def conditions_of(texts: Iterable[str]) -> list[Condition]:
    """Parsed, de-duplicated (first kept) conditions; ``ValueError`` names the bad one."""
    out: dict[str, Condition] = {}
    for t in texts:
        try:
            c = parse_condition(t)
        except ValueError as e:
            raise ValueError(f"--fail-on: {e}") from None
        out.setdefault(c.text, c)
    return list(out.values())


def _money(v: float | None) -> str:
    return "none" if v is None else usd(v)


def _number(c: Change | None, *, old: bool) -> float | None:
    if c is None:
        return None
    v = c.old if old else c.new
    return float(v) if isinstance(v, int | float) else None


def _find(d: PlanDiff, section: str, name: str) -> Change | None:
    try:
        return d.get(section, name)
    except KeyError:
        return None


def _increase(cond: Condition, d: PlanDiff, name: str, what: str) -> Breach | None:
    c = _find(d, "totals", name)
    new = _number(c, old=False)
    if new is None:
        return None
    old = _number(c, old=True)
    base = old or 0.0
    rise = new - base
    assert cond.limit is not None
    if cond.unit == "%":
        pct = math.inf if base <= 0 < rise else (rise / base * 100 if base > 0 else 0.0)
        if pct > cond.limit:
            shown = "from nothing" if math.isinf(pct) else f"+{pct:.1f}%"
            return Breach(cond.text, _money(old), _money(new), f"{what} rose {shown}, above {cond.limit:g}%")
        return None
    if rise > cond.limit:
        return Breach(cond.text, _money(old), _money(new), f"{what} rose {usd(rise)}, above {usd(cond.limit)}")
    return None


def _months(v: float | None) -> str:
    return "never" if v is None else f"{v:,.1f} months"


def _one(cond: Condition, d: PlanDiff) -> Breach | None:
    if d.new_absent:
        return None
    if cond.name == "verdict-change":
        if not d.old_absent and d.verdict_changed:
            return Breach(cond.text, str(d.old_decision), str(d.new_decision), "the verdict changed")
        return None
    if cond.name == "payback-months":
        c = _find(d, "totals", "payback_months")
        new, old = _number(c, old=False), _number(c, old=True)
        assert cond.limit is not None
        if new is None or new > cond.limit:
            old_text = "none" if d.old_absent else _months(old)
            return Breach(cond.text, old_text, _months(new), f"payback is above {count(cond.limit, 'month')}")
        return None
    if cond.name == "run-rate-increase":
        return _increase(cond, d, "student_usd_per_month", "the monthly run-rate")
    if cond.name == "budget-increase":
        return _increase(cond, d, "project_usd", "the project budget")
    if cond.name == "contract-change":
        if d.old_absent:
            return None
        terms = [c for c in d.changes if c.section == "contract" and c.kind != "="]
        if not terms:
            return None
        first = terms[0]
        more = f" (and {len(terms) - 1} more)" if len(terms) > 1 else ""
        return Breach(
            cond.text,
            "none" if first.old is None else str(first.old),
            "none" if first.new is None else str(first.new),
            f"the contract's {first.label} changed{more}",
        )
    if cond.name == "lock-change-without-reason":
        lk = d.lock
        if lk is None or d.old_absent:
            return None
        if lk.problem:
            return Breach(cond.text, lk.old_hash or "none", lk.new_hash or "none", lk.problem)
        if lk.old_hash is not None and lk.changed and lk.reason is None:
            why = (
                "the eval lock was removed"
                if lk.new_hash is None
                else "the eval lock changed with no `distillplan lock --reason` entry for the old one"
            )
            return Breach(cond.text, lk.old_hash[:12], (lk.new_hash or "none")[:12], why)
        return None
    raise ValueError(f"unknown condition {cond.name!r}")  # pragma: no cover - parse_condition refuses it


def evaluate(conditions: Sequence[Condition], d: PlanDiff) -> list[Breach]:
    """Every condition ``d`` breaches, in the order given."""
    return [b for c in conditions if (b := _one(c, d)) is not None]
