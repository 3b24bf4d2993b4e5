"""Issue 22: the sizing's held-out error per quantity (TTFT, TPOT, throughput / capacity,
quantized / bf16 throughput, TP scaling, training memory) against the published reference
points in distillplan/data/reference_points.toml: median and worst factor exp(|log(model /
published)|) over the located check points (role = "check"; fit points are never counted),
first over the bounded ones (vLLM V1, known shapes: the issue's goal, median x1.10 / worst
x1.5), then over all. With --points, every held-out point and its ratio, worst first.

Run: python bench/heldout_error.py [--points]
"""

from __future__ import annotations

import argparse
import math

from distillplan.sizing.calibration import compare_all, held_out, held_out_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", action="store_true", help="list every held-out point, worst first")
    args = parser.parse_args()
    rows = compare_all()
    print(held_out_report(rows))
    if args.points:
        for r in sorted(held_out(rows), key=lambda r: -abs(math.log(r.ratio))):
            bound = "bounded" if r.bounded else "unbounded"
            print(f"{r.ratio:6.2f}  {r.quantity:28s} {bound:9s} {r.id}")


if __name__ == "__main__":
    main()
