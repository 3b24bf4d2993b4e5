"""How many eval examples a stratum needs (P2.3): a sample size whose stated power holds under
an exact binomial check, not only under the normal approximation it starts from."""

from __future__ import annotations

import math
from statistics import NormalDist

from distillplan.spec.evalsize import MAX_EXAMPLES, normal_examples
from distillplan.text import count

__all__ = ["SAMPLE_SIZE_METHOD", "exact_power", "powers", "required_examples"]


SAMPLE_SIZE_METHOD = (
    "one-sided exact binomial test of the student's score against the teacher's, the teacher score "
    "treated as known (it is fixed in the lock), at significance 2.5% (the lower half of a two-sided "
    "95% test), 80% power to detect a student exactly the bound below the teacher; the exact power is "
    "saw-toothed in the size, so the size is the smallest from which the exact power stays at or above "
    "80% for every larger size (the smallest size that reaches 80% once can be followed by sizes below it)"
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
    return _lower_tail(n, _critical(n, p0, alpha), p1)


def _normal_examples(p0: float, delta: float, confidence: float, power: float) -> int:
    guess = normal_examples(p0, delta, confidence, power)
    if guess > MAX_EXAMPLES:
        raise ValueError(
            f"a gap of {count(delta * 100, 'point')} needs more than {count(MAX_EXAMPLES, 'example')} (P2.3)"
        )
    return max(1, math.ceil(guess - 1e-9))


def _pmf(n: int, k: int, p: float) -> float:
    return math.exp(_log_pmf(n, k, p)) if 0 <= k <= n else 0.0


def _critical(n: int, p0: float, alpha: float) -> int:
    """The largest ``c`` with ``P(X <= c) <= alpha`` under ``Binomial(n, p0)`` (-1: none)."""
    sd = math.sqrt(n * p0 * (1 - p0))
    c = max(-1, math.floor(n * p0 - NormalDist().inv_cdf(1 - alpha) * sd))
    while c >= 0 and _lower_tail(n, c, p0) > alpha:
        c -= 1
    while c + 1 <= n and _lower_tail(n, c + 1, p0) <= alpha:
        c += 1
    return c


def powers(p0: float, p1: float, alpha: float, start: int, stop: int) -> list[float]:
    """The exact power at every size ``start..stop-1``, each in O(1): the tails at ``n + 1`` follow from
    those at ``n`` (``P(X' <= c) = P(X <= c) - p P(X = c)``), the point masses from their neighbours'
    (``P_n(c) = P_{n-1}(c) n q / (n - c)``, ``P_n(c + 1) = P_n(c) (n - c) p / ((c + 1) q)``), and the
    critical value moves by single steps; everything is recomputed directly every 2,048 sizes so that
    rounding cannot build up."""
    out: list[float] = []
    n = start
    c = -1
    f0 = f1 = m0 = m1 = 0.0  # the tails P(X <= c) and the masses P(X = c) under p0 and p1
    q0, q1 = 1 - p0, 1 - p1
    r0, r1 = p0 / q0, p1 / q1
    for i in range(stop - start):
        if i % 2048 == 0:
            c = _critical(n, p0, alpha)
            f0, f1 = _lower_tail(n, c, p0), _lower_tail(n, c, p1)
            m0, m1 = _pmf(n, c, p0), _pmf(n, c, p1)
        else:  # n - 1 -> n: one more Bernoulli trial
            f0 -= p0 * m0
            f1 -= p1 * m1
            if c >= 0:
                m0 *= n * q0 / (n - c)
                m1 *= n * q1 / (n - c)
            while c + 1 <= n:
                up = (n - c) / (c + 1) if c >= 0 else 0.0
                n0 = _pmf(n, 0, p0) if c < 0 else m0 * up * r0
                if f0 + n0 > alpha:
                    break
                n1 = _pmf(n, 0, p1) if c < 0 else m1 * up * r1
                c += 1
                m0, m1 = n0, n1
                f0 += m0
                f1 += m1
            while c >= 0 and f0 > alpha:
                f0 -= m0
                f1 -= m1
                down = c / (n - c + 1)
                m0 = m0 * down / r0
                m1 = m1 * down / r1
                c -= 1
        out.append(max(0.0, min(1.0, f1)) if c >= 0 else 0.0)
        n += 1
    return out


def required_examples(*, teacher_score: float, gap_points: float, confidence: float = 0.95, power: float = 0.8) -> int:
    """Eval examples (per stratum) to resolve a gap of ``gap_points`` (:data:`SAMPLE_SIZE_METHOD`).

    The exact power is computed at every size up to well past the normal approximation
    ``n ≈ ((z_{1-a}·√(p0·q0) + z_power·√(p1·q1)) / δ)²`` (``a = (1 - confidence)/2``): the answer is one
    more than the last size below ``power``. The scan runs from 0.8 of the approximation (from 1 when
    the power there already reaches ``power``) to 1.3 times it, and on until its last tenth clears
    ``power`` by 5 points, beyond which the saw teeth no longer reach down to it.
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
    start, stop = max(1, guess * 4 // 5), guess * 13 // 10 + 64
    while True:
        scanned = powers(p0, p0 - delta, alpha, start, stop)
        tail = scanned[-max(1, len(scanned) // 10) :]
        if scanned[0] >= power and start > 1:
            start = 1  # the power at half the approximation already reaches it: scan from the start
        elif min(tail) >= power + 0.05:
            break
        else:
            stop *= 2
    below = [n for n, x in enumerate(scanned, start=start) if x < power]
    return below[-1] + 1 if below else start
