"""The guardrail condition language of ``distillplan diff --fail-on`` and ``[policy.guardrails]``.

A condition is one of (``N`` a number, ``_`` and ``,`` allowed as digit separators)::

    verdict-change                 the verdict differs between the two revisions
    payback-months>N               the new payback is above N months (or never pays back)
    run-rate-increase>N%           the monthly run-rate after distillation (the student's operating
    run-rate-increase>$N           cost per month) rose by more than N percent, or N dollars
    budget-increase>N%             the project budget (the P4 lines' total) rose by more than
    budget-increase>$N             N percent, or N dollars
    contract-change                a contract term changed: the thresholds, the eval lock's hash,
                                   a milestone or a payment share
    lock-change-without-reason     the eval lock's hash changed, and the new lock's history holds
                                   no ``distillplan lock --reason`` entry for the old one

Pure and cheap (``re`` only): ``validate`` parses the conditions of ``[policy.guardrails]`` on
the pre-commit path; evaluation against a plan diff is :mod:`distillplan.plan.guardrails`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["CONDITIONS", "Condition", "parse_condition"]

Unit = Literal["", "months", "%", "$"]

#: Every condition name and the units its limit may take (empty: no limit).
CONDITIONS: dict[str, tuple[Unit, ...]] = {
    "verdict-change": (),
    "payback-months": ("months",),
    "run-rate-increase": ("%", "$"),
    "budget-increase": ("%", "$"),
    "contract-change": (),
    "lock-change-without-reason": (),
}

_FORM = re.compile(
    r"^\s*(?P<name>[a-z][a-z-]*)\s*"
    r"(?:(?P<op>>)\s*(?P<dollar>\$)?\s*(?P<num>[0-9][0-9_,]*(?:\.[0-9]+)?)\s*(?P<unit>%|months?)?)?\s*$"
)


@dataclass(frozen=True)
class Condition:
    """One parsed condition; ``text`` is its canonical form (``budget-increase>$5000``)."""

    name: str
    limit: float | None = None
    unit: Unit = ""

    @property
    def text(self) -> str:
        if self.limit is None:
            return self.name
        number = f"{self.limit:g}" if self.limit < 1e15 else f"{self.limit:.0f}"
        # the condition as written: the unit before a dollar figure, after a percentage
        before, after = (self.unit, "") if self.unit == "$" else ("", "%" if self.unit == "%" else "")
        return f"{self.name}>{before}{number}{after}"


def _forms() -> str:
    return ", ".join(
        n if not units else f"{n}>N" if units == ("months",) else f"{n}>N% or {n}>$N" for n, units in CONDITIONS.items()
    )


def parse_condition(text: str) -> Condition:
    """A condition from its text; ``ValueError`` with a one-line message naming what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"a condition is a string (got {type(text).__name__})")
    shown = text if len(text) <= 80 else text[:80] + "…"
    m = _FORM.match(text)
    if m is None or m.group("name") not in CONDITIONS:
        name = m.group("name") if m else ""
        what = f"unknown condition {name!r}" if m else f"cannot read condition {shown!r}"
        raise ValueError(f"{what} (one of: {_forms()})")
    name = m.group("name")
    units = CONDITIONS[name]
    if not m.group("op"):
        if units:
            raise ValueError(
                f"{name!r} needs a limit: {'payback-months>18' if units == ('months',) else name + '>10%'}"
            )
        return Condition(name)
    if not units:
        raise ValueError(f"{name!r} takes no limit (got {shown!r})")
    number = float(m.group("num").replace("_", "").replace(",", ""))
    if number > 1e15:
        raise ValueError(f"{shown!r}: the limit must be at most 1e15")
    written = m.group("unit") or ""
    unit: Unit
    if m.group("dollar"):
        if written:
            raise ValueError(f"{shown!r}: a limit is dollars or a percentage, not both")
        unit = "$"
    elif written == "%":
        unit = "%"
    elif written.startswith("month") or (not written and units == ("months",)):
        unit = "months"
    else:
        unit = ""
    if unit not in units:
        want = "a number of months (payback-months>18)" if units == ("months",) else f"{name}>10% or {name}>$5000"
        raise ValueError(f"{shown!r}: the limit must be {want}")
    return Condition(name, number, unit)
