"""Money math for the payback case (playbook P6): pure functions, stdlib only.

Conventions (one place, cited by the planner and the proposal):

* A cash-flow series is monthly, month 0 first (kickoff). Costs are negative.
* Payback treats a month's flow as accruing evenly *within* the month, so the
  cumulative cash is piecewise linear in time and payback is fractional.
* NPV counts month ``m`` at the *start* of the month: ``t = m``, month 0 is not
  discounted (the ``numpy_financial.npv`` convention).
* Rates are monthly unless the name says annual; ``monthly_rate``/``annualize``
  convert by compounding.

Invalid arguments (NaN, negative horizons, ...) are programming errors and raise
``ValueError``; user input is validated by the spec layer before it gets here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Literal

CfoBand = Literal["accept", "review", "refuse"]


def _finite(name: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number (got {value!r})")
    return float(value)


def _finite_flows(flows: Sequence[float]) -> list[float]:
    return [_finite(f"flows[{i}]", v) for i, v in enumerate(flows)]


def _rate(name: str, rate: float) -> float:
    if _finite(name, rate) <= -1.0:
        raise ValueError(f"{name} must be > -1 (got {rate!r})")
    return float(rate)


def monthly_rate(annual_rate: float) -> float:
    """Monthly rate compounding to ``annual_rate``: ``(1 + r)^(1/12) - 1``."""
    return math.expm1(math.log1p(_rate("annual_rate", annual_rate)) / 12.0)


def annualize(monthly: float) -> float:
    """Annual rate from a monthly one: ``(1 + m)^12 - 1``."""
    return math.expm1(12.0 * math.log1p(_rate("monthly", monthly)))


def cash_flows(*, project_usd: float, build_months: int, monthly_saving_usd: float, horizon_months: int) -> list[float]:
    """Monthly net cash from kickoff, month 0 first, ``horizon_months`` long.

    With ``b = build_months``, ``P = project_usd``, ``S = monthly_saving_usd``:
    months ``0..b-1`` carry ``-P/b`` each and months ``b..horizon-1`` carry ``+S``.
    ``b == 0`` means the whole project is paid in month 0 *and* savings start in
    month 0: ``flow[0] = S - P``. ``b == horizon`` means no saving month at all.

    Each flow accrues evenly within its month for payback (``payback_from_kickoff``)
    and is counted at the start of its month for ``npv`` (``t = m``).
    """
    _finite("project_usd", project_usd)
    _finite("monthly_saving_usd", monthly_saving_usd)
    if project_usd < 0:
        raise ValueError(f"project_usd must be >= 0 (got {project_usd!r})")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be >= 1 (got {horizon_months!r})")
    if not 0 <= build_months <= horizon_months:
        raise ValueError(f"build_months must be in 0..horizon_months={horizon_months} (got {build_months!r})")
    if build_months == 0:
        return [monthly_saving_usd - project_usd] + [monthly_saving_usd] * (horizon_months - 1)
    build = [-project_usd / build_months] * build_months
    return build + [monthly_saving_usd] * (horizon_months - build_months)


def payback_months(project_usd: float, monthly_saving_usd: float) -> float | None:
    """Months from go-live to recover the project (P6.2): ``P / S``; None if ``S <= 0``.

    Seed check: ``35_000 / 48_500 = 0.72`` and ``120_000 / 46_000 = 2.6`` months.
    """
    if _finite("project_usd", project_usd) < 0:
        raise ValueError(f"project_usd must be >= 0 (got {project_usd!r})")
    if _finite("monthly_saving_usd", monthly_saving_usd) <= 0:
        return None
    return project_usd / monthly_saving_usd


def cumulative(flows: Sequence[float]) -> list[float]:
    """Running totals ``C[m] = flows[0] + ... + flows[m]`` (cash at the end of month m)."""
    out: list[float] = []
    total = 0.0
    for value in _finite_flows(flows):
        total += value
        out.append(total)
    return out


def payback_from_kickoff(flows: Sequence[float]) -> float | None:
    """Fractional months from kickoff until the cumulative cash is back to >= 0.

    Flows accrue evenly within a month, so cash at time ``t`` in month ``m`` is
    ``C[m-1] + flows[m] * (t - m)``. With ``m0`` the first month ending below zero
    and ``m`` the first later month with ``C[m] >= 0``, payback is
    ``m + (-C[m-1]) / flows[m]``; None if cash never recovers within the series.
    A series whose cumulative never goes negative has nothing to pay back: 0.0.

    For ``cash_flows(build_months=b)`` this is ``b + P/S`` (when within the horizon),
    except ``b == 0`` with ``P <= S``: the month-0 net flow ``S - P`` is then not
    negative, the netting hides the cost and the result is 0.0 (use ``payback_months``).
    """
    cum = cumulative(flows)
    gone_negative = False
    for m, total in enumerate(cum):
        if total < 0:
            gone_negative = True
        elif gone_negative:
            before = cum[m - 1]  # < 0, and flows[m] > 0 since the cash went up
            return m + (-before) / (total - before)
    return None if gone_negative else 0.0


def payback_from_kickoff_of(
    *, project_usd: float, build_months: int, monthly_saving_usd: float, horizon_months: int
) -> float | None:
    """Months from kickoff to payback of :func:`cash_flows` with these terms: ``b + P/S``, so never
    shorter than the payback from go-live (``P/S``); None when ``S <= 0`` or beyond the horizon.

    Equal to ``payback_from_kickoff(cash_flows(...))`` except ``b == 0`` with ``P <= S``, where the
    netted month-0 flow hides the cost (that function then gives 0.0)."""
    payback = payback_months(project_usd, monthly_saving_usd)
    if payback is None or build_months + payback > horizon_months:
        return None
    return build_months + payback


def npv(rate_monthly: float, flows: Sequence[float]) -> float:
    """Net present value at a monthly rate: ``sum_t flows[t] / (1 + rate)^t``, t from 0."""
    _rate("rate_monthly", rate_monthly)
    base = 1.0 + rate_monthly
    return math.fsum(v / base**t for t, v in enumerate(_finite_flows(flows)))


def _scaled_npv(coeffs: Sequence[float], u: float) -> float:
    """A positive multiple of the NPV at ``1 + r = e^u`` that cannot overflow.

    ``u >= 0``: ``sum c_t x^t`` with ``x = e^-u <= 1``; ``u < 0``: the same times
    ``y^T`` with ``y = e^u < 1``, i.e. ``sum c_t y^(T-t)``. Same sign, same roots.
    """
    acc = 0.0
    if u >= 0:
        x = math.exp(-u)
        for c in reversed(coeffs):
            acc = acc * x + c
    else:
        y = math.exp(u)
        for c in coeffs:
            acc = acc * y + c
    return acc


def _bisect(f: Callable[[float], float], a: float, b: float) -> float:
    """A root of ``f`` in ``[a, b]`` where ``f(a)`` and ``f(b)`` have opposite signs."""
    fa = f(a)
    for _ in range(200):
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        fm = f(mid)
        if fm == 0:
            return mid
        if (fm < 0) == (fa < 0):
            a, fa = mid, fm
        else:
            b = mid
    return 0.5 * (a + b)


# Grid in u = ln(1 + r), from 0 outward on each side: |u| = 1e-10 * 1.01^k up to ~60,
# i.e. r from about -1 + 1e-26 to 1e26. Roots closer together than the grid step (1%
# of |u|) with no sign change between grid points can be missed.
_GRID: tuple[float, ...] = tuple(1e-10 * 1.01**k for k in range(2720))


def irr(flows: Sequence[float]) -> float | None:
    """Monthly internal rate of return: the ``r > -1`` with ``npv(r, flows) = 0``.

    Works in ``u = ln(1 + r)`` on an overflow-free multiple of the NPV: scans a
    geometric grid outward from ``r = 0`` on both sides, bisects the first sign
    change found on each side to float precision, and returns the root closest to
    0 (by ``|r|``; the ``numpy_financial.irr`` choice) when several sign changes
    exist. None when the flows never change sign or no root is bracketed
    (e.g. ``[1, -1, 1]``, or a double root touching zero without crossing).

    Flows whose signs change once (an investment, then returns: every plan's) have
    exactly one root (Descartes' rule of signs), so on each side the grid points past
    the first sign change all carry the flipped sign: that first grid point is found
    by binary search over the grid (~12 evaluations instead of up to 2,720), and the
    bracket, hence the result, is the one the full scan finds (a test holds them equal).
    """
    values = _finite_flows(flows)
    nonzero = [i for i, v in enumerate(values) if v != 0]
    if not nonzero or min(values) >= 0 or max(values) <= 0:
        return None
    coeffs = values[nonzero[0] : nonzero[-1] + 1]

    def f(u: float) -> float:
        return _scaled_npv(coeffs, u)

    f0 = f(0.0)
    if f0 == 0:
        return 0.0
    one_root = _sign_changes(coeffs) == 1
    roots: list[float] = []
    for side in (1.0, -1.0):
        bracket = (_first_flip_sorted if one_root else _first_flip_scan)(f, side, f0)
        if bracket is not None:
            prev_u, u, fu = bracket
            roots.append(math.expm1(u if fu == 0 else _bisect(f, prev_u, u)))
    return min(roots, key=abs) if roots else None


def _sign_changes(coeffs: Sequence[float]) -> int:
    signs = [c > 0 for c in coeffs if c != 0]
    return sum(a != b for a, b in itertools.pairwise(signs))


_Bracket = tuple[float, float, float]  # (u before, u at the first sign change, f there)


def _flipped(fu: float, f0: float) -> bool:
    return fu == 0 or (fu < 0) != (f0 < 0)


def _first_flip_scan(f: Callable[[float], float], side: float, f0: float) -> _Bracket | None:
    """The first grid step on ``side`` where ``f`` changes sign, scanning outward."""
    prev_u, prev_f = 0.0, f0
    for step in _GRID:
        u = side * step
        fu = f(u)
        if _flipped(fu, prev_f):
            return prev_u, u, fu
        prev_u, prev_f = u, fu
    return None


def _first_flip_sorted(f: Callable[[float], float], side: float, f0: float) -> _Bracket | None:
    """:func:`_first_flip_scan` for an ``f`` with one root: the grid points are
    unflipped up to the root and flipped past it, so binary search finds the same step."""
    last = side * _GRID[-1]
    f_last = f(last)
    if not _flipped(f_last, f0):
        return None
    lo, hi, f_hi = -1, len(_GRID) - 1, f_last  # _GRID[lo] unflipped (-1: u = 0), _GRID[hi] flipped
    while hi - lo > 1:
        mid = (lo + hi) // 2
        f_mid = f(side * _GRID[mid])
        if _flipped(f_mid, f0):
            hi, f_hi = mid, f_mid
        else:
            lo = mid
    return (side * _GRID[lo] if lo >= 0 else 0.0), side * _GRID[hi], f_hi


def irr_annual(flows: Sequence[float]) -> float | None:
    """Annualized IRR: ``(1 + irr)^12 - 1``; None when ``irr`` is None."""
    monthly = irr(flows)
    return None if monthly is None else annualize(monthly)


def solve_increasing(
    f: Callable[[float], float],
    target: float,
    lo: float,
    hi: float,
    *,
    rel_tol: float = 1e-9,
    max_iter: int = 200,
) -> float | None:
    """Smallest ``x`` in ``[lo, hi]`` with ``f(x) >= target``, for non-decreasing ``f``.

    Bisection keeping ``f(a) < target <= f(b)``; stops when
    ``b - a <= rel_tol * max(|a|, |b|)`` (or floats run out) and returns ``b``, so the
    answer always satisfies ``f(x) >= target`` even for a step function.
    Returns ``lo`` if ``f(lo) >= target`` and None if ``f(hi) < target``.
    """
    _finite("target", target)
    if _finite("lo", lo) > _finite("hi", hi):
        raise ValueError(f"lo must be <= hi (got lo={lo!r}, hi={hi!r})")
    if not rel_tol > 0 or max_iter < 1:
        raise ValueError(f"need rel_tol > 0 and max_iter >= 1 (got {rel_tol!r}, {max_iter!r})")

    def at(x: float) -> float:
        value = f(x)
        if math.isnan(value):
            raise ValueError(f"f returned NaN at x={x!r}")
        return value

    if at(hi) < target:
        return None
    if at(lo) >= target:
        return float(lo)
    a, b = float(lo), float(hi)
    for _ in range(max_iter):
        if b - a <= rel_tol * max(abs(a), abs(b)):
            break
        mid = 0.5 * (a + b)
        if mid in (a, b):
            break
        if at(mid) >= target:
            b = mid
        else:
            a = mid
    return b


def cfo_band(
    payback_months: float | None,
    *,
    accept_under_months: float = 9,
    refuse_over_months: float = 12,
) -> CfoBand:
    """The CFO test (P6.3): payback ``< 9`` accept, ``> 12`` refuse, else review.

    The bounds themselves (exactly 9 or 12 months) are a judgement call: "review".
    No payback (None: the saving is not positive) is "refuse".
    """
    if _finite("accept_under_months", accept_under_months) > _finite("refuse_over_months", refuse_over_months):
        raise ValueError("accept_under_months must be <= refuse_over_months")
    if payback_months is None:
        return "refuse"
    if math.isnan(payback_months):
        raise ValueError("payback_months must not be NaN")
    if payback_months < accept_under_months:
        return "accept"
    return "refuse" if payback_months > refuse_over_months else "review"


def net_after(flows: Sequence[float], months: int) -> float:
    """Cumulative net cash at the end of the first ``months`` months (0 -> 0.0).

    ``sum(flows[:months])``, e.g. the proposal's 12- and 24-month net; asking for
    more months than the series holds is an error.
    """
    values = _finite_flows(flows)
    if not 0 <= months <= len(values):
        raise ValueError(f"months must be in 0..{len(values)} (got {months!r})")
    return math.fsum(values[:months])
