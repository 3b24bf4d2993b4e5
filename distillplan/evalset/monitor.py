"""The weekly teacher-on-sample comparison (P8.2): per ISO week and segment, the student's
gap to the teacher with a 95% confidence interval, decided against the contracted bound.

Per row the gap is ``d = t - s`` with the contract's metric and normalisation
(:mod:`distillplan.evalset.metrics`): with a human ``reference``, ``t = metric(reference,
teacher)`` and ``s = metric(reference, student)``; without one the teacher's output is the
reference, so ``t = 1`` and ``s = metric(teacher, student)``. For accuracy and exact-match the
latter is an upper bound on the row's gap against a human label (the student can only be wrong
where the teacher is right by disagreeing with it), so a breach is never missed, and a flag
without references may be one the references would clear.

The CI of a cell's mean gap is Wilson's score interval when every ``d`` is 0 or 1, else the
normal interval with the sample variance. A cell is a ``breach`` when the CI's low end is above
the bound, ``within`` when its high end is at or below it, else ``too-few`` with the examples
needed for the CI at the observed gap to exclude the bound. Aggregation keeps a handful of sums
per (week, segment) cell: memory does not grow with the rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from distillplan.evalset.jsonl import paused_gc
from distillplan.evalset.metrics import METRICS
from distillplan.evalset.samples import NO_REFERENCE, Sample

__all__ = [
    "CONFIDENCE",
    "Cell",
    "CellResult",
    "Z",
    "aggregate",
    "decide",
    "examples_to_decide",
    "examples_to_detect",
    "wilson",
]

CONFIDENCE = 0.95
Z = 1.959963984540054  # two-sided 95%
POWER = 0.8
_CACHE_MAX = 100_000
_EPS = 1e-12
Status = Literal["breach", "within", "too-few"]


@dataclass
class Cell:
    """Running sums of one (week, segment): constant size whatever the rows."""

    n: int = 0
    sum_d: float = 0.0
    sum_d2: float = 0.0
    sum_s: float = 0.0
    sum_t: float = 0.0
    with_reference: int = 0
    binary: bool = True

    def add(self, t: float, s: float, has_ref: bool) -> None:
        d = t - s
        self.n += 1
        self.sum_d += d
        self.sum_d2 += d * d
        self.sum_s += s
        self.sum_t += t
        self.with_reference += has_ref
        if d != 0.0 and d != 1.0:
            self.binary = False

    def merge(self, o: Cell) -> None:
        self.n += o.n
        self.sum_d += o.sum_d
        self.sum_d2 += o.sum_d2
        self.sum_s += o.sum_s
        self.sum_t += o.sum_t
        self.with_reference += o.with_reference
        self.binary = self.binary and o.binary


@dataclass(frozen=True)
class CellResult:
    week: str
    segment: str  # "overall" for the week's total
    examples: int
    with_reference: int
    student_score: float
    teacher_score: float
    gap_points: float
    ci_low_points: float
    ci_high_points: float
    bound_points: float
    bound_source: Literal["max_gap_points", "max_stratum_gap_points"]
    status: Status
    examples_to_decide: int | None  # for "too-few": None when the gap sits on the bound


@dataclass
class Aggregate:
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    first_seen: dict[str, tuple[str, int]] = field(default_factory=dict)  # segment -> file, line


def aggregate(samples: Iterable[Sample], metric: str) -> Aggregate:
    """Fold ``samples`` into per-(week, segment) sums, scoring with ``metric``."""
    score: Callable[[Any, Any], float] = METRICS[metric]
    cache: dict[tuple[str, str], float] = {}
    out = Aggregate()
    no_ref = NO_REFERENCE
    with paused_gc():  # a million short-lived dicts, none cyclic: the cycle collector only slows the loop
        _fold(samples, score, cache, out, no_ref)
    return out


def _fold(
    samples: Iterable[Sample],
    score: Callable[[Any, Any], float],
    cache: dict[tuple[str, str], float],
    out: Aggregate,
    no_ref: object,
) -> None:
    cells = out.cells
    for week, segment, student, teacher, ref, path, line in samples:
        cell = cells.get((week, segment))
        if cell is None:
            cell = cells[(week, segment)] = Cell()
            out.first_seen.setdefault(segment, (path, line))
        if ref is no_ref:
            if type(teacher) is str and type(student) is str:
                s = cache.get((teacher, student))
                if s is None:
                    s = _cached(score, cache, teacher, student)
            else:
                s = score(teacher, student)
            d = 1.0 - s
            cell.n += 1
            cell.sum_d += d
            cell.sum_d2 += d * d
            cell.sum_s += s
            cell.sum_t += 1.0
            if d != 0.0 and d != 1.0:
                cell.binary = False
        else:
            cell.add(_cached(score, cache, ref, teacher), _cached(score, cache, ref, student), True)


def _cached(score: Callable[[Any, Any], float], cache: dict[tuple[str, str], float], a: Any, b: Any) -> float:
    if type(a) is str and type(b) is str:
        v = cache.get((a, b))
        if v is None:
            if len(cache) >= _CACHE_MAX:  # bounded: memory stays constant on unbounded vocabularies
                cache.clear()
            v = cache[(a, b)] = score(a, b)
        return v
    return score(a, b)


def wilson(k: float, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson score interval of the proportion ``k/n``."""
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _ci(c: Cell) -> tuple[float, float]:
    if c.binary:
        return wilson(c.sum_d, c.n)
    mean = c.sum_d / c.n
    var = max(0.0, (c.sum_d2 - c.n * mean * mean) / (c.n - 1)) if c.n > 1 else 1.0
    half = Z * math.sqrt(var / c.n)
    return max(-1.0, mean - half), min(1.0, mean + half)


