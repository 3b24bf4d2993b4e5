"""Issue 4's speed target: `distillplan plan` on an example, sizing included, in <= 1.5 s
(the cost to control is transformers' import, which the bundled-family reader avoids).

Run: python bench/bench_plan.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import executable, table, wall

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    dp = executable("distillplan")
    if not dp:
        print("needs distillplan installed: pip install -e .")
        return 2
    rows = []
    for name in ("invoice-extraction", "clinical-coding"):
        for fmt in ("text", "json"):
            t = wall([dp, "plan", str(ROOT / "examples" / name), "--format", fmt], runs=7)
            rows.append(
                (f"distillplan plan {name} --format {fmt}, median s", f"{t:.3f}", "<= 1.5", "yes" if t <= 1.5 else "NO")
            )
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
