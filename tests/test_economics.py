"""Unit and property tests for the money math (playbook P6)."""

from __future__ import annotations

import math
import warnings

import numpy_financial as npf
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from distillplan.plan.economics import (
    annualize,
    cash_flows,
    cfo_band,
    cumulative,
    irr,
    irr_annual,
    monthly_rate,
    net_after,
    npv,
    payback_from_kickoff,
    payback_months,
    solve_increasing,
)

# Cents-resolution amounts keep hypothesis away from 1e-300-style flows whose IRR
# is beyond any float grid (and any business meaning).
usd = st.integers(min_value=-(10**8), max_value=10**8).map(lambda cents: cents / 100)
positive_usd = st.integers(min_value=0, max_value=10**8).map(lambda cents: cents / 100)
outlay = st.integers(min_value=100, max_value=10**8).map(lambda cents: -cents / 100)


def ref_irr(flows: list[float]) -> float:
    """numpy-financial's IRR; np.roots may warn on ill-conditioned polynomials."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(npf.irr(flows))


def is_root(rate: float, flows: list[float]) -> bool:
    """NPV at ``rate`` is zero relative to the discounted size of the flows."""
    scale = sum(abs(v) / (1 + rate) ** t for t, v in enumerate(flows))
    return abs(npv(rate, flows)) <= 1e-9 * scale


# --- rates -----------------------------------------------------------------


def test_monthly_rate_and_annualize_known_values() -> None:
    assert annualize(0.01) == pytest.approx(1.01**12 - 1, rel=1e-12)
    assert monthly_rate(0.12) == pytest.approx(1.12 ** (1 / 12) - 1, rel=1e-12)
    assert monthly_rate(0.0) == 0.0


@given(st.floats(min_value=-0.99, max_value=100))
def test_monthly_rate_round_trips(annual: float) -> None:
    assert annualize(monthly_rate(annual)) == pytest.approx(annual, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("bad", [-1.0, -2.0, math.nan, math.inf])
def test_rates_reject_impossible_values(bad: float) -> None:
    with pytest.raises(ValueError, match="annual_rate"):
        monthly_rate(bad)
    with pytest.raises(ValueError, match="monthly"):
        annualize(bad)


# --- cash_flows ------------------------------------------------------------


def test_cash_flows_build_months_spread_then_savings() -> None:
    flows = cash_flows(project_usd=90_000, build_months=3, monthly_saving_usd=40_000, horizon_months=6)
    assert flows == [-30_000, -30_000, -30_000, 40_000, 40_000, 40_000]


def test_cash_flows_build_zero_nets_project_and_saving_in_month_zero() -> None:
    flows = cash_flows(project_usd=35_000, build_months=0, monthly_saving_usd=48_500, horizon_months=4)
    assert flows == [13_500, 48_500, 48_500, 48_500]


def test_cash_flows_build_equals_horizon_has_no_saving_month() -> None:
    flows = cash_flows(project_usd=120_000, build_months=4, monthly_saving_usd=46_000, horizon_months=4)
    assert flows == [-30_000] * 4
    assert math.fsum(flows) == -120_000
    assert payback_from_kickoff(flows) is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon_months": -1}, "horizon_months"),
        ({"horizon_months": 0, "build_months": 0}, "horizon_months"),
        ({"build_months": 13}, "build_months"),
        ({"build_months": -1}, "build_months"),
        ({"project_usd": math.nan}, "project_usd"),
        ({"project_usd": -1.0}, "project_usd"),
        ({"monthly_saving_usd": math.nan}, "monthly_saving_usd"),
    ],
)
def test_cash_flows_rejects_programming_errors(kwargs: dict[str, float], match: str) -> None:
    args: dict[str, float] = {
        "project_usd": 1000.0,
        "build_months": 2,
        "monthly_saving_usd": 100.0,
        "horizon_months": 12,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        cash_flows(**args)  # type: ignore[arg-type]  # ints and floats mixed on purpose


# --- payback ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "student", "expected"),
    [(35_000, 1_500, 0.72), (120_000, 4_000, 2.6)],
)
def test_payback_matches_playbook_seed_p6_2(project: float, student: float, expected: float) -> None:
    months = payback_months(project, 50_000 - student)
    assert months is not None
    assert months == pytest.approx(expected, abs=0.05)
    assert cfo_band(months) == "accept"


@given(
    project=st.floats(min_value=0, max_value=1e7),
    s1=st.floats(min_value=1, max_value=1e6),
    s2=st.floats(min_value=1, max_value=1e6),
    build=st.integers(min_value=1, max_value=12),
)
def test_payback_never_rises_when_saving_rises(project: float, s1: float, s2: float, build: int) -> None:
    low, high = sorted((s1, s2))
    slow, fast = payback_months(project, low), payback_months(project, high)
    assert slow is not None and fast is not None
    assert fast <= slow
    horizon = 400
    kick_slow = payback_from_kickoff(
        cash_flows(project_usd=project, build_months=build, monthly_saving_usd=low, horizon_months=horizon)
    )
    kick_fast = payback_from_kickoff(
        cash_flows(project_usd=project, build_months=build, monthly_saving_usd=high, horizon_months=horizon)
    )
    if kick_slow is not None:
        assert kick_fast is not None
        assert kick_fast <= kick_slow + 1e-9


@given(
    project=st.floats(min_value=1, max_value=1e7),
    saving=st.floats(min_value=1, max_value=1e6),
    build=st.integers(min_value=0, max_value=12),
)
def test_payback_from_kickoff_is_build_plus_payback(project: float, saving: float, build: int) -> None:
    assume(build > 0 or project > saving)  # b == 0 and P <= S: netted month 0 is not negative
    from_live = payback_months(project, saving)
    assert from_live is not None
    assume(from_live < 200)
    flows = cash_flows(
        project_usd=project,
        build_months=build,
        monthly_saving_usd=saving,
        horizon_months=build + 201,
    )
    assert payback_from_kickoff(flows) == pytest.approx(build + from_live, rel=1e-9)


def test_payback_from_kickoff_build_zero_small_project_is_zero() -> None:
    flows = cash_flows(project_usd=35_000, build_months=0, monthly_saving_usd=48_500, horizon_months=12)
    assert payback_from_kickoff(flows) == 0.0
    assert payback_months(35_000, 48_500) == pytest.approx(0.7216, abs=1e-4)


def test_payback_from_kickoff_interpolates_within_the_month() -> None:
    # cumulative -10, -6, -2, 2: back to zero half-way through month 3
    assert payback_from_kickoff([-10, 4, 4, 4]) == pytest.approx(3.5)
    # positive first, dips negative in month 1 (cum -5), recovers half-way through month 2
    assert payback_from_kickoff([5, -10, 10]) == pytest.approx(2.5)
    assert payback_from_kickoff([-10, 10]) == pytest.approx(2.0)
    assert payback_from_kickoff([-10, 4, 4]) is None
    assert payback_from_kickoff([0, 3, 4]) == 0.0


@pytest.mark.parametrize("saving", [0.0, -1.0, -5_000.0])
def test_non_positive_saving_has_no_payback_and_is_refused(saving: float) -> None:
    assert payback_months(50_000, saving) is None
    assert cfo_band(payback_months(50_000, saving)) == "refuse"
    flows = cash_flows(project_usd=50_000, build_months=2, monthly_saving_usd=saving, horizon_months=60)
    assert payback_from_kickoff(flows) is None
    assert irr(flows) is None


def test_payback_months_rejects_bad_project() -> None:
    with pytest.raises(ValueError, match="project_usd"):
        payback_months(-1, 100)
    with pytest.raises(ValueError, match="monthly_saving_usd"):
        payback_months(1, math.nan)


# --- cfo_band --------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "band"),
    [
        (0.72, "accept"),
        (8.99, "accept"),
        (9, "review"),
        (10.5, "review"),
        (12, "review"),
        (12.01, "refuse"),
        (math.inf, "refuse"),
        (None, "refuse"),
    ],
)
def test_cfo_band_p6_3(months: float | None, band: str) -> None:
    assert cfo_band(months) == band


def test_cfo_band_custom_thresholds_and_errors() -> None:
    assert cfo_band(7, accept_under_months=6, refuse_over_months=7) == "review"
    assert cfo_band(7.5, accept_under_months=6, refuse_over_months=7) == "refuse"
    with pytest.raises(ValueError):
        cfo_band(5, accept_under_months=12, refuse_over_months=9)
    with pytest.raises(ValueError):
        cfo_band(math.nan)


# --- cumulative / net_after --------------------------------------------------


def test_cumulative_and_net_after() -> None:
    flows = cash_flows(project_usd=120_000, build_months=3, monthly_saving_usd=46_000, horizon_months=24)
    cum = cumulative(flows)
    assert cum[2] == pytest.approx(-120_000)
    assert net_after(flows, 12) == pytest.approx(-120_000 + 9 * 46_000)
    assert net_after(flows, 24) == pytest.approx(cum[-1]) == pytest.approx(-120_000 + 21 * 46_000)
    assert net_after(flows, 0) == 0.0
    with pytest.raises(ValueError, match="months"):
        net_after(flows, 25)
    with pytest.raises(ValueError, match="months"):
        net_after(flows, -1)
    with pytest.raises(ValueError, match=r"flows\[1\]"):
        cumulative([1.0, math.nan])


# --- npv / irr ----------------------------------------------------------------


@given(rate=st.floats(min_value=-0.5, max_value=2.0), flows=st.lists(usd, min_size=1, max_size=60))
def test_npv_matches_numpy_financial(rate: float, flows: list[float]) -> None:
    scale = sum(abs(v) / (1 + rate) ** t for t, v in enumerate(flows))
    expected = float(npf.npv(rate, flows))
    assert npv(rate, flows) == pytest.approx(expected, rel=1e-6, abs=1e-12 * scale + 1e-12)


def test_npv_month_zero_is_undiscounted() -> None:
    assert npv(0.5, [-100.0]) == -100.0
    assert npv(0.1, [0.0, 110.0]) == pytest.approx(100.0)
    with pytest.raises(ValueError, match="rate_monthly"):
        npv(-1.0, [1.0])


@given(start=outlay, rest=st.lists(positive_usd, min_size=1, max_size=36))
def test_irr_matches_numpy_financial_for_investment_then_returns(start: float, rest: list[float]) -> None:
    flows = [start, *rest]
    ours, ref = irr(flows), ref_irr(flows)
    if not any(rest):  # no sign change at all
        assert ours is None and math.isnan(ref)
        return
    # One sign change: exactly one root (Descartes), and numpy-financial finds it.
    assert ours is not None and not math.isnan(ref)
    assert math.isclose(ours, ref, rel_tol=1e-6, abs_tol=1e-9)
    assert is_root(ours, flows)


@given(st.lists(usd, min_size=2, max_size=30))
def test_irr_matches_numpy_financial_for_mixed_flows(flows: list[float]) -> None:
    ours, ref = irr(flows), ref_irr(flows)
    if math.isnan(ref):
        # numpy-financial keeps only roots with an imaginary part of exactly 0, so it
        # can drop a real root that np.roots computes as x + 1e-17j; ours must then be
        # a genuine root, or None.
        assert ours is None or is_root(ours, flows)
        return
    if not is_root(ref, flows):
        # np.roots is ill-conditioned on some polynomials; its answer is no reference.
        assert ours is None or is_root(ours, flows)
        return
    assert ours is not None
    assert math.isclose(ours, ref, rel_tol=1e-6, abs_tol=1e-9)


@given(st.lists(usd, min_size=2, max_size=60))
def test_npv_at_irr_is_zero(flows: list[float]) -> None:
    rate = irr(flows)
    assume(rate is not None)
    assert rate is not None
    assert rate > -1
    assert is_root(rate, flows)


@pytest.mark.parametrize("flows", [[], [0.0, 0.0], [1.0, 2.0, 3.0], [-1.0, -2.0], [0.0, -5.0, 0.0], [1.0, -1.0, 1.0]])
def test_irr_is_none_without_a_root(flows: list[float]) -> None:
    assert irr(flows) is None
    assert irr_annual(flows) is None


def test_irr_picks_the_root_closest_to_zero() -> None:
    # -1 + 2.3x - 1.32x^2 with x = 1/(1+r): roots x = 1/1.1 and 1/1.2, so r = 10% and 20%
    assert irr([-1.0, 2.3, -1.32]) == pytest.approx(0.1, rel=1e-9)
    assert irr([-100.0, 100.0]) == 0.0
    # two roots under 5% apart in ln(1 + r) (10.5% and 11%): the scan must still split them
    x1, x2 = 1 / 1.105, 1 / 1.11
    assert irr([x1 * x2, -(x1 + x2), 1.0]) == pytest.approx(0.105, rel=1e-9)
    assert irr([-x1 * x2, x1 + x2, -1.0]) == pytest.approx(0.105, rel=1e-9)
    # seed example: 120k over 3 build months, then 46k/month for 21 months
    flows = cash_flows(project_usd=120_000, build_months=3, monthly_saving_usd=46_000, horizon_months=24)
    monthly = irr(flows)
    assert monthly is not None
    assert irr_annual(flows) == pytest.approx((1 + monthly) ** 12 - 1, rel=1e-9)
    assert monthly == pytest.approx(ref_irr(flows), rel=1e-9)


# --- solve_increasing ---------------------------------------------------------


def test_solve_increasing_linear() -> None:
    x = solve_increasing(lambda v: 2 * v + 1, 7, 0, 100)
    assert x == pytest.approx(3, rel=1e-8)
    assert x is not None and 2 * x + 1 >= 7


def test_solve_increasing_step_function_returns_smallest_reaching_point() -> None:
    x = solve_increasing(math.floor, 3, 0.0, 10.0)
    assert x is not None
    assert math.floor(x) >= 3
    assert x == pytest.approx(3.0, rel=1e-8)


def test_solve_increasing_break_even_volume() -> None:
    # months of payback falls as volume grows; find the smallest volume with payback <= 12
    def neg_payback(mtok: float) -> float:
        months = payback_months(120_000, 20 * mtok - 4_000)
        return -math.inf if months is None else -months

    mtok = solve_increasing(neg_payback, -12, 0, 10_000)
    assert mtok is not None
    assert mtok == pytest.approx((120_000 / 12 + 4_000) / 20, rel=1e-8)


def test_solve_increasing_bounds() -> None:
    assert solve_increasing(lambda v: v, 11, 0, 10) is None
    assert solve_increasing(lambda v: v, -5, 0, 10) == 0
    with pytest.raises(ValueError, match="lo must be <= hi"):
        solve_increasing(lambda v: v, 1, 10, 0)
    with pytest.raises(ValueError, match="NaN"):
        solve_increasing(lambda v: math.nan, 1, 0, 10)


@given(
    build=st.lists(outlay, min_size=1, max_size=6),
    rest=st.lists(positive_usd, min_size=1, max_size=60),
)
def test_irr_binary_search_finds_the_scan_bracket(build: list[float], rest: list[float]) -> None:
    """One sign change (every plan's flows): the grid binary search gives the full scan's
    bracket on both sides, hence a bit-identical IRR."""
    from distillplan.plan.economics import _first_flip_scan, _first_flip_sorted, _scaled_npv

    coeffs = [*build, *rest]
    while coeffs[-1] == 0:
        coeffs.pop()
    assume(len(coeffs) > len(build))

    def f(u: float) -> float:
        return _scaled_npv(coeffs, u)

    f0 = f(0.0)
    assume(f0 != 0)
    for side in (1.0, -1.0):
        assert _first_flip_sorted(f, side, f0) == _first_flip_scan(f, side, f0)


def test_irr_of_plan_flows_equals_the_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan-shaped flows over six orders of magnitude of saving: the same IRR, to the bit,
    with the binary search as with the outward scan it replaces."""
    from distillplan.plan import economics

    cases = [
        cash_flows(project_usd=120_000, build_months=b, monthly_saving_usd=s, horizon_months=24)
        for b in (0, 1, 3)
        for s in (10.0, 1_000.0, 48_500.0, 1e6, 1e9)
    ]
    fast = [irr(flows) for flows in cases]
    monkeypatch.setattr(economics, "_first_flip_sorted", economics._first_flip_scan)
    assert fast == [irr(flows) for flows in cases]
    assert sum(r is not None for r in fast) >= 12