def examples_to_decide(c: Cell, bound: float) -> int | None:
    """Smallest n at which the CI at this cell's observed gap (and spread) would exclude ``bound``."""
    mean = c.sum_d / c.n
    if abs(mean - bound) < 1e-9:
        return None
    if c.binary:
        lo, hi = c.n, c.n
        while not _decides(mean, hi, bound):
            lo, hi = hi, hi * 2
            if hi > 10**9:
                return None
        while lo < hi:  # the Wilson interval at a fixed rate narrows monotonically in n
            mid = (lo + hi) // 2
            lo, hi = (mid + 1, hi) if not _decides(mean, mid, bound) else (lo, mid)
        return hi
    var = max(1e-12, (c.sum_d2 - c.n * mean * mean) / max(1, c.n - 1))
    return math.ceil(Z * Z * var / (mean - bound) ** 2)


def _decides(p: float, n: int, bound: float) -> bool:
    lo, hi = wilson(p * n, n)
    return lo > bound + _EPS or hi <= bound + _EPS


def decide(week: str, segment: str, c: Cell, bound_points: float, source: str) -> CellResult:
    bound = bound_points / 100
    lo, hi = _ci(c)
    if lo > bound + _EPS:
        status: Status = "breach"
    elif hi <= bound + _EPS:
        status = "within"
    else:
        status = "too-few"
    return CellResult(
        week,
        segment,
        c.n,
        c.with_reference,
        c.sum_s / c.n,
        c.sum_t / c.n,
        c.sum_d / c.n * 100,
        lo * 100,
        hi * 100,
        bound_points,
        "max_stratum_gap_points" if source == "max_stratum_gap_points" else "max_gap_points",
        status,
        examples_to_decide(c, bound) if status == "too-few" else None,
    )


def _upper_tail(n: int, k: int, p: float) -> float:
    """``P(X >= k)``, ``X ~ Binomial(n, p)``, summed from ``k`` up until the terms vanish."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    total = 0.0
    base = math.lgamma(n + 1)
    for j in range(k, n + 1):
        term = math.exp(base - math.lgamma(j + 1) - math.lgamma(n - j + 1) + j * math.log(p) + (n - j) * math.log1p(-p))
        total += term
        if term < total * 1e-16 and j > n * p:
            break
    return min(1.0, total)


def examples_to_detect(bound_points: float, *, power: float = POWER) -> int:
    """Examples per segment per week for this monitor's rule to detect the contracted gap.

    The smallest n at which both hold under the exact binomial distribution: a segment that
    agrees with the teacher on every row is shown ``within`` (Wilson high end <= bound ``b``),
    and a segment whose true gap is ``2b`` is flagged ``breach`` (Wilson low end > ``b``) with
    probability at least ``power``.
    """
    b = bound_points / 100
    if not 0 < b < 0.5:
        raise ValueError(f"bound_points must be in (0, 50) (got {bound_points})")
    p1 = 2 * b
    n = 1
    while True:
        if wilson(0, n)[1] <= b + _EPS:
            # smallest count whose Wilson low end clears the bound (monotone in k)
            k = next((k for k in range(n + 1) if wilson(k, n)[0] > b + _EPS), n + 1)
            if _upper_tail(n, k, p1) >= power:
                return n
        n += 1
