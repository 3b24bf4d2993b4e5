"""The timings that used to be wall-clock assertions in the test suite (issue 20 moved them here,
where a busy machine cannot fail a build), each against its target:

- sizing a student (architecture read, serving and training sizing) in a fresh process, without
  transformers: <= 1.0 s (the plan command's whole budget is 1.5 s);
- `validate` of a spec above the 1 MiB cap: <= 0.5 s, and its ratio to validating the example spec
  (the cap refuses before parsing: the old main parsed 50 MB for 80 s);
- accept's field-F1 bootstrap with a paired teacher on 5,000 rows of three fields: <= 3 s.

Run: python bench/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import executable, table, wall

ROOT = Path(__file__).resolve().parents[1]
SIZING = (
    "from pathlib import Path\n"
    "import sys\n"
    "import distillplan.sizing.serving as s, distillplan.sizing.finetune as tr\n"
    "import distillplan.sizing.architecture as a\n"
    "arch = a.load_architecture('meta-llama/Llama-3.1-8B', base_dir=Path('.'))\n"
    "r = s.size_serving(arch, s.load_gpus()['a100-80gb'], precision='int4', input_tokens=500,"
    " output_tokens=200, peak_requests_per_second=20, assumptions=s.SizingAssumptions())\n"
    "job = tr.size_training(arch, s.load_gpus()['a100-80gb'], method='qlora', lora_rank=16,"
    " training_tokens=1e8, assumptions=s.SizingAssumptions(), usd_per_gpu_hour=2.0)\n"
    "assert r.fits and job.gpus == 1 and 'transformers' not in sys.modules\n"
)


def _bootstrap_seconds(runs: int) -> float:
    sys.path.insert(0, str(ROOT))
    from distillplan.evalset.accept import EvalRow
    from tests.test_accept import evaluate  # locks a spec baseline for the rows, then accepts

    n = 5000
    rows = [EvalRow(str(i), {"a": i % 7, "b": i % 11, "c": i % 13}, f"s{i % 3}", "e", i + 1) for i in range(n)]
    student = {str(i): {"a": i % 7, "b": (i * 7) % 11, "c": i % 5} for i in range(n)}
    teacher = {str(i): {"a": i % 7, "b": i % 11, "c": (i * 3) % 13} for i in range(n)}
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        evaluate(
            rows,
            student,
            metric="field-f1",
            strata_field="s",
            teacher_preds=teacher,
            teacher_score=0.9,
            max_gap_points=2.0,
            max_stratum_gap_points=5.0,
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    dp = executable("distillplan")
    if not dp:
        print("needs the distillplan console script: pip install -e .")
        return 2
    sizing = wall([sys.executable, "-c", SIZING], cwd=ROOT, runs=args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        shutil.copy(ROOT / "examples" / "invoice-extraction" / "distill.toml", t / "distill.toml")
        normal = wall([dp, "validate", str(t / "distill.toml")], runs=args.runs)
        big = t / "big"
        big.mkdir()
        text = (t / "distill.toml").read_text("utf-8") + "".join(f"k{i} = {i}\n" for i in range(120_000))
        (big / "distill.toml").write_text(text, "utf-8")
        capped = wall([dp, "validate", str(big / "distill.toml")], runs=args.runs, ok_codes=(1,))
    bootstrap = _bootstrap_seconds(args.runs)
    rows = [
        ("sizing, fresh process, no transformers", f"{sizing:.3f} s", "<= 1.0 s", "yes" if sizing <= 1.0 else "NO"),
        ("validate, spec above the 1 MiB cap", f"{capped:.3f} s", "<= 0.5 s", "yes" if capped <= 0.5 else "NO"),
        ("  ratio to validating the example", f"{capped / normal:.2f}x", "", ""),
        ("accept field-F1 bootstrap, 5,000 rows", f"{bootstrap:.3f} s", "<= 3 s", "yes" if bootstrap <= 3 else "NO"),
    ]
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
