"""The eval set's size in closed form (P2.3), light enough for ``validate``: the normal approximation the
exact sample size starts from (``distillplan.evalset.samplesize``), and the largest size a plan may ask for."""

from __future__ import annotations

import math

__all__ = ["MAX_EXAMPLES", "narrowest_gap_points", "normal_examples"]

#: The most eval examples per stratum a plan may need. A contracted gap that needs more cannot be tested
#: with any eval set a team will label and lock (P2.3's sets hold hundreds to a few thousand), and the
#: exact search for it would take seconds: such a gap is refused at validate, with the narrowest gap allowed.
MAX_EXAMPLES = 250_000


#: The standard normal quantiles ``validate`` needs (95% two-sided confidence, 80% power), as
#: ``statistics.NormalDist().inv_cdf`` gives them: the hook path does not import ``statistics``
#: (with ``decimal`` and ``fractions``, a few milliseconds of every commit) for two constants.
_QUANTILES = {0.975: 1.9599639845400536, 0.8: 0.8416212335729144}


def _z(p: float) -> float:
    if p in _QUANTILES:
        return _QUANTILES[p]
    from statistics import NormalDist  # deferred: any other confidence or power

    return NormalDist().inv_cdf(p)


def normal_examples(p0: float, delta: float, confidence: float = 0.95, power: float = 0.8) -> float:
    """``((z_{1-a}·√(p0·q0) + z_power·√(p1·q1)) / δ)²`` with ``a = (1 - confidence)/2`` and ``p1 = p0 - δ``,
    unrounded; ``inf`` when ``δ`` is too small for a float."""
    p1 = p0 - delta
    spread = _z(1 - (1 - confidence) / 2) * math.sqrt(p0 * (1 - p0)) + _z(power) * math.sqrt(p1 * (1 - p1))
    try:
        return (spread / delta) ** 2
    except (OverflowError, ZeroDivisionError):
        return math.inf


def narrowest_gap_points(p0: float, limit: int = MAX_EXAMPLES) -> float:
    """The smallest gap, in points to two decimals, whose approximate size is within ``limit``."""
    lo, hi = 0.0, p0 * 100
    for _ in range(60):
        mid = (lo + hi) / 2
        if normal_examples(p0, mid / 100) > limit:
            lo = mid
        else:
            hi = mid
    return math.ceil(hi * 100) / 100
