"""Issue 15's speed targets for `distillplan compare`, measured side by side in one run:

- the default sweep (8 students x 3 precisions x 5 GPUs x 3 methods = 360 candidates) on an
  example: median wall time of the whole command <= 1.5 s;
- and <= 3x the median wall time of a single `distillplan plan` of the same spec.

The two commands run interleaved (21 rounds) so a busy spell of the machine weighs on both
alike; the ratio is of the medians. In process, the per-candidate cost of `compare` (the
plan core: sizing, costs, payback, NPV, verdict) is shown next to one full `plan_for_file`
(which adds IRR, the break-even volume and the sensitivity re-runs, none of which a row shows;
tests/test_compare.py holds every row equal to the full plan of the substituted spec).

Run: python bench/bench_compare.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import executable, interleaved, table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "invoice-extraction"


def _in_process() -> tuple[float, float, int]:
    """(median s of compare_for_file, median s of one full build_plan, candidates)."""
    from distillplan.commands._inputs import compare_for_file, plan_for_file
    from distillplan.spec.load import load_spec

    sf = load_spec(EXAMPLE)
    compare_for_file(sf)
    plan_for_file(sf)
    sweeps, plans = [], []
    for _ in range(7):
        t0 = time.perf_counter()
        result = compare_for_file(sf)
        sweeps.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plan_for_file(sf)
        plans.append(time.perf_counter() - t0)
    return statistics.median(sweeps), statistics.median(plans), len(result.rows)


def main() -> int:
    dp = executable("distillplan")
    if not dp:
        print("needs distillplan installed: pip install -e .")
        return 2
    both = interleaved({"compare": [dp, "compare", str(EXAMPLE)], "plan": [dp, "plan", str(EXAMPLE)]})
    (cmp_med, cmp_min), (plan_med, plan_min) = both["compare"], both["plan"]
    ratio = cmp_med / plan_med
    sweep, one_plan, n = _in_process()
    rows = [
        (
            f"distillplan compare ({n} candidates), median s",
            f"{cmp_med:.3f}",
            "<= 1.5",
            "yes" if cmp_med <= 1.5 else "NO",
        ),
        ("distillplan compare, fastest s", f"{cmp_min:.3f}", "", ""),
        ("distillplan plan (same spec), median s", f"{plan_med:.3f}", "", ""),
        ("distillplan plan, fastest s", f"{plan_min:.3f}", "", ""),
        ("ratio compare / plan (medians)", f"{ratio:.2f}", "<= 3.0", "yes" if ratio <= 3.0 else "NO"),
        (f"in process: compare_for_file, {n} candidates, median ms", f"{sweep * 1e3:.1f}", "", ""),
        ("in process: per candidate, ms", f"{sweep * 1e3 / n:.3f}", "", ""),
        ("in process: one full plan_for_file, median ms", f"{one_plan * 1e3:.2f}", "", ""),
    ]
    print(table(rows))
    return 0 if cmp_med <= 1.5 and ratio <= 3.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
