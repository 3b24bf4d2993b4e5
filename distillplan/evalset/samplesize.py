"""How many eval examples a stratum needs (P2.3): a sample size whose stated power holds under
an exact binomial check, not only under the normal approximation it starts from."""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["SAMPLE_SIZE_METHOD", "exact_power", "required_examples"]


SAMPLE_SIZE_METHOD = (
    "one-sided exact binomial test of the student's score against the teacher's, the teacher score "
    "treated as known (it is fixed in the lock), at significance 2.5% (the lower half of a two-sided "
    "95% test), 80% power to detect a student exactly the bound below the teacher; the size is the "
    "smallest at which the exact power reaches 80%"
)


def _log_pmf(n: int, k: int, p: float) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def _lower_tail(n: int, c: int, p: float) -> float:
    """``P(X <= c)`` for ``X ~ Binomial(n, p)``, summed from ``c`` down until the terms vanish."""
    if c < 0:
        return 0.0
    if c >= n:
        return 1.0
    total, k = 0.0, c
    while k >= 0:
        term = math.exp(_log_pmf(n, k, p))
        total += term
        if term < total * 1e-16 and k < n * p:
            break
        k -= 1
    return min(total, 1.0)


def exact_power(n: int, *, teacher_score: float, gap_points: float, alpha: float = 0.025) -> float:
    """Power of the one-sided exact binomial test (reject "student = teacher" when the student's
    count of successes is at most the critical ``c``) against a student ``gap_points`` below."""
    p0, p1 = teacher_score, teacher_score - gap_points / 100
    if not (0 < p1 < p0 < 1):
        raise ValueError("need 0 < teacher_score - gap_points/100 < teacher_score < 1")
    sd = math.sqrt(n * p0 * (1 - p0))
    c = max(-1, math.floor(n * p0 - NormalDist().inv_cdf(1 - alpha) * sd))
    while c >= 0 and _lower_tail(n, c, p0) > alpha:
        c -= 1
    while c + 1 <= n and _lower_tail(n, c + 1, p0) <= alpha:
        c += 1
    return _lower_tail(n, c, p1)


def _normal_examples(p0: float, delta: float, confidence: float, power: float) -> int:
    nd = NormalDist()
    p1 = p0 - delta
    spread = nd.inv_cdf(1 - (1 - confidence) / 2) * math.sqrt(p0 * (1 - p0)) + nd.inv_cdf(power) * math.sqrt(
        p1 * (1 - p1)
    )
    return max(1, math.ceil((spread / delta) ** 2 - 1e-9))


def required_examples(*, teacher_score: float, gap_points: float, confidence: float = 0.95, power: float = 0.8) -> int:
    """Eval examples (per stratum) to resolve a gap of ``gap_points`` (:data:`SAMPLE_SIZE_METHOD`).

    Starts from the normal approximation ``n ≈ ((z_{1-a}·√(p0·q0) + z_power·√(p1·q1)) / δ)²``
    with ``a = (1 - confidence)/2``, then finds by bisection a size whose exact binomial power
    reaches ``power`` and scans down to the smallest such size (exact power is saw-toothed in n).
    """
    if not 0 <= teacher_score <= 1:
        raise ValueError(f"teacher_score must be in [0, 1] (got {teacher_score})")
    if not 0 < gap_points <= teacher_score * 100:
        raise ValueError(f"gap_points must be in (0, teacher_score x 100] (got {gap_points})")
    if not (0 < confidence < 1 and 0 < power < 1):
        raise ValueError("confidence and power must be in (0, 1)")
    p0, delta = teacher_score, gap_points / 100
    guess = _normal_examples(p0, delta, confidence, power)
    if p0 >= 1 or p0 - delta <= 0:
        return guess  # degenerate: no exact test to run
    alpha = (1 - confidence) / 2

    def ok(n: int) -> bool:
        return exact_power(n, teacher_score=p0, gap_points=gap_points, alpha=alpha) >= power

    hi = guess
    while not ok(hi):
        hi = hi * 2
    lo = max(1, hi // 2)
    while lo < hi:  # power is increasing apart from small teeth: bisect, then scan down
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    n = hi
    for _ in range(64):
        if n > 1 and ok(n - 1):
            n -= 1
        else:
            break
    return n
